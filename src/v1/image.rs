//! v1 images: JSON, ancestry, and layers, which stream both ways and are
//! checked against the image checksum, `sha256(json + "\n" + layer)`.

use std::io::Read;

use serde::Deserialize;

use super::{Target, JSON_CAP};
use crate::auth::lock;
use crate::client::{Access, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::layer::{Hashing, LayerReader};
use crate::reference::{validate_image_id, Algorithm, Digest, Hasher};
use crate::transport::{self, header, Payload};

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

impl Client {
    /// `GET /v1/images/<id>/json`: the image's JSON, as the registry keeps it.
    /// Image paths name no repository: behind an index this uses the token of
    /// the session's latest repository read (e.g. [`tags`](Self::tags)).
    pub fn v1_image_json(&self, image_id: &str) -> Result<Vec<u8>> {
        self.require_v1("image JSON")?;
        validate_image_id(image_id)?;
        Ok(self.v1_get_json(image_id, Target::Image(Access::Read))?.0)
    }

    /// `PUT /v1/images/<id>/json`: the first step of pushing an image. `json`
    /// must be an object whose `id` is `image_id`; its `parent`, if any, must
    /// already be in the registry. Behind an index this uses the token of the
    /// session's latest write access (`hub_token(repo, Access::Write)`).
    pub fn v1_image_json_put(&self, image_id: &str, json: &[u8]) -> Result<()> {
        self.require_v1("putting image JSON")?;
        validate_image_id(image_id)?;
        let doc: ImageJson = serde_json::from_slice(json)
            .map_err(|e| Error::invalid(format!("the image JSON is not a JSON object: {e}")))?;
        if doc.id.as_deref() != Some(image_id) {
            return Err(Error::invalid(format!(
                "the image JSON's \"id\" must be {image_id:?}"
            )));
        }
        let path = format!("/v1/images/{image_id}/json");
        self.v1_put_json(&path, Target::Image(Access::Write), json)?;
        lock(&self.inner().v1.json).insert(image_id.to_string(), json.to_vec());
        Ok(())
    }

    /// `GET /v1/images/<id>/ancestry`: the image id, its parent, and so on
    /// down to the base image.
    pub fn v1_ancestry(&self, image_id: &str) -> Result<Vec<String>> {
        self.require_v1("ancestry")?;
        validate_image_id(image_id)?;
        let path = format!("/v1/images/{image_id}/ancestry");
        self.v1_json(&path, Target::Image(Access::Read))
    }

    /// The image JSON and the checksum the registry keeps for it
    /// (`X-Docker-Checksum-Payload`), if any.
    fn v1_get_json(&self, id: &str, target: Target<'_>) -> Result<(Vec<u8>, Option<Digest>)> {
        let path = format!("/v1/images/{id}/json");
        let what = format!("GET {path}");
        let resp = self.v1_send("GET", &path, target, &[], &mut Payload::Empty)?;
        let resp = self.check(resp, &what)?;
        let checksum =
            header(&resp, "x-docker-checksum-payload").and_then(|c| Digest::parse(&c).ok());
        Ok((transport::read_capped(resp, JSON_CAP, &what)?, checksum))
    }

    /// Whether image `id` can be read from `repo` (its JSON answers 2xx).
    pub(crate) fn v1_layer_exists(&self, repo: &str, id: &str) -> Result<bool> {
        let repo = self.v1_repo(repo)?;
        validate_image_id(id)?;
        let path = format!("/v1/images/{id}/json");
        let target = Target::Repo(&repo, Access::Read);
        let resp = self.v1_send("GET", &path, target, &[], &mut Payload::Empty)?;
        match resp.status().as_u16() {
            404 => Ok(false),
            _ => self.check(resp, &format!("GET {path}")).map(|_| true),
        }
    }

    /// `GET /v1/images/<id>/layer`, checked at end-of-file against the
    /// image's checksum when the registry keeps one.
    pub(crate) fn v1_layer(&self, repo: &str, id: &str) -> Result<LayerReader> {
        let repo = self.v1_repo(repo)?;
        validate_image_id(id)?;
        let target = Target::Repo(&repo, Access::Read);
        let (json, checksum) = self.v1_get_json(id, target)?;
        let path = format!("/v1/images/{id}/layer");
        let resp = self.v1_send("GET", &path, target, &[], &mut Payload::Empty)?;
        let resp = self.check(resp, &format!("GET {path}"))?;
        let label = format!("layer of image {id}");
        Ok(LayerReader::new(
            resp,
            checksum_hasher(&json),
            checksum,
            label,
        ))
    }

    /// Streams a layer for image `id` (whose JSON was put first), then sends
    /// the image checksum, which completes the image; returns that checksum.
    /// An upload that fails or is aborted sends no checksum, so the image
    /// stays incomplete.
    pub(crate) fn v1_put_layer(
        &self,
        repo: &str,
        reader: &mut dyn Read,
        id: Option<&str>,
    ) -> Result<Digest> {
        let repo = self.v1_repo(repo)?;
        let id = id.ok_or_else(|| {
            Error::invalid(
                "a v1 layer belongs to an image: put the image JSON first and pass its id",
            )
        })?;
        validate_image_id(id)?;
        let kept = lock(&self.inner().v1.json).get(id).cloned();
        let json = match kept {
            Some(j) => j,
            None => self.v1_get_json(id, Target::Repo(&repo, Access::Read))?.0,
        };
        let write = Target::Repo(&repo, Access::Write);
        let path = format!("/v1/images/{id}/layer");
        let mut hashing = Hashing::new(reader, checksum_hasher(&json));
        let headers = [("Content-Type", "application/octet-stream")];
        let resp = self.v1_send(
            "PUT",
            &path,
            write,
            &headers,
            &mut Payload::Stream(&mut hashing),
        )?;
        self.check(resp, &format!("PUT {path}"))?;
        let checksum = hashing.hasher.finish();
        let path = format!("/v1/images/{id}/checksum");
        let sum = checksum.to_string();
        let headers = [("X-Docker-Checksum-Payload", sum.as_str())];
        let resp = self.v1_send("PUT", &path, write, &headers, &mut Payload::Empty)?;
        self.check(resp, &format!("PUT {path}")).map_err(|e| {
            // The reference server's answer to a checksum it did not compute.
            if e.http_status() == Some(400) && e.message().contains("mismatch") {
                e.with_kind(ErrorKind::DigestMismatch)
            } else {
                e
            }
        })?;
        lock(&self.inner().v1.json).remove(id);
        Ok(checksum)
    }
}
