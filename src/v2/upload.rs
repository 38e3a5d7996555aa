//! Blob uploads: POST to start a session, one streamed PATCH that hashes the
//! bytes as they go, then PUT `?digest=` to commit. Cross-repository mounts.

use std::io::Read;

use crate::auth::{repo_scope, Scope};
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::layer::Hashing;
use crate::reference::{validate_layer, Algorithm, Digest, Hasher};
use crate::transport::{add_query, header, resolve, Payload, Request};

/// An upload session: the latest `Location`, resolved, with its state query.
struct Session {
    location: String,
}

pub(crate) fn push_scope(repo: &str) -> Scope {
    repo_scope(repo, "pull,push")
}

impl Client {
    /// Uploads a layer (blob) from `reader` into `repo` and returns its digest.
    /// On a v1 registry `expected` is the id of the image whose JSON was put
    /// first, and the digest returned is the image checksum; see
    /// `v1_put_layer`.
    ///
    /// The bytes stream through one PATCH and are hashed on the way; nothing is
    /// held in memory. With `expected`, a blob already in the repository is not
    /// sent again (the reader is not read at all), and bytes that hash to
    /// anything else fail with DIGEST_MISMATCH before anything is committed.
    /// An error from the reader aborts the upload and is returned as is (an
    /// `io::Error` wrapping [`Error`] keeps its kind, e.g. ABORTED).
    pub fn put_layer(
        &self,
        repo: &str,
        reader: &mut dyn Read,
        expected: Option<&str>,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        expected.map(validate_layer).transpose()?;
        if self.speaks_v1()? {
            return self.v1_put_layer(&repo, reader, expected);
        }
        let expected = expected.map(Digest::parse).transpose()?;
        if let Some(d) = &expected {
            if self.blob_exists(&repo, &d.to_string())? {
                return Ok(d.clone());
            }
        }
        let session = self.start_upload(&repo, None)?.ok_or_else(|| {
            Error::protocol("the registry answered an upload start as a finished mount")
        })?;
        let algorithm = expected
            .as_ref()
            .map_or(Algorithm::Sha256, Digest::algorithm);
        let mut hashing = Hashing::new(reader, Hasher::new(algorithm));
        let session = match self.patch(&repo, session.location.clone(), &mut hashing) {
            Ok(s) => s,
            Err(e) => {
                self.cancel(&repo, &session);
                return Err(e);
            }
        };
        let digest = hashing.hasher.finish();
        if let Some(exp) = &expected {
            if *exp != digest {
                self.cancel(&repo, &session);
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!(
                        "upload to {repo}: the {} bytes read hash to {digest}, expected {exp}; nothing was committed",
                        hashing.len
                    ),
                ));
            }
        }
        self.commit(&repo, &session, &digest)?;
        Ok(digest)
    }

    /// Uploads a layer from a file; see [`put_layer`](Self::put_layer).
    pub fn put_layer_file(
        &self,
        repo: &str,
        path: impl AsRef<std::path::Path>,
        expected: Option<&str>,
    ) -> Result<Digest> {
        let path = path.as_ref();
        let mut file = std::fs::File::open(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot open {}: {e}", path.display()),
            )
        })?;
        self.put_layer(repo, &mut file, expected)
    }

    /// Mounts `digest` from repository `from` into `repo` without copying
    /// bytes. True when the registry mounted it; false when it could not (the
    /// blob is unknown in `from`, or mounts are off), in which case nothing
    /// changed and the caller uploads the blob instead.
    pub fn mount_blob(&self, repo: &str, digest: &str, from: &str) -> Result<bool> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let from = self.repo(from)?;
        let digest = Digest::parse(digest)?;
        match self.start_upload(&repo, Some((&digest, &from)))? {
            None => Ok(true),
            Some(session) => {
                self.cancel(&repo, &session);
                Ok(false)
            }
        }
    }

    /// POSTs to start an upload (or a mount). `None` means a mount succeeded.
    fn start_upload(&self, repo: &str, mount: Option<(&Digest, &str)>) -> Result<Option<Session>> {
        let mut url = format!("{}/v2/{repo}/blobs/uploads/", self.base()?);
        let mut scope = push_scope(repo);
        if let Some((digest, from)) = mount {
            url = add_query(&add_query(&url, "mount", &digest.to_string()), "from", from);
            scope.extend(repo_scope(from, "pull"));
        }
        let what = format!("POST /v2/{repo}/blobs/uploads/");
        let req = Request::new("POST", url.clone()).header("Content-Length", "0");
        let resp = self.execute(&req, &scope)?;
        let status = resp.status().as_u16();
        let resp = self.check(resp, &what)?;
        if status == 201 && mount.is_some() {
            return Ok(None);
        }
        let location = header(&resp, "location").ok_or_else(|| {
            Error::protocol(format!("{what}: no Location for the upload session"))
        })?;
        Ok(Some(Session {
            location: resolve(&url, &location),
        }))
    }

    /// Streams `body` in one PATCH; returns the session at its new Location.
    fn patch(&self, repo: &str, location: String, body: &mut Hashing<'_>) -> Result<Session> {
        let what = format!("PATCH upload to {repo}");
        let req = Request::new("PATCH", location.clone())
            .header("Content-Type", "application/octet-stream");
        let resp = self.execute_with(&req, &push_scope(repo), &mut Payload::Stream(body))?;
        let resp = self.check(resp, &what)?;
        let next = header(&resp, "location").map_or(location.clone(), |l| resolve(&location, &l));
        Ok(Session { location: next })
    }

    /// PUT `?digest=` to commit; checks the digest the registry reports.
    fn commit(&self, repo: &str, session: &Session, digest: &Digest) -> Result<()> {
        let what = format!("PUT upload to {repo}");
        let url = add_query(&session.location, "digest", &digest.to_string());
        let req = Request::new("PUT", url).header("Content-Length", "0");
        let resp = self.execute(&req, &push_scope(repo))?;
        let resp = self.check(resp, &what)?;
        super::check_reported_digest(&resp, digest, &what)
    }

    /// Cancels an upload session; errors are ignored (the registry purges
    /// abandoned sessions anyway).
    fn cancel(&self, repo: &str, session: &Session) {
        let req = Request::new("DELETE", session.location.clone());
        let _ = self.execute(&req, &push_scope(repo));
    }
}
