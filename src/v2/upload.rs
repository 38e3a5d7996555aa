//! Blob uploads and cross-repository mounts.
//!
//! An upload is a POST that opens a session, one PATCH that streams the
//! bytes, hashed (and with the digest known up front, checked) on the way,
//! and a bodiless `PUT ?digest=` that commits them, as skopeo uploads. The
//! bytes never ride on the request that opens or closes the session: some
//! registries refuse a body there (500 "missing content length not
//! implemented"), while PATCH then PUT works everywhere. Nothing is held in
//! memory, and an upload that fails is cancelled (DELETE) so that nothing is
//! committed.

#![forbid(unsafe_code)]

use std::io::Read;

use super::{blob_exists, check_reported_digest};
use crate::auth::Scope;
use crate::error::{Error, ErrorKind, Result};
use crate::layer::Hashing;
use crate::reference::{Algorithm, Digest, Hasher};
use crate::remote::Remote;
use crate::transport::{header, Payload, Request};
use crate::url::{add_query, resolve};

/// An open upload session: its latest `Location`, resolved, with its state query.
pub(crate) struct Upload {
    location: String,
}

/// Uploads the bytes of `reader` into `repo` and returns their digest. With
/// `expected`, a blob already in the repository is not sent again (the
/// reader is not read at all), and bytes that hash to anything else fail
/// with DIGEST_MISMATCH, nothing committed. An error from the reader aborts
/// the upload and is returned as is (an `io::Error` wrapping [`Error`] keeps
/// its kind, e.g. ABORTED).
pub(crate) fn put_blob(
    remote: &Remote<'_>,
    repo: &str,
    reader: &mut dyn Read,
    expected: Option<&Digest>,
) -> Result<Digest> {
    if let Some(d) = expected {
        if blob_exists(remote, repo, d)? {
            return Ok(d.clone());
        }
        return upload_blob(remote, repo, reader, d, false);
    }
    let upload = start_upload(remote, repo, None)?.ok_or_else(|| {
        Error::protocol("the registry answered an upload start as a finished mount")
    })?;
    let mut hashing = Hashing::new(reader, Hasher::new(Algorithm::Sha256));
    let result = patch(remote, repo, &upload, &mut hashing)
        .and_then(|next| commit(remote, repo, &next, &hashing.digest()));
    cancel_on_error(remote, repo, &upload, result)
}

/// Uploads the bytes of `reader`, which must hash to `expected`, without
/// asking first whether the registry has the blob: a POST, one PATCH and a
/// bodiless `PUT ?digest=`. The bytes are hashed on the way unless
/// `reader_verifies` (a [`LayerReader`] already checks them and fails its
/// last read when they are wrong); either way bytes that do not match abort
/// the PATCH before its end, and the PUT that would commit them is never
/// sent. On any failure the session is cancelled and nothing is committed.
///
/// [`LayerReader`]: crate::layer::LayerReader
pub(crate) fn upload_blob(
    remote: &Remote<'_>,
    repo: &str,
    reader: &mut dyn Read,
    expected: &Digest,
    reader_verifies: bool,
) -> Result<Digest> {
    let upload = start_upload(remote, repo, None)?.ok_or_else(|| {
        Error::protocol("the registry answered an upload start as a finished mount")
    })?;
    let result = if reader_verifies {
        patch_and_commit(remote, repo, &upload, reader, expected)
    } else {
        let mut hashing =
            Hashing::new(reader, Hasher::new(expected.algorithm())).expecting(expected);
        patch_and_commit(remote, repo, &upload, &mut hashing, expected).map_err(|e| {
            if e.kind() == ErrorKind::DigestMismatch {
                e.map_message(|m| format!("upload to {repo}: {m}"))
            } else {
                e
            }
        })
    };
    cancel_on_error(remote, repo, &upload, result)
}

fn cancel_on_error(
    remote: &Remote<'_>,
    repo: &str,
    upload: &Upload,
    result: Result<Digest>,
) -> Result<Digest> {
    if result.is_err() {
        cancel_upload(remote, repo, upload);
    }
    result
}

/// The bytes in one PATCH, then the commit under `expected`. The PATCH body
/// is chunked, so the reader is read to its end, where the digest is
/// checked, before the last chunk goes out: bytes that do not match abort
/// the PATCH, the PUT is never sent, and even a registry that checks nothing
/// commits nothing.
fn patch_and_commit(
    remote: &Remote<'_>,
    repo: &str,
    upload: &Upload,
    body: &mut dyn Read,
    expected: &Digest,
) -> Result<Digest> {
    let next = patch(remote, repo, upload, body)?;
    commit(remote, repo, &next, expected)
}

/// Mounts `digest` from repository `from` into `repo` without copying bytes.
/// True when the registry mounted it; false when it could not (the blob is
/// unknown in `from`, or mounts are off), in which case nothing changed and
/// the caller uploads the blob instead.
pub(crate) fn mount_blob(
    remote: &Remote<'_>,
    repo: &str,
    digest: &Digest,
    from: &str,
) -> Result<bool> {
    match start_upload(remote, repo, Some((digest, from)))? {
        None => Ok(true),
        Some(upload) => {
            cancel_upload(remote, repo, &upload);
            Ok(false)
        }
    }
}

/// POSTs to start an upload (or a mount). `None` means a mount succeeded.
fn start_upload(
    remote: &Remote<'_>,
    repo: &str,
    mount: Option<(&Digest, &str)>,
) -> Result<Option<Upload>> {
    let mut url = remote.url(&format!("/v2/{repo}/blobs/uploads/"));
    let mut scope = Scope::push(repo);
    if let Some((digest, from)) = mount {
        url = add_query(&add_query(&url, "mount", &digest.to_string()), "from", from);
        scope = Scope::mount(repo, from);
    }
    let req = Request::new("POST", url.clone()).header("Content-Length", "0");
    let resp = remote.send(&req, &scope, &mut Payload::Empty)?;
    let status = resp.status().as_u16();
    let resp = remote.check(resp)?;
    if status == 201 && mount.is_some() {
        return Ok(None);
    }
    let location = header(&resp, "location").ok_or_else(|| {
        Error::protocol(format!(
            "{}: no Location for the upload session",
            req.what()
        ))
    })?;
    Ok(Some(Upload {
        location: resolve(&url, &location),
    }))
}

/// Streams `body` in one PATCH; returns the session at its new Location.
fn patch(remote: &Remote<'_>, repo: &str, upload: &Upload, body: &mut dyn Read) -> Result<Upload> {
    let req = Request::new("PATCH", upload.location.clone())
        .header("Content-Type", "application/octet-stream")
        .bulk();
    let resp = remote.send(&req, &Scope::push(repo), &mut Payload::Stream(body))?;
    let resp = remote.check(resp)?;
    let next = header(&resp, "location")
        .map_or(upload.location.clone(), |l| resolve(&upload.location, &l));
    Ok(Upload { location: next })
}

/// PUT `?digest=` to commit; checks the digest the registry reports.
fn commit(remote: &Remote<'_>, repo: &str, upload: &Upload, digest: &Digest) -> Result<Digest> {
    let url = add_query(&upload.location, "digest", &digest.to_string());
    let req = Request::new("PUT", url).header("Content-Length", "0");
    let resp = remote.send(&req, &Scope::push(repo), &mut Payload::Empty)?;
    let resp = remote.check(resp)?;
    check_reported_digest(&resp, digest)?;
    Ok(digest.clone())
}

/// Cancels an upload session, once, under a short deadline, also after the
/// call was cancelled; errors are ignored (the registry purges abandoned
/// sessions anyway).
fn cancel_upload(remote: &Remote<'_>, repo: &str, upload: &Upload) {
    let req = Request::new("DELETE", upload.location.clone()).best_effort();
    let _ = remote.send(&req, &Scope::push(repo), &mut Payload::Empty);
}
