//! Blobs (v2) and layers (v1): whether one exists, reading one as a stream
//! or into a file, uploading one, mounting one from another repository.

#![forbid(unsafe_code)]

use std::io::Read;
use std::path::Path;

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::layer::{copy_to_file, LayerReader};
use crate::reference::{validate_layer, Digest};
use crate::types::ApiVersion;
use crate::{v1, v2};

/// What a v1 or a v2 registry says of a layer's size, when nothing else does.
type Size = Option<u64>;

impl Client {
    /// Whether the layer exists: `HEAD /v2/<repo>/blobs/<digest>` (v2), or
    /// whether the image's JSON can be read, `GET /v1/images/<id>/json` (v1).
    pub fn blob_exists(&self, repo: &str, layer: &str) -> Result<bool> {
        let repo = self.repo(repo)?;
        validate_layer(layer)?;
        self.dispatch(
            |r| v2::blob_exists(r, &repo, &Digest::parse(layer)?),
            |r, s| v1::layer_exists(r, s, &repo, layer),
        )
    }

    /// Opens a layer for streaming: a v2 blob by digest, checked against it,
    /// or a v1 image's layer by image id, checked against the image's
    /// checksum. Redirects to other hosts are followed without credentials.
    /// A body longer than the announced size fails with TOO_LARGE.
    pub fn layer(&self, repo: &str, layer: &str) -> Result<LayerReader> {
        self.layer_sized(repo, layer, None)
    }

    /// [`layer`](Self::layer) for a layer whose size a descriptor gives.
    pub(crate) fn layer_sized(&self, repo: &str, layer: &str, size: Size) -> Result<LayerReader> {
        let repo = self.repo(repo)?;
        validate_layer(layer)?;
        self.dispatch(
            |r| v2::open_blob(r, &repo, &Digest::parse(layer)?, size),
            |r, s| v1::open_layer(r, s, &repo, layer),
        )
    }

    /// Downloads a layer (see [`layer`](Self::layer)) to `path`: the bytes go
    /// to a temporary file beside it, which is renamed to `path` only after the
    /// digest checked out. On any failure nothing is left at `path` (an
    /// existing file there is kept as it was). Returns the number of bytes
    /// written.
    pub fn layer_to_file(&self, repo: &str, layer: &str, path: impl AsRef<Path>) -> Result<u64> {
        copy_to_file(&mut self.layer(repo, layer)?, path.as_ref())
    }

    /// Uploads a layer (blob) from `reader` into `repo` and returns its digest.
    /// On a v1 registry `expected` is the id of the image whose JSON was put
    /// first, and the digest returned is the image checksum (the layer is
    /// PUT, then the checksum, which completes the image).
    ///
    /// v2: the bytes stream through one PATCH, hashed on the way, and a
    /// bodiless `PUT ?digest=` commits them (as skopeo uploads: some
    /// registries refuse a body on the request that opens or closes an
    /// upload). With `expected`, a blob already in the repository is not
    /// sent again (the reader is not read at all), and bytes that hash to
    /// anything else fail with DIGEST_MISMATCH with nothing committed.
    /// Nothing is held in memory. An error from the reader aborts the upload
    /// and is returned as is (an `io::Error` wrapping [`Error`] keeps its
    /// kind, e.g. ABORTED).
    pub fn put_layer(
        &self,
        repo: &str,
        reader: &mut dyn Read,
        expected: Option<&str>,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        expected.map(validate_layer).transpose()?;
        self.run(|| match self.connect()? {
            (ApiVersion::V2, r) => {
                let expected = expected.map(Digest::parse).transpose()?;
                v2::put_blob(&r, &repo, reader, expected.as_ref())
            }
            (ApiVersion::V1, r) => v1::put_layer(&r, &self.inner.v1, &repo, reader, expected),
        })
    }

    /// Uploads a layer from a file; see [`put_layer`](Self::put_layer).
    pub fn put_layer_file(
        &self,
        repo: &str,
        path: impl AsRef<Path>,
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
    /// bytes (v2 only). True when the registry mounted it; false when it
    /// could not (the blob is unknown in `from`, or mounts are off), in which
    /// case nothing changed and the caller uploads the blob instead.
    pub fn mount_blob(&self, repo: &str, digest: &str, from: &str) -> Result<bool> {
        let repo = self.repo(repo)?;
        let from = self.repo(from)?;
        let digest = Digest::parse(digest)?;
        self.v2_only("mounting a blob", |r| {
            v2::mount_blob(r, &repo, &digest, &from)
        })
    }
}
