//! Many tags at once: `registry_sync`.

use std::ffi::{c_char, c_void};

use super::image::{registry_progress_fn, with_options};
use super::{
    arg_strings, registry_buf, registry_client, registry_error, registry_status,
    registry_transfer_options,
};

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
        let report = with_options(None, opts, progress_or_null, userdata, |o| {
            src.inner
                .sync(src_repo, &dst.inner, dst_repo, tags.as_deref(), o)
        })?;
        if let Some(out) = out {
            *out = registry_buf::into_raw(report.to_json().into_bytes());
        }
        Ok(())
    })
}
