//! The v1-only image calls. On a v2 client they fail with
//! REGISTRY_STATUS_UNSUPPORTED.

use std::ffi::c_char;

use super::{
    arg_mut, arg_ref, arg_str, boundary, registry_buf, registry_client, registry_error,
    registry_list, registry_status,
};

/// The JSON of v1 image `image_id` (64 hex digits), as the registry keeps it
/// (`GET /v1/images/<id>/json`). Image paths name no repository: behind an
/// index, the client presents the token of its latest read (e.g. after
/// `registry_tags` or `registry_hub_token` for the repository). On success
/// `*json_out` receives a buffer freed with `registry_buf_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_image_json(
    c: *mut registry_client,
    image_id: *const c_char,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary(err, || {
        let c = arg_ref(c, "client")?;
        let id = arg_str(image_id, "image_id")?;
        let out = arg_mut(json_out, "json_out")?;
        *out = registry_buf::into_raw(c.inner.v1_image_json(id)?);
        Ok(())
    })
}

/// Stores the JSON of v1 image `image_id` (`PUT /v1/images/<id>/json`), the
/// first step of pushing an image; then `registry_layer_put` with the same id
/// and `registry_set_tag`. `json` (NUL-terminated, borrowed for the call) must
/// be an object whose "id" is `image_id`; its "parent", if any, must be in the
/// registry. Behind an index, call `registry_hub_token(c, repo,
/// REGISTRY_ACCESS_WRITE, …)` first: the client presents that write token. An
/// image that already exists is an error with HTTP status 409.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_image_json_put(
    c: *mut registry_client,
    image_id: *const c_char,
    json: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary(err, || {
        let c = arg_ref(c, "client")?;
        let id = arg_str(image_id, "image_id")?;
        let json = arg_str(json, "json")?;
        c.inner.v1_image_json_put(id, json.as_bytes())
    })
}

/// The ancestry of v1 image `image_id` (`GET /v1/images/<id>/ancestry`): the
/// id itself, then its parent, and so on down to the base image. Sent like
/// `registry_v1_image_json`. On success `*out` receives a list freed with
/// `registry_list_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_v1_ancestry(
    c: *mut registry_client,
    image_id: *const c_char,
    out: *mut *mut registry_list,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary(err, || {
        let c = arg_ref(c, "client")?;
        let id = arg_str(image_id, "image_id")?;
        let out = arg_mut(out, "out")?;
        *out = registry_list::into_raw(c.inner.v1_ancestry(id)?)?;
        Ok(())
    })
}
