//! The v1-only image calls. On a v2 client they fail with
//! REGISTRY_STATUS_UNSUPPORTED.
//!
//! Image paths name no repository, but behind an index a request must carry
//! the token of one. The `registry_v1_repo_*` calls take the repository;
//! the older calls without it present the session's latest token for the
//! access, whichever repository it is for (ambiguous when several threads
//! work on several repositories with one client).

use std::ffi::c_char;

use crate::error::Error;
use crate::types::V1ImageEntry;

use super::{registry_buf, registry_client, registry_error, registry_list, registry_status};

/// The JSON of v1 image `image_id` (64 hex digits), as the registry keeps it
/// (`GET /v1/images/<id>/json`). Behind an index, the client presents the
/// token of its latest read, e.g. after `registry_tags` for the repository
/// (prefer `registry_v1_repo_image_json`). On success `*json_out` receives a
/// buffer freed with `registry_buf_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_image_json(
    c: *const registry_client,
    image_id: *const c_char,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    // SAFETY: `repo` NULL means no repository.
    unsafe { registry_v1_repo_image_json(c, std::ptr::null(), image_id, json_out, err) }
}

/// Like `registry_v1_image_json`, presenting the token of repository `repo`
/// (fetched from the index when the client holds none); `repo` NULL behaves
/// as `registry_v1_image_json`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_repo_image_json(
    c: *const registry_client,
    repo: *const c_char,
    image_id: *const c_char,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_opt_str!(repo, "repo")?;
        let id = arg_str!(image_id, "image_id")?;
        let out = arg_mut!(json_out, "json_out")?;
        *out = registry_buf::into_raw(c.inner.v1_image_json(repo, id)?);
        Ok(())
    })
}

/// Stores the JSON of v1 image `image_id` (`PUT /v1/images/<id>/json`), the
/// first step of pushing an image; then `registry_layer_put` with the same id
/// and `registry_set_tag`. `json` (NUL-terminated, borrowed for the call) must
/// be an object whose "id" is `image_id`; its "parent", if any, must be in the
/// registry. Behind an index, call `registry_hub_token(c, repo,
/// REGISTRY_ACCESS_WRITE, …)` first: the client presents that write token
/// (prefer `registry_v1_repo_image_json_put`). An image that already exists
/// is REGISTRY_STATUS_ALREADY_EXISTS (the registry answered 409).
#[no_mangle]
pub unsafe extern "C" fn registry_v1_image_json_put(
    c: *const registry_client,
    image_id: *const c_char,
    json: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    // SAFETY: `repo` NULL means no repository.
    unsafe { registry_v1_repo_image_json_put(c, std::ptr::null(), image_id, json, err) }
}

/// Like `registry_v1_image_json_put`, presenting the write token of
/// repository `repo` (fetched from the index when the client holds none);
/// `repo` NULL behaves as `registry_v1_image_json_put`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_repo_image_json_put(
    c: *const registry_client,
    repo: *const c_char,
    image_id: *const c_char,
    json: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_opt_str!(repo, "repo")?;
        let id = arg_str!(image_id, "image_id")?;
        let json = arg_str!(json, "json")?;
        c.inner.v1_image_json_put(repo, id, json.as_bytes())
    })
}

/// The ancestry of v1 image `image_id` (`GET /v1/images/<id>/ancestry`): the
/// id itself, then its parent, and so on down to the base image. Sent like
/// `registry_v1_image_json`. On success `*out` receives a list freed with
/// `registry_list_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_ancestry(
    c: *const registry_client,
    image_id: *const c_char,
    out: *mut *mut registry_list,
    err: *mut *mut registry_error,
) -> registry_status {
    // SAFETY: `repo` NULL means no repository.
    unsafe { registry_v1_repo_ancestry(c, std::ptr::null(), image_id, out, err) }
}

/// Like `registry_v1_ancestry`, presenting the token of repository `repo`;
/// `repo` NULL behaves as `registry_v1_ancestry`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_repo_ancestry(
    c: *const registry_client,
    repo: *const c_char,
    image_id: *const c_char,
    out: *mut *mut registry_list,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_opt_str!(repo, "repo")?;
        let id = arg_str!(image_id, "image_id")?;
        let out = arg_mut!(out, "out")?;
        *out = registry_list::into_raw(c.inner.v1_ancestry(repo, id)?)?;
        Ok(())
    })
}

/// The image list of v1 repository `repo` (`GET
/// /v1/repositories/<repo>/images` at the index or standalone registry, moby's
/// `GetRepositoryData`): the read token that comes with it becomes the
/// client's for `repo`. On success `*json_out` receives a JSON array
/// `[{"id":"<64 hex>","checksum":"sha256:…"}]` (`checksum` absent when the
/// index has none), freed with `registry_buf_free`. At most 4 MiB or 250,000
/// entries (REGISTRY_STATUS_TOO_LARGE past them).
#[no_mangle]
pub unsafe extern "C" fn registry_v1_repository_images(
    c: *const registry_client,
    repo: *const c_char,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let out = arg_mut!(json_out, "json_out")?;
        let list = c.inner.v1_repository_images(repo)?;
        *out = registry_buf::json(&list, "the image list")?;
        Ok(())
    })
}

/// Reads a C image list: a JSON array of `{"id","checksum"?}` objects.
fn image_list(json: &str) -> crate::error::Result<Vec<V1ImageEntry>> {
    serde_json::from_str(json).map_err(|e| {
        Error::invalid(format!(
            "the image list is not a JSON array of {{\"id\",\"checksum\"}}: {e}"
        ))
    })
}

/// The last step of a v1 push (`PUT /v1/repositories/<repo>/images` at the
/// index, moby's `PushImageJSONIndex` with validation): `json`
/// (NUL-terminated, borrowed for the call) is a JSON array
/// `[{"id":"<64 hex>","checksum":"sha256:…"}]`; as moby, only the entries
/// with a checksum are sent. The index answers 204 (any 2xx is success).
#[no_mangle]
pub unsafe extern "C" fn registry_v1_repository_images_put(
    c: *const registry_client,
    repo: *const c_char,
    json: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let list = image_list(arg_str!(json, "json")?)?;
        c.inner.v1_repository_images_put(repo, &list)
    })
}

/// The first step of a v1 push (`PUT /v1/repositories/<repo>/` at the
/// index, moby's `PushImageJSONIndex` without validation): creates the
/// repository and makes the write token the index hands out the client's
/// for `repo`. `json_or_null` (borrowed for the call) is the image list as
/// for `registry_v1_repository_images_put`, checksums optional; NULL sends
/// `[]`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_repository_put(
    c: *const registry_client,
    repo: *const c_char,
    json_or_null: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let list = match arg_opt_str!(json_or_null, "json")? {
            Some(j) => image_list(j)?,
            None => Vec::new(),
        };
        c.inner.v1_repository_put(repo, &list)
    })
}

/// Deletes v1 repository `repo` and every tag of it (`DELETE
/// /v1/repositories/<repo>/` at the registry, docker-reg-client's
/// `Repository.Delete`). Behind an index, with the delete token the index
/// hands out for it; a standalone registry gets basic credentials.
/// REGISTRY_STATUS_NOT_FOUND when there is no such repository.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_repository_delete(
    c: *const registry_client,
    repo: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        c.inner.v1_repository_delete(repo)
    })
}

/// v1 only: every tag of `repo` with the image id it names
/// (`GET /v1/repositories/<repo>/tags`). On success `*json_out` receives a
/// JSON object `{"<tag>":"<image id>",…}`, freed with `registry_buf_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_tags(
    c: *const registry_client,
    repo: *const c_char,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let out = arg_mut!(json_out, "json_out")?;
        let tags = c.inner.v1_tags(repo)?;
        *out = registry_buf::json(&tags, "the tags")?;
        Ok(())
    })
}
