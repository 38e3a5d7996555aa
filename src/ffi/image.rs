//! Whole images: pull into an OCI layout, push from one, copy between
//! repositories or registries, with progress; a manifest's HEAD; an image's
//! config.

use std::ffi::{c_char, c_void, CString};

use super::{
    c_string, new_string, put_optional_string, registry_buf, registry_client,
    registry_client_builder, registry_error, registry_list, registry_status,
};
use crate::error::{Error, Result};
use crate::image::ImageOptions;
use crate::reference::{Digest, Platform};

/// Hears of a whole-image call's progress: called on the calling thread only,
/// never concurrently, for every blob and manifest the call moves: first with
/// `done == 0`, then as bytes move, last with `done == total`, once, when it
/// is done (its digest checked; also for a blob that was skipped because it
/// was already there, or mounted). `total` is 0 when unknown. While no byte
/// moves, the last report of a blob under way comes again every 250 ms, so
/// that a callback can cancel a call that stalls. `digest` (`sha256:…`) is
/// borrowed for the call only. Return 0 to go on; anything else cancels the
/// call, which then returns REGISTRY_STATUS_ABORTED promptly (no new request
/// or retry; a request waiting on the server is abandoned at once, its
/// connection shut down) after cancelling its open upload sessions (one
/// DELETE each, under a one-second deadline); a pull keeps the blobs it
/// verified and its partial blobs inside the layout for a later run to
/// resume, and names nothing new in index.json.
pub type registry_progress_fn = Option<
    unsafe extern "C" fn(
        userdata: *mut c_void,
        digest: *const c_char,
        done: u64,
        total: u64,
    ) -> i32,
>;

/// Calls a C progress callback.
struct CProgress {
    callback: unsafe extern "C" fn(*mut c_void, *const c_char, u64, u64) -> i32,
    userdata: *mut c_void,
}

impl CProgress {
    fn report(&mut self, digest: &Digest, done: u64, total: u64) -> bool {
        let text = CString::new(digest.to_string()).expect("a digest holds no NUL byte");
        // SAFETY: the contract of `registry_progress_fn`: the caller's
        // callback may be called with its userdata on the calling thread;
        // `text` lives through the call.
        unsafe { (self.callback)(self.userdata, text.as_ptr(), done, total) == 0 }
    }
}

/// Runs `f` with options holding the platform and the C callback, if any.
pub(super) fn with_options<T>(
    platform: Option<&str>,
    progress: registry_progress_fn,
    userdata: *mut c_void,
    f: impl FnOnce(ImageOptions<'_>) -> Result<T>,
) -> Result<T> {
    let platform = platform.map(Platform::parse).transpose()?;
    let mut c = progress.map(|callback| CProgress { callback, userdata });
    let mut report = |d: &Digest, done: u64, total: u64| match c.as_mut() {
        Some(c) => c.report(d, done, total),
        None => true,
    };
    f(ImageOptions {
        platform,
        progress: Some(&mut report),
        ..Default::default()
    })
}

/// How many blobs one whole-image call (`registry_image_pull`, `_push`,
/// `_copy`) moves at once, each on its own pooled connection (default 4;
/// 1 = one after another; 0 is INVALID_ARGUMENT here, more than 64 when the
/// client is built).
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_parallel(
    b: *mut registry_client_builder,
    blobs: u32,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        if blobs == 0 {
            return Err(Error::invalid("parallel must be at least 1"));
        }
        b.update(|x| x.parallel(blobs))
    })
}

/// Pulls `repo:reference` (a tag or digest) into the OCI image layout at
/// `layout_dir` ("" is INVALID_ARGUMENT). `platform_or_null`: "os/arch" or
/// "os/arch/variant" picks one image of an index (`linux/arm64` matches an
/// `arm64/v8` entry; a malformed one is INVALID_ARGUMENT); NULL keeps what
/// the reference names (an index with every platform). On success
/// `*digest_out` (if not NULL) receives the digest of the manifest or index
/// written, freed with `registry_string_free`. v2 only. Behaviour: see the
/// Rust `Client::image_pull` docs (docs.rs/registry).
#[no_mangle]
pub unsafe extern "C" fn registry_image_pull(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    platform_or_null: *const c_char,
    layout_dir: *const c_char,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let platform = arg_opt_str!(platform_or_null, "platform")?;
        let dir = arg_str!(layout_dir, "layout_dir")?;
        let out = opt_out!(digest_out);
        let digest = with_options(platform, progress_or_null, userdata, |o| {
            c.inner.image_pull(repo, reference, dir, o)
        })?;
        put_optional_string(out, digest.to_string())
    })
}

/// Pushes the image named `layout_ref_or_null` in the OCI layout at
/// `layout_dir` (NULL: the layout's only image; INVALID_ARGUMENT when it has
/// several) to `repo:tag`. A layout file that is a link or not a regular
/// file (a FIFO) is INVALID_ARGUMENT. Blobs the registry has are skipped;
/// the others stream from their files, in parallel, each checked by the registry
/// against its digest; manifests go last, byte for byte, children before
/// their index. On success `*digest_out` (if not NULL) receives the digest of
/// the manifest or index pushed, freed with `registry_string_free`. v2 only.
#[no_mangle]
pub unsafe extern "C" fn registry_image_push(
    c: *const registry_client,
    layout_dir: *const c_char,
    layout_ref_or_null: *const c_char,
    repo: *const c_char,
    tag: *const c_char,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let dir = arg_str!(layout_dir, "layout_dir")?;
        let layout_ref = arg_opt_str!(layout_ref_or_null, "layout_ref")?;
        let (repo, tag) = (arg_str!(repo, "repo")?, arg_str!(tag, "tag")?);
        let out = opt_out!(digest_out);
        let digest = with_options(None, progress_or_null, userdata, |o| {
            c.inner.image_push(dir, layout_ref, repo, tag, o)
        })?;
        put_optional_string(out, digest.to_string())
    })
}

/// Copies `src_repo:src_reference` from `src` to `dst_repo:dst_tag_or_null`
/// on `dst` (`dst_tag_or_null` NULL: the same tag, or by digest only when
/// `src_reference` is a digest). `src` and `dst` may be the same client. On
/// one registry, blobs are mounted, never moved; between registries, bytes
/// stream from one to the other without touching the disk, verified on the
/// way. `platform_or_null` as for `registry_image_pull`. Manifests are
/// copied byte for byte, so digests stay. On success `*digest_out` (if not
/// NULL) receives the digest copied, freed with `registry_string_free`.
/// v2 only.
#[no_mangle]
pub unsafe extern "C" fn registry_image_copy(
    src: *const registry_client,
    src_repo: *const c_char,
    src_reference: *const c_char,
    dst: *const registry_client,
    dst_repo: *const c_char,
    dst_tag_or_null: *const c_char,
    platform_or_null: *const c_char,
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
        let platform = arg_opt_str!(platform_or_null, "platform")?;
        let out = opt_out!(digest_out);
        let digest = with_options(platform, progress_or_null, userdata, |o| {
            src.inner
                .image_copy(src_repo, src_reference, &dst.inner, dst_repo, dst_tag, o)
        })?;
        put_optional_string(out, digest.to_string())
    })
}

/// HEADs a manifest: its digest, media type and size without the body (v2
/// only). Each out-param that is not NULL receives its value: the strings are
/// freed with `registry_string_free`; `*size_out` is 0 when the registry sent
/// no Content-Length.
#[no_mangle]
pub unsafe extern "C" fn registry_manifest_head(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    digest_out: *mut *mut c_char,
    media_type_out: *mut *mut c_char,
    size_out: *mut u64,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let (digest_out, media_out, size_out) = (
            opt_out!(digest_out),
            opt_out!(media_type_out),
            opt_out!(size_out),
        );
        let info = c.inner.manifest_head(repo, reference)?;
        let digest = c_string(info.digest.to_string())?;
        let media = c_string(info.media_type)?;
        if let Some(out) = digest_out {
            *out = digest.into_raw();
        }
        if let Some(out) = media_out {
            *out = media.into_raw();
        }
        if let Some(out) = size_out {
            *out = info.size.unwrap_or(0);
        }
        Ok(())
    })
}

/// The image's config JSON, read from its blob and checked against its
/// digest: for an index, the entry for `platform_or_null` ("os/arch[/variant]";
/// NULL: linux/amd64). On success `*json_out` receives a buffer freed with
/// `registry_buf_free`. v2 only.
#[no_mangle]
pub unsafe extern "C" fn registry_image_config(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    platform_or_null: *const c_char,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let platform = arg_opt_str!(platform_or_null, "platform")?
            .map(Platform::parse)
            .transpose()?;
        let out = arg_mut!(json_out, "json_out")?;
        *out = registry_buf::into_raw(c.inner.image_config(repo, reference, platform.as_ref())?);
        Ok(())
    })
}

/// The first of the `n` digests at `digests` whose manifest exists in `repo`
/// (imgpkg's FirstImageExists): one HEAD request each, in order, and nothing
/// else; the search stops at the first found. NOT_FOUND when none exists (or
/// `n` is 0); a malformed digest is INVALID_ARGUMENT before anything is sent,
/// and any other failure of a HEAD ends the search with it. `digests` (NULL
/// only with `n` 0) and its strings are borrowed for the call. On success
/// `*digest_out` receives the digest found, freed with
/// `registry_string_free`. v2 only.
#[no_mangle]
pub unsafe extern "C" fn registry_first_image_exists(
    c: *const registry_client,
    repo: *const c_char,
    digests: *const *const c_char,
    n: usize,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        // SAFETY: the contract above: `digests` points to `n` string pointers.
        let digests = unsafe { arg_strings(digests, n, "digests") }?;
        let out = arg_mut!(digest_out, "digest_out")?;
        *out = new_string(c.inner.first_image_exists(repo, &digests)?.to_string())?;
        Ok(())
    })
}

/// `n` borrowed strings at `p` (NULL only with `n` 0); NULL_ARGUMENT names
/// the first NULL one.
pub(super) unsafe fn arg_strings<'a>(
    p: *const *const c_char,
    n: usize,
    name: &str,
) -> Result<Vec<&'a str>> {
    if n > isize::MAX as usize / std::mem::size_of::<*const c_char>() {
        return Err(Error::invalid(format!("{name}: count {n} is too large")));
    }
    if p.is_null() {
        if n == 0 {
            return Ok(vec![]);
        }
        return Err(Error::new(
            crate::ErrorKind::NullArgument,
            format!("{name} is NULL"),
        ));
    }
    // SAFETY: `p` points to `n` readable pointers that live through the call
    // (the caller's promise); the size fits a slice.
    let items = unsafe { std::slice::from_raw_parts(p, n) };
    items
        .iter()
        .enumerate()
        .map(|(i, &s)| arg_str!(s, &format!("{name}[{i}]")))
        .collect()
}

/// Pushes every image named in the OCI layout at `layout_dir` to `repo`,
/// each under its name (`org.opencontainers.image.ref.name` in index.json)
/// as the tag, as one transfer (imgpkg's MultiWrite): one parallel budget
/// (`registry_client_builder_parallel`) for the blobs of all the images, a
/// blob shared by several moved once, one progress stream (as for
/// `registry_image_push`); then each image's manifests, in index.json's
/// order. Every entry must have a name that is a valid tag, unique in the
/// layout: an unnamed entry (or a name such as `sha256:…` that a pull by
/// digest writes) is INVALID_ARGUMENT before anything is sent, not skipped,
/// so that nothing is left behind unnoticed. An empty layout is NOT_FOUND.
/// On success `*digests_out` (if not NULL) receives one "tag digest" line per
/// image, in index.json's order, freed with `registry_list_free`. v2 only.
#[no_mangle]
pub unsafe extern "C" fn registry_image_push_all(
    c: *const registry_client,
    layout_dir: *const c_char,
    repo: *const c_char,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digests_out: *mut *mut registry_list,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let dir = arg_str!(layout_dir, "layout_dir")?;
        let repo = arg_str!(repo, "repo")?;
        let out = opt_out!(digests_out);
        let pushed = with_options(None, progress_or_null, userdata, |o| {
            c.inner.image_push_all(dir, repo, o)
        })?;
        if let Some(out) = out {
            let lines = pushed
                .into_iter()
                .map(|(tag, digest)| format!("{tag} {digest}"))
                .collect();
            *out = registry_list::into_raw(lines)?;
        }
        Ok(())
    })
}
