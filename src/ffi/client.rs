//! `registry_client_builder`, `registry_client` and the operations.

use std::ffi::c_char;
use std::time::Duration;

use super::{
    c_string, new_string, registry_buf, registry_error, registry_list, registry_reader,
    registry_status, REGISTRY_API_AUTO, REGISTRY_API_V1, REGISTRY_API_V2,
};
use crate::address::Api;
use crate::builder::ClientBuilder;
use crate::client::Client;
use crate::error::{Error, Result};
use crate::reference::Platform;
use crate::types::ApiVersion;
use crate::types::Manifest;

/// Collects settings for a client. Created by `registry_client_builder_new`,
/// consumed by `registry_client_builder_build` (also when it fails) or freed
/// with `registry_client_builder_free`. One owner at a time.
pub struct registry_client_builder {
    inner: Option<ClientBuilder>,
}

impl registry_client_builder {
    pub(super) fn update(&mut self, f: impl FnOnce(ClientBuilder) -> ClientBuilder) -> Result<()> {
        let b = self
            .inner
            .take()
            .ok_or_else(|| Error::invalid("the builder was already used"))?;
        self.inner = Some(f(b));
        Ok(())
    }
}

/// A client for one registry. Thread-safe: one handle may serve many threads at
/// once. Every call but `registry_client_free` takes it as
/// `const registry_client *`: none changes the handle itself. Freed with
/// `registry_client_free` once no call is using it.
pub struct registry_client {
    pub(crate) inner: Client,
}

/// Starts a builder for the registry at `registry`: "localhost:5000",
/// "docker.io", "https://host:port" or "http://host:port". A bare host means
/// HTTPS; loopback hosts fall back to plain HTTP when they do not speak TLS.
/// On success `*out` receives a builder the caller owns.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_new(
    registry: *const c_char,
    out: *mut *mut registry_client_builder,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let address = arg_str!(registry, "registry")?;
        let out = arg_mut!(out, "out")?;
        *out = Box::into_raw(Box::new(registry_client_builder {
            inner: Some(ClientBuilder::new(address)),
        }));
        Ok(())
    })
}

/// Authenticate with a user name and password (HTTP Basic, or at the token
/// server). Both strings are copied.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_basic_auth(
    b: *mut registry_client_builder,
    user: *const c_char,
    password: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let (user, password) = (arg_str!(user, "user")?, arg_str!(password, "password")?);
        b.update(|x| x.basic_auth(user, password))
    })
}

/// Send `token` as `Authorization: Bearer` on every request. Copied.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_bearer_token(
    b: *mut registry_client_builder,
    token: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let token = arg_str!(token, "token")?;
        b.update(|x| x.bearer_token(token))
    })
}

/// Where docker's config.json is: `path_or_null`, or with NULL (the
/// default, also without this call) `$DOCKER_CONFIG/config.json`, else
/// `~/.docker/config.json`; an empty string turns the lookup off. Read by
/// `registry_client_builder_build` when no credentials were set with
/// `…_basic_auth` or `…_bearer_token` (those win). A missing file means
/// anonymous; a malformed one fails the build with INVALID_ARGUMENT naming it.
/// For the registry's key (`host:port`, or `https://index.docker.io/v1/`) a
/// credential helper is run when `credHelpers` or `credsStore` names one
/// (`docker-credential-<name> get`, within the client's timeout; missing,
/// failing, hanging or garbling helpers fail the build), else the `auths`
/// entry is used (`auth`, `username`/`password`, `identitytoken`,
/// `registrytoken`).
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_docker_config(
    b: *mut registry_client_builder,
    path_or_null: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let path = arg_opt_str!(path_or_null, "path")?;
        b.update(|x| x.docker_config(path.map(std::path::Path::new)))
    })
}

/// Trust the PEM certificates in `pem_path` instead of the built-in roots.
/// The file is read by `registry_client_builder_build`; the path is copied.
/// The registry's certificate must chain to one of them, or be one of them
/// byte for byte: a self-signed certificate made as docker's documentation
/// says (`openssl req -x509 ...`, its own CA) is trusted by naming that very
/// certificate here. Either way its subjectAltName must name the host or IP
/// address the client connects to, and the clock must be inside its validity
/// period; otherwise calls fail with REGISTRY_STATUS_TLS.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_ca_file(
    b: *mut registry_client_builder,
    pem_path: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let path = arg_str!(pem_path, "pem_path")?;
        b.update(|x| x.ca_file(path))
    })
}

/// With `allow_plain_http`, a bare address is tried over HTTPS first, and over
/// plain HTTP only when the server answered the TLS handshake in plain HTTP
/// (its first bytes were an HTTP response such as `HTTP/1.1 400`). Any other
/// failure (a reset or closed connection, an untrusted certificate, a
/// timeout) is returned as it is (REGISTRY_STATUS_NETWORK, _TLS, _TIMEOUT) and
/// nothing is sent in plain text. Loopback addresses behave this way without
/// it. Certificates are verified all the same, and a password is never sent
/// in cleartext to a host that is not loopback.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_insecure(
    b: *mut registry_client_builder,
    allow_plain_http: bool,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        arg_mut!(b, "builder")?.update(|x| x.insecure(allow_plain_http))
    })
}

/// The timeout in milliseconds (default 30000; 0 is INVALID_ARGUMENT). A
/// small document (JSON, token, manifest, error body) must arrive whole
/// within it, redirects included: a deadline for each try of a request. A
/// blob transfer may take as long as it needs but fails with
/// REGISTRY_STATUS_TIMEOUT when no byte moves within it. Connecting,
/// sending a request and reading an error answer are bounded by it too.
/// More than a day counts as a day.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_timeout_ms(
    b: *mut registry_client_builder,
    ms: u64,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        if ms == 0 {
            return Err(Error::invalid("the timeout must be greater than zero"));
        }
        b.update(|x| x.timeout(Duration::from_millis(ms)))
    })
}

/// The User-Agent header (default `registry/<version>`). Copied.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_user_agent(
    b: *mut registry_client_builder,
    ua: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let ua = arg_str!(ua, "ua")?;
        b.update(|x| x.user_agent(ua))
    })
}

/// Which API to speak: REGISTRY_API_AUTO (0), REGISTRY_API_V1 (1) or
/// REGISTRY_API_V2 (2); anything else is INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_api(
    b: *mut registry_client_builder,
    api: u32,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let api = match api {
            REGISTRY_API_AUTO => Api::Auto,
            REGISTRY_API_V1 => Api::V1,
            REGISTRY_API_V2 => Api::V2,
            other => return Err(Error::invalid(format!("api {other} is not 0, 1 or 2"))),
        };
        b.update(|x| x.api(api))
    })
}

/// Where docker's certs.d layout is: `dir_or_null`, or with NULL (the
/// default, also without this call) /etc/docker/certs.d, as docker reads it;
/// an empty string turns the lookup off. `<dir>/<host:port>/*.crt` are CA
/// certificates, and a `<name>.cert` + `<name>.key` pair is a client
/// certificate for mutual TLS.
/// Read by `registry_client_builder_build`; a missing directory holds nothing;
/// a `.cert` without its `.key` (or the reverse) fails the build with
/// INVALID_ARGUMENT. The CAs found are trusted instead of the built-in roots,
/// together with a `…_ca_file`, and as there a registry certificate that is
/// one of them byte for byte is accepted: docker's self-signed certificate
/// copied to `<host:port>/ca.crt` works. The path is copied.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_certs_dir(
    b: *mut registry_client_builder,
    dir_or_null: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let dir = arg_opt_str!(dir_or_null, "dir")?;
        b.update(|x| x.certs_dir(dir.map(std::path::Path::new)))
    })
}

/// Uploads that survive the process: with a state directory `dir_or_null`,
/// every v2 blob upload whose digest is known up front (image push, copy,
/// sync, archives; `registry_layer_put[_file]` with an expected digest) goes
/// in PATCH chunks and records its session there after each confirmed chunk
/// (one small file per blob, mode 0600, no credentials; removed once the blob
/// is committed), and an upload of the same blob after a crash or kill asks
/// the registry how much the session holds and sends only the rest. Expired
/// or unknown sessions start over. NULL or "": off (the default). The path
/// is copied; the directory is created (mode 0700) on first use.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_upload_state_dir(
    b: *mut registry_client_builder,
    dir_or_null: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let dir = arg_opt_str!(dir_or_null, "dir")?;
        b.update(|x| x.upload_state_dir(dir.map(std::path::Path::new)))
    })
}

/// How often an idempotent request (GET, HEAD, PUT, DELETE without a streamed
/// body) is tried again after a connection error, a timeout, 429, 502, 503 or
/// 504, with exponential backoff and jitter, honouring Retry-After up to 30 s.
/// Default 3; 0 turns retries off. Uploads are never replayed.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_max_retries(
    b: *mut registry_client_builder,
    retries: u32,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        arg_mut!(b, "builder")?.update(|x| x.max_retries(retries))
    })
}

/// Send every request through the HTTP proxy at `url`
/// (`http://[user:pass@]host:port`; https goes through a CONNECT tunnel),
/// loopback registries included; "" means no proxy at all. Without this call
/// the proxy comes from the environment as docker takes it: `HTTPS_PROXY` for
/// https registries, `HTTP_PROXY` for plain http ones, never for `NO_PROXY`
/// hosts or loopback addresses. A malformed URL fails the build with
/// INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_proxy(
    b: *mut registry_client_builder,
    url: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let url = arg_str!(url, "url")?;
        b.update(|x| x.proxy(url))
    })
}

/// Read through the mirror at `url` first (docker's `registry-mirrors`);
/// repeatable, in order of preference. `url` is copied; it is
/// `https://host[:port]`, or `http://host[:port]` for plain HTTP to that
/// mirror only, with no path, query or user (INVALID_ARGUMENT here
/// otherwise, as docker checks it). Reads (manifests, blobs, tags, pulls,
/// image configs, the source side of copies) try each mirror in turn, then
/// the registry, which need not be up when a mirror serves the read; a
/// mirror that cannot be reached (then passed over for 30 s), answers an
/// error such as 404 or 5xx, or serves bytes that fail their digest is
/// skipped, never fatal. Writes, deletes, the catalog and search never go
/// to a mirror, nor does anything on a client built for v1. A mirror is
/// asked once per read (no retries), gets credentials only from its own
/// `config.json` entry or helper, never this builder's, and trusts the CAs
/// this builder trusts and its own `certs.d` directory.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_mirror(
    b: *mut registry_client_builder,
    url: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let url = arg_str!(url, "url")?;
        crate::address::validate_mirror(url)?;
        b.update(|x| x.mirror(url))
    })
}

/// With `on`, a 401 on a read (GET, HEAD) right after a token was granted
/// for the request's scope is REGISTRY_STATUS_NOT_FOUND: Docker Hub answers
/// so for a repository that does not exist (or that the credentials may not
/// see). On by default for docker.io, off for other registries.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_unauthorized_is_not_found(
    b: *mut registry_client_builder,
    on: bool,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        arg_mut!(b, "builder")?.update(|x| x.unauthorized_is_not_found(on))
    })
}

/// Credentials from environment variables, consulted before docker's
/// config.json (carvel imgpkg's env keychain): `<PREFIX>_HOSTNAME`,
/// `<PREFIX>_USERNAME`, `<PREFIX>_PASSWORD`, `<PREFIX>_IDENTITY_TOKEN` (a
/// refresh token for the token server) and `<PREFIX>_REGISTRY_TOKEN` (a
/// bearer token sent as is) make one entry; the same names ending in
/// `_<SUFFIX>` (`_0`, `_1`, any suffix) one entry per suffix.
/// `prefix_or_null` NULL is "REGISTRY"; "IMGPKG_REGISTRY" reads imgpkg's own
/// variables unchanged; a prefix other than letters, digits and `_` is
/// INVALID_ARGUMENT. The prefix is copied, and the `<PREFIX>_…` variables
/// are read from the process environment during this call (later changes
/// are not seen).
///
/// `registry_client_builder_build` picks the entry whose HOSTNAME matches the
/// registry's `host[:port]` (Docker Hub: `index.docker.io`, `docker.io` or
/// `registry-1.docker.io`). HOSTNAME may carry a scheme (ignored); each
/// dot-separated label may be a glob (`*.example.com` matches
/// `eu.example.com`, not `example.com` nor `a.b.example.com`; `*`, `?`,
/// `[a-z]`, `[^x]`); the port must be equal. Entries are tried in descending
/// order of HOSTNAME (`eu.example.com` before `*.example.com`); one with a
/// path (`quay.io/team`) is for part of a registry and never matches a
/// client. Within an entry a registry token beats an identity token, which
/// beats a user name and password; an entry with none of them, and other
/// `<PREFIX>_…` variables, are ignored. A malformed HOSTNAME fails the build
/// with INVALID_ARGUMENT naming the variable (no secret is ever quoted).
///
/// Where credentials come from: `…_basic_auth`, `…_bearer_token` (and the
/// other credential setters) first, then the environment, then config.json.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_env_credentials(
    b: *mut registry_client_builder,
    prefix_or_null: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let prefix = arg_opt_str!(prefix_or_null, "prefix")?;
        if let Some(p) = prefix {
            crate::auth::env::check_prefix(p)?;
        }
        b.update(|x| x.env_credentials(prefix))
    })
}

/// Look credentials up in docker's config.json (and its credential helpers)
/// under `key` instead of the registry's host: binderhub's `auth_config_url`,
/// such as `https://index.docker.io/v1/`. Matched as docker matches its keys
/// (scheme and path ignored, Docker Hub's aliases alike). The credentials
/// found go to this builder's registry. Applies to config.json only (the
/// order is given at `…_env_credentials`). An empty key is INVALID_ARGUMENT.
/// Copied.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_auth_key(
    b: *mut registry_client_builder,
    key: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let key = arg_str!(key, "key")?;
        if key.trim().is_empty() {
            return Err(Error::invalid("the config.json key must not be empty"));
        }
        b.update(|x| x.auth_key(key))
    })
}

/// Builds the client. Consumes `b`, also on failure: do not use or free it
/// afterwards. On success `*out` receives a client the caller frees with
/// `registry_client_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_build(
    b: *mut registry_client_builder,
    out: *mut *mut registry_client,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        if b.is_null() {
            return Err(Error::new(
                crate::ErrorKind::NullArgument,
                "builder is NULL",
            ));
        }
        // SAFETY: the contract: a non-NULL `b` came from
        // `registry_client_builder_new` and is consumed here, once.
        let builder = unsafe { Box::from_raw(b) };
        let out = arg_mut!(out, "out")?;
        let inner = builder
            .inner
            .ok_or_else(|| Error::invalid("the builder was already used"))?
            .build()?;
        *out = Box::into_raw(Box::new(registry_client { inner }));
        Ok(())
    })
}

/// Frees a builder that was not built. NULL does nothing.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_free(b: *mut registry_client_builder) {
    free!(b)
}

/// Frees a client. NULL does nothing. No other call may be using it.
#[no_mangle]
pub unsafe extern "C" fn registry_client_free(c: *mut registry_client) {
    free!(c)
}

/// A client that serves only the repository `repo`, sharing `c`'s
/// connections, token cache, credentials and settings (imgpkg's
/// CloneWithSingleAuth): any call naming another repository (either one of
/// a mount or a copy included) fails with INVALID_ARGUMENT before anything is
/// sent, and so does `registry_search`, which lists
/// others. `registry_ping` works; v1 image calls given no repository present
/// its token. Restricting a restricted client to another repository is
/// INVALID_ARGUMENT. Sends nothing. On success `*out` receives a new client
/// the caller frees with `registry_client_free`; `c` and it may be freed in
/// any order. `repo` is copied (Docker Hub one-word names get `library/`).
#[no_mangle]
pub unsafe extern "C" fn registry_client_restrict(
    c: *const registry_client,
    repo: *const c_char,
    out: *mut *mut registry_client,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let out = arg_mut!(out, "out")?;
        let inner = c.inner.restrict(repo)?;
        *out = Box::into_raw(Box::new(registry_client { inner }));
        Ok(())
    })
}

/// Checks that the registry answers and accepts the credentials (v2:
/// `GET /v2/`; v1: `GET /v1/_ping`). On success `*api_out` (if not NULL)
/// receives REGISTRY_API_V2 or REGISTRY_API_V1. A client on
/// REGISTRY_API_AUTO detects the API on its first call: v2, unless
/// `GET /v2/` answers 404 and `GET /v1/_ping` succeeds.
#[no_mangle]
pub unsafe extern "C" fn registry_ping(
    c: *const registry_client,
    api_out: *mut u32,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let api = match c.inner.ping()? {
            ApiVersion::V1 => REGISTRY_API_V1,
            ApiVersion::V2 => REGISTRY_API_V2,
        };
        if let Some(out) = opt_out!(api_out) {
            *out = api;
        }
        Ok(())
    })
}

/// Searches repository names for `term` (v2: the catalog, case-insensitive
/// substring; v1: the registry's `GET /v1/search`, page after page), at most
/// `limit` results (0 = no limit). On success `*json_out`
/// receives `{"query":…,"num_results":N,"num_pages":1,"page_size":N,"page":1,
/// "results":[{"name":…,"description":…,"star_count":…,"is_official":…,
/// "is_automated":…,"is_trusted":…}]}` (all results as one page), freed with
/// `registry_buf_free`. For one page of the Hub's paging, `registry_search_page`.
#[no_mangle]
pub unsafe extern "C" fn registry_search(
    c: *const registry_client,
    term: *const c_char,
    limit: u32,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let term = arg_str!(term, "term")?;
        let out = arg_mut!(json_out, "json_out")?;
        let results = c.inner.search(term, limit as usize)?;
        *out = registry_buf::json(&results, "search results")?;
        Ok(())
    })
}

/// Page `page` (from 1; 0 is INVALID_ARGUMENT) of a search for `term`,
/// `limit` results a page (0 = 25, the Hub's default; more than 100 asks for
/// 100), as Docker Hub pages it. v1: the registry's `GET
/// /v1/search?q=&n=&page=`, its `num_results` and `num_pages` as it sends
/// them. v2: the catalog filtered as in `registry_search`, read whole and cut
/// into pages in catalog order; a page past the last has no results. On
/// success `*json_out` receives `{"query":…,"num_results":<all pages>,
/// "num_pages":N,"page_size":…,"page":…,"results":[{"name":…,"description":…,
/// "star_count":…,"is_official":…,"is_automated":…,"is_trusted":…}]}`, freed
/// with `registry_buf_free`. `term` is borrowed for the call.
#[no_mangle]
pub unsafe extern "C" fn registry_search_page(
    c: *const registry_client,
    term: *const c_char,
    page: u32,
    limit: u32,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let term = arg_str!(term, "term")?;
        let out = arg_mut!(json_out, "json_out")?;
        let results = c.inner.search_page(term, u64::from(page), limit as usize)?;
        *out = registry_buf::json(&results, "search results")?;
        Ok(())
    })
}

/// The tags of `repo`, sorted. On success `*out` receives a list freed with
/// `registry_list_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_tags(
    c: *const registry_client,
    repo: *const c_char,
    out: *mut *mut registry_list,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let repo = arg_str!(repo, "repo")?;
        let out = arg_mut!(out, "out")?;
        *out = registry_list::into_raw(c.inner.tags(repo)?)?;
        Ok(())
    })
}

/// The image id of `repo:tag`: v2, the config digest ("sha256:…") of the
/// tag's (or digest's) manifest; for a multi-platform index, that of
/// linux/amd64. v1: the image id the tag names (64 hex digits). On success
/// `*id_out` receives a string freed with `registry_string_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_image_id(
    c: *const registry_client,
    repo: *const c_char,
    tag: *const c_char,
    id_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, tag) = (arg_str!(repo, "repo")?, arg_str!(tag, "tag")?);
        let out = arg_mut!(id_out, "id_out")?;
        *out = new_string(c.inner.image_id(repo, tag)?.to_string())?;
        Ok(())
    })
}

/// Whether the layer exists in `repo`: v2, a blob digest (HEAD); v1, an image
/// id whose JSON the registry serves. On success `*exists_out` receives true
/// or false; a missing layer is not an error.
#[no_mangle]
pub unsafe extern "C" fn registry_layer_exists(
    c: *const registry_client,
    repo: *const c_char,
    layer: *const c_char,
    exists_out: *mut bool,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, layer) = (arg_str!(repo, "repo")?, arg_str!(layer, "layer")?);
        let out = arg_mut!(exists_out, "exists_out")?;
        *out = c.inner.layer_exists(repo, layer)?;
        Ok(())
    })
}

/// Opens a layer for streaming: v2, a blob by digest, checked against that
/// digest; v1, an image's layer by image id, checked against the image
/// checksum (sha256 of its JSON, a newline and the layer) when the registry
/// keeps one. On success `*out` receives a reader: call
/// `registry_reader_read` until it returns 0 bytes, then
/// `registry_reader_free`. The reader does not borrow the client: it may be
/// read and freed after `registry_client_free(c)`.
#[no_mangle]
pub unsafe extern "C" fn registry_layer_open(
    c: *const registry_client,
    repo: *const c_char,
    layer: *const c_char,
    out: *mut *mut registry_reader,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, layer) = (arg_str!(repo, "repo")?, arg_str!(layer, "layer")?);
        let out = arg_mut!(out, "out")?;
        *out = registry_reader::into_raw(c.inner.layer_open(repo, layer)?);
        Ok(())
    })
}

/// Downloads a layer (see `registry_layer_open`) to `path`. The bytes go to a
/// temporary file beside `path` that is renamed to `path` only after the
/// digest checked out: on any failure
/// nothing is left at `path` (a file already there is kept as it was).
#[no_mangle]
pub unsafe extern "C" fn registry_layer_get_file(
    c: *const registry_client,
    repo: *const c_char,
    layer: *const c_char,
    path: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, layer) = (arg_str!(repo, "repo")?, arg_str!(layer, "layer")?);
        let path = arg_str!(path, "path")?;
        c.inner.layer_get_file(repo, layer, path).map(|_| ())
    })
}

/// Fetches a manifest by tag or digest (v2 only; REGISTRY_STATUS_UNSUPPORTED
/// on a v1 client). On success `*body_out`
/// receives the exact bytes (free with `registry_buf_free`) and, when they are
/// not NULL, `*media_type_out` and `*digest_out` receive strings freed with
/// `registry_string_free`. The digest is checked against the body.
#[no_mangle]
pub unsafe extern "C" fn registry_manifest_get(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    body_out: *mut *mut registry_buf,
    media_type_out: *mut *mut c_char,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let body = arg_mut!(body_out, "body_out")?;
        let (media_out, digest_out) = (opt_out!(media_type_out), opt_out!(digest_out));
        give_manifest(
            c.inner.manifest_get(repo, reference)?,
            body,
            media_out,
            digest_out,
        )
    })
}

/// Like `registry_manifest_get`, for `platform`'s image ("os/arch" or
/// "os/arch/variant"; a malformed one is INVALID_ARGUMENT): when the
/// reference names an index, the manifest of its entry for the platform,
/// through indexes nested up to four deep (`linux/arm64` matches
/// `arm64/v8`; `linux/arm` takes `arm/v7`, else the closest lower
/// variant); NOT_FOUND when there is none. The outputs are the same, and
/// owned the same way.
#[no_mangle]
pub unsafe extern "C" fn registry_manifest_get_for_platform(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    platform: *const c_char,
    body_out: *mut *mut registry_buf,
    media_type_out: *mut *mut c_char,
    digest_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let platform = arg_str!(platform, "platform")?;
        let body = arg_mut!(body_out, "body_out")?;
        let (media_out, digest_out) = (opt_out!(media_type_out), opt_out!(digest_out));
        let platform = Platform::parse(platform)?;
        let m = c
            .inner
            .manifest_get_for_platform(repo, reference, &platform)?;
        give_manifest(m, body, media_out, digest_out)
    })
}

/// Hands a manifest to the caller's out-params, all or (on an error) none.
fn give_manifest(
    m: Manifest,
    body: &mut *mut registry_buf,
    media_out: Option<&mut *mut c_char>,
    digest_out: Option<&mut *mut c_char>,
) -> Result<()> {
    let media_type = c_string(m.media_type)?;
    let digest = c_string(m.digest.to_string())?;
    *body = registry_buf::into_raw(m.body);
    if let Some(out) = media_out {
        *out = media_type.into_raw();
    }
    if let Some(out) = digest_out {
        *out = digest.into_raw();
    }
    Ok(())
}

/// Trust the PEM certificates in the `len` bytes at `pem` instead of the
/// built-in roots, as `registry_client_builder_ca_file` does with a file (the
/// same rules: the registry's certificate chains to one of them or is one of
/// them, and names the host). The bytes are copied; they are parsed by
/// `registry_client_builder_build`, which fails with INVALID_ARGUMENT when
/// they hold no certificate. `pem` may be NULL only with `len` 0.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_ca_pem(
    b: *mut registry_client_builder,
    pem: *const u8,
    len: usize,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let pem = arg_bytes!(pem, len, "pem")?;
        b.update(|x| x.ca_pem(pem))
    })
}

/// Authenticate with an identity token: an OAuth2 refresh token (docker's
/// config.json `identitytoken`, as Azure's registries hand out). It goes only
/// to the token server named by the registry's own challenge, in a
/// `POST grant_type=refresh_token`, and is exchanged there for bearer tokens;
/// it is never sent to the registry itself, nor in cleartext to a host that is
/// not loopback. Replaces credentials set before (the last call wins), and
/// config.json is then not read. Copied.
#[no_mangle]
pub unsafe extern "C" fn registry_client_builder_identity_token(
    b: *mut registry_client_builder,
    token: *const c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let b = arg_mut!(b, "builder")?;
        let token = arg_str!(token, "token")?;
        b.update(|x| x.identity_token(token))
    })
}

/// Like `registry_ping`, with what the registry told: on success `*json_out`
/// receives `{"api":"v2"|"v1","api_version_header":…,"registry_version":…,
/// "standalone":…}` (v2: the `Docker-Distribution-API-Version` header, or
/// null; v1: the `X-Docker-Registry-Version` header and whether the registry
/// is standalone, each null when not sent), freed with `registry_buf_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_ping_info(
    c: *const registry_client,
    json_out: *mut *mut registry_buf,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let out = arg_mut!(json_out, "json_out")?;
        let info = c.inner.ping_info()?;
        let json = serde_json::json!({
            "api": match info.api {
                ApiVersion::V1 => "v1",
                ApiVersion::V2 => "v2",
            },
            "api_version_header": info.api_version_header,
            "registry_version": info.registry_version,
            "standalone": info.standalone,
        });
        *out = registry_buf::into_raw(json.to_string().into_bytes());
        Ok(())
    })
}

/// The image id of `repo:reference` for `platform` ("os/arch" or
/// "os/arch/variant"; a malformed one is INVALID_ARGUMENT): v2, the config
/// digest of the platform's manifest when `reference` names an index (as
/// `registry_manifest_get_for_platform` picks it; NOT_FOUND when there is
/// none), or of the manifest itself; v1, the image id the tag names (a
/// digest is INVALID_ARGUMENT there). On success `*id_out` receives a string
/// freed with `registry_string_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_image_id_for(
    c: *const registry_client,
    repo: *const c_char,
    reference: *const c_char,
    platform: *const c_char,
    id_out: *mut *mut c_char,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let (repo, reference) = (arg_str!(repo, "repo")?, arg_str!(reference, "reference")?);
        let platform = Platform::parse(arg_str!(platform, "platform")?)?;
        let out = arg_mut!(id_out, "id_out")?;
        *out = new_string(
            c.inner
                .image_id_for(repo, reference, &platform)?
                .to_string(),
        )?;
        Ok(())
    })
}

/// Every repository of the registry (`GET /v2/_catalog`, all pages; bounded:
/// TOO_LARGE past 16 MiB or 250,000 names). v2 only. On success `*out`
/// receives a list freed with `registry_list_free`.
#[no_mangle]
pub unsafe extern "C" fn registry_catalog(
    c: *const registry_client,
    out: *mut *mut registry_list,
    err: *mut *mut registry_error,
) -> registry_status {
    boundary!(err, || {
        let c = arg_ref!(c, "client")?;
        let out = arg_mut!(out, "out")?;
        *out = registry_list::into_raw(c.inner.catalog()?)?;
        Ok(())
    })
}
