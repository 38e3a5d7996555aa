//! Downloads: a streaming layer reader that checks what it read against a
//! digest at end-of-file and never passes on more bytes than the layer has,
//! and files that appear only once complete.

#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::error::{Error, ErrorKind, Result};
use crate::reference::{Algorithm, Digest, Hasher};

/// A layer being downloaded. Reads stream from the registry; the read that
/// would return end-of-file first compares what was read with the expected
/// digest, and fails with DIGEST_MISMATCH (wrapped in `io::Error`;
/// `Error::from` unwraps it) when they differ. For a v2 blob that digest is
/// the blob's own; for a v1 layer it is the image's checksum, the SHA-256 of
/// its JSON, a newline and the layer, when the registry keeps one.
///
/// Where the layer's size is known (the response's `Content-Length`, or the
/// size its descriptor gives), a body longer than that fails with TOO_LARGE
/// instead of handing out the extra bytes, and one that ends short of it
/// with NETWORK (a broken transfer, not wrong bytes).
pub struct LayerReader {
    body: ureq::BodyReader<'static>,
    hasher: Option<Hasher>,
    expected: Option<Digest>,
    /// Names the layer in messages.
    label: String,
    size: Option<u64>,
    read: u64,
    verified: bool,
    failed: Option<Error>,
}

impl std::fmt::Debug for LayerReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerReader")
            .field("layer", &self.label)
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl LayerReader {
    /// A reader over `resp`'s body. `hasher` may have been fed a prefix
    /// already (v1 checksums start with the image JSON); with no `expected`
    /// digest nothing is checked. `size` is the layer's size when a
    /// descriptor gives it; the smaller of it and `Content-Length` bounds
    /// the body.
    pub(crate) fn new(
        resp: ureq::http::Response<ureq::Body>,
        hasher: Hasher,
        expected: Option<Digest>,
        size: Option<u64>,
        label: String,
    ) -> Result<LayerReader> {
        let announced = crate::transport::header(&resp, "content-length")
            .and_then(|l| l.trim().parse::<u64>().ok());
        if let (Some(a), Some(s)) = (announced, size) {
            if a > s {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!("{label}: the registry announces {a} bytes, the layer has {s}"),
                ));
            }
        }
        Ok(LayerReader {
            body: resp.into_body().into_reader(),
            hasher: Some(hasher),
            expected,
            label,
            size: match (announced, size) {
                (Some(a), Some(s)) => Some(a.min(s)),
                (a, s) => a.or(s),
            },
            read: 0,
            verified: false,
            failed: None,
        })
    }

    /// The digest checked at end-of-file: the blob digest (v2), or the
    /// image checksum (v1; `None` when the registry keeps none).
    pub fn digest(&self) -> Option<&Digest> {
        self.expected.as_ref()
    }

    /// The layer's size, when the registry announced it (or a descriptor gave it).
    pub fn size(&self) -> Option<u64> {
        self.size
    }

    /// True once the whole layer was read and its bytes hashed to the
    /// expected digest; false before the end, and for a v1 layer whose
    /// registry keeps no checksum (nothing to check against).
    pub fn verified(&self) -> bool {
        self.verified
    }

    fn fail(&mut self, e: Error) -> io::Error {
        self.failed = Some(e.clone());
        e.into_io()
    }
}

impl Read for LayerReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if let Some(e) = &self.failed {
            return Err(e.clone().into_io());
        }
        if buf.is_empty() {
            return Ok(0);
        }
        let Some(hasher) = self.hasher.as_mut() else {
            return Ok(0); // verified already
        };
        // Never ask for more than the layer has left: at the end, one byte
        // tells a body that goes on from one that ends.
        let want = match self.size {
            Some(size) => buf
                .len()
                .min(size.saturating_sub(self.read).max(1) as usize),
            None => buf.len(),
        };
        let n = match self.body.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                let e = Error::from_io_transport(&e, &format!("reading {}", self.label));
                return Err(self.fail(e));
            }
        };
        if n > 0 {
            if self.size.is_some_and(|size| self.read + n as u64 > size) {
                let size = self.size.unwrap_or_default();
                let e = Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "{}: the registry sent more than the {size} bytes the layer has",
                        self.label
                    ),
                );
                return Err(self.fail(e));
            }
            hasher.update(&buf[..n]);
            self.read += n as u64;
            return Ok(n);
        }
        if let Some(size) = self.size.filter(|&size| self.read < size) {
            // A body cut short is a broken transfer, not wrong bytes: a pull
            // keeps what came and resumes from it.
            let e = Error::new(
                ErrorKind::Network,
                format!(
                    "{}: the body ended after {} of its {size} bytes",
                    self.label, self.read
                ),
            );
            return Err(self.fail(e));
        }
        let got = self.hasher.take().map(Hasher::finish);
        match (&self.expected, got) {
            (Some(want), Some(got)) if *want != got => {
                let e = Error::new(
                    ErrorKind::DigestMismatch,
                    format!(
                        "{}: the {} bytes received hash to {got}, not {want}",
                        self.label, self.read
                    ),
                );
                Err(self.fail(e))
            }
            (Some(_), Some(_)) => {
                self.verified = true;
                Ok(0)
            }
            _ => Ok(0),
        }
    }
}

/// Hashes and counts the bytes that pass through it; with an expected
/// digest, the read that would report the end fails with DIGEST_MISMATCH
/// instead when the bytes do not hash to it (so that an upload streaming
/// them breaks off before its end).
pub(crate) struct Hashing<'r> {
    inner: &'r mut dyn Read,
    pub hasher: Hasher,
    pub len: u64,
    /// True once the inner reader reported its end.
    pub eof: bool,
    expected: Option<Digest>,
}

impl<'r> Hashing<'r> {
    pub fn new(inner: &'r mut dyn Read, hasher: Hasher) -> Hashing<'r> {
        Hashing {
            inner,
            hasher,
            len: 0,
            eof: false,
            expected: None,
        }
    }

    /// Checks the bytes against `digest` at the end.
    pub fn expecting(mut self, digest: &Digest) -> Hashing<'r> {
        self.expected = Some(digest.clone());
        self
    }

    /// The digest of what passed so far.
    pub fn digest(&self) -> Digest {
        self.hasher.clone().finish()
    }
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.len += n as u64;
        if n == 0 && !buf.is_empty() {
            self.eof = true;
            if let Some(want) = &self.expected {
                let got = self.digest();
                if got != *want {
                    let e = Error::new(
                        ErrorKind::DigestMismatch,
                        format!(
                            "the {} bytes read hash to {got}, expected {want}; nothing was committed",
                            self.len
                        ),
                    );
                    return Err(e.into_io());
                }
            }
        }
        Ok(n)
    }
}

/// Copies `reader` into `path` through [`write_atomically`].
pub(crate) fn copy_to_file(reader: &mut LayerReader, path: &Path) -> Result<u64> {
    write_atomically(path, |file| io::copy(reader, file).map_err(Error::from))
}

/// Writes through `fill` into a fresh temporary file in `path`'s directory and
/// renames it to `path` when `fill` succeeds; removes it otherwise. The file is
/// created with mode 0666 before the umask; see [`write_atomically_with_mode`].
pub(crate) fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> Result<u64>,
) -> Result<u64> {
    write_atomically_with_mode(path, 0o666, fill)
}

/// Writes a file that appears at `path` only once whole: `fill` writes into a
/// fresh temporary file beside `path` (created exclusively, with `mode` before
/// the umask, so that nothing planted under its name, a link included, is
/// ever opened), which is synced and renamed to `path` when `fill` returns
/// `Ok`, and removed otherwise. Returns what `fill` returned.
///
/// The caller owns `path` and what `fill` writes; this function owns the
/// temporary file, which outlives the call only when the process dies in it.
/// A link at `path` itself is replaced, never followed.
#[doc(hidden)]
pub fn write_atomically_with_mode(
    path: &Path,
    mode: u32,
    fill: impl FnOnce(&mut fs::File) -> Result<u64>,
) -> Result<u64> {
    let (temp, mut file) = create_temp(path, mode)?;
    let result = fill(&mut file).and_then(|n| {
        file.flush()
            .and_then(|_| file.sync_all())
            .map_err(|e| Error::io("cannot write", &temp, e))?;
        Ok(n)
    });
    drop(file);
    match result {
        Ok(n) => match fs::rename(&temp, path) {
            Ok(()) => Ok(n),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(Error::io("cannot rename the written file to", path, e))
            }
        },
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
    }
}

/// Creates a temporary file beside `path` under a name no other call uses,
/// exclusively (`O_CREAT | O_EXCL`: a link there is not followed); a name
/// taken already, planted or left by a crash, is passed over for the next.
fn create_temp(path: &Path, mode: u32) -> Result<(PathBuf, fs::File)> {
    const TRIES: usize = 16;
    for attempt in 1..=TRIES {
        let temp = temp_path(path)?;
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .open(&temp)
        {
            Ok(file) => return Ok((temp, file)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists && attempt < TRIES => {}
            Err(e) => return Err(Error::io("cannot create", &temp, e)),
        }
    }
    unreachable!("the last try returns")
}

/// The digest (sha256) and size of the file at `path`, read from its start.
/// The caller names the file (a link there is followed) and owns it; the
/// hashing is [`hash_open_file`]'s, which the layout's blobs use too.
#[doc(hidden)]
pub fn hash_file(path: &Path) -> Result<(Digest, u64)> {
    let mut file = fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
    hash_open_file(&mut file, Algorithm::Sha256, path)
}

/// Hashes what `file` holds from its start with `algorithm`; returns the
/// digest and the length.
pub(crate) fn hash_open_file(
    file: &mut fs::File,
    algorithm: Algorithm,
    path: &Path,
) -> Result<(Digest, u64)> {
    let mut hasher = Hasher::new(algorithm);
    let mut buf = vec![0u8; 256 * 1024];
    let mut len = 0u64;
    loop {
        let n = file
            .read(&mut buf)
            .map_err(|e| Error::io("cannot read", path, e))?;
        if n == 0 {
            return Ok((hasher.finish(), len));
        }
        hasher.update(&buf[..n]);
        len += n as u64;
    }
}

fn temp_path(path: &Path) -> Result<PathBuf> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = path
        .file_name()
        .ok_or_else(|| Error::invalid(format!("{} does not name a file", path.display())))?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let unique = format!(
        ".{}.{}-{}-{}.part",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    Ok(path.with_file_name(unique))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("registry-layer-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).unwrap();
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_written_file_replaces_a_link_at_its_name_and_leaves_no_temporary() {
        let d = dir("atomic");
        let victim = d.join("victim");
        fs::write(&victim, "precious").unwrap();
        let target = d.join("config.json");
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        let n = write_atomically_with_mode(&target, 0o600, |f| {
            f.write_all(b"{}").map_err(Error::from)?;
            Ok(2)
        })
        .unwrap();
        assert_eq!(n, 2);
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        let meta = fs::symlink_metadata(&target).unwrap();
        assert!(meta.file_type().is_file());
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(fs::read(&target).unwrap(), b"{}");
        assert_eq!(names(&d), ["config.json", "victim"]);

        let e = write_atomically(&d.join("never"), |f| {
            f.write_all(b"half").map_err(Error::from)?;
            Err(Error::invalid("stop"))
        })
        .unwrap_err();
        assert_eq!(e.message(), "stop");
        assert_eq!(names(&d), ["config.json", "victim"], "nothing left");
        fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn hash_file_hashes_and_counts() {
        let d = dir("hash");
        let p = d.join("blob");
        fs::write(&p, b"hello").unwrap();
        let (digest, len) = hash_file(&p).unwrap();
        assert_eq!(len, 5);
        assert_eq!(
            digest.to_string(),
            "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        let e = hash_file(&d.join("missing")).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        fs::remove_dir_all(&d).unwrap();
    }
}
