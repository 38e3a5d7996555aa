//! What a pull or copy carries beyond the defaults (platform subsets,
//! referrers): `registry_transfer_options`, and the pull and copy that take
//! it.

use std::ffi::{c_char, c_void};

use super::containers::registry_buf;
use super::image::{arg_strings, registry_progress_fn, with_options};
use super::{free_box, put_optional_string, registry_client, registry_error, registry_status};
use crate::image::ImageOptions;
use crate::reference::Platform;

/// What a pull or copy carries beyond the defaults: made by
/// `registry_transfer_options_new`, set by `registry_transfer_options_*`,
/// read (never kept) by the calls that take it, freed by
/// `registry_transfer_options_free`. Not shared between threads while it is
/// being set.
pub struct registry_transfer_options {
    platforms: Vec<Platform>,
    referrers: bool,
}

impl registry_transfer_options {
    /// `options` carrying what these say.
    pub(super) fn apply<'a>(&self, options: ImageOptions<'a>) -> ImageOptions<'a> {
        options
            .with_platforms(self.platforms.clone())
            .with_referrers(self.referrers)
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

/// Frees options made by `registry_transfer_options_new`; NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn registry_transfer_options_free(o: *mut registry_transfer_options) {
    // SAFETY: `o` came from `registry_transfer_options_new` and is freed
    // once (the caller's promise).
    unsafe { free_box(o) }
}

/// `registry_image_pull` carrying what `opts_or_null` says (NULL: every
/// platform, no referrers; the options are only read).
#[no_mangle]
pub unsafe extern "C" fn registry_image_pull_with(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    opts_or_null: *const registry_transfer_options,
    layout_dir: *const c_char,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let opts = opt_ref!(opts_or_null);
        let dir = arg_str!(layout_dir, "layout_dir")?;
        let out = opt_out!(digest_out);
        let digest = with_options(None, progress_or_null, userdata, |o| {
            let o = match opts {
                Some(t) => t.apply(o),
                None => o,
            };
            c.inner.image_pull(repo, reference, dir, o)
        })?;
        put_optional_string(out, digest.to_string())
    })
}

/// `registry_image_copy` carrying what `opts_or_null` says (NULL: every
/// platform, no referrers; the options are only read).
#[no_mangle]
pub unsafe extern "C" fn registry_image_copy_with(
    src: *const registry_client,
    src_repo: *const c_char,
    src_reference: *const c_char,
    dst: *const registry_client,
    dst_repo: *const c_char,
    dst_tag_or_null: *const c_char,
    opts_or_null: *const registry_transfer_options,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let src = arg_ref!(src, "src")?;
        let dst = arg_ref!(dst, "dst")?;
        let src_repo = arg_str!(src_repo, "src_repo")?;
        let src_reference = arg_str!(src_reference, "src_reference")?;
        let dst_repo = arg_str!(dst_repo, "dst_repo")?;
        let dst_tag = arg_opt_str!(dst_tag_or_null, "dst_tag")?;
        let opts = opt_ref!(opts_or_null);
        let out = opt_out!(digest_out);
        let digest = with_options(None, progress_or_null, userdata, |o| {
            let o = match opts {
                Some(t) => t.apply(o),
                None => o,
            };
            src.inner
                .image_copy(src_repo, src_reference, &dst.inner, dst_repo, dst_tag, o)
        })?;
        put_optional_string(out, digest.to_string())
    })
}

/// Syncs tags of `src_repo` on `src` to `dst_repo` on `dst` (which may be
/// `src`): `tags_or_null`, `n` borrowed tag strings (NULL: every tag of
/// `src_repo`, listed; `n` is then ignored), each under the same name, with
/// what `opts_or_null` says (NULL: every platform, no referrers; only read).
/// A tag whose digest is already the same at `dst` is skipped after a HEAD
/// at each end (no GET; with platforms, the source's index is read to learn
/// the digest the subset makes, still no blob GET). The other tags' blobs
/// move as one transfer (one parallel budget; a blob several tags share
/// moves once), then each tag's manifests. A tag that fails does not stop
/// the others: it is listed under "failed". `progress_or_null` hears every
/// blob and manifest, on the calling thread; returning non-zero cancels
/// (ABORTED). On success `*report_out` (if not NULL) receives a new
/// `registry_buf` the caller frees with `registry_buf_free`, holding the JSON
/// `{"copied":[{"tag","digest"}],"skipped":[{"tag","digest"}],
/// "failed":[{"tag","status","message"}]}` (`status`: the status's name, as
/// `registry_status_name` gives it). The call fails only when the tags cannot
/// be listed, an argument is wrong (a NULL among the tags is NULL_ARGUMENT,
/// a malformed tag INVALID_ARGUMENT, before anything is sent), or it is
/// cancelled.
#[no_mangle]
pub unsafe extern "C" fn registry_sync(
    src: *const registry_client,
    src_repo: *const c_char,
    dst: *const registry_client,
    dst_repo: *const c_char,
    tags_or_null: *const *const c_char,
    n: usize,
    opts_or_null: *const registry_transfer_options,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    report_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let src = arg_ref!(src, "src")?;
        let dst = arg_ref!(dst, "dst")?;
        let src_repo = arg_str!(src_repo, "src_repo")?;
        let dst_repo = arg_str!(dst_repo, "dst_repo")?;
        let tags = match tags_or_null.is_null() {
            true => None,
            // SAFETY: the contract above: `tags_or_null` points to `n` string pointers.
            false => Some(unsafe { arg_strings(tags_or_null, n, "tags") }?),
        };
        let opts = opt_ref!(opts_or_null);
        let out = opt_out!(report_out);
        let report = with_options(None, progress_or_null, userdata, |o| {
            let o = match opts {
                Some(t) => t.apply(o),
                None => o,
            };
            src.inner
                .sync(src_repo, &dst.inner, dst_repo, tags.as_deref(), o)
        })?;
        if let Some(out) = out {
            *out = registry_buf::into_raw(report.to_json().into_bytes());
        }
        Ok(())
    })
}
