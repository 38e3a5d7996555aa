//! Image archives: `registry_image_pull_archive` (one image into a
//! docker-archive or oci-archive) and `registry_image_save` (several into
//! one docker-archive, as `docker save` writes), and `registry_image_push_archive`
//! (an image from either format).

use std::ffi::{c_char, c_void};

use super::arg_strings;
use super::image::{registry_progress_fn, with_options};
use super::transfer::registry_transfer_options;
use super::{put_optional_string, registry_client, registry_error, registry_list, registry_status};
use crate::image::ArchiveFormat;

/// Pulls `repo:reference` (a tag or `sha256:…` digest) into one archive file
/// at `archive_path`, in `format`: "docker-archive" (what `docker save`
/// writes and `docker load` reads: manifest.json with Config, RepoTags
/// ("host:port/repo:tag"; none for a pull by digest) and Layers, the config
/// as `<hex>.json`, each layer as `<hex>.tar` as the registry stores it, and
/// the legacy `repositories` file; one platform: the one `opts_or_null`
/// names, else linux/amd64) or "oci-archive" (a tar of an OCI image layout,
/// digests kept: an index stays whole, or keeps the platforms the options
/// name, and carries referrers when they ask). Blobs stream from the
/// registry straight into the archive, each verified against its digest on
/// the way; one that fails fails the call. The file is written beside
/// `archive_path` and renamed there only once whole: after a failure or a
/// cancel (progress returning non-zero: ABORTED) nothing is at
/// `archive_path` (a file already there is left as it was). All strings and
/// the options are borrowed for the call only. On success `*digest_out`
/// (may be NULL) receives the digest of the manifest (or index) archived,
/// freed with `registry_string_free`. INVALID_ARGUMENT for an unknown
/// format, or several platforms or referrers asked of a docker-archive;
/// UNSUPPORTED on a v1 registry or for foreign layers in a docker-archive.
#[no_mangle]
pub unsafe extern "C" fn registry_image_pull_archive(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    opts_or_null: *const registry_transfer_options,
    archive_path: *const c_char,
    format: *const c_char,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let opts = opt_ref!(opts_or_null);
        let path = arg_str!(archive_path, "archive_path")?;
        let format = ArchiveFormat::parse(arg_str!(format, "format")?)?;
        let out = opt_out!(digest_out);
        let digest = with_options(None, opts, progress_or_null, userdata, |o| {
            c.inner.image_pull_archive(repo, reference, path, format, o)
        })?;
        put_optional_string(out, digest.to_string())
    })
}

/// Saves `n` images (`repos[i]:references[i]`, each a tag or digest) into
/// one docker-archive at `archive_path`, as `docker save IMAGE...` does:
/// each its own manifest.json entry with its RepoTags, blobs the images
/// share written once, written atomically as `registry_image_pull_archive`
/// writes (n must be at least 1). `opts_or_null` as there (one platform).
/// On success `*digests_out` (may be NULL) receives the manifest digest of
/// each image, in order, freed with `registry_list_free`. The arrays and
/// strings are borrowed for the call only.
#[no_mangle]
pub unsafe extern "C" fn registry_image_save(
    c: *const registry_client,
    repos: *const *const c_char,
    references: *const *const c_char,
    n: usize,
    opts_or_null: *const registry_transfer_options,
    archive_path: *const c_char,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digests_out: *mut *mut registry_list,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        // SAFETY: the contract above: each array points to `n` string pointers.
        let repos = unsafe { arg_strings(repos, n, "repos") }?;
        // SAFETY: as above.
        let references = unsafe { arg_strings(references, n, "references") }?;
        let opts = opt_ref!(opts_or_null);
        let path = arg_str!(archive_path, "archive_path")?;
        let out = opt_out!(digests_out);
        let images: Vec<(&str, &str)> = repos.into_iter().zip(references).collect();
        let digests = with_options(None, opts, progress_or_null, userdata, |o| {
            c.inner.image_save(&images, path, o)
        })?;
        if let Some(out) = out {
            *out = registry_list::into_raw(digests.iter().map(|d| d.to_string()).collect())?;
        }
        Ok(())
    })
}

/// Pushes the image of the archive file at `archive_path` to `repo:tag`.
/// The format is told by the content: an oci-archive (a tar of an OCI
/// layout; `archive_ref_or_null` names the image by its
/// org.opencontainers.image.ref.name or digest) is pushed byte for byte,
/// digests kept; a docker-archive (`docker save`, skopeo's docker-archive:;
/// `archive_ref_or_null` is one of its RepoTags, or "@N" for the N-th image)
/// gets an OCI manifest made for its layers as stored (gzip, zstd, or
/// uncompressed `application/vnd.oci.image.layer.v1.tar`, which must hash to
/// the config's diff id). NULL: the archive's only image. The archive is
/// untrusted input, read in place (never loaded whole): absolute or
/// climbing names, two entries of one name, sizes past its end, links,
/// directories or devices where a file is named, and entries whose size is
/// not their descriptor's are INVALID_ARGUMENT before anything is sent.
/// Blobs the registry has are skipped; the others stream from the archive,
/// hashed on the way; manifests go last. All strings are borrowed for the
/// call only. On success `*digest_out` (may be NULL) receives the digest
/// pushed, freed with `registry_string_free`. NOT_FOUND for a missing file
/// or image; DIGEST_MISMATCH for bytes that do not hash to what names them.
#[no_mangle]
pub unsafe extern "C" fn registry_image_push_archive(
    c: *const registry_client,
    archive_path: *const c_char,
    archive_ref_or_null: *const c_char,
    repo: *const c_char,
    tag: *const c_char,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    // SAFETY: the same arguments, under the same contract, and no options.
    unsafe {
        registry_image_push_archive_with(
            c,
            archive_path,
            archive_ref_or_null,
            repo,
            tag,
            std::ptr::null(),
            progress_or_null,
            userdata,
            digest_out,
            err,
        )
    }
}

/// `registry_image_push_archive` with options: `opts_or_null`'s compression
/// (see `registry_transfer_options_compress`: a docker-archive's
/// uncompressed layers pushed gzip-compressed) and its platform (one: that
/// platform's image of an oci-archive's index). NULL: as
/// `registry_image_push_archive`. The options are borrowed for the call
/// only. INVALID_ARGUMENT, before anything is sent, for options that
/// compress an oci-archive (whose manifests are pushed byte for byte) or
/// that name several platforms or referrers.
#[no_mangle]
pub unsafe extern "C" fn registry_image_push_archive_with(
    c: *const registry_client,
    archive_path: *const c_char,
    archive_ref_or_null: *const c_char,
    repo: *const c_char,
    tag: *const c_char,
    opts_or_null: *const registry_transfer_options,
    progress_or_null: registry_progress_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let path = arg_str!(archive_path, "archive_path")?;
        let archive_ref = arg_opt_str!(archive_ref_or_null, "archive_ref")?;
        let (repo, tag) = (arg_str!(repo, "repo")?, arg_str!(tag, "tag")?);
        let opts = opt_ref!(opts_or_null);
        let out = opt_out!(digest_out);
        let digest = with_options(None, opts, progress_or_null, userdata, |o| {
            c.inner.image_push_archive(path, archive_ref, repo, tag, o)
        })?;
        put_optional_string(out, digest.to_string())
    })
}
