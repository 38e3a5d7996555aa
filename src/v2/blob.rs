//! Blobs: HEAD for existence, GET as a streaming reader that checks the
//! digest at EOF.

#![forbid(unsafe_code)]

use crate::auth::{Remote, Scope};
use crate::error::Result;
use crate::layer::LayerReader;
use crate::reference::{Digest, Hasher};
use crate::transport::{Payload, Request};

/// `HEAD /v2/<repo>/blobs/<digest>`: true for 2xx, false for 404.
pub(crate) fn blob_exists(remote: &Remote<'_>, repo: &str, digest: &Digest) -> Result<bool> {
    let what = format!("HEAD /v2/{repo}/blobs/{digest}");
    let req = Request::new("HEAD", remote.url(&format!("/v2/{repo}/blobs/{digest}")));
    let resp = remote.send(&req, &Scope::pull(repo), &mut Payload::Empty)?;
    match resp.status().as_u16() {
        404 => Ok(false),
        _ => remote.check(resp, &what).map(|_| true),
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
    let what = format!("GET /v2/{repo}/blobs/{digest}");
    let req = Request::new("GET", remote.url(&format!("/v2/{repo}/blobs/{digest}"))).bulk();
    let resp = remote.get(&req, &Scope::pull(repo), &what)?;
    LayerReader::new(
        resp,
        Hasher::new(digest.algorithm()),
        Some(digest.clone()),
        size,
        format!("blob {digest}"),
    )
}
