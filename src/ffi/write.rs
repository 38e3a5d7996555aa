//! The v2 write flows: layer upload (callback or file), manifest put and
//! delete, blob mount, set and delete tag, and tokens.

use std::ffi::{c_char, c_void};
use std::io::{self, Read};

use super::{
    new_string, put_optional_string, registry_client, registry_error, registry_status,
    REGISTRY_ACCESS_DELETE, REGISTRY_ACCESS_READ, REGISTRY_ACCESS_WRITE,
};
use crate::error::{Error, ErrorKind};
use crate::reference::ContentId;
use crate::types::Access;

/// Supplies upload bytes: write at most `cap` bytes into `buf`, store how many
/// in `*out_n`, and return 0; `*out_n == 0` means the end. Any other return
/// value aborts the upload (REGISTRY_STATUS_ABORTED, nothing committed). Called
/// on the calling thread, before the upload function returns; `buf` is
/// borrowed for the call only.
pub type registry_read_fn = Option<
    unsafe extern "C" fn(userdata: *mut c_void, buf: *mut u8, cap: usize, out_n: *mut usize) -> i32,
>;

/// Adapts a C read callback to `Read`.
struct CallbackReader {
    read: unsafe extern "C" fn(*mut c_void, *mut u8, usize, *mut usize) -> i32,
    userdata: *mut c_void,
}

impl Read for CallbackReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let mut n = 0usize;
        // SAFETY: the caller promised a callback that fills at most `cap`
        // bytes of `buf` and writes `*out_n`; both point into live memory.
        let rc = unsafe { (self.read)(self.userdata, buf.as_mut_ptr(), buf.len(), &mut n) };
        if rc != 0 {
            let e = Error::new(
                ErrorKind::Aborted,
                format!("the read callback returned {rc}"),
            );
            return Err(e.into_io());
        }
        if n > buf.len() {
            let e = Error::invalid(format!(
                "the read callback reported {n} bytes for a {}-byte buffer",
                buf.len()
            ));
            return Err(e.into_io());
        }
        Ok(n)
    }
}

/// Uploads a layer whose bytes come from `read(userdata, …)` and, when
/// `digest_out` is not NULL, stores its digest there (free with
/// `registry_string_free`). `layer_or_null`: v2, NULL or the expected digest;
/// v1, the id of the image whose JSON was put first
/// (`registry_v1_image_json_put`; required). A non-zero return from `read` is
/// REGISTRY_STATUS_ABORTED, nothing committed. Behaviour: see the Rust
/// `Client::layer_put` docs (docs.rs/registry).
#[no_mangle]
pub unsafe extern "C" fn registry_layer_put(
    c: *const registry_client,
    repo: *const c_char,
    layer_or_null: *const c_char,
    read: registry_read_fn,
    userdata: *mut c_void,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let expected = arg_opt_str!(layer_or_null, "layer")?
            .map(ContentId::parse)
            .transpose()?;
        let read = read.ok_or_else(|| Error::new(ErrorKind::NullArgument, "read is NULL"))?;
        let mut reader = CallbackReader { read, userdata };
        let digest = c.inner.layer_put(repo, &mut reader, expected.as_ref())?;
        put_optional_string(opt_out!(digest_out), digest.to_string())
    })
}

/// Uploads the file at `path` as a layer; see `registry_layer_put`.
#[no_mangle]
pub unsafe extern "C" fn registry_layer_put_file(
    c: *const registry_client,
    repo: *const c_char,
    layer_or_null: *const c_char,
    path: *const c_char,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let expected = arg_opt_str!(layer_or_null, "layer")?
            .map(ContentId::parse)
            .transpose()?;
        let path = arg_str!(path, "path")?;
        let digest = c.inner.layer_put_file(repo, path, expected.as_ref())?;
        put_optional_string(opt_out!(digest_out), digest.to_string())
    })
}

/// Mounts blob `digest` from repository `from` into `repo` without copying.
/// `*mounted_out` receives true when mounted, false when the registry could
/// not (then upload the blob instead). v2 only.
#[no_mangle]
pub unsafe extern "C" fn registry_blob_mount(
    c: *const registry_client,
    repo: *const c_char,
    digest: *const c_char,
    from: *const c_char,
    mounted_out: *mut bool,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, digest) = (arg_str!(repo, "repo")?, arg_str!(digest, "digest")?);
        let from = arg_str!(from, "from")?;
        let out = arg_mut!(mounted_out, "mounted_out")?;
        *out = c.inner.blob_mount(repo, digest, from)?;
        Ok(())
    })
}

/// Stores a manifest (`len` bytes at `body`, stored byte for byte) under
/// `reference`, a tag or the body's own digest, with `media_type` as its
/// Content-Type (v2 only). When `digest_out` is not NULL it receives the
/// manifest digest (free with `registry_string_free`), checked against the
/// one the registry reports. `body` may be NULL only when `len` is 0.
#[no_mangle]
pub unsafe extern "C" fn registry_manifest_put(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    media_type: *const c_char,
    body: *const u8,
    len: usize,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let media_type = arg_str!(media_type, "media_type")?;
        let body = arg_bytes!(body, len, "body")?;
        let digest = c.inner.manifest_put(repo, reference, media_type, body)?;
        put_optional_string(opt_out!(digest_out), digest.to_string())
    })
}

/// Deletes the manifest with this digest, and with it (on distribution) every
/// tag pointing at it (v2 only).
#[no_mangle]
pub unsafe extern "C" fn registry_manifest_delete(
    c: *const registry_client,
    repo: *const c_char,
    digest: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, digest) = (arg_str!(repo, "repo")?, arg_str!(digest, "digest")?);
        c.inner.manifest_delete(repo, digest)
    })
}

/// Points `tag` at the image `image` names. v2: `image` is a tag or a digest,
/// and its manifest is stored again, byte for byte, under `tag`; no blob is
/// copied. v1: `image` is an image id, PUT as a JSON string; an image the
/// registry does not have (or has incomplete) is REGISTRY_STATUS_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn registry_set_tag(
    c: *const registry_client,
    repo: *const c_char,
    image: *const c_char,
    tag: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, image) = (arg_str!(repo, "repo")?, arg_str!(image, "image")?);
        let tag = arg_str!(tag, "tag")?;
        c.inner.set_tag(repo, image, tag).map(|_| ())
    })
}

/// Removes `tag` and nothing else: other tags on the same image survive. v2:
/// `DELETE …/manifests/<tag>` where the registry allows it; registries that
/// refuse it (distribution 2.8 answers 400) get the tag pointed at a small
/// throw-away manifest that is then deleted by digest, leaving one tiny empty
/// config blob for garbage collection. v1: `DELETE …/tags/<tag>`. A missing
/// tag is REGISTRY_STATUS_NOT_FOUND.
#[no_mangle]
pub unsafe extern "C" fn registry_delete_tag(
    c: *const registry_client,
    repo: *const c_char,
    tag: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, tag) = (arg_str!(repo, "repo")?, arg_str!(tag, "tag")?);
        c.inner.delete_tag(repo, tag)
    })
}

/// The token the registry's token server grants the client's credentials for
/// `access` (REGISTRY_ACCESS_READ, _WRITE or _DELETE) to `repo`. v2: a bearer
/// token for scope pull, pull,push or delete; REGISTRY_STATUS_UNSUPPORTED when
/// the registry does not use token auth. v1: a fresh index token
/// (`X-Docker-Token`, without a `Token ` prefix) from `GET …/images`,
/// `PUT …/` or `DELETE …/` on the index, which the client also uses for
/// its next requests with that access. `*token_out` receives a secret the
/// caller frees with `registry_string_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_token(
    c: *const registry_client,
    repo: *const c_char,
    access: u32,
    token_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let access = match access {
            REGISTRY_ACCESS_READ => Access::Read,
            REGISTRY_ACCESS_WRITE => Access::Write,
            REGISTRY_ACCESS_DELETE => Access::Delete,
            other => return Err(Error::invalid(format!("access {other} is not 1, 2 or 3"))),
        };
        let out = arg_mut!(token_out, "token_out")?;
        *out = new_string(c.inner.token(repo, access)?)?;
        Ok(())
    })
}

/// `registry_token` under its first name (it never was specific to Docker
/// Hub), kept for programs compiled against it.
#[no_mangle]
pub unsafe extern "C" fn registry_hub_token(
    c: *const registry_client,
    repo: *const c_char,
    access: u32,
    token_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    unsafe { registry_token(c, repo, access, token_out, err) }
}
