//! The C ABI. Every `unsafe` and every `extern "C"` of the crate lives here.
//!
//! Each export runs its body inside `boundary` (a panic becomes
//! `REGISTRY_STATUS_PANIC`, never an abort), checks every pointer for NULL and
//! every string for UTF-8 before use, and writes out-params only on success.
//! Modes cross as `uint32_t` and are validated; no Rust enum is taken from C.
//! The `REGISTRY_STATUS_*` constants of the header come from the one status
//! table, `src/error/status_table.rs` (build.rs generates them).

#![allow(unsafe_code)]
#![deny(unsafe_op_in_unsafe_fn)]
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

/// `arg_ref!(p, "name")`: the shared reference behind a pointer argument,
/// NULL_ARGUMENT when it is NULL. The `arg_*!` macros are the one place a
/// pointer from C becomes a Rust reference or slice.
macro_rules! arg_ref {
    ($p:expr, $name:expr) => {
        // SAFETY: every export's contract: a non-NULL pointer argument points
        // to a live value of its type for the whole call.
        unsafe { $crate::ffi::arg_ref($p, $name) }
    };
}

/// `arg_mut!(p, "name")`: the exclusive reference behind a pointer argument
/// (an out-param or a handle with one owner).
macro_rules! arg_mut {
    ($p:expr, $name:expr) => {
        // SAFETY: every export's contract: a non-NULL pointer argument points
        // to a live value no one else uses during the call.
        unsafe { $crate::ffi::arg_mut($p, $name) }
    };
}

/// `arg_str!(p, "name")`: a borrowed UTF-8 string argument.
macro_rules! arg_str {
    ($p:expr, $name:expr) => {
        // SAFETY: every export's contract: a non-NULL string argument is
        // NUL-terminated and lives through the call.
        unsafe { $crate::ffi::arg_str($p, $name) }
    };
}

/// `arg_opt_str!(p, "name")`: like `arg_str!`, NULL being `None`.
macro_rules! arg_opt_str {
    ($p:expr, $name:expr) => {
        // SAFETY: as for `arg_str!`.
        unsafe { $crate::ffi::arg_opt_str($p, $name) }
    };
}

/// `arg_bytes!(p, len, "name")`: `len` bytes borrowed for the call.
macro_rules! arg_bytes {
    ($p:expr, $len:expr, $name:expr) => {
        // SAFETY: every export's contract: a non-NULL byte argument points to
        // `len` readable bytes that live through the call.
        unsafe { $crate::ffi::arg_bytes($p, $len, $name) }
    };
}

/// `arg_buf!(p, cap, "name")`: a writable buffer of `cap` bytes.
macro_rules! arg_buf {
    ($p:expr, $cap:expr, $name:expr) => {
        // SAFETY: every export's contract: a buffer argument points to `cap`
        // writable bytes no one else uses during the call.
        unsafe { $crate::ffi::arg_buf($p, $cap, $name) }
    };
}

/// `opt_out!(p)`: an optional out-param, `None` when NULL.
macro_rules! opt_out {
    ($p:expr) => {
        // SAFETY: every export's contract: a non-NULL out-param points to
        // writable memory of its type for the whole call.
        unsafe { $p.as_mut() }
    };
}

/// `opt_ref!(p)`: a handle an accessor may be given as NULL, `None` then.
macro_rules! opt_ref {
    ($p:expr) => {
        // SAFETY: every accessor's contract: a non-NULL handle is live (not
        // yet freed) for the whole call.
        unsafe { $p.as_ref() }
    };
}

/// `free!(p)`: frees a handle the library handed out; NULL does nothing.
macro_rules! free {
    ($p:expr) => {
        // SAFETY: every `*_free`'s contract: the pointer is NULL or came from
        // this library and is freed once.
        unsafe { $crate::ffi::free_box($p) }
    };
}

/// `boundary!(err, || body)`: runs a fallible export body inside the panic
/// boundary, stores its error in `*err` and returns its status. Every
/// fallible export is one `boundary!`.
macro_rules! boundary {
    ($err:expr, $body:expr) => {{
        let result = $crate::ffi::catch($body);
        // SAFETY: every export's contract: `err` is NULL or points to
        // writable memory for a `registry_error *`.
        unsafe { $crate::ffi::report(result, $err) }
    }};
}

mod archive;
mod artifacts;
mod client;
mod containers;
mod error;
mod image;
mod ratelimit;
mod reader;
mod sync;
mod transfer;
mod v1;
mod write;

use std::ffi::{c_char, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::error::{Error, ErrorKind, Result};

pub use artifacts::*;
pub use client::*;
pub use containers::*;
pub use error::*;
pub use image::*;
pub use ratelimit::*;
pub use reader::*;
pub use sync::*;
pub use transfer::*;
pub use v1::*;
pub use write::*;

/// A status code: `REGISTRY_STATUS_OK` (0) or one of the `REGISTRY_STATUS_*`
/// failure codes defined above. The values are never renumbered.
pub type registry_status = u32;

/// `REGISTRY_STATUS_OK`.
const OK: registry_status = 0;

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
    crate::error::status_c_name(status).as_ptr()
}

/// Catches a panic of an export body: it becomes a PANIC error.
pub(crate) fn catch(body: impl FnOnce() -> Result<()>) -> Result<()> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        Err(Error::new(
            ErrorKind::Panic,
            "a bug in the registry library (a Rust panic); please report it",
        ))
    })
}

/// Stores an export's result in `*err` (when `err` is not NULL; NULL on
/// success) and returns its status. `err` must be NULL or point to writable
/// memory for a `registry_error *`.
pub(crate) unsafe fn report(result: Result<()>, err: *mut *mut registry_error) -> registry_status {
    let status = match &result {
        Ok(()) => OK,
        Err(e) => e.kind().code(),
    };
    // SAFETY: the caller's promise above.
    if let Some(slot) = unsafe { err.as_mut() } {
        *slot = match result {
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
            // SAFETY: `p` came from `Box::into_raw` and is freed once (the
            // caller's promise of a `*_free`).
            drop(unsafe { Box::from_raw(p) });
        }
    })
}

/// A shared reference from a pointer that must not be NULL.
pub(crate) unsafe fn arg_ref<'a, T>(p: *const T, name: &str) -> Result<&'a T> {
    // SAFETY: a non-NULL `p` points to a live `T` (the caller's promise).
    unsafe { p.as_ref() }.ok_or_else(|| null(name))
}

/// An exclusive reference from a pointer that must not be NULL.
pub(crate) unsafe fn arg_mut<'a, T>(p: *mut T, name: &str) -> Result<&'a mut T> {
    // SAFETY: a non-NULL `p` points to a live `T` no one else uses during
    // the call (the caller's promise).
    unsafe { p.as_mut() }.ok_or_else(|| null(name))
}

/// A borrowed UTF-8 string from a NUL-terminated pointer that must not be NULL.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char, name: &str) -> Result<&'a str> {
    if p.is_null() {
        return Err(null(name));
    }
    // SAFETY: a non-NULL `p` is a NUL-terminated string that lives through
    // the call (the caller's promise).
    unsafe { CStr::from_ptr(p) }
        .to_str()
        .map_err(|_| Error::invalid(format!("{name} is not valid UTF-8")))
}

/// Like [`arg_str`], but NULL is `None`.
pub(crate) unsafe fn arg_opt_str<'a>(p: *const c_char, name: &str) -> Result<Option<&'a str>> {
    if p.is_null() {
        Ok(None)
    } else {
        // SAFETY: as for `arg_str`, which checks NULL again.
        unsafe { arg_str(p, name) }.map(Some)
    }
}

/// `n` strings from an array of pointers (NULL only when `n` is 0); with
/// `nullable`, an element may be NULL (`None`), else that is NULL_ARGUMENT.
pub(crate) unsafe fn arg_str_array<'a>(
    p: *const *const c_char,
    n: usize,
    name: &str,
    nullable: bool,
) -> Result<Vec<Option<&'a str>>> {
    if n == 0 {
        return Ok(vec![]);
    }
    if p.is_null() {
        return Err(null(name));
    }
    if n > isize::MAX as usize / std::mem::size_of::<*const c_char>() {
        return Err(Error::invalid(format!("{name}: count {n} is too large")));
    }
    // SAFETY: a non-NULL `p` points to `n` readable pointers that live
    // through the call (the caller's promise); the size fits a slice.
    let items = unsafe { std::slice::from_raw_parts(p, n) };
    items
        .iter()
        .enumerate()
        .map(|(i, &item)| {
            let what = format!("{name}[{i}]");
            match (item.is_null(), nullable) {
                (true, true) => Ok(None),
                (true, false) => Err(null(&what)),
                // SAFETY: as for `arg_str`.
                _ => unsafe { arg_str(item, &what) }.map(Some),
            }
        })
        .collect()
}

/// `n` strings, none NULL, from an array of pointers (see [`arg_str_array`]).
pub(crate) unsafe fn arg_strings<'a>(
    p: *const *const c_char,
    n: usize,
    name: &str,
) -> Result<Vec<&'a str>> {
    // SAFETY: as for `arg_str_array`; no element is `None` when not nullable.
    let items = unsafe { arg_str_array(p, n, name, false) }?;
    Ok(items.into_iter().flatten().collect())
}

/// A new C string for an out-param; the caller frees it with `registry_string_free`.
pub(crate) fn new_string(s: String) -> Result<*mut c_char> {
    c_string(s).map(CString::into_raw)
}

/// A string for C, which must hold no NUL byte.
pub(crate) fn c_string(s: String) -> Result<CString> {
    CString::new(s).map_err(|_| Error::protocol("the registry sent a string with a NUL byte"))
}

/// Writes a new C string to an optional out-param (NULL: nothing).
pub(crate) fn put_optional_string(out: Option<&mut *mut c_char>, s: String) -> Result<()> {
    if let Some(out) = out {
        *out = new_string(s)?;
    }
    Ok(())
}

/// `len` bytes at `p`, borrowed for the call: NULL only with `len` 0, and
/// never more than a Rust slice may span (`isize::MAX`).
pub(crate) unsafe fn arg_bytes<'a>(p: *const u8, len: usize, name: &str) -> Result<&'a [u8]> {
    if len > isize::MAX as usize {
        return Err(Error::invalid(format!("{name}: length {len} is too large")));
    }
    match (p.is_null(), len) {
        (true, 0) => Ok(&[]),
        (true, _) => Err(null(name)),
        // SAFETY: `p` points to `len` readable bytes that live through the
        // call (the caller's promise); `len` fits a slice.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(p, len) }),
    }
}

/// A writable buffer of `cap` bytes at `p`, borrowed for the call: not NULL,
/// not empty, and never more than a Rust slice may span.
pub(crate) unsafe fn arg_buf<'a>(p: *mut u8, cap: usize, name: &str) -> Result<&'a mut [u8]> {
    if p.is_null() {
        return Err(null(name));
    }
    if cap == 0 || cap > isize::MAX as usize {
        return Err(Error::invalid(format!(
            "{name}: capacity {cap} must be between 1 and {}",
            isize::MAX
        )));
    }
    // SAFETY: `p` points to `cap` writable bytes no one else uses during
    // the call (the caller's promise); `cap` fits a slice.
    Ok(unsafe { std::slice::from_raw_parts_mut(p, cap) })
}

/// A C string for an error message, with any NUL bytes replaced.
pub(crate) fn lossy_cstring(s: &str) -> CString {
    CString::new(s.replace('\0', "\u{fffd}")).expect("no NUL left")
}
