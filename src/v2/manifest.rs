//! Manifests: GET and HEAD with every media type in `Accept`, digest checks,
//! PUT byte for byte, DELETE by digest, tags set and removed, and the config
//! digest of an image.

#![forbid(unsafe_code)]

use super::{check_reported_digest, put_blob};
use crate::auth::Scope;
use crate::error::{Error, ErrorKind, Result};
use crate::oci::MANIFEST_MEDIA_TYPES;
use crate::oci::{self, ManifestDoc, OCI_EMPTY, OCI_MANIFEST};
use crate::ratelimit::RateLimitStatus;
use crate::reference::{Algorithm, Digest, Hasher, ManifestRef, Platform};
use crate::remote::Remote;
use crate::transport::{self, header, Payload, Request};
use crate::types::{Manifest, ManifestInfo};

/// Manifests are read up to 4 MiB (the size OCI asks registries to accept).
pub(crate) const MANIFEST_CAP: u64 = 4 << 20;

fn accept() -> String {
    MANIFEST_MEDIA_TYPES.join(", ")
}

/// The media type without parameters.
fn media_type_of(content_type: Option<String>) -> Option<String> {
    content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_string())
        .filter(|c| !c.is_empty())
}

/// Fetches a manifest by tag or digest. By digest, the body must hash to it;
/// by tag, to the `Docker-Content-Digest` the registry announced (when it
/// uses the same algorithm).
pub(crate) fn get_manifest(
    remote: &Remote<'_>,
    repo: &str,
    reference: &ManifestRef,
) -> Result<Manifest> {
    let req = Request::new(
        "GET",
        remote.url(&format!("/v2/{repo}/manifests/{reference}")),
    )
    .header("Accept", accept());
    let what = req.what();
    let resp = remote.send_checked(&req, &Scope::pull(repo))?;
    let announced = header(&resp, "docker-content-digest");
    let content_type = media_type_of(header(&resp, "content-type"));
    let body = transport::read_capped(resp, MANIFEST_CAP)?;
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
        _ => ManifestDoc::parse(&body, &what)?
            .media_type
            .ok_or_else(|| Error::protocol(format!("{what}: the manifest has no media type")))?,
    };
    Ok(Manifest {
        media_type,
        digest,
        body,
    })
}

/// `HEAD /v2/<repo>/manifests/<reference>` for the rate-limit headers it
/// carries (a HEAD does not count against Docker Hub's pull limit): the
/// status they state, `None` when the registry sends none. Never falls back
/// to a GET. An answer that is not 2xx is its error.
pub(crate) fn head_rate_limit(
    remote: &Remote<'_>,
    repo: &str,
    reference: &ManifestRef,
) -> Result<Option<RateLimitStatus>> {
    let req = Request::new(
        "HEAD",
        remote.url(&format!("/v2/{repo}/manifests/{reference}")),
    )
    .header("Accept", accept());
    let resp = remote.send_checked(&req, &Scope::pull(repo))?;
    Ok(RateLimitStatus::from_headers(resp.headers()))
}

/// HEADs a manifest: its media type, digest and size without the body. A
/// registry that announces no `Docker-Content-Digest` (it is optional in
/// OCI) gets a GET instead, and the digest is that of the bytes, as skopeo
/// computes it.
pub(crate) fn head_manifest(
    remote: &Remote<'_>,
    repo: &str,
    reference: &ManifestRef,
) -> Result<ManifestInfo> {
    let req = Request::new(
        "HEAD",
        remote.url(&format!("/v2/{repo}/manifests/{reference}")),
    )
    .header("Accept", accept());
    let what = req.what();
    let resp = remote.send_checked(&req, &Scope::pull(repo))?;
    let Some(announced) = header(&resp, "docker-content-digest") else {
        let m = get_manifest(remote, repo, reference)?;
        return Ok(ManifestInfo {
            media_type: m.media_type,
            size: Some(m.body.len() as u64),
            digest: m.digest,
        });
    };
    let digest = Digest::parse(&announced).map_err(|e| Error::protocol(format!("{what}: {e}")))?;
    if let ManifestRef::Digest(asked) = reference {
        if asked.algorithm() == digest.algorithm() && *asked != digest {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{what}: the registry announced {digest}"),
            ));
        }
    }
    Ok(ManifestInfo {
        media_type: media_type_of(header(&resp, "content-type")).unwrap_or_default(),
        size: header(&resp, "content-length").and_then(|l| l.trim().parse().ok()),
        digest,
    })
}

/// The manifest of `platform`'s image under what `reference` names: down
/// through indexes (see [`oci::descend`]), or that manifest when it is none.
pub(crate) fn get_platform_manifest(
    remote: &Remote<'_>,
    repo: &str,
    reference: &ManifestRef,
    platform: &Platform,
) -> Result<Manifest> {
    let root = get_manifest(remote, repo, reference)?;
    let (manifest, _) = oci::descend(root, platform, |child, _| {
        get_manifest(remote, repo, &ManifestRef::Digest(child.clone()))
    })?;
    Ok(manifest)
}

/// The config digest of the image `reference` names (for an index, of its
/// `platform` entry): the image id docker shows.
pub(crate) fn image_config_digest(
    remote: &Remote<'_>,
    repo: &str,
    reference: &ManifestRef,
    platform: &Platform,
) -> Result<Digest> {
    let what = format!("image {repo}:{reference}");
    let manifest = get_platform_manifest(remote, repo, reference, platform)?;
    let doc = ManifestDoc::parse(&manifest.body, &what)?;
    if doc.schema_version == Some(1) {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!("{what}: schema 1 manifests have no config digest"),
        ));
    }
    doc.config
        .map(|c| c.digest)
        .ok_or_else(|| Error::protocol(format!("{what}: the manifest has no config")))
}

/// Stores a manifest under `reference` (a tag, or the body's own digest)
/// with `media_type` as its `Content-Type`. Returns the digest of `body`,
/// checked against the one the registry reports. All blobs it names must
/// already be in `repo`.
pub(crate) fn put_manifest(
    remote: &Remote<'_>,
    repo: &str,
    reference: &ManifestRef,
    media_type: &str,
    body: &[u8],
) -> Result<Digest> {
    put_manifest_answer(remote, repo, reference, media_type, body).map(|(d, _)| d)
}

/// [`put_manifest`], also saying whether the registry answered with
/// `OCI-Subject` (OCI 1.1: it indexed the manifest's `subject` for the
/// referrers API itself, so no fallback tag is needed).
pub(crate) fn put_manifest_answer(
    remote: &Remote<'_>,
    repo: &str,
    reference: &ManifestRef,
    media_type: &str,
    body: &[u8],
) -> Result<(Digest, bool)> {
    if media_type.is_empty() || media_type.len() > 255 || media_type.contains(['\r', '\n', ',']) {
        return Err(Error::invalid(format!("invalid media type {media_type:?}")));
    }
    let algorithm = match reference {
        ManifestRef::Digest(d) => d.algorithm(),
        ManifestRef::Tag(_) => Algorithm::Sha256,
    };
    let digest = Hasher::digest(algorithm, body);
    if let ManifestRef::Digest(d) = reference {
        if *d != digest {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("the manifest hashes to {digest}, not to the reference {d}"),
            ));
        }
    }
    let req = Request::new(
        "PUT",
        remote.url(&format!("/v2/{repo}/manifests/{reference}")),
    )
    .header("Content-Type", media_type);
    let resp = remote.send(&req, &Scope::push(repo), &mut Payload::Bytes(body))?;
    let resp = remote.check(resp)?;
    check_reported_digest(&resp, &digest)?;
    Ok((digest, header(&resp, "oci-subject").is_some()))
}

/// Deletes the manifest with this digest (and so, on distribution, every
/// tag that points at it). A manifest already gone is NOT_FOUND.
pub(crate) fn delete_manifest(remote: &Remote<'_>, repo: &str, digest: &Digest) -> Result<()> {
    let req = Request::new(
        "DELETE",
        remote.url(&format!("/v2/{repo}/manifests/{digest}")),
    );
    let resp = remote.send(&req, &Scope::delete(repo), &mut Payload::Empty)?;
    remote.check(resp).map(|_| ())
}

/// Points `tag` at the manifest `image` (a tag or digest) names: its bytes
/// are stored again, unchanged, under `tag`, with their own media type.
pub(crate) fn set_tag(
    remote: &Remote<'_>,
    repo: &str,
    image: &ManifestRef,
    tag: &str,
) -> Result<Digest> {
    let m = get_manifest(remote, repo, image)?;
    put_manifest(
        remote,
        repo,
        &ManifestRef::Tag(tag.to_string()),
        &m.media_type,
        &m.body,
    )
}

/// Removes `tag` and nothing else: `DELETE …/manifests/<tag>` where the
/// registry allows it (OCI); registries that refuse (distribution 2.8
/// answers 400 `DIGEST_INVALID`, OCI registries 405) get the tag pointed at
/// a small throw-away manifest made for this call, which is then deleted by
/// digest. That leaves one tiny empty config blob (`{}`) for garbage
/// collection. Before the tag is moved, a DELETE of a digest no registry
/// holds asks whether deletes by digest work at all: a registry without
/// DELETE answers it 405 (or `UNSUPPORTED`), and the call fails UNSUPPORTED
/// with the tag untouched (nothing uploaded).
pub(crate) fn delete_tag(remote: &Remote<'_>, repo: &str, tag: &str) -> Result<()> {
    let tag_ref = ManifestRef::Tag(tag.to_string());
    head_manifest(remote, repo, &tag_ref)?; // NOT_FOUND for a missing tag
    let req = Request::new("DELETE", remote.url(&format!("/v2/{repo}/manifests/{tag}")));
    let resp = remote.send(&req, &Scope::delete(repo), &mut Payload::Empty)?;
    let status = resp.status().as_u16();
    if resp.status().is_success() {
        return Ok(());
    }
    if !matches!(status, 400 | 405) {
        return remote.check(resp).map(|_| ());
    }
    let refused = remote.check(resp).err();
    deletes_by_digest(remote, repo, refused)?;
    // Refused: park the tag on a manifest nothing else uses, then delete that.
    let config = b"{}";
    let config_digest = put_blob(remote, repo, &mut &config[..], None)?;
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
            "mediaType": OCI_EMPTY,
            "digest": config_digest.to_string(),
            "size": config.len(),
        },
        "layers": [],
        "annotations": { "org.opencontainers.image.description":
            format!("placeholder that removed the tag {unique}") },
    });
    let body = serde_json::to_vec(&body).map_err(|e| Error::protocol(e.to_string()))?;
    let digest = put_manifest(remote, repo, &tag_ref, OCI_MANIFEST, &body)?;
    delete_manifest(remote, repo, &digest)
}

/// Whether the registry deletes manifests by digest: a DELETE of a digest it
/// cannot hold (of a text naming this call) answers 404 where deletes work.
/// A 405 or `UNSUPPORTED` means they do not: UNSUPPORTED, saying so, with
/// `refused` (the answer to the DELETE by tag) for the detail. UNAUTHORIZED
/// and FORBIDDEN (these credentials may not delete) are returned as they
/// are; any other answer decides nothing, and the caller goes on.
fn deletes_by_digest(remote: &Remote<'_>, repo: &str, refused: Option<Error>) -> Result<()> {
    let probe = Hasher::digest(
        Algorithm::Sha256,
        format!(
            "registry: does {repo} delete manifests? {} {:?}",
            std::process::id(),
            std::time::SystemTime::now()
        )
        .as_bytes(),
    );
    let req = Request::new(
        "DELETE",
        remote.url(&format!("/v2/{repo}/manifests/{probe}")),
    );
    let resp = remote.send(&req, &Scope::delete(repo), &mut Payload::Empty)?;
    let status = resp.status().as_u16();
    match remote.check(resp) {
        Ok(_) => Ok(()),
        Err(e) if status == 405 || e.kind() == ErrorKind::Unsupported => {
            let detail = refused.map_or_else(String::new, |r| format!(" ({r})"));
            Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "cannot remove a tag from {repo}: the registry deletes neither tags nor \
                     manifests (DELETE answers {status}){detail}"
                ),
            )
            .with_http_status(status)
            .with_code(e.code().map(str::to_string)))
        }
        Err(e) if matches!(e.kind(), ErrorKind::Unauthorized | ErrorKind::Forbidden) => Err(e),
        Err(_) => Ok(()),
    }
}
