//! Rate limits: `registry_client_builder_rate_limit`,
//! `registry_rate_limit_check`, `registry_rate_limit_status`.

use std::ffi::c_char;

use super::{
    registry_buf, registry_client, registry_client_builder, registry_error, registry_status,
};
use crate::ratelimit::RateLimitStatus;

/// At most `per_second` requests per second to the registry, shared by every
/// thread using the client (and the clients `registry_client_restrict` makes
/// of it); 0 = no limit, the default. Each request and each retry waits for
/// its turn, one every 1/`per_second` s. Token-server requests, mirrors and
/// a redirect's further hops do not count. Whatever the limit, a 429 from
/// the registry pauses the whole client, every thread, for its Retry-After
/// (at most 30 s) or else the retry backoff. A cancelled whole-image call
/// (its progress callback returned non-zero) stops waiting at once.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_rate_limit(
    b: *mut registry_client_builder,
    per_second: u32,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        arg_mut!(b, "builder")?.update(|x| x.rate_limit(per_second))
    })
}

/// `{"limit":N,"remaining":N,"window_seconds":N|null,"source":"…"|null}`,
/// or `null` for none.
fn status_json(status: Option<RateLimitStatus>) -> Vec<u8> {
    status
        .map_or_else(|| "null".to_string(), |s| s.to_json())
        .into_bytes()
}

/// Asks the registry for its rate limit with a HEAD of the manifest
/// `repo:reference` (a HEAD does not count against Docker Hub's pull limit;
/// nothing falls back to a GET; never through a mirror). On success
/// `*json_out` receives a buffer freed with `registry_buf_free` holding
/// JSON `{"limit":100,"remaining":76,"window_seconds":21600,"source":"…"}`
/// from the `RateLimit-Limit`, `RateLimit-Remaining` and
/// `docker-ratelimit-source` headers (`window_seconds` and `source` null
/// when not sent), or the JSON `null` when the registry sends no such
/// headers (no limit). NOT_FOUND when there is no such manifest;
/// UNSUPPORTED on a v1 registry. The strings are borrowed for the call.
#[no_mangle]
pub unsafe extern "C" fn registry_rate_limit_check(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let out = arg_mut!(json_out, "json_out")?;
        let status = c.inner.rate_limit_check(repo, reference)?;
        *out = registry_buf::into_raw(status_json(status));
        Ok(())
    })
}

/// The rate limit the registry's headers stated on the last answer that
/// carried them, as `registry_rate_limit_check` gives it (JSON `null`
/// before any did). Sends nothing. On success `*json_out` receives a buffer
/// freed with `registry_buf_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_rate_limit_status(
    c: *const registry_client,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let out = arg_mut!(json_out, "json_out")?;
        *out = registry_buf::into_raw(status_json(c.inner.rate_limit_status()));
        Ok(())
    })
}
