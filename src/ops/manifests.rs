//! Manifests: reading one (for a platform, or only its head), storing one,
//! deleting one; and the image id, the digest of a manifest's config.

#![forbid(unsafe_code)]

use crate::client::Client;
use crate::error::Result;
use crate::reference::{Digest, ManifestRef, Platform};
use crate::types::{Manifest, ManifestInfo};
use crate::{v1, v2};

impl Client {
    /// The image id of `tag` (or digest): the config digest of its manifest,
    /// what `docker images --no-trunc` shows. For an index, the linux/amd64
    /// entry. On a v1 registry, the image id the tag names.
    pub fn image_id(&self, repo: &str, tag: &str) -> Result<String> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(tag)?;
        self.dispatch(
            |r| {
                v2::image_config_digest(r, &repo, &reference, &Platform::default())
                    .map(|d| d.to_string())
            },
            |r, s| v1::image_id(r, s, &repo, tag),
        )
    }

    /// Like [`image_id`](Self::image_id), picking `platform` from an index (v2 only).
    pub fn image_id_for(&self, repo: &str, reference: &str, platform: &Platform) -> Result<String> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("image_id_for", |r| {
            v2::image_config_digest(r, &repo, &reference, platform).map(|d| d.to_string())
        })
    }

    /// Fetches a manifest by tag or digest (v2 only). By digest, the body must
    /// hash to it; by tag, to the `Docker-Content-Digest` the registry
    /// announced (when it uses the same algorithm).
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<Manifest> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| v2::get_manifest(r, &repo, &reference))
    }

    /// The manifest of `platform`'s image that `reference` names (v2 only):
    /// through an index, and indexes nested in it up to four deep, to its
    /// entry for the platform (see [`Platform::best_of`]: `linux/arm64`
    /// matches `arm64/v8`; `linux/arm` takes `arm/v7`, else the closest
    /// lower variant); the manifest itself when it is not an index.
    /// NOT_FOUND when an index has no entry for the platform. Each manifest
    /// is checked like [`manifest`](Self::manifest)'s.
    pub fn manifest_for(
        &self,
        repo: &str,
        reference: &str,
        platform: &Platform,
    ) -> Result<Manifest> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| {
            v2::get_platform_manifest(r, &repo, &reference, platform)
        })
    }

    /// HEADs a manifest: its media type, digest and size without the body (v2
    /// only). A registry that announces no `Docker-Content-Digest` gets a GET
    /// instead, and the digest is that of the manifest's bytes.
    pub fn manifest_head(&self, repo: &str, reference: &str) -> Result<ManifestInfo> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| v2::head_manifest(r, &repo, &reference))
    }

    /// Stores a manifest under `reference` (a tag, or the body's own digest)
    /// with `media_type` as its `Content-Type` (v2 only). Returns the digest
    /// of `body`, checked against the one the registry reports. All blobs it
    /// names must already be in `repo`.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| {
            v2::put_manifest(r, &repo, &reference, media_type, body)
        })
    }

    /// Deletes the manifest with this digest (and so, on distribution, every
    /// tag that points at it; v2 only). A manifest already gone is NOT_FOUND.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> Result<()> {
        let repo = self.repo(repo)?;
        let digest = Digest::parse(digest)?;
        self.v2_only("deleting a manifest", |r| {
            v2::delete_manifest(r, &repo, &digest)
        })
    }
}
