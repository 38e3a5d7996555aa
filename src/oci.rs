//! Manifests and indexes as documents: media types, descriptors, and the
//! parts of a manifest the client reads (config, layers, child manifests and
//! their platforms). Bodies are only read, never re-serialised: digests are
//! of the bytes a registry stored.

#![forbid(unsafe_code)]

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::reference::{Digest, Platform};
use crate::types::Manifest;

/// Indexes nest at most this deep.
pub(crate) const MAX_INDEX_DEPTH: usize = 4;

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (a multi-platform image).
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// The OCI empty descriptor's media type (`{}`).
pub(crate) const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// The media types sent in `Accept` on every manifest request. Distribution
/// 2.8 answers a tag fetch without them with 400 or 404.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX];

/// A content descriptor: what a manifest says about a blob or a child manifest.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Descriptor {
    #[serde(default)]
    pub media_type: String,
    pub digest: String,
    #[serde(default)]
    pub size: u64,
    /// Foreign layers: where the blob lives instead of the registry.
    #[serde(default)]
    pub urls: Option<Vec<String>>,
    #[serde(default)]
    pub platform: Option<PlatformDoc>,
}

impl Descriptor {
    /// The digest, parsed; a malformed one is the registry's fault (PROTOCOL).
    pub fn digest(&self, what: &str) -> Result<Digest> {
        Digest::parse(&self.digest)
            .map_err(|e| Error::protocol(format!("{what}: bad descriptor: {e}")))
    }
}

/// The platform of an index entry.
#[derive(Debug, Clone, Deserialize, serde::Serialize)]
pub(crate) struct PlatformDoc {
    pub os: String,
    pub architecture: String,
    #[serde(default)]
    pub variant: Option<String>,
}

/// The fields of a manifest or index the client reads.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ManifestDoc {
    pub schema_version: Option<u32>,
    pub media_type: Option<String>,
    pub config: Option<Descriptor>,
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// The child manifests of an index.
    pub manifests: Option<Vec<Descriptor>>,
}

impl ManifestDoc {
    /// Parses a manifest or index body.
    pub fn parse(body: &[u8], what: &str) -> Result<ManifestDoc> {
        serde_json::from_slice(body)
            .map_err(|e| Error::protocol(format!("{what}: malformed manifest: {e}")))
    }

    /// The media type: the body's own, else `given` (a `Content-Type` or a
    /// descriptor's), else what the shape says (an index or an OCI manifest).
    pub fn media_type_or(&self, given: &str) -> String {
        match (&self.media_type, given, &self.manifests) {
            (Some(m), _, _) if !m.is_empty() => m.clone(),
            (_, g, _) if !g.is_empty() => g.to_string(),
            (_, _, Some(_)) => OCI_INDEX.to_string(),
            _ => OCI_MANIFEST.to_string(),
        }
    }

    /// The entry of an index for `platform`; NOT_FOUND when it has none.
    pub fn child_for(&self, platform: &Platform, what: &str) -> Result<&Descriptor> {
        let entries = self.manifests.as_deref().unwrap_or_default();
        let platforms = entries.iter().map(|d| match &d.platform {
            Some(p) => (p.os.as_str(), p.architecture.as_str(), p.variant.as_deref()),
            None => ("", "", None),
        });
        platform
            .best_of(platforms)
            .map(|i| &entries[i])
            .ok_or_else(|| {
                Error::new(
                    crate::error::ErrorKind::NotFound,
                    format!("{what}: the index has no {platform} entry"),
                )
            })
    }
}

/// The manifest of `platform`'s image under `root`, descending through
/// nested indexes with `fetch` (which returns the verified manifest of a
/// child's digest and media type), with the platform of the index entry it
/// came from; `root` itself when it is not an index. NOT_FOUND when an index
/// has no entry for the platform; TOO_LARGE when indexes nest deeper than
/// [`MAX_INDEX_DEPTH`].
pub(crate) fn descend(
    root: Manifest,
    platform: &Platform,
    mut fetch: impl FnMut(&Digest, &str) -> Result<Manifest>,
) -> Result<(Manifest, Option<PlatformDoc>)> {
    let (mut manifest, mut from) = (root, None);
    for depth in 0.. {
        let what = format!("image {}", manifest.digest);
        let doc = ManifestDoc::parse(&manifest.body, &what)?;
        if doc.manifests.is_none() {
            break;
        }
        if depth == MAX_INDEX_DEPTH {
            return Err(Error::new(
                crate::error::ErrorKind::TooLarge,
                format!("{what}: indexes nest deeper than {MAX_INDEX_DEPTH} levels"),
            ));
        }
        let entry = doc.child_for(platform, &what)?;
        manifest = fetch(&entry.digest(&what)?, &entry.media_type)?;
        from = entry.platform.clone();
    }
    Ok((manifest, from))
}
