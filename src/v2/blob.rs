//! Blobs: HEAD for existence, GET as a streaming reader that checks the
//! digest at EOF, and a GET that resumes from a byte offset.

#![forbid(unsafe_code)]

use crate::auth::Scope;
use crate::error::Result;
use crate::layer::LayerReader;
use crate::reference::{Digest, Hasher};
use crate::remote::Remote;
use crate::transport::{header, Payload, Request};

/// `HEAD /v2/<repo>/blobs/<digest>`: true for 2xx, false for 404.
pub(crate) fn blob_exists(remote: &Remote<'_>, repo: &str, digest: &Digest) -> Result<bool> {
    let req = Request::new("HEAD", remote.url(&format!("/v2/{repo}/blobs/{digest}")));
    let resp = remote.send(&req, &Scope::pull(repo), &mut Payload::Empty)?;
    match resp.status().as_u16() {
        404 => Ok(false),
        _ => remote.check(resp).map(|_| true),
    }
}

/// `GET /v2/<repo>/blobs/<digest>` as a reader checked against the digest
/// (and against `size`, when a descriptor gives it). Redirects to other
/// origins are followed without credentials.
pub(crate) fn open_blob(
    remote: &Remote<'_>,
    repo: &str,
    digest: &Digest,
    size: Option<u64>,
) -> Result<LayerReader> {
    let req = Request::new("GET", remote.url(&format!("/v2/{repo}/blobs/{digest}"))).bulk();
    let resp = remote.send_checked(&req, &Scope::pull(repo))?;
    LayerReader::new(
        resp,
        Hasher::new(digest.algorithm()),
        Some(digest.clone()),
        size,
        format!("blob {digest}"),
    )
}

/// Resumes a blob of `size` bytes whose first `from` bytes the caller has
/// (and hashed into `prefix`): `GET` with `Range: bytes=<from>-`. Returns
/// the reader and the offset it starts at: `from` when the registry answered
/// 206 for exactly that range, 0 when it sent the whole blob (200) or
/// another span (then a plain GET asks for the whole blob). Either way the
/// reader checks the digest over the whole blob at its end.
pub(crate) fn open_blob_from(
    remote: &Remote<'_>,
    repo: &str,
    digest: &Digest,
    size: u64,
    from: u64,
    prefix: Hasher,
) -> Result<(LayerReader, u64)> {
    if from == 0 {
        return Ok((open_blob(remote, repo, digest, Some(size))?, 0));
    }
    let req = Request::new("GET", remote.url(&format!("/v2/{repo}/blobs/{digest}")))
        .header("Range", format!("bytes={from}-"))
        .bulk();
    let resp = remote.send_checked(&req, &Scope::pull(repo))?;
    let label = format!("blob {digest}");
    if resp.status().as_u16() != 206 {
        let hasher = Hasher::new(digest.algorithm());
        let reader = LayerReader::new(resp, hasher, Some(digest.clone()), Some(size), label)?;
        return Ok((reader, 0));
    }
    // Content-Range: bytes <from>-<size - 1>/<size or *>, the rest exactly.
    let range = header(&resp, "content-range").unwrap_or_default();
    let parsed = range.trim().strip_prefix("bytes ").and_then(|r| {
        let (span, total) = r.split_once('/')?;
        let (first, last) = span.split_once('-')?;
        let number = |n: &str| n.trim().parse::<u64>().ok();
        let total = match total.trim() {
            "*" => Some(size),
            t => number(t),
        };
        Some((number(first)?, number(last)?, total?))
    });
    if parsed != Some((from, size - 1, size)) {
        // Another span than the rest (a proxy that caps them, say): the
        // whole blob again, or a resume that never ends.
        return Ok((open_blob(remote, repo, digest, Some(size))?, 0));
    }
    let reader = LayerReader::new(resp, prefix, Some(digest.clone()), Some(size - from), label)?;
    Ok((reader, from))
}
