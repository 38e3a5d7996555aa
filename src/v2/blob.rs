//! Blobs (layers): HEAD for existence, GET as a streaming reader that checks
//! the digest at EOF, and GET to a file that appears only once the digest
//! checked out.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::client::{pull_scope, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::{Digest, Hasher};
use crate::transport::Request;

/// A layer being downloaded. Reads stream from the registry; the read that
/// would return end-of-file first compares the digest, and fails with
/// DIGEST_MISMATCH (wrapped in `io::Error`; `Error::from` unwraps it) when the
/// bytes are not the ones asked for.
pub struct LayerReader {
    body: ureq::BodyReader<'static>,
    hasher: Option<Hasher>,
    expected: Digest,
    size: Option<u64>,
    read: u64,
    failed: Option<Error>,
}

impl std::fmt::Debug for LayerReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerReader")
            .field("digest", &self.expected.to_string())
            .field("read", &self.read)
            .finish_non_exhaustive()
    }
}

impl LayerReader {
    /// The digest being checked.
    pub fn digest(&self) -> &Digest {
        &self.expected
    }

    /// The `Content-Length` the registry announced, if any.
    pub fn size(&self) -> Option<u64> {
        self.size
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
        let n = match self.body.read(buf) {
            Ok(n) => n,
            Err(e) => {
                let e = Error::from_io_transport(&e, &format!("reading blob {}", self.expected));
                return Err(self.fail(e));
            }
        };
        if n > 0 {
            hasher.update(&buf[..n]);
            self.read += n as u64;
            return Ok(n);
        }
        let got = self.hasher.take().map(Hasher::finish);
        if got.as_ref() != Some(&self.expected) {
            let got = got.map_or_else(String::new, |d| d.to_string());
            let e = Error::new(
                ErrorKind::DigestMismatch,
                format!(
                    "blob {}: the {} bytes received hash to {got}",
                    self.expected, self.read
                ),
            );
            return Err(self.fail(e));
        }
        Ok(0)
    }
}

impl Client {
    /// Whether the blob exists in `repo` (`HEAD /v2/<repo>/blobs/<digest>`).
    pub fn blob_exists(&self, repo: &str, digest: &str) -> Result<bool> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let digest = Digest::parse(digest)?;
        let what = format!("HEAD /v2/{repo}/blobs/{digest}");
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base()?);
        let resp = self.execute(&Request::new("HEAD", url), &pull_scope(&repo))?;
        match resp.status().as_u16() {
            404 => Ok(false),
            _ => self.check(resp, &what).map(|_| true),
        }
    }

    /// Opens a blob for streaming. Redirects to other hosts are followed without
    /// the `Authorization` header.
    pub fn layer(&self, repo: &str, digest: &str) -> Result<LayerReader> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let expected = Digest::parse(digest)?;
        let what = format!("GET /v2/{repo}/blobs/{expected}");
        let url = format!("{}/v2/{repo}/blobs/{expected}", self.base()?);
        let resp = self.get(&Request::new("GET", url), &pull_scope(&repo), &what)?;
        let size = crate::transport::header(&resp, "content-length").and_then(|l| l.parse().ok());
        Ok(LayerReader {
            body: resp.into_body().into_reader(),
            hasher: Some(Hasher::new(expected.algorithm())),
            expected,
            size,
            read: 0,
            failed: None,
        })
    }

    /// Downloads a blob to `path`: the bytes go to a temporary file beside it,
    /// which is renamed to `path` only after the digest checked out. On any
    /// failure nothing is left at `path` (an existing file there is kept as it
    /// was). Returns the number of bytes written.
    pub fn layer_to_file(&self, repo: &str, digest: &str, path: impl AsRef<Path>) -> Result<u64> {
        let path = path.as_ref();
        let mut reader = self.layer(repo, digest)?;
        write_atomically(path, |file| {
            let n = io::copy(&mut reader, file).map_err(Error::from)?;
            Ok(n)
        })
    }
}

/// Writes through `fill` into a fresh temporary file in `path`'s directory and
/// renames it to `path` when `fill` succeeds; removes it otherwise.
pub(crate) fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut fs::File) -> Result<u64>,
) -> Result<u64> {
    let io_err = |what: &str, p: &Path, e: io::Error| {
        Error::new(ErrorKind::Io, format!("{what} {}: {e}", p.display()))
    };
    let temp = temp_path(path)?;
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temp)
        .map_err(|e| io_err("cannot create", &temp, e))?;
    let result = fill(&mut file).and_then(|n| {
        file.flush()
            .and_then(|_| file.sync_all())
            .map_err(|e| io_err("cannot write", &temp, e))?;
        Ok(n)
    });
    drop(file);
    match result {
        Ok(n) => match fs::rename(&temp, path) {
            Ok(()) => Ok(n),
            Err(e) => {
                let _ = fs::remove_file(&temp);
                Err(io_err("cannot rename the download to", path, e))
            }
        },
        Err(e) => {
            let _ = fs::remove_file(&temp);
            Err(e)
        }
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
