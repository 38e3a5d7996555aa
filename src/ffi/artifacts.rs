//! OCI 1.1 artifacts and referrers: `registry_referrers`,
//! `registry_artifact_push`.

use std::ffi::c_char;

use super::{
    arg_str_array, new_string, registry_buf, registry_client, registry_error, registry_status,
};
use crate::ops::Artifact;
use crate::reference::Digest;

/// The referrers of the manifest `digest` in `repo` (OCI 1.1: manifests
/// whose subject it is; signatures, SBOMs, attestations), of
/// `artifact_type_or_null` only when it is given, as an OCI image index
/// (JSON): `{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json",
/// "manifests":[…]}`, each entry with its `artifactType` and `annotations`.
/// From `GET /v2/<repo>/referrers/<digest>` (every page), or where the
/// registry has no referrers API (distribution 2.8) from the tag schema's
/// fallback index `<alg>-<hex>`; a manifest without referrers has an empty
/// list. Reads through mirrors. On success `*index_json_out` receives a
/// buffer freed with `registry_buf_free`. UNSUPPORTED on a v1 registry.
#[no_mangle]
pub unsafe extern "C" fn registry_referrers(
    c: *const registry_client,
    repo: *const c_char,
    digest: *const c_char,
    artifact_type_or_null: *const c_char,
    index_json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let digest = Digest::parse(arg_str!(digest, "digest")?)?;
        let artifact_type = arg_opt_str!(artifact_type_or_null, "artifact_type")?;
        let out = arg_mut!(index_json_out, "index_json_out")?;
        let found = c.inner.referrers(repo, digest, artifact_type)?;
        *out = registry_buf::into_raw(crate::v2::index_json(&found));
        Ok(())
    })
}

/// Pushes an OCI 1.1 artifact to `repo`, tagged `tag_or_null` (NULL: by
/// digest alone): the `n` files at `paths` as layers (`media_types_or_null[i]`
/// each, NULL array or element: `application/octet-stream`; the file's base
/// name in the `org.opencontainers.image.title` annotation; with no file, one
/// empty layer), the empty config (`application/vnd.oci.empty.v1+json`),
/// `artifact_type`, and with `subject_digest_or_null` (a manifest in `repo`)
/// the `subject` that makes the artifact its referrer: indexed by the
/// registry's referrers API, or, where the registry does not (distribution
/// 2.8), added to the fallback index `<alg>-<hex>` (re-read and retried if
/// a concurrent writer replaced it). Every string is borrowed for the call.
/// On success `*digest_out` (may be NULL) receives the manifest's digest,
/// freed with `registry_string_free`. NOT_FOUND when the subject is not in
/// `repo`; INVALID_ARGUMENT for a malformed type or name; IO when a file
/// cannot be read.
#[no_mangle]
pub unsafe extern "C" fn registry_artifact_push(
    c: *const registry_client,
    repo: *const c_char,
    tag_or_null: *const c_char,
    artifact_type: *const c_char,
    subject_digest_or_null: *const c_char,
    paths: *const *const c_char,
    media_types_or_null: *const *const c_char,
    n: usize,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let tag = arg_opt_str!(tag_or_null, "tag")?;
        let mut artifact = Artifact::new(arg_str!(artifact_type, "artifact_type")?);
        if let Some(s) = arg_opt_str!(subject_digest_or_null, "subject_digest")? {
            artifact = artifact.subject(Digest::parse(s)?);
        }
        // SAFETY: `paths` points to `n` strings (the caller's promise).
        let paths = unsafe { arg_str_array(paths, n, "paths", false) }?;
        let media_types = if media_types_or_null.is_null() {
            vec![None; n]
        } else {
            // SAFETY: a non-NULL `media_types_or_null` points to `n` strings or NULLs.
            unsafe { arg_str_array(media_types_or_null, n, "media_types", true) }?
        };
        for (path, media_type) in paths.into_iter().zip(media_types) {
            artifact = artifact.file(path.unwrap_or_default(), media_type);
        }
        let out = opt_out!(digest_out);
        let digest = c.inner.artifact_push(repo, tag, &artifact)?;
        if let Some(out) = out {
            *out = new_string(digest.to_string())?;
        }
        Ok(())
    })
}
