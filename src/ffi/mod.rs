//! The C ABI. Every `unsafe` and every `extern "C"` of the crate lives here.
//!
//! Each export runs its body inside [`boundary`] (a panic becomes
//! `REGISTRY_STATUS_PANIC`, never an abort), checks every pointer for NULL and
//! every string for UTF-8 before use, and writes out-params only on success.
//! Modes cross as `uint32_t` and are validated; no Rust enum is taken from C.

#![allow(unsafe_code)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

mod client;
mod containers;
mod error;
mod reader;
mod v1;
mod write;

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, ErrorKind, Result};

pub use client::*;
pub use containers::*;
pub use error::*;
pub use reader::*;
pub use v1::*;
pub use write::*;

/// A status code: `REGISTRY_STATUS_OK` (0) or one of the failure codes below.
/// The values are never renumbered.
pub type registry_status = u32;

/// Success.
pub const REGISTRY_STATUS_OK: registry_status = 0;
/// A required pointer argument was NULL.
pub const REGISTRY_STATUS_NULL_ARGUMENT: registry_status = 1;
/// A name, tag, digest, address, mode or other argument was malformed.
pub const REGISTRY_STATUS_INVALID_ARGUMENT: registry_status = 2;
/// The connection could not be made or broke.
pub const REGISTRY_STATUS_NETWORK: registry_status = 3;
/// A connect, send or read took longer than the timeout.
pub const REGISTRY_STATUS_TIMEOUT: registry_status = 4;
/// The TLS handshake failed (unknown CA, bad certificate, not TLS).
pub const REGISTRY_STATUS_TLS: registry_status = 5;
/// HTTP 401: no credentials, or wrong ones.
pub const REGISTRY_STATUS_UNAUTHORIZED: registry_status = 6;
/// HTTP 403, or a token without the needed scope.
pub const REGISTRY_STATUS_FORBIDDEN: registry_status = 7;
/// HTTP 404, or a `*_UNKNOWN` registry error code.
pub const REGISTRY_STATUS_NOT_FOUND: registry_status = 8;
/// The registry or the API version it speaks cannot do this.
pub const REGISTRY_STATUS_UNSUPPORTED: registry_status = 9;
/// HTTP 429.
pub const REGISTRY_STATUS_RATE_LIMITED: registry_status = 10;
/// Bytes did not hash to the expected digest.
pub const REGISTRY_STATUS_DIGEST_MISMATCH: registry_status = 11;
/// The registry's answer was malformed or unexpected.
pub const REGISTRY_STATUS_PROTOCOL: registry_status = 12;
/// HTTP 5xx.
pub const REGISTRY_STATUS_SERVER: registry_status = 13;
/// A local file could not be read or written.
pub const REGISTRY_STATUS_IO: registry_status = 14;
/// A callback asked to stop.
pub const REGISTRY_STATUS_ABORTED: registry_status = 15;
/// A response was larger than its cap.
pub const REGISTRY_STATUS_TOO_LARGE: registry_status = 16;
/// A bug in the library, caught at the boundary. Please report it.
pub const REGISTRY_STATUS_PANIC: registry_status = 17;

/// Let the registry choose: v2 first (`registry_client_builder_api`).
pub const REGISTRY_API_AUTO: u32 = 0;
/// The legacy Docker Registry v1 API.
pub const REGISTRY_API_V1: u32 = 1;
/// Docker Registry v2 / OCI distribution.
pub const REGISTRY_API_V2: u32 = 2;

/// Pull access (`registry_hub_token`).
pub const REGISTRY_ACCESS_READ: u32 = 1;
/// Push and pull access.
pub const REGISTRY_ACCESS_WRITE: u32 = 2;
/// Delete access.
pub const REGISTRY_ACCESS_DELETE: u32 = 3;

/// The library version, e.g. "0.1.0". The string is static: never free it.
#[no_mangle]
pub extern "C" fn registry_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// A static upper-case name for any status code ("OK", "NOT_FOUND", ...),
/// "UNKNOWN" for a value outside the list. Never free it.
#[no_mangle]
pub extern "C" fn registry_status_name(status: u32) -> *const c_char {
    let name: &'static CStr = match status {
        0 => c"OK",
        1 => c"NULL_ARGUMENT",
        2 => c"INVALID_ARGUMENT",
        3 => c"NETWORK",
        4 => c"TIMEOUT",
        5 => c"TLS",
        6 => c"UNAUTHORIZED",
        7 => c"FORBIDDEN",
        8 => c"NOT_FOUND",
        9 => c"UNSUPPORTED",
        10 => c"RATE_LIMITED",
        11 => c"DIGEST_MISMATCH",
        12 => c"PROTOCOL",
        13 => c"SERVER",
        14 => c"IO",
        15 => c"ABORTED",
        16 => c"TOO_LARGE",
        17 => c"PANIC",
        _ => c"UNKNOWN",
    };
    name.as_ptr()
}

/// Runs a fallible export body: catches panics, stores the error in `*err`
/// (when `err` is not NULL; NULL on success) and returns the status.
pub(crate) unsafe fn boundary(
    err: *mut *mut registry_error,
    body: impl FnOnce() -> Result<()>,
) -> registry_status {
    let result = catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::Panic,
            "a bug in the registry library (a Rust panic); please report it",
        ))
    });
    let status = match &result {
        Ok(()) => REGISTRY_STATUS_OK,
        Err(e) => e.kind().code(),
    };
    if !err.is_null() {
        *err = match result {
            Ok(()) => std::ptr::null_mut(),
            Err(e) => registry_error::into_raw(e),
        };
    }
    status
}

/// Runs an infallible export body (accessors, frees): a panic yields `default`.
pub(crate) fn guard<T>(default: T, body: impl FnOnce() -> T) -> T {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or(default)
}

fn null(name: &str) -> Error {
    Error::new(ErrorKind::NullArgument, format!("{name} is NULL"))
}

/// Frees a handle the library handed out with `Box::into_raw`; NULL does
/// nothing. Used by every `registry_*_free`.
pub(crate) unsafe fn free_box<T>(p: *mut T) {
    guard((), || {
        if !p.is_null() {
            drop(Box::from_raw(p));
        }
    })
}

/// A shared reference from a pointer that must not be NULL.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    p.as_ref().ok_or_else(|| null(name))
}

/// An exclusive reference from a pointer that must not be NULL.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    p.as_mut().ok_or_else(|| null(name))
}

/// A borrowed UTF-8 string from a NUL-terminated pointer that must not be NULL.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    CStr::from_ptr(p)
        .to_str()
        .map_err(|_| Error::invalid(format!("{name} is not valid UTF-8")))
}

/// Like [`arg_str`], but NULL is `None`.
pub(crate) unsafe fn arg_opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        arg_str(p, name).map(Some)
    }
}

/// A new C string for an out-param; the caller frees it with `registry_string_free`.
pub(crate) fn new_string(s: String) -> Result<*mut c_char> {
    CString::new(s)
        .map(CString::into_raw)
        .map_err(|_| Error::protocol("the registry sent a string with a NUL byte"))
}

/// A C string for an error message, with any NUL bytes replaced.
pub(crate) fn lossy_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{fffd}")).expect("no NUL left")
}
