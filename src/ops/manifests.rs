//! Manifests: reading one (for a platform, or only its head), storing one,
//! deleting one; and the image id, the digest of a manifest's config.

#![forbid(unsafe_code)]

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::reference::{typed, ContentId, Digest, ManifestRef, Platform};
use crate::types::{Manifest, ManifestInfo};
use crate::{v1, v2};

impl Client {
    /// The image id of `reference` (a tag or digest): the config digest of
    /// its manifest, what `docker images --no-trunc` shows. For an index, the
    /// linux/amd64 entry. On a v1 registry, the image id the tag names.
    /// C: `registry_image_id`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `reference` names no
    ///   manifest, or an index has no linux/amd64 entry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `reference`, and for a digest on a v1 registry;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let id = client.image_id("team/app", "v1")?;
    /// println!("{id}");
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_id(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
    ) -> Result<ContentId> {
        self.image_id_for(repo, reference, &Platform::default())
    }

    /// Like [`image_id`](Self::image_id), picking `platform` from an index
    /// (on v1, where images have no platforms, `platform` is not read).
    ///
    /// # Errors
    ///
    /// - those of [`image_id`](Self::image_id);
    ///   [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when an index has no entry
    ///   for `platform`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let platform: registry::Platform = "linux/arm64".parse()?;
    /// let id = client.image_id_for("team/app", "v1", &platform)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_id_for(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        platform: &Platform,
    ) -> Result<ContentId> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        self.dispatch_read(
            |r| v2::image_config_digest(r, &repo, &reference, platform).map(ContentId::Digest),
            |r, s| match &reference {
                ManifestRef::Tag(tag) => v1::image_id(r, s, &repo, tag).map(ContentId::V1Image),
                ManifestRef::Digest(d) => Err(Error::invalid(format!(
                    "{d}: a v1 registry names images by tag, not by digest"
                ))),
            },
        )
        .map(|(id, _)| id)
    }

    /// Fetches a manifest by tag or digest (v2 only). By digest, the body must
    /// hash to it; by tag, to the `Docker-Content-Digest` the registry
    /// announced (when it uses the same algorithm). C: `registry_manifest_get`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `reference` names no
    ///   manifest;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when the body
    ///   does not hash to the digest asked for or announced;
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) for a manifest over its size
    ///   cap;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `reference`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let manifest = client.manifest_get("team/app", "v1")?;
    /// println!("{} {}", manifest.media_type, manifest.digest);
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn manifest_get(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
    ) -> Result<Manifest> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        self.v2_read("a manifest", |r| v2::get_manifest(r, &repo, &reference))
    }

    /// The manifest of `platform`'s image that `reference` names (v2 only):
    /// through an index, and indexes nested in it up to four deep, to its
    /// entry for the platform (see [`Platform::best_of`]: `linux/arm64`
    /// matches `arm64/v8`; `linux/arm` takes `arm/v7`, else the closest
    /// lower variant); the manifest itself when it is not an index.
    /// NOT_FOUND when an index has no entry for the platform. Each manifest
    /// is checked like [`manifest_get`](Self::manifest_get)'s.
    /// C: `registry_manifest_get_for_platform`.
    ///
    /// # Errors
    ///
    /// - those of [`manifest_get`](Self::manifest_get);
    ///   [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) also when an index has no
    ///   entry for `platform`, and [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge)
    ///   for indexes nested deeper than four.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let platform: registry::Platform = "linux/arm64".parse()?;
    /// let manifest = client.manifest_get_for_platform("team/app", "v1", &platform)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn manifest_get_for_platform(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        platform: &Platform,
    ) -> Result<Manifest> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        self.v2_read("a manifest", |r| {
            v2::get_platform_manifest(r, &repo, &reference, platform)
        })
    }

    /// HEADs a manifest: its media type, digest and size without the body (v2
    /// only). A registry that announces no `Docker-Content-Digest` gets a GET
    /// instead, and the digest is that of the manifest's bytes.
    /// C: `registry_manifest_head`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `reference` names no
    ///   manifest;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when the
    ///   registry announces another digest than the one asked for;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `reference`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let info = client.manifest_head("team/app", "v1")?;
    /// println!("{} {:?}", info.digest, info.size);
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn manifest_head(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
    ) -> Result<ManifestInfo> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        self.v2_read("a manifest", |r| v2::head_manifest(r, &repo, &reference))
    }

    /// The first of `digests` whose manifest exists in `repo` (imgpkg's
    /// `FirstImageExists`), asked with one HEAD request each, in order, and
    /// no other request: the search stops at the first that exists. Every
    /// digest is checked before anything is sent. v2 only.
    /// C: `registry_first_image_exists`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when none exists (or
    ///   `digests` is empty);
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or digest;
    /// - and those of every call (see [`Client`](crate::Client#errors)): any other
    ///   failure of a HEAD ends the search with it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let candidates = [
    ///     "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ///     "sha256:1111111111111111111111111111111111111111111111111111111111111111",
    /// ];
    /// let found = client.first_image_exists("team/app", &candidates)?;
    /// println!("{found}");
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn first_image_exists<D>(&self, repo: &str, digests: &[D]) -> Result<Digest>
    where
        D: AsRef<str>,
    {
        let repo = self.repo(repo)?;
        let digests = digests
            .iter()
            .map(|d| Digest::parse(d.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        self.v2_only("a manifest", |r| {
            for d in &digests {
                match v2::head_manifest(r, &repo, &ManifestRef::Digest(d.clone())) {
                    Ok(_) => return Ok(d.clone()),
                    Err(e) if e.kind() == ErrorKind::NotFound => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "none of the {} digests names a manifest in {repo}",
                    digests.len()
                ),
            ))
        })
    }

    /// Stores a manifest under `reference` (a tag, or the body's own digest)
    /// with `media_type` as its `Content-Type` (v2 only). Returns the digest
    /// of `body`, checked against the one the registry reports. All blobs it
    /// names must already be in `repo`. C: `registry_manifest_put`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when `reference`
    ///   is a digest that `body` does not hash to, or the registry reports another
    ///   digest;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when a blob the manifest
    ///   names is not in `repo` (`MANIFEST_BLOB_UNKNOWN`);
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`, `reference` or `media_type`, and for a manifest the registry
    ///   refuses (HTTP 400);
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let old = client.manifest_get("team/app", "v1")?;
    /// let digest = client.manifest_put("team/app", "v1-copy", &old.media_type, &old.body)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn manifest_put(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        self.v2_only("a manifest", |r| {
            v2::put_manifest(r, &repo, &reference, media_type, body)
        })
    }

    /// Deletes the manifest with this digest (and so, on distribution, every
    /// tag that points at it; v2 only). A manifest already gone is NOT_FOUND.
    /// C: `registry_manifest_delete`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry, and
    ///   when the registry does not delete (HTTP 405, distribution's default);
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is no such
    ///   manifest;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `digest`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.manifest_head("team/app", "old")?.digest;
    /// client.manifest_delete("team/app", &digest)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn manifest_delete(
        &self,
        repo: &str,
        digest: impl TryInto<Digest, Error: Into<Error>>,
    ) -> Result<()> {
        let repo = self.repo(repo)?;
        let digest = typed(digest)?;
        self.v2_only("deleting a manifest", |r| {
            v2::delete_manifest(r, &repo, &digest)
        })
    }
}
