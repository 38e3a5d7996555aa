//! Blobs (v2) and layers (v1): whether one exists, reading one as a stream
//! or into a file, uploading one, mounting one from another repository.

#![forbid(unsafe_code)]

use std::io::Read;
use std::path::Path;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::layer::{copy_to_file, LayerReader};
use crate::reference::{typed, ContentId, Digest};
use crate::types::ApiVersion;
use crate::{v1, v2};

/// What a v1 or a v2 registry says of a layer's size, when nothing else does.
type Size = Option<u64>;

impl Client {
    /// Whether the layer exists: `HEAD /v2/<repo>/blobs/<digest>` (v2), or
    /// whether the image's JSON can be read, `GET /v1/images/<id>/json` (v1).
    /// `layer` is a [`ContentId`]: a digest on v2, an image id on v1 (a
    /// string is parsed by its shape). C: `registry_layer_exists`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `layer`, or for an image id on a v2 registry (a digest on
    ///   v1). A missing layer is `Ok(false)`, not
    ///   [`ErrorKind::NotFound`](crate::ErrorKind::NotFound);
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /// if !client.layer_exists("team/app", DIGEST)? {
    ///     println!("not there");
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn layer_exists(
        &self,
        repo: &str,
        layer: impl TryInto<ContentId, Error: Into<Error>>,
    ) -> Result<bool> {
        let repo = self.repo(repo)?;
        let layer = typed(layer)?;
        self.dispatch_read(
            |r| v2::blob_exists(r, &repo, layer.digest()?),
            |r, s| v1::layer_exists(r, s, &repo, layer.v1_image()?),
        )
        .map(|(exists, _)| exists)
    }

    /// Opens a layer for streaming: a v2 blob by digest, checked against it,
    /// or a v1 image's layer by image id, checked against the image's
    /// checksum. Redirects to other hosts are followed without credentials.
    /// A body longer than the announced size fails with TOO_LARGE.
    /// C: `registry_layer_open`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the repository has no
    ///   such layer;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `layer`, or for the wrong kind of id (see
    ///   [`layer_exists`](Self::layer_exists));
    /// - on reads: [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when
    ///   the bytes do not hash to the digest (at the end),
    ///   [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) for a body longer than
    ///   announced, [`ErrorKind::Network`](crate::ErrorKind::Network) for one that ends
    ///   short, [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) when it stalls;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /// let mut layer = client.layer_open("team/app", DIGEST)?;
    /// std::io::copy(&mut layer, &mut std::io::sink())?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn layer_open(
        &self,
        repo: &str,
        layer: impl TryInto<ContentId, Error: Into<Error>>,
    ) -> Result<LayerReader> {
        self.layer_sized(repo, &typed(layer)?, None)
    }

    /// [`layer_open`](Self::layer_open) for a layer whose size a descriptor gives.
    pub(crate) fn layer_sized(
        &self,
        repo: &str,
        layer: &ContentId,
        size: Size,
    ) -> Result<LayerReader> {
        let repo = self.repo(repo)?;
        self.dispatch_read(
            |r| v2::open_blob(r, &repo, layer.digest()?, size),
            |r, s| v1::open_layer(r, s, &repo, layer.v1_image()?),
        )
        .map(|(reader, _)| reader)
    }

    /// Downloads a layer (see [`layer_open`](Self::layer_open)) to `path`:
    /// the bytes go to a temporary file beside it, which is renamed to `path`
    /// only after the digest checked out. On any failure nothing is left at
    /// `path` (an existing file there is kept as it was). Returns the number
    /// of bytes written. C: `registry_layer_get_file`.
    ///
    /// # Errors
    ///
    /// - those of [`layer_open`](Self::layer_open), and
    ///   [`ErrorKind::Io`](crate::ErrorKind::Io) when `path` cannot be written.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /// let bytes = client.layer_get_file("team/app", DIGEST, "/tmp/layer.tar.gz")?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn layer_get_file(
        &self,
        repo: &str,
        layer: impl TryInto<ContentId, Error: Into<Error>>,
        path: impl AsRef<Path>,
    ) -> Result<u64> {
        let repo = self.repo(repo)?;
        let layer = typed(layer)?;
        let path = path.as_ref();
        // The whole copy is the read: bytes from a mirror that fail their
        // digest are thrown away and the next source asked.
        self.dispatch_read(
            |r| copy_to_file(&mut v2::open_blob(r, &repo, layer.digest()?, None)?, path),
            |r, s| copy_to_file(&mut v1::open_layer(r, s, &repo, layer.v1_image()?)?, path),
        )
        .map(|(n, _)| n)
    }

    /// Uploads a layer (blob) from `reader` into `repo` and returns its digest.
    /// On a v1 registry `expected` is the id of the image whose JSON was put
    /// first, and the digest returned is the image checksum (the layer is
    /// PUT, then the checksum, which completes the image). A failed or
    /// aborted v1 upload sends no checksum: the image stays incomplete and
    /// cannot be tagged.
    /// C: `registry_layer_put`.
    ///
    /// v2: the bytes stream through one PATCH, hashed on the way, and a
    /// bodiless `PUT ?digest=` commits them (as skopeo uploads: some
    /// registries refuse a body on the request that opens or closes an
    /// upload). With `expected` (a digest), a blob already in the repository
    /// is not sent again (the reader is not read at all), and bytes that hash
    /// to anything else fail with DIGEST_MISMATCH with nothing committed.
    /// Nothing is held in memory. An error from the reader aborts the upload
    /// and is returned as is (an `io::Error` wrapping [`Error`] keeps its
    /// kind, e.g. ABORTED).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when the bytes
    ///   do not hash to `expected`;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `expected`, or for the wrong kind of id (a digest on v1, an
    ///   image id on v2);
    /// - [`ErrorKind::Aborted`](crate::ErrorKind::Aborted), or whatever kind an error of
    ///   the reader carries;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.layer_put("team/app", &mut &b"layer bytes"[..], None)?;
    /// println!("{digest}");
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn layer_put(
        &self,
        repo: &str,
        reader: &mut dyn Read,
        expected: Option<&ContentId>,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        self.run(|| match self.connect()? {
            (ApiVersion::V2, r) => {
                let expected = expected.map(ContentId::digest).transpose()?;
                v2::put_blob(&r, &repo, reader, expected)
            }
            (ApiVersion::V1, r) => {
                let id = expected.map(ContentId::v1_image).transpose()?;
                v1::put_layer(&r, &self.inner.v1, &repo, reader, id)
            }
        })
    }

    /// Uploads a layer from a file; see [`layer_put`](Self::layer_put).
    /// C: `registry_layer_put_file`.
    ///
    /// # Errors
    ///
    /// - those of [`layer_put`](Self::layer_put), and
    ///   [`ErrorKind::Io`](crate::ErrorKind::Io) when `path` cannot be opened or read.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.layer_put_file("team/app", "layer.tar.gz", None)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn layer_put_file(
        &self,
        repo: &str,
        path: impl AsRef<Path>,
        expected: Option<&ContentId>,
    ) -> Result<Digest> {
        let path = path.as_ref();
        let mut file = std::fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
        self.layer_put(repo, &mut file, expected)
    }

    /// Mounts `digest` from repository `from` into `repo` without copying
    /// bytes (v2 only). True when the registry mounted it; false when it
    /// could not (the blob is unknown in `from`, or mounts are off), in which
    /// case nothing changed and the caller uploads the blob instead.
    /// C: `registry_blob_mount`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`, `from` or `digest`. A blob that cannot be mounted is
    ///   `Ok(false)`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// const DIGEST: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    /// if !client.blob_mount("team/app", DIGEST, "team/base")? {
    ///     // upload it with layer_put instead
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn blob_mount(
        &self,
        repo: &str,
        digest: impl TryInto<Digest, Error: Into<Error>>,
        from: &str,
    ) -> Result<bool> {
        let repo = self.repo(repo)?;
        let from = self.repo(from)?;
        let digest = typed(digest)?;
        self.v2_only("mounting a blob", |r| {
            v2::mount_blob(r, &repo, &digest, &from)
        })
    }
}
