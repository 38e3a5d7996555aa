//! Strings, lists of strings and byte buffers handed to C.

use std::ffi::{c_char, CString};

use super::guard;

/// A list of UTF-8 strings (tags, ancestry, ...). Owned by the caller, who
/// frees it with `registry_list_free`. One owner at a time.
pub struct registry_list {
    items: Vec<CString>,
}

impl registry_list {
    /// A new list, or an error if an item holds a NUL byte.
    pub(crate) fn into_raw(items: Vec<String>) -> crate::Result<*mut registry_list> {
        let items = items
            .into_iter()
            .map(CString::new)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|_| crate::Error::protocol("the registry sent a name with a NUL byte"))?;
        Ok(Box::into_raw(Box::new(registry_list { items })))
    }
}

/// The number of strings in `list`; 0 when `list` is NULL.
#[no_mangle]
pub unsafe extern "C" fn registry_list_len(list: *const registry_list) -> usize {
    guard(0, || opt_ref!(list).map_or(0, |l| l.items.len()))
}

/// The string at `index`, or NULL past the end (or when `list` is NULL). The
/// string belongs to `list` and is valid until `registry_list_free(list)`.
#[no_mangle]
pub unsafe extern "C" fn registry_list_get(
    list: *const registry_list,
    index: usize,
) -> *const c_char {
    guard(std::ptr::null(), || {
        opt_ref!(list)
            .and_then(|l| l.items.get(index))
            .map_or(std::ptr::null(), |s| s.as_ptr())
    })
}

/// Frees a list and its strings. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn registry_list_free(list: *mut registry_list) {
    free!(list)
}

/// Bytes: a JSON document or a manifest body. Owned by the caller, who frees
/// it with `registry_buf_free`. One owner at a time.
pub struct registry_buf {
    data: Vec<u8>,
}

impl registry_buf {
    pub(crate) fn into_raw(data: Vec<u8>) -> *mut registry_buf {
        Box::into_raw(Box::new(registry_buf { data }))
    }

    /// `value` as JSON in a new buffer; PROTOCOL, naming `what`, when it
    /// cannot be encoded.
    pub(crate) fn json(
        value: &impl serde::Serialize,
        what: &str,
    ) -> crate::Result<*mut registry_buf> {
        serde_json::to_vec(value)
            .map(registry_buf::into_raw)
            .map_err(|e| crate::Error::protocol(format!("cannot encode {what}: {e}")))
    }
}

/// The bytes of `buf` (not NUL-terminated; see `registry_buf_len`). Valid until
/// `registry_buf_free(buf)`. NULL when `buf` is NULL.
#[no_mangle]
pub unsafe extern "C" fn registry_buf_data(buf: *const registry_buf) -> *const u8 {
    guard(std::ptr::null(), || {
        opt_ref!(buf).map_or(std::ptr::null(), |b| b.data.as_ptr())
    })
}

/// The number of bytes in `buf`; 0 when `buf` is NULL.
#[no_mangle]
pub unsafe extern "C" fn registry_buf_len(buf: *const registry_buf) -> usize {
    guard(0, || opt_ref!(buf).map_or(0, |b| b.data.len()))
}

/// Frees a buffer. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn registry_buf_free(buf: *mut registry_buf) {
    free!(buf)
}

/// Frees a string the library returned through a `char **` out-param. NULL
/// does nothing. Never pass a string from anywhere else.
#[no_mangle]
pub unsafe extern "C" fn registry_string_free(s: *mut c_char) {
    guard((), || {
        if !s.is_null() {
            // SAFETY: the contract: `s` came from `CString::into_raw` in this
            // library (a `char **` out-param) and is freed once.
            drop(unsafe { CString::from_raw(s) });
        }
    })
}
