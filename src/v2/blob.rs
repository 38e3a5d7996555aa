//! Blobs (layers): HEAD for existence, GET as a streaming reader that checks
//! the digest at EOF, and GET to a file that appears only once the digest
//! checked out.

use std::path::Path;

use crate::client::{pull_scope, Client};
use crate::error::Result;
use crate::layer::{copy_to_file, LayerReader};
use crate::reference::{validate_layer, Digest, Hasher};
use crate::transport::Request;

impl Client {
    /// Whether the layer exists: `HEAD /v2/<repo>/blobs/<digest>` (v2), or
    /// whether the image's JSON can be read, `GET /v1/images/<id>/json` (v1).
    pub fn blob_exists(&self, repo: &str, layer: &str) -> Result<bool> {
        let repo = self.repo(repo)?;
        validate_layer(layer)?;
        if self.speaks_v1()? {
            return self.v1_layer_exists(&repo, layer);
        }
        let digest = Digest::parse(layer)?;
        let what = format!("HEAD /v2/{repo}/blobs/{digest}");
        let url = format!("{}/v2/{repo}/blobs/{digest}", self.base()?);
        let resp = self.execute(&Request::new("HEAD", url), &pull_scope(&repo))?;
        match resp.status().as_u16() {
            404 => Ok(false),
            _ => self.check(resp, &what).map(|_| true),
        }
    }

    /// Opens a layer for streaming: a v2 blob by digest, checked against it,
    /// or a v1 image's layer by image id, checked against the image's
    /// checksum. Redirects to other hosts are followed without the
    /// `Authorization` header.
    pub fn layer(&self, repo: &str, layer: &str) -> Result<LayerReader> {
        let repo = self.repo(repo)?;
        validate_layer(layer)?;
        if self.speaks_v1()? {
            return self.v1_layer(&repo, layer);
        }
        let expected = Digest::parse(layer)?;
        let what = format!("GET /v2/{repo}/blobs/{expected}");
        let url = format!("{}/v2/{repo}/blobs/{expected}", self.base()?);
        let resp = self.get(&Request::new("GET", url), &pull_scope(&repo), &what)?;
        let hasher = Hasher::new(expected.algorithm());
        Ok(LayerReader::new(
            resp,
            hasher,
            Some(expected.clone()),
            format!("blob {expected}"),
        ))
    }

    /// Downloads a layer (see [`layer`](Self::layer)) to `path`: the bytes go
    /// to a temporary file beside it, which is renamed to `path` only after the
    /// digest checked out. On any failure nothing is left at `path` (an
    /// existing file there is kept as it was). Returns the number of bytes
    /// written.
    pub fn layer_to_file(&self, repo: &str, layer: &str, path: impl AsRef<Path>) -> Result<u64> {
        copy_to_file(&mut self.layer(repo, layer)?, path.as_ref())
    }
}
