//! `registry_reader`: a pull-style layer download, so that callers in Ruby and
//! Go need no callbacks.

use std::io::Read;

use super::{guard, registry_error, registry_status};
use crate::error::Result;
use crate::layer::LayerReader;

/// A layer being downloaded, from `registry_layer_open`. Read it with
/// `registry_reader_read`, free it with `registry_reader_free`. It does not
/// borrow the client: either may be freed first. One owner at a time.
pub struct registry_reader {
    inner: LayerReader,
}

impl registry_reader {
    pub(crate) fn into_raw(inner: LayerReader) -> *mut registry_reader {
        Box::into_raw(Box::new(registry_reader { inner }))
    }
}

/// Reads up to `cap` bytes into `buf`; `*out_n` receives how many. 0 bytes
/// means the whole layer was read and its digest checked out (see
/// `registry_reader_verified`); a digest that does not match fails with
/// REGISTRY_STATUS_DIGEST_MISMATCH instead of returning 0, a body longer
/// than the layer's announced size with REGISTRY_STATUS_TOO_LARGE, and one
/// that ends short of it with REGISTRY_STATUS_NETWORK. `cap` must
/// be between 1 and PTRDIFF_MAX (else INVALID_ARGUMENT). While bytes flow,
/// the read fails with REGISTRY_STATUS_TIMEOUT when none arrives within the
/// client's timeout. After a failure every further read fails the same way.
#[no_mangle]
pub unsafe extern "C" fn registry_reader_read(
    r: *mut registry_reader,
    buf: *mut u8,
    cap: usize,
    out_n: *mut usize,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let r = arg_mut!(r, "reader")?;
        let slice = arg_buf!(buf, cap, "buf")?;
        let out = arg_mut!(out_n, "out_n")?;
        *out = read_once(&mut r.inner, slice)?;
        Ok(())
    })
}

fn read_once(r: &mut LayerReader, buf: &mut [u8]) -> Result<usize> {
    loop {
        match r.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// True once `r` was read to its end and the bytes hashed to the layer's
/// digest (v2: the blob digest; v1: the image checksum). False before the
/// end, and for a v1 layer whose registry keeps no checksum, so that
/// nothing could be checked; false for NULL.
#[no_mangle]
pub unsafe extern "C" fn registry_reader_verified(r: *const registry_reader) -> bool {
    guard(false, || opt_ref!(r).is_some_and(|r| r.inner.verified()))
}

/// Frees a reader, closing its connection if the layer was not read to the
/// end. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn registry_reader_free(r: *mut registry_reader) {
    free!(r)
}
