//! v1 images: JSON, ancestry, and layers, which stream both ways and are
//! checked against the image checksum, `sha256(json + "\n" + layer)`.

#![forbid(unsafe_code)]

use std::io::Read;

use serde::Deserialize;

use super::index::{self, Session, Target};
use super::{get_json, put_json, repo_name, JSON_CAP};
use crate::error::{what_of, Error, ErrorKind, Result};
use crate::layer::{Hashing, LayerReader};
use crate::reference::{validate_image_id, Algorithm, Digest, Hasher};
use crate::remote::Remote;
use crate::sync::lock;
use crate::transport::{self, header, Payload};
use crate::types::Access;

#[derive(Deserialize)]
struct ImageJson {
    id: Option<String>,
}

/// The hasher an image checksum starts from: the JSON and a newline.
fn checksum_hasher(json: &[u8]) -> Hasher {
    let mut h = Hasher::new(Algorithm::Sha256);
    h.update(json);
    h.update(b"\n");
    h
}

/// The repository an image call acts for, normalised (see [`Target::Image`]).
fn image_repo(repo: Option<&str>) -> Result<Option<String>> {
    repo.map(repo_name).transpose()
}

/// `GET /v1/images/<id>/json`: the image's JSON, as the registry keeps it.
pub(crate) fn image_json(
    remote: &Remote<'_>,
    session: &Session,
    repo: Option<&str>,
    id: &str,
) -> Result<Vec<u8>> {
    validate_image_id(id)?;
    let repo = image_repo(repo)?;
    let target = Target::Image(repo.as_deref(), Access::Read);
    Ok(get_image_json(remote, session, id, target)?.0)
}

/// `PUT /v1/images/<id>/json`: the first step of pushing an image. `json`
/// must be an object whose `id` is `id`; its `parent`, if any, must already
/// be in the registry.
pub(crate) fn image_json_put(
    remote: &Remote<'_>,
    session: &Session,
    repo: Option<&str>,
    id: &str,
    json: &[u8],
) -> Result<()> {
    validate_image_id(id)?;
    let repo = image_repo(repo)?;
    let doc: ImageJson = serde_json::from_slice(json)
        .map_err(|e| Error::invalid(format!("the image JSON is not a JSON object: {e}")))?;
    if doc.id.as_deref() != Some(id) {
        return Err(Error::invalid(format!(
            "the image JSON's \"id\" must be {id:?}"
        )));
    }
    let path = format!("/v1/images/{id}/json");
    let target = Target::Image(repo.as_deref(), Access::Write);
    put_json(remote, session, &path, target, json).map_err(|e| {
        // The reference server answers 409 {"error": "Image already exists"}.
        if e.http_status() == Some(409) {
            e.with_kind(ErrorKind::AlreadyExists)
        } else {
            already_exists(e)
        }
    })?;
    lock(&session.json).insert(id.to_string(), json.to_vec());
    Ok(())
}

/// ALREADY_EXISTS for the registry's "Image already exists" answer, whatever
/// its status (as moby reads it); any other error as it is.
fn already_exists(e: Error) -> Error {
    if e.http_status().is_some() && e.message().contains("Image already exists") {
        e.with_kind(ErrorKind::AlreadyExists)
    } else {
        e
    }
}

/// `GET /v1/images/<id>/ancestry`: the image id, its parent, and so on down
/// to the base image.
pub(crate) fn ancestry(
    remote: &Remote<'_>,
    session: &Session,
    repo: Option<&str>,
    id: &str,
) -> Result<Vec<String>> {
    validate_image_id(id)?;
    let repo = image_repo(repo)?;
    let path = format!("/v1/images/{id}/ancestry");
    get_json(
        remote,
        session,
        &path,
        Target::Image(repo.as_deref(), Access::Read),
    )
}

/// The image JSON and the checksum the registry keeps for it
/// (`X-Docker-Checksum-Payload`): `None` when it sends none, PROTOCOL when
/// what it sends is not a digest.
fn get_image_json(
    remote: &Remote<'_>,
    session: &Session,
    id: &str,
    target: Target<'_>,
) -> Result<(Vec<u8>, Option<Digest>)> {
    let path = format!("/v1/images/{id}/json");
    let resp = index::get(remote, session, &path, target)?;
    let resp = remote.check(resp)?;
    let checksum = header(&resp, "x-docker-checksum-payload")
        .map(|c| parse_checksum(&c, what_of(&resp)))
        .transpose()?;
    Ok((transport::read_capped(resp, JSON_CAP)?, checksum))
}

/// An `X-Docker-Checksum-Payload` value: a sha256 digest.
pub(crate) fn parse_checksum(value: &str, what: &str) -> Result<Digest> {
    Digest::parse(value.trim())
        .ok()
        .filter(|d| d.algorithm() == Algorithm::Sha256)
        .ok_or_else(|| {
            Error::protocol(format!(
                "{what}: the registry's X-Docker-Checksum-Payload {:?} is not a sha256 digest",
                value.chars().take(100).collect::<String>()
            ))
        })
}

/// Whether image `id` can be read from `repo` (its JSON answers 2xx).
pub(crate) fn layer_exists(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    id: &str,
) -> Result<bool> {
    let repo = repo_name(repo)?;
    validate_image_id(id)?;
    let path = format!("/v1/images/{id}/json");
    let target = Target::Repo(&repo, Access::Read);
    let resp = index::get(remote, session, &path, target)?;
    match resp.status().as_u16() {
        404 => Ok(false),
        _ => remote.check(resp).map(|_| true),
    }
}

/// `GET /v1/images/<id>/layer`, checked at end-of-file against the image's
/// checksum when the registry keeps one (see [`LayerReader::verified`]).
pub(crate) fn open_layer(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    id: &str,
) -> Result<LayerReader> {
    let repo = repo_name(repo)?;
    validate_image_id(id)?;
    let target = Target::Repo(&repo, Access::Read);
    let (json, checksum) = get_image_json(remote, session, id, target)?;
    let path = format!("/v1/images/{id}/layer");
    let resp = index::get(remote, session, &path, target)?;
    let resp = remote.check(resp)?;
    LayerReader::new(
        resp,
        checksum_hasher(&json),
        checksum,
        None,
        format!("layer of image {id}"),
    )
}

/// Streams a layer for image `id` (whose JSON was put first), then sends the
/// image checksum, which completes the image; returns that checksum. An
/// upload that fails or is aborted sends no checksum, so the image stays
/// incomplete.
pub(crate) fn put_layer(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    reader: &mut dyn Read,
    id: Option<&str>,
) -> Result<Digest> {
    let repo = repo_name(repo)?;
    let id = id.ok_or_else(|| {
        Error::invalid("a v1 layer belongs to an image: put the image JSON first and pass its id")
    })?;
    validate_image_id(id)?;
    let kept = lock(&session.json).get(id).cloned();
    let json = match kept {
        Some(j) => j,
        None => get_image_json(remote, session, id, Target::Repo(&repo, Access::Read))?.0,
    };
    let write = Target::Repo(&repo, Access::Write);
    let path = format!("/v1/images/{id}/layer");
    let mut hashing = Hashing::new(reader, checksum_hasher(&json));
    let headers = [("Content-Type", "application/octet-stream")];
    let resp = index::send(
        remote,
        session,
        "PUT",
        &path,
        write,
        &headers,
        &mut Payload::Stream(&mut hashing),
    )?;
    remote.check(resp).map_err(already_exists)?;
    let checksum = hashing.digest();
    let path = format!("/v1/images/{id}/checksum");
    let sum = checksum.to_string();
    let headers = [("X-Docker-Checksum-Payload", sum.as_str())];
    let resp = index::send(
        remote,
        session,
        "PUT",
        &path,
        write,
        &headers,
        &mut Payload::Empty,
    )?;
    remote.check(resp).map_err(|e| {
        // The reference server's answer to a checksum it did not compute.
        if e.http_status() == Some(400) && e.message().contains("mismatch") {
            e.with_kind(ErrorKind::DigestMismatch)
        } else {
            already_exists(e)
        }
    })?;
    lock(&session.json).remove(id);
    Ok(checksum)
}
