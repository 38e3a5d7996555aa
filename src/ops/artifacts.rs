//! OCI 1.1 artifacts and their referrers: pushing files as an artifact
//! (optionally the referrer of a manifest: a signature, an SBOM), and
//! listing the referrers of a manifest.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{json, Map, Value};

use crate::client::Client;
use crate::error::{Error, Result};
use crate::oci::{Descriptor, OCI_EMPTY, OCI_MANIFEST};
use crate::reference::{typed, validate_tag, Algorithm, Digest, Hasher, ManifestRef};
use crate::v2;

/// The annotation that names a file in an artifact (as oras writes it).
pub const TITLE_ANNOTATION: &str = "org.opencontainers.image.title";
/// A file's media type when none is given.
const DEFAULT_FILE_TYPE: &str = "application/octet-stream";
/// The empty JSON object, an artifact's config.
const EMPTY_JSON: &[u8] = b"{}";

/// An artifact to push with [`Client::artifact_push`]: files as layers,
/// the empty config, an `artifactType`, and optionally a `subject` (the
/// digest of a manifest in the same repository, which the artifact then
/// refers to) and annotations.
///
/// # Examples
///
/// ```
/// let sbom = registry::Artifact::new("application/spdx+json")
///     .file("sbom.spdx.json", Some("application/spdx+json"))
///     .annotation("org.opencontainers.image.created", "2026-12-06T00:00:00Z");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Artifact {
    /// The manifest's `artifactType`.
    pub artifact_type: String,
    /// The files, each with its media type (`None`: `application/octet-stream`).
    pub files: Vec<(PathBuf, Option<String>)>,
    /// The manifest this artifact refers to.
    pub subject: Option<Digest>,
    /// The manifest's annotations.
    pub annotations: BTreeMap<String, String>,
}

impl Artifact {
    /// An artifact of `artifact_type` with no file yet (pushed with one
    /// empty layer, as OCI advises, if none is added).
    pub fn new(artifact_type: &str) -> Artifact {
        Artifact {
            artifact_type: artifact_type.to_string(),
            files: vec![],
            subject: None,
            annotations: BTreeMap::new(),
        }
    }

    /// Adds the file at `path` as a layer of `media_type`.
    #[must_use]
    pub fn file(mut self, path: impl AsRef<Path>, media_type: Option<&str>) -> Artifact {
        self.files
            .push((path.as_ref().to_path_buf(), media_type.map(str::to_string)));
        self
    }

    /// Makes the artifact a referrer of the manifest `digest`.
    #[must_use]
    pub fn subject(mut self, digest: Digest) -> Artifact {
        self.subject = Some(digest);
        self
    }

    /// Adds an annotation to the manifest.
    #[must_use]
    pub fn annotation(mut self, key: &str, value: &str) -> Artifact {
        self.annotations.insert(key.to_string(), value.to_string());
        self
    }
}

/// A media type as OCI writes it: `type/subtype`, printable, one line.
fn check_media_type(m: &str, what: &str) -> Result<()> {
    let ok = m.len() <= 255
        && m.split_once('/')
            .is_some_and(|(t, s)| !t.is_empty() && !s.is_empty())
        && m.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "invalid {what} {m:?}: expected type/subtype"
        )))
    }
}

impl Client {
    /// The referrers of the manifest `digest` in `repo` (OCI 1.1: manifests
    /// whose `subject` it is), of `artifact_type` only when one is given, in
    /// the registry's order, each with its `artifactType` and annotations.
    /// From `GET /v2/<repo>/referrers/<digest>` (every page, bounded like
    /// every listing), or where the registry has no referrers API (it
    /// answers 404, as distribution 2.8 does) from the tag schema's fallback
    /// index `<alg>-<hex>`. A manifest without referrers has none (also when
    /// it does not exist). Reads through mirrors (v2 only).
    /// C: `registry_referrers`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `digest`;
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) for a listing over its
    ///   bounds; [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for one that
    ///   cannot be read;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let image = client.manifest_head("team/app", "v1")?.digest;
    /// for r in client.referrers("team/app", &image, Some("application/vnd.dev.cosign.artifact.sig.v1+json"))? {
    ///     println!("{} {:?}", r.digest, r.annotations);
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn referrers(
        &self,
        repo: &str,
        digest: impl TryInto<Digest, Error: Into<Error>>,
        artifact_type: Option<&str>,
    ) -> Result<Vec<Descriptor>> {
        let repo = self.repo(repo)?;
        let digest = typed(digest)?;
        if let Some(t) = artifact_type {
            check_media_type(t, "artifact type")?;
        }
        self.v2_read("the referrers API", |r| {
            v2::referrers(r, &repo, &digest, artifact_type)
        })
    }

    /// Pushes `artifact` to `repo`, tagged `tag` (or by digest alone), and
    /// returns its manifest's digest: each file uploaded as a layer (its base
    /// name in the `org.opencontainers.image.title` annotation), the empty
    /// config (`application/vnd.oci.empty.v1+json`), the `artifactType`, the
    /// annotations, and with a subject the `subject` descriptor (the
    /// manifest must exist in `repo`). A registry that does not index the
    /// subject itself (no `OCI-Subject` answer, as distribution 2.8) gets
    /// the artifact added to the subject's fallback index (`<alg>-<hex>`),
    /// re-read to check that a concurrent writer did not drop it (retried).
    /// v2 only. C: `registry_artifact_push`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`, `tag`, artifact type or media type, or a file without a
    ///   UTF-8 base name;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the subject is not in
    ///   `repo`; [`ErrorKind::Io`](crate::ErrorKind::Io) when a file cannot be read;
    /// - [`ErrorKind::Server`](crate::ErrorKind::Server) when concurrent writers kept
    ///   replacing the fallback index;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let image = client.manifest_head("team/app", "v1")?.digest;
    /// let sbom = registry::Artifact::new("application/spdx+json")
    ///     .file("sbom.spdx.json", Some("application/spdx+json"))
    ///     .subject(image);
    /// let digest = client.artifact_push("team/app", None, &sbom)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn artifact_push(
        &self,
        repo: &str,
        tag: Option<&str>,
        artifact: &Artifact,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        if let Some(t) = tag {
            validate_tag(t)?;
        }
        check_media_type(&artifact.artifact_type, "artifact type")?;
        let mut titles = Vec::with_capacity(artifact.files.len());
        for (path, media_type) in &artifact.files {
            check_media_type(
                media_type.as_deref().unwrap_or(DEFAULT_FILE_TYPE),
                "media type",
            )?;
            let title = path
                .file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| Error::invalid(format!("{}: no UTF-8 file name", path.display())))?;
            titles.push(title.to_string());
        }
        self.v2_only("pushing an artifact", |r| {
            let subject = match &artifact.subject {
                Some(d) => {
                    let m = v2::get_manifest(r, &repo, &ManifestRef::Digest(d.clone()))?;
                    Some(Descriptor::new(m.media_type, m.digest, m.body.len() as u64))
                }
                None => None,
            };
            let empty = Hasher::digest(Algorithm::Sha256, EMPTY_JSON);
            v2::put_blob(r, &repo, &mut &EMPTY_JSON[..], Some(&empty))?;
            let empty_descriptor = || {
                json!({"mediaType": OCI_EMPTY, "digest": empty.to_string(),
                       "size": EMPTY_JSON.len(), "data": "e30="})
            };
            let mut layers = vec![];
            for ((path, media_type), title) in artifact.files.iter().zip(&titles) {
                let mut file =
                    std::fs::File::open(path).map_err(|e| Error::io("cannot open", path, e))?;
                let size = file
                    .metadata()
                    .map_err(|e| Error::io("cannot read", path, e))?
                    .len();
                let digest = v2::put_blob(r, &repo, &mut file, None)?;
                layers.push(json!({
                    "mediaType": media_type.as_deref().unwrap_or(DEFAULT_FILE_TYPE),
                    "digest": digest.to_string(),
                    "size": size,
                    "annotations": {TITLE_ANNOTATION: title},
                }));
            }
            if layers.is_empty() {
                layers.push(empty_descriptor());
            }
            let mut doc = Map::new();
            doc.insert("schemaVersion".into(), 2.into());
            doc.insert("mediaType".into(), OCI_MANIFEST.into());
            doc.insert("artifactType".into(), artifact.artifact_type.clone().into());
            doc.insert("config".into(), empty_descriptor());
            doc.insert("layers".into(), Value::Array(layers));
            if let Some(s) = &subject {
                doc.insert(
                    "subject".into(),
                    serde_json::to_value(s).expect("serialises"),
                );
            }
            if !artifact.annotations.is_empty() {
                doc.insert("annotations".into(), json!(artifact.annotations));
            }
            let body = serde_json::to_vec(&doc).expect("a manifest serialises");
            let reference = match tag {
                Some(t) => ManifestRef::Tag(t.to_string()),
                None => ManifestRef::Digest(Hasher::digest(Algorithm::Sha256, &body)),
            };
            let (digest, indexed) =
                v2::put_manifest_answer(r, &repo, &reference, OCI_MANIFEST, &body)?;
            if let (Some(s), false) = (&subject, indexed) {
                let mut me = Descriptor::new(OCI_MANIFEST, digest.clone(), body.len() as u64);
                me.artifact_type = Some(artifact.artifact_type.clone());
                if !artifact.annotations.is_empty() {
                    me.annotations = Some(artifact.annotations.clone());
                }
                v2::add_to_fallback(r, &repo, &s.digest, &me)?;
            }
            Ok(digest)
        })
    }
}
