//! What a pull or copy carries beyond the defaults (platform subsets,
//! referrers) and how an archive push compresses: `registry_transfer_options`,
//! which `registry_image_pull_with`, `registry_image_copy_with` and
//! `registry_image_push_archive_with` take.

use std::ffi::c_char;

use super::{free_box, registry_error, registry_status};
use crate::image::ImageOptions;
use crate::reference::Platform;
use crate::Compression;

/// What a pull or copy carries beyond the defaults: made by
/// `registry_transfer_options_new`, set by `registry_transfer_options_*`,
/// read (never kept) by the calls that take it, freed by
/// `registry_transfer_options_free`. Not shared between threads while it is
/// being set.
pub struct registry_transfer_options {
    platforms: Vec<Platform>,
    referrers: bool,
    compress: Option<Compression>,
}

impl registry_transfer_options {
    /// `options` carrying what these say.
    pub(super) fn apply<'a>(&self, options: ImageOptions<'a>) -> ImageOptions<'a> {
        let options = options
            .with_platforms(self.platforms.clone())
            .with_referrers(self.referrers);
        match self.compress {
            Some(c) => options.with_compress(c),
            None => options,
        }
    }
}

/// New options that carry what a plain pull or copy carries (every platform,
/// no referrers). On success `*out` receives them, freed with
/// `registry_transfer_options_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_transfer_options_new(
    out: *mut *mut registry_transfer_options,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let out = arg_mut!(out, "out")?;
        *out = Box::into_raw(Box::new(registry_transfer_options {
            platforms: vec![],
            referrers: false,
            compress: None,
        }));
        Ok(())
    })
}

/// Adds `platform` (`os/arch[/variant]`, copied) to those carried;
/// repeatable. One platform: that platform's manifest (as a call's
/// `platform_or_null` does). Two or more: a new index holding only those
/// platforms' entries (its digest differs from the source index's; the
/// children keep theirs); NOT_FOUND at the call when the index lacks one.
/// INVALID_ARGUMENT for a malformed platform (the options are unchanged).
#[no_mangle]
pub unsafe extern "C" fn registry_transfer_options_platform(
    o: *mut registry_transfer_options,
    platform: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let o = arg_mut!(o, "options")?;
        let p = Platform::parse(arg_str!(platform, "platform")?)?;
        o.platforms.push(p);
        Ok(())
    })
}

/// With `on`, also carry every referrer (OCI 1.1: signatures, SBOMs,
/// attestations, manifests whose subject is a carried manifest),
/// recursively, found through the referrers API or the fallback tag. A pull
/// lists them in the layout's `index.json` without a name; a copy pushes
/// them by digest (and adds them to the fallback tag where the destination
/// has no referrers API).
#[no_mangle]
pub unsafe extern "C" fn registry_transfer_options_referrers(
    o: *mut registry_transfer_options,
    on: bool,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        arg_mut!(o, "options")?.referrers = on;
        Ok(())
    })
}

/// Compresses uncompressed layers on the way, where the push makes their
/// manifest: `registry_image_push_archive_with` of a docker-archive
/// (`docker save`'s plain-tar layers) pushes each as
/// `application/vnd.oci.image.layer.v1.tar+gzip`, compressed once before
/// anything is sent, into a spool file beside the archive (else in the
/// temporary directory) that the upload reads; progress hears of each such
/// layer first under its diff id (uncompressed digest and size) while it is
/// compressed, and can cancel then too. `compression` (copied): "gzip"; NULL
/// turns compression off again. The calls that keep manifests byte for byte
/// (pulls, copies, pushes of a layout or an oci-archive) fail
/// INVALID_ARGUMENT with options that compress. INVALID_ARGUMENT for an
/// unknown name (the options are unchanged).
#[no_mangle]
pub unsafe extern "C" fn registry_transfer_options_compress(
    o: *mut registry_transfer_options,
    compression_or_null: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let o = arg_mut!(o, "options")?;
        let c = arg_opt_str!(compression_or_null, "compression")?;
        o.compress = c.map(Compression::parse).transpose()?;
        Ok(())
    })
}

/// Frees options made by `registry_transfer_options_new`; NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn registry_transfer_options_free(o: *mut registry_transfer_options) {
    // SAFETY: `o` came from `registry_transfer_options_new` and is freed
    // once (the caller's promise).
    unsafe { free_box(o) }
}
