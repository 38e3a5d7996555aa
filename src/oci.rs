//! Manifests and indexes as documents: media types, descriptors, and the
//! parts of a manifest the client reads (config, layers, child manifests and
//! their platforms). Bodies are only read, never re-serialised: digests are
//! of the bytes a registry stored.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

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
/// The OCI empty descriptor's media type (`{}`): the config of an artifact.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// OCI layer, a gzip-compressed tar.
pub const OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
/// OCI layer, an uncompressed tar.
pub const OCI_LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// Docker layer, a gzip-compressed tar.
pub const DOCKER_LAYER_GZIP: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// The media types sent in `Accept` on every manifest request. Distribution
/// 2.8 answers a tag fetch without them with 400 or 404.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX];

/// A content descriptor (OCI image spec): what a manifest, an index or a
/// listing says of a blob or a manifest. (De)serialised with the spec's
/// field names; a malformed digest fails the whole document.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Descriptor {
    /// The media type of the content (may be empty in old documents).
    #[serde(default)]
    pub media_type: String,
    /// The content's digest.
    pub digest: Digest,
    /// The content's size in bytes.
    #[serde(default)]
    pub size: u64,
    /// Foreign layers: where the blob lives instead of the registry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urls: Option<Vec<String>>,
    /// An index entry's platform.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// An artifact's type (OCI 1.1), as referrers list it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    /// Annotations, as the document gives them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

impl Descriptor {
    /// A descriptor of `size` bytes of `media_type` at `digest`, nothing else set.
    pub fn new(media_type: impl Into<String>, digest: Digest, size: u64) -> Descriptor {
        Descriptor {
            media_type: media_type.into(),
            digest,
            size,
            urls: None,
            platform: None,
            artifact_type: None,
            annotations: None,
        }
    }

    /// Whether the blob lives elsewhere (a foreign layer with `urls`).
    pub fn is_foreign(&self) -> bool {
        self.urls.as_ref().is_some_and(|u| !u.is_empty())
    }
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

/// A new index holding only the entries of `root` (an index) for
/// `platforms` (each the best match, as [`Platform::best_of`] picks), in
/// their order in `root`, every other field kept. INVALID_ARGUMENT when
/// `root` is no index; NOT_FOUND when it has no entry for a platform.
pub(crate) fn index_subset(root: Manifest, platforms: &[Platform]) -> Result<Manifest> {
    let what = format!("image {}", root.digest);
    let doc = ManifestDoc::parse(&root.body, &what)?;
    if doc.manifests.is_none() {
        return Err(Error::invalid(format!(
            "{what}: several platforms were asked for, but it is a single image, not an index"
        )));
    }
    let entries = doc.manifests.as_deref().unwrap_or_default();
    let mut keep = std::collections::BTreeSet::new();
    for p in platforms {
        let entry = doc.child_for(p, &what)?;
        keep.extend(entries.iter().position(|e| std::ptr::eq(e, entry)));
    }
    let mut value: serde_json::Value = serde_json::from_slice(&root.body)
        .map_err(|e| Error::protocol(format!("{what}: malformed index: {e}")))?;
    let all = value["manifests"].as_array().cloned().unwrap_or_default();
    value["manifests"] = serde_json::Value::Array(
        all.into_iter()
            .enumerate()
            .filter(|(i, _)| keep.contains(i))
            .map(|(_, e)| e)
            .collect(),
    );
    let body = serde_json::to_vec(&value).expect("an index serialises");
    Ok(Manifest {
        digest: crate::reference::Hasher::digest(root.digest.algorithm(), &body),
        media_type: root.media_type,
        body,
    })
}

/// The digest of a manifest's `subject` (OCI 1.1), if it has one.
pub(crate) fn subject_of(body: &[u8]) -> Option<Digest> {
    #[derive(Deserialize)]
    struct Subject {
        subject: Option<Descriptor>,
    }
    serde_json::from_slice::<Subject>(body)
        .ok()?
        .subject
        .map(|s| s.digest)
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
) -> Result<(Manifest, Option<Platform>)> {
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
        manifest = fetch(&entry.digest, &entry.media_type)?;
        from = entry.platform.clone();
    }
    Ok((manifest, from))
}
