//! OCI image layouts on disk (image-spec `image-layout.md`): `oci-layout`,
//! `index.json`, and blobs under `blobs/<alg>/<hex>`, the format skopeo
//! (`oci:DIR:NAME`), crane, podman and umoci read and write. An image's name
//! is the `org.opencontainers.image.ref.name` annotation of its entry in
//! `index.json`.
//!
//! Blobs appear under their final name only once their digest checked out
//! (written to a temporary name, then renamed); a download in progress lives
//! beside them as `.<hex>.partial` so that a later run can resume it.
//! `index.json` is rewritten the same way, last.

#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::layer::write_atomically;
use crate::oci::{Descriptor, OCI_INDEX};
use crate::reference::{Digest, Hasher};
use crate::sync::lock;

/// The annotation that names an image in a layout.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// index.json is read up to this size.
const INDEX_CAP: u64 = 16 << 20;

/// The partial files threads of this process are writing: one writer each.
static WRITING: (Mutex<Vec<PathBuf>>, Condvar) = (Mutex::new(Vec::new()), Condvar::new());

/// Held while a thread of this process reads, changes and writes back an
/// `index.json`, so that two pulls naming images in one layout both stay.
static NAMING: Mutex<()> = Mutex::new(());

/// A thread's hold on a partial file (see [`Layout::claim`]); dropping it
/// lets the next writer in.
pub(crate) struct Claim {
    key: PathBuf,
    /// Whether another thread held it first (it may have finished the blob).
    pub waited: bool,
}

impl Drop for Claim {
    fn drop(&mut self) {
        lock(&WRITING.0).retain(|k| *k != self.key);
        WRITING.1.notify_all();
    }
}

/// An OCI image layout directory.
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Opens the layout at `root`, creating the directory and `oci-layout`
    /// when missing (a pull target). A directory holding something that is
    /// not a layout is refused.
    pub fn create(root: &Path) -> Result<Layout> {
        fs::create_dir_all(root).map_err(|e| Error::io("cannot create", root, e))?;
        let layout = Layout {
            root: root.to_path_buf(),
        };
        let marker = root.join("oci-layout");
        match fs::metadata(&marker) {
            Ok(_) => layout.check_marker()?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                write_atomically(&marker, |f| {
                    f.write_all(br#"{"imageLayoutVersion":"1.0.0"}"#)
                        .map_err(|e| Error::io("cannot write", &marker, e))?;
                    Ok(0)
                })?;
            }
            Err(e) => return Err(Error::io("cannot read", &marker, e)),
        }
        Ok(layout)
    }

    /// Opens an existing layout (a push source).
    pub fn open(root: &Path) -> Result<Layout> {
        let layout = Layout {
            root: root.to_path_buf(),
        };
        layout.check_marker()?;
        Ok(layout)
    }

    fn check_marker(&self) -> Result<()> {
        let marker = self.root.join("oci-layout");
        let text = read_capped(&marker, 4096)?;
        let doc: Value = serde_json::from_slice(&text).map_err(|_| self.not_a_layout())?;
        match doc.get("imageLayoutVersion").and_then(Value::as_str) {
            Some(v) if v.starts_with("1.") => Ok(()),
            _ => Err(self.not_a_layout()),
        }
    }

    fn not_a_layout(&self) -> Error {
        Error::invalid(format!(
            "{} is not an OCI image layout (no valid oci-layout file)",
            self.root.display()
        ))
    }

    /// Where a verified blob lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// Where a partly downloaded blob waits for a later run.
    pub fn partial_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(format!(".{}.partial", digest.hex()))
    }

    /// Makes this thread the only one of the process that writes the
    /// partial file of `digest`, waiting while another does (and asking
    /// `check`, which may cancel the wait, every 100 ms). Two pulls into one
    /// layout thus never write one file at once; another process can (a
    /// layout is not locked on disk), and then the digest checks of both
    /// still decide, but a file may lose its race.
    pub fn claim(&self, digest: &Digest, check: impl Fn() -> Result<()>) -> Result<Claim> {
        let root =
            fs::canonicalize(&self.root).map_err(|e| Error::io("cannot read", &self.root, e))?;
        let key = Layout { root }.partial_path(digest);
        let mut writing = lock(&WRITING.0);
        let mut waited = false;
        while writing.contains(&key) {
            waited = true;
            writing = WRITING
                .1
                .wait_timeout(writing, Duration::from_millis(100))
                .unwrap_or_else(|p| p.into_inner())
                .0;
            check()?;
        }
        writing.push(key.clone());
        Ok(Claim { key, waited })
    }

    /// Creates `blobs/<alg>/` for `digest`.
    pub fn prepare(&self, digest: &Digest) -> Result<()> {
        let dir = self.root.join("blobs").join(digest.algorithm().name());
        fs::create_dir_all(&dir).map_err(|e| Error::io("cannot create", &dir, e))
    }

    /// Whether the layout holds `digest` with `size` bytes that hash to it.
    pub fn has_blob(&self, digest: &Digest, size: u64) -> Result<bool> {
        let path = self.blob_path(digest);
        let mut file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot read", &path, e))?
            .len();
        if len != size {
            return Ok(false);
        }
        let (got, _) = hash_file(&mut file, digest, &path)?;
        Ok(got == *digest)
    }

    /// Stores a small blob (a manifest) under its digest, atomically.
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        self.prepare(digest)?;
        let path = self.blob_path(digest);
        write_atomically(&path, |f| {
            f.write_all(bytes)
                .map_err(|e| Error::io("cannot write", &path, e))?;
            Ok(bytes.len() as u64)
        })
        .map(|_| ())
    }

    /// Reads a small blob (a manifest, a config) of at most `cap` bytes and
    /// checks its digest.
    pub fn read_blob(&self, digest: &Digest, cap: u64) -> Result<Vec<u8>> {
        let path = self.blob_path(digest);
        let bytes = read_capped(&path, cap)?;
        let got = Hasher::digest(digest.algorithm(), &bytes);
        if got != *digest {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{} hashes to {got}, not {digest}", path.display()),
            ));
        }
        Ok(bytes)
    }

    /// Opens a blob for reading, with its length.
    pub fn open_blob(&self, digest: &Digest) -> Result<(fs::File, u64)> {
        let path = self.blob_path(digest);
        let file = fs::File::open(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => Error::new(
                ErrorKind::NotFound,
                format!("the layout has no blob {digest} ({})", path.display()),
            ),
            _ => Error::io("cannot read", &path, e),
        })?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot read", &path, e))?
            .len();
        Ok((file, len))
    }

    /// The entries of `index.json` (none when it does not exist yet).
    fn entries(&self) -> Result<(Value, Vec<Value>)> {
        let path = self.root.join("index.json");
        let bytes = match fs::metadata(&path) {
            Ok(_) => read_capped(&path, INDEX_CAP)?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Ok((json!({"schemaVersion": 2, "mediaType": OCI_INDEX}), vec![]))
            }
            Err(e) => return Err(Error::io("cannot read", &path, e)),
        };
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(format!("{} is not valid JSON: {e}", path.display())))?;
        let entries = match doc.get("manifests") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => vec![],
            Some(_) => {
                return Err(Error::invalid(format!(
                    "{}: \"manifests\" is not a list",
                    path.display()
                )))
            }
        };
        Ok((doc, entries))
    }

    /// The image named `name` in `index.json`, or with `None` the layout's
    /// only image. NOT_FOUND when there is no such name; INVALID_ARGUMENT when
    /// `None` is ambiguous.
    pub fn find(&self, name: Option<&str>) -> Result<Descriptor> {
        let (_, entries) = self.entries()?;
        let named = |e: &&Value| {
            e.get("annotations")
                .and_then(|a| a.get(REF_NAME))
                .and_then(Value::as_str)
                == name
        };
        let found: Vec<&Value> = match name {
            Some(_) => entries.iter().filter(named).collect(),
            None => entries.iter().collect(),
        };
        let entry = match (found.as_slice(), name) {
            ([one], _) => *one,
            ([first, ..], Some(_)) => *first,
            ([], Some(n)) => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} has no image named {n:?}", self.root.display()),
                ))
            }
            ([], None) => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} holds no image", self.root.display()),
                ))
            }
            (_, None) => {
                return Err(Error::invalid(format!(
                    "{} holds {} images: name the one to push",
                    self.root.display(),
                    found.len()
                )))
            }
        };
        serde_json::from_value(entry.clone()).map_err(|e| {
            Error::invalid(format!(
                "{}/index.json has a malformed entry: {e}",
                self.root.display()
            ))
        })
    }

    /// Names `descriptor` (a `mediaType`/`digest`/`size` object, perhaps with
    /// a `platform`) `name` in `index.json`: an entry with that name loses it
    /// (and goes when it names nothing else); other entries stay as they are.
    /// Written atomically, one thread of this process at a time.
    pub fn name(&self, name: &str, mut descriptor: Map<String, Value>) -> Result<()> {
        let _naming = lock(&NAMING);
        let (mut doc, entries) = self.entries()?;
        let mut kept: Vec<Value> = entries
            .into_iter()
            .filter(|e| {
                e.get("annotations")
                    .and_then(|a| a.get(REF_NAME))
                    .and_then(Value::as_str)
                    != Some(name)
            })
            .collect();
        let mut annotations = Map::new();
        annotations.insert(REF_NAME.into(), Value::String(name.into()));
        descriptor.insert("annotations".into(), Value::Object(annotations));
        kept.push(Value::Object(descriptor));
        doc["manifests"] = Value::Array(kept);
        if doc.get("schemaVersion").is_none() {
            doc["schemaVersion"] = json!(2);
        }
        let bytes = serde_json::to_vec(&doc).map_err(|e| Error::protocol(e.to_string()))?;
        let path = self.root.join("index.json");
        write_atomically(&path, |f| {
            f.write_all(&bytes)
                .map_err(|e| Error::io("cannot write", &path, e))?;
            Ok(bytes.len() as u64)
        })
        .map(|_| ())
    }
}

/// Hashes what `file` holds from its start, in `digest`'s algorithm; returns
/// the digest and the length.
pub(crate) fn hash_file(
    file: &mut fs::File,
    digest: &Digest,
    path: &Path,
) -> Result<(Digest, u64)> {
    let mut hasher = Hasher::new(digest.algorithm());
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

fn read_capped(path: &Path, cap: u64) -> Result<Vec<u8>> {
    let file = fs::File::open(path).map_err(|e| Error::io("cannot read", path, e))?;
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 > cap {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!("{} is larger than {cap} bytes", path.display()),
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Algorithm;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn one_thread_at_a_time_writes_a_partial_file() {
        let dir = std::env::temp_dir().join(format!("registry-claim-{}", std::process::id()));
        let layout = Arc::new(Layout::create(&dir).unwrap());
        let digest = Hasher::digest(Algorithm::Sha256, b"blob");
        let first = layout.claim(&digest, || Ok(())).unwrap();
        assert!(!first.waited);
        let got_in = Arc::new(AtomicBool::new(false));
        let second = {
            let (layout, digest, got_in) = (layout.clone(), digest.clone(), got_in.clone());
            std::thread::spawn(move || {
                let claim = layout.claim(&digest, || Ok(())).unwrap();
                got_in.store(true, Ordering::SeqCst);
                claim.waited
            })
        };
        // Another digest is not held up, and a wait can be cancelled.
        let other = Hasher::digest(Algorithm::Sha256, b"other");
        drop(layout.claim(&other, || Ok(())).unwrap());
        let e = Layout::open(&dir)
            .unwrap()
            .claim(&digest, || Err(Error::new(ErrorKind::Aborted, "cancelled")))
            .err()
            .expect("cancelled while waiting");
        assert_eq!(e.kind(), ErrorKind::Aborted);
        assert!(!got_in.load(Ordering::SeqCst), "the second writer waits");
        drop(first);
        assert!(second.join().unwrap(), "it waited, then got in");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn threads_naming_images_in_one_layout_lose_none() {
        let dir = std::env::temp_dir().join(format!("registry-naming-{}", std::process::id()));
        let layout = Arc::new(Layout::create(&dir).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let layout = layout.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let name = format!("t{t}-{i}");
                        let digest = Hasher::digest(Algorithm::Sha256, name.as_bytes());
                        let descriptor =
                            json!({"mediaType": "m", "digest": digest.to_string(), "size": 1});
                        let Value::Object(descriptor) = descriptor else {
                            unreachable!()
                        };
                        layout.name(&name, descriptor).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (_, entries) = layout.entries().unwrap();
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(entries.len(), 80, "every name stays");
    }
}
