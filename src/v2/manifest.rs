//! Manifests: GET and HEAD with every media type in `Accept`, digest checks,
//! and the image id (config digest) of a tag.

use serde::Deserialize;

use crate::auth::repo_scope;
use crate::client::{pull_scope, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::{validate_tag, Algorithm, Digest, Hasher, ManifestRef};
use crate::transport::{self, header, Payload, Request};

/// Manifests are read up to 4 MiB (the size OCI asks registries to accept).
const MANIFEST_CAP: u64 = 4 << 20;

const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

/// The media types sent in `Accept` on every manifest request. Distribution
/// 2.8 answers a tag fetch without them with 400 or 404.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX];

/// A manifest as the registry stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    /// The media type, from `Content-Type` (or the body's `mediaType`).
    pub media_type: String,
    /// The digest of `body`, checked against the one asked for or announced.
    pub digest: Digest,
    /// The exact bytes, never re-serialised.
    pub body: Vec<u8>,
}

/// What a manifest HEAD tells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestInfo {
    /// The media type from `Content-Type`.
    pub media_type: String,
    /// `Docker-Content-Digest`.
    pub digest: Digest,
    /// `Content-Length`, when sent.
    pub size: Option<u64>,
}

/// A platform to pick from an image index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    /// `linux`, `windows`, …
    pub os: String,
    /// `amd64`, `arm64`, …
    pub architecture: String,
    /// `v7`, `v8`, … or `None` to accept any.
    pub variant: Option<String>,
}

impl Default for Platform {
    /// `linux/amd64`.
    fn default() -> Platform {
        Platform {
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc {
    schema_version: Option<u32>,
    media_type: Option<String>,
    config: Option<Descriptor>,
    manifests: Option<Vec<Descriptor>>,
}

#[derive(Deserialize)]
struct Descriptor {
    digest: String,
    platform: Option<PlatformDoc>,
}

#[derive(Deserialize)]
struct PlatformDoc {
    os: String,
    architecture: String,
    variant: Option<String>,
}

fn accept() -> String {
    MANIFEST_MEDIA_TYPES.join(", ")
}

/// The media type without parameters.
fn media_type_of(content_type: Option<String>) -> Option<String> {
    content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        .filter(|c| !c.is_empty())
}

impl Client {
    /// Fetches a manifest by tag or digest. By digest, the body must hash to it;
    /// by tag, to the `Docker-Content-Digest` the registry announced (when it
    /// uses the same algorithm).
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<Manifest> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.fetch_manifest(&repo, &reference)
    }

    fn fetch_manifest(&self, repo: &str, reference: &ManifestRef) -> Result<Manifest> {
        let what = format!("GET /v2/{repo}/manifests/{reference}");
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base()?);
        let req = Request::new("GET", url).header("Accept", accept());
        let resp = self.get(&req, &pull_scope(repo), &what)?;
        let announced = header(&resp, "docker-content-digest");
        let content_type = media_type_of(header(&resp, "content-type"));
        let body = transport::read_capped(resp, MANIFEST_CAP, &what)?;
        let expected = match reference {
            ManifestRef::Digest(d) => Some(d.clone()),
            ManifestRef::Tag(_) => announced.as_deref().and_then(|a| Digest::parse(a).ok()),
        };
        let algorithm = expected
            .as_ref()
            .map_or(Algorithm::Sha256, Digest::algorithm);
        let digest = Hasher::digest(algorithm, &body);
        if let Some(exp) = expected {
            if exp != digest {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("{what}: the manifest hashes to {digest}, expected {exp}"),
                ));
            }
        }
        let media_type = match content_type {
            Some(m) if m != "application/json" && m != "text/plain" => m,
            _ => parse_doc(&body, &what)?.media_type.ok_or_else(|| {
                Error::protocol(format!("{what}: the manifest has no media type"))
            })?,
        };
        Ok(Manifest {
            media_type,
            digest,
            body,
        })
    }

    /// HEADs a manifest: its media type, digest and size without the body.
    pub fn manifest_head(&self, repo: &str, reference: &str) -> Result<ManifestInfo> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        let what = format!("HEAD /v2/{repo}/manifests/{reference}");
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base()?);
        let req = Request::new("HEAD", url).header("Accept", accept());
        let resp = self.get(&req, &pull_scope(&repo), &what)?;
        let digest = header(&resp, "docker-content-digest")
            .ok_or_else(|| Error::protocol(format!("{what}: no Docker-Content-Digest header")))
            .and_then(|d| Digest::parse(&d).map_err(|e| Error::protocol(format!("{what}: {e}"))))?;
        if let ManifestRef::Digest(asked) = &reference {
            if asked.algorithm() == digest.algorithm() && *asked != digest {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("{what}: the registry announced {digest}"),
                ));
            }
        }
        Ok(ManifestInfo {
            media_type: media_type_of(header(&resp, "content-type")).unwrap_or_default(),
            size: header(&resp, "content-length").and_then(|l| l.parse().ok()),
            digest,
        })
    }

    /// The image id of `tag` (or digest): the config digest of its manifest,
    /// what `docker images --no-trunc` shows. For an index, the linux/amd64
    /// entry. On a v1 registry, the image id the tag names.
    pub fn image_id(&self, repo: &str, tag: &str) -> Result<String> {
        self.repo(repo)?;
        ManifestRef::parse(tag)?;
        if self.speaks_v1()? {
            return self.v1_image_id(repo, tag);
        }
        self.image_id_for(repo, tag, &Platform::default())
    }

    /// Like [`image_id`](Self::image_id), picking `platform` from an index.
    pub fn image_id_for(&self, repo: &str, reference: &str, platform: &Platform) -> Result<String> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        let mut manifest = self.fetch_manifest(&repo, &reference)?;
        let what = format!("image id of {repo}:{reference}");
        let mut doc = parse_doc(&manifest.body, &what)?;
        if let Some(entries) = doc.manifests.take() {
            let child = entries
                .iter()
                .find(|d| {
                    d.platform
                        .as_ref()
                        .is_some_and(|p| platform_matches(p, platform))
                })
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!(
                            "{what}: the index has no {}/{} entry",
                            platform.os, platform.architecture
                        ),
                    )
                })?;
            let digest = Digest::parse(&child.digest)
                .map_err(|e| Error::protocol(format!("{what}: bad index entry: {e}")))?;
            manifest = self.fetch_manifest(&repo, &ManifestRef::Digest(digest))?;
            doc = parse_doc(&manifest.body, &what)?;
        }
        if doc.schema_version == Some(1) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{what}: schema 1 manifests have no config digest"),
            ));
        }
        let config = doc
            .config
            .ok_or_else(|| Error::protocol(format!("{what}: the manifest has no config")))?;
        Digest::parse(&config.digest)
            .map(|d| d.to_string())
            .map_err(|e| Error::protocol(format!("{what}: bad config digest: {e}")))
    }
}

fn platform_matches(p: &PlatformDoc, want: &Platform) -> bool {
    p.os == want.os
        && p.architecture == want.architecture
        && want
            .variant
            .as_ref()
            .is_none_or(|v| p.variant.as_ref() == Some(v))
}

fn parse_doc(body: &[u8], what: &str) -> Result<ManifestDoc> {
    super::parse_json(body, what)
}

/// The media type of the throw-away manifest `delete_tag` parks a tag on.
const THROWAWAY_CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.empty.v1+json";

impl Client {
    /// Stores a manifest under `reference` (a tag, or the body's own digest)
    /// with `media_type` as its `Content-Type`. Returns the digest of `body`,
    /// checked against the one the registry reports. All blobs it names must
    /// already be in `repo`.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        if media_type.is_empty() || media_type.contains(['\r', '\n', ',']) {
            return Err(Error::invalid(format!("invalid media type {media_type:?}")));
        }
        let algorithm = match &reference {
            ManifestRef::Digest(d) => d.algorithm(),
            ManifestRef::Tag(_) => Algorithm::Sha256,
        };
        let digest = Hasher::digest(algorithm, body);
        if let ManifestRef::Digest(d) = &reference {
            if *d != digest {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("the manifest hashes to {digest}, not to the reference {d}"),
                ));
            }
        }
        let what = format!("PUT /v2/{repo}/manifests/{reference}");
        let url = format!("{}/v2/{repo}/manifests/{reference}", self.base()?);
        let req = Request::new("PUT", url).header("Content-Type", media_type);
        let resp = self.execute_with(
            &req,
            &super::upload::push_scope(&repo),
            &mut Payload::Bytes(body),
        )?;
        let resp = self.check(resp, &what)?;
        super::check_reported_digest(&resp, &digest, &what)?;
        Ok(digest)
    }

    /// Deletes the manifest with this digest (and so, on distribution, every
    /// tag that points at it). A manifest already gone is NOT_FOUND.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> Result<()> {
        self.require_v2()?;
        let repo = self.repo(repo)?;
        let digest = Digest::parse(digest)?;
        let what = format!("DELETE /v2/{repo}/manifests/{digest}");
        let url = format!("{}/v2/{repo}/manifests/{digest}", self.base()?);
        let resp = self.execute(&Request::new("DELETE", url), &repo_scope(&repo, "delete"))?;
        self.check(resp, &what).map(|_| ())
    }

    /// Points `tag` at the manifest `image` (a tag or digest) names: its bytes
    /// are stored again, unchanged, under `tag`, with their own media type. No
    /// blob is copied. Returns the manifest digest. On a v1 registry `image`
    /// is an image id, and it is returned.
    pub fn set_tag(&self, repo: &str, image: &str, tag: &str) -> Result<String> {
        self.repo(repo)?;
        validate_tag(tag)?;
        if self.speaks_v1()? {
            return self.v1_set_tag(repo, image, tag);
        }
        let m = self.manifest(repo, image)?;
        Ok(self
            .put_manifest(repo, tag, &m.media_type, &m.body)?
            .to_string())
    }

    /// Removes `tag` and nothing else: other tags on the same image survive.
    ///
    /// Uses `DELETE …/manifests/<tag>` where the registry allows it (OCI).
    /// Registries that refuse (distribution 2.8 answers 400 `DIGEST_INVALID`,
    /// others 405) get the tag pointed at a small throw-away manifest made for
    /// this call, which is then deleted by digest. That leaves one tiny empty
    /// config blob (`{}`) in the repository for garbage collection. A missing
    /// tag is NOT_FOUND. On a v1 registry, `DELETE …/tags/<tag>`.
    pub fn delete_tag(&self, repo: &str, tag: &str) -> Result<()> {
        let repo = self.repo(repo)?;
        validate_tag(tag)?;
        if self.speaks_v1()? {
            return self.v1_delete_tag(&repo, tag);
        }
        self.manifest_head(&repo, tag)?; // NOT_FOUND for a missing tag
        let what = format!("DELETE /v2/{repo}/manifests/{tag}");
        let url = format!("{}/v2/{repo}/manifests/{tag}", self.base()?);
        let resp = self.execute(&Request::new("DELETE", url), &repo_scope(&repo, "delete"))?;
        let status = resp.status().as_u16();
        if resp.status().is_success() {
            return Ok(());
        }
        if !matches!(status, 400 | 405) {
            return self.check(resp, &what).map(|_| ());
        }
        // Refused: park the tag on a manifest nothing else uses, then delete that.
        let config = b"{}";
        let config_digest = self.put_layer(&repo, &mut &config[..], None)?;
        let unique = format!(
            "{tag} {} {}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        );
        let body = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {
                "mediaType": THROWAWAY_CONFIG_MEDIA_TYPE,
                "digest": config_digest.to_string(),
                "size": config.len(),
            },
            "layers": [],
            "annotations": { "org.opencontainers.image.description":
                format!("placeholder that removed the tag {unique}") },
        });
        let body = serde_json::to_vec(&body).map_err(|e| Error::protocol(e.to_string()))?;
        let digest = self.put_manifest(&repo, tag, OCI_MANIFEST, &body)?;
        self.delete_manifest(&repo, &digest.to_string())
    }
}
