//! `registry_error`: what failed, as a status, a message, the HTTP status and
//! the registry's own error code.

use std::ffi::{c_char, CString};

use super::{guard, lossy_cstring, registry_status, OK};
use crate::error::Error;

/// An error returned through a `registry_error **err` out-param. Owned by the
/// caller, who frees it with `registry_error_free`. Not thread-safe: one owner
/// at a time.
pub struct registry_error {
    status: registry_status,
    http_status: u16,
    message: CString,
    code: Option<CString>,
}

impl registry_error {
    pub(crate) fn into_raw(e: Error) -> *mut registry_error {
        Box::into_raw(Box::new(registry_error {
            status: e.kind().code(),
            http_status: e.http_status().unwrap_or(0),
            message: lossy_cstring(e.message()),
            code: e.code().map(lossy_cstring),
        }))
    }
}

/// The status of `err`; REGISTRY_STATUS_OK when `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn registry_error_status(err: *const registry_error) -> registry_status {
    guard(OK, || opt_ref!(err).map_or(OK, |e| e.status))
}

/// The HTTP status of the response behind `err`, or 0 if there was none (or
/// `err` is NULL).
#[no_mangle]
pub unsafe extern "C" fn registry_error_http_status(err: *const registry_error) -> u16 {
    guard(0, || opt_ref!(err).map_or(0, |e| e.http_status))
}

/// A human-readable UTF-8 message. It never contains a password or a token.
/// The string belongs to `err` and is valid until `registry_error_free(err)`;
/// NULL when `err` is NULL.
#[no_mangle]
pub unsafe extern "C" fn registry_error_message(err: *const registry_error) -> *const c_char {
    guard(std::ptr::null(), || {
        opt_ref!(err).map_or(std::ptr::null(), |e| e.message.as_ptr())
    })
}

/// The registry's own error code, such as "MANIFEST_UNKNOWN", or NULL when the
/// registry sent none (or `err` is NULL). Valid until `registry_error_free(err)`.
#[no_mangle]
pub unsafe extern "C" fn registry_error_code(err: *const registry_error) -> *const c_char {
    guard(std::ptr::null(), || {
        opt_ref!(err)
            .and_then(|e| e.code.as_ref())
            .map_or(std::ptr::null(), |c| c.as_ptr())
    })
}

/// Frees an error. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn registry_error_free(err: *mut registry_error) {
    free!(err)
}
