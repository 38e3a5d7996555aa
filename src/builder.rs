//! `ClientBuilder`: a client's settings, checked and turned into a
//! [`Client`] by [`ClientBuilder::build`], which reads what the settings
//! name (credentials from docker's config, CAs and client certificates from
//! certs.d, the proxy from the environment).

#![forbid(unsafe_code)]

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::address::{api_host, Address, Api};
use crate::auth::{self, Auth, Credentials};
use crate::client::{Client, Inner, Mirror};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{Transport, TransportConfig};
use crate::url::is_loopback_host;
use crate::v1;

/// The default timeout: the deadline of a small document, the stall timeout
/// of a blob transfer (see [`ClientBuilder::timeout`]).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an idempotent request is tried again by default.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// How many blobs a whole-image call moves at once by default.
pub const DEFAULT_PARALLEL: u32 = 4;
/// The longest timeout a client takes (see [`ClientBuilder::timeout`]).
const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The most blobs a whole-image call may move at once.
const MAX_PARALLEL: u32 = 64;
/// Configures and builds a [`Client`].
/// Every setter returns the builder (`#[must_use]`: a setter whose result
/// is dropped sets nothing).
#[must_use = "a builder does nothing until build() is called"]
#[derive(Clone)]
pub struct ClientBuilder {
    address: String,
    credentials: Credentials,
    /// `None`: the default location; `Some("")`: off.
    docker_config: Option<std::path::PathBuf>,
    ca_file: Option<std::path::PathBuf>,
    ca_pem: Option<Vec<u8>>,
    insecure: bool,
    timeout: Duration,
    user_agent: String,
    api: Api,
    max_retries: u32,
    /// `None`: the default directory; `Some("")`: off.
    certs_dir: Option<std::path::PathBuf>,
    /// docker's directory, [`DEFAULT_CERTS_DIR`](crate::certs::DEFAULT_CERTS_DIR)
    /// (another one in tests, which must not write to `/etc`).
    default_certs_dir: std::path::PathBuf,
    proxy: Option<String>,
    /// `None`: on for Docker Hub only.
    unauthorized_is_not_found: Option<bool>,
    parallel: u32,
    /// Mirrors' URLs, in order of preference (checked by `build`).
    mirrors: Vec<String>,
    /// The prefix and the `<PREFIX>_…` variables of
    /// [`env_credentials`](Self::env_credentials), read at that call.
    env_credentials: Option<(String, Vec<(String, String)>)>,
    /// The config.json key of [`auth_key`](Self::auth_key).
    auth_key: Option<String>,
    /// Requests per second (0 = no limit; see [`rate_limit`](Self::rate_limit)).
    rate_limit: u32,
    /// Where uploads record their sessions; `None`: off.
    upload_state_dir: Option<std::path::PathBuf>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("address", &self.address)
            .field("credentials", &self.credentials)
            .field("docker_config", &self.docker_config)
            .field("ca_file", &self.ca_file)
            .field("ca_pem", &self.ca_pem.as_ref().map(|p| p.len()))
            .field("insecure", &self.insecure)
            .field("timeout", &self.timeout)
            .field("user_agent", &self.user_agent)
            .field("api", &self.api)
            .field("max_retries", &self.max_retries)
            .field("certs_dir", &self.certs_dir)
            .field("default_certs_dir", &self.default_certs_dir)
            .field("proxy", &self.proxy.as_deref().map(crate::proxy::describe))
            .field("unauthorized_is_not_found", &self.unauthorized_is_not_found)
            .field("parallel", &self.parallel)
            .field("mirrors", &self.mirrors)
            .field(
                "env_credentials",
                // The names only: the values hold secrets.
                &self.env_credentials.as_ref().map(|(prefix, vars)| {
                    (prefix, vars.iter().map(|(k, _)| k).collect::<Vec<_>>())
                }),
            )
            .field("auth_key", &self.auth_key)
            .field("rate_limit", &self.rate_limit)
            .finish()
    }
}

impl ClientBuilder {
    /// A builder for the registry at `address`: `localhost:5000`, `docker.io`,
    /// `https://host:port` or `http://host:port`.
    pub fn new(address: &str) -> ClientBuilder {
        ClientBuilder {
            address: address.to_string(),
            credentials: Credentials::Anonymous,
            docker_config: None,
            ca_file: None,
            ca_pem: None,
            insecure: false,
            timeout: DEFAULT_TIMEOUT,
            user_agent: format!("registry/{}", env!("CARGO_PKG_VERSION")),
            api: Api::Auto,
            max_retries: DEFAULT_MAX_RETRIES,
            certs_dir: None,
            default_certs_dir: crate::certs::DEFAULT_CERTS_DIR.into(),
            proxy: None,
            unauthorized_is_not_found: None,
            parallel: DEFAULT_PARALLEL,
            mirrors: vec![],
            env_credentials: None,
            auth_key: None,
            rate_limit: 0,
            upload_state_dir: None,
        }
    }

    /// At most `per_second` requests per second to the registry, shared by
    /// every thread of the client and its clones (0 = no limit, the
    /// default): each request, and each retry, waits for its turn, one every
    /// `1/per_second` s (no bursts). What counts is what goes to the
    /// registry itself (the v1 registries an index names too): not the
    /// token server's requests, nor a mirror's (a mirror has no limit), nor
    /// a redirect's further hops (a blob GET is one request). Whatever the
    /// limit, a 429 from the registry pauses the whole client, every thread
    /// and clone, for its `Retry-After` (at most 30 s) or else the retry
    /// backoff; the request that got it is retried as
    /// [`max_retries`](Self::max_retries) says. A cancelled whole-image call
    /// stops waiting at once.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = registry::Client::builder("docker.io")
    ///     .rate_limit(5)
    ///     .build()?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn rate_limit(mut self, per_second: u32) -> ClientBuilder {
        self.rate_limit = per_second;
        self
    }

    /// Read through this mirror first (docker's `registry-mirrors`);
    /// repeatable, in order of preference. Reads (manifests, blobs, tags,
    /// pulls, the source side of copies) try each mirror in turn, then the
    /// registry itself, which need not be up when a mirror serves the read;
    /// a mirror that cannot be reached (then passed over for 30 s), answers
    /// an error such as 404 or 5xx, or serves bytes that fail their digest
    /// is skipped, never fatal (what it said is the source of the
    /// registry's error, if the registry fails too). Writes, deletes, the
    /// catalog and search never go to a mirror, nor does anything on a
    /// client built for v1. `url` is `https://host[:port]` or, for that
    /// mirror only, plain `http://host[:port]`, with no path, query or user
    /// (as docker checks it; INVALID_ARGUMENT at [`build`](Self::build)). A
    /// mirror is asked once per read (no retries: the next source is the
    /// retry). It gets credentials only from its own `config.json` entry or
    /// helper (or the environment, by its own host), never this builder's;
    /// it trusts the CAs this builder trusts and its own `certs.d`
    /// directory; it shares the proxy, timeout and user agent.
    pub fn mirror(mut self, url: &str) -> ClientBuilder {
        self.mirrors.push(url.to_string());
        self
    }

    /// Send every request through this HTTP proxy (`http://[user:pass@]host:port`;
    /// https goes through a CONNECT tunnel), loopback registries included; an
    /// empty string means no proxy at all. Without this, the proxy comes from
    /// the environment as docker takes it: `HTTPS_PROXY` for https
    /// registries, `HTTP_PROXY` for plain http ones, never for `NO_PROXY`
    /// hosts or loopback addresses.
    pub fn proxy(mut self, url: &str) -> ClientBuilder {
        self.proxy = Some(url.to_string());
        self
    }

    /// Where docker's `certs.d` layout is: `dir`, or with `None` (the
    /// default, also without this call) `/etc/docker/certs.d`, as docker
    /// reads it; an empty path turns the lookup off.
    /// `<dir>/<host:port>/*.crt` are CA certificates and a `<name>.cert` +
    /// `<name>.key` pair is a client certificate for mutual TLS. Read by
    /// [`build`](Self::build); a missing directory holds nothing. The CAs
    /// found there are trusted instead of the built-in web PKI roots,
    /// together with a [`ca_file`](Self::ca_file) if one is set, and as
    /// there: a self-signed registry certificate copied to
    /// `<host:port>/ca.crt`, as docker's documentation says, is accepted when
    /// the registry presents exactly that certificate.
    pub fn certs_dir(mut self, dir: Option<&Path>) -> ClientBuilder {
        self.certs_dir = dir.map(Path::to_path_buf);
        self
    }

    /// A directory where blob uploads record their sessions so that they
    /// survive the process: with one, every v2 blob upload whose digest is
    /// known up front (the layers of image_push, image_copy, sync, archives;
    /// `layer_put` and `layer_put_file` with an expected digest) goes in PATCH
    /// chunks of 8 MiB (more if the registry's `OCI-Chunk-Min-Length` says
    /// so; streamed from the source when the blob's size is known, as in
    /// whole-image calls, else read into memory one chunk at a time), and
    /// after each chunk the registry confirmed it records, in a small file
    /// (mode 0600, written whole then renamed; no credentials) named by
    /// the blob's digest and a hash of the registry and repository, the
    /// session's URL and the bytes the registry holds; the file is removed
    /// once the blob is committed. A failed upload keeps its session open for
    /// the next try instead of cancelling it (the registry purges abandoned
    /// sessions). An upload of the same blob later, in this process or
    /// another after a crash or a kill, asks the registry how much the
    /// session holds (`GET` on it: 204 with `Range: 0-N`); when that is what
    /// was recorded, it reads that much of its source again locally, checks
    /// it against the recorded digest of those bytes, and sends only the rest
    /// (`PATCH` with `Content-Range`, then `PUT ?digest=`). An expired or
    /// unknown session, or one holding other than what was recorded, is
    /// cancelled (best-effort) and the upload starts from zero. A source that
    /// does not start with the recorded bytes fails with DIGEST_MISMATCH (the
    /// blob under that digest cannot be those bytes) and the record is
    /// dropped. An upload without an expected digest is neither recorded nor
    /// resumed. distribution 2.8 drops a session whose PATCH was cut
    /// mid-body, so there only a crash between chunks resumes; registries
    /// that keep the session at its last whole chunk (ferro-oci-server) resume
    /// after a crash at any point, losing at most one chunk. `None` or an
    /// empty path: off (the default: one PATCH per blob). The directory is
    /// created (mode 0700) on first use.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000")
    ///     .upload_state_dir(Some(std::path::Path::new("/var/lib/app/uploads")))
    ///     .build()?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn upload_state_dir(mut self, dir: Option<&Path>) -> ClientBuilder {
        self.upload_state_dir = dir
            .filter(|d| !d.as_os_str().is_empty())
            .map(Path::to_path_buf);
        self
    }

    /// How often an idempotent request (GET, HEAD, PUT, DELETE without a
    /// streamed body) is tried again after a connection error, a timeout, 429,
    /// 502, 503 or 504, with exponential backoff and jitter, honouring
    /// `Retry-After` up to 30 s (default 3; 0 turns retries off). After the
    /// last try the status is RATE_LIMITED or SERVER with the registry's
    /// message. Uploads are never replayed.
    pub fn max_retries(mut self, retries: u32) -> ClientBuilder {
        self.max_retries = retries;
        self
    }

    /// Authenticate with a user name and password (HTTP Basic, or at the token server).
    pub fn basic_auth(mut self, username: &str, password: &str) -> ClientBuilder {
        self.credentials = Credentials::Basic {
            username: username.to_string(),
            password: password.to_string(),
        };
        self
    }

    /// Send this bearer token on every request.
    pub fn bearer_token(mut self, token: &str) -> ClientBuilder {
        self.credentials = Credentials::Bearer(token.to_string());
        self
    }

    /// Authenticate with an identity token: an OAuth2 refresh token (what
    /// docker's `config.json` keeps as `identitytoken`, e.g. Azure's), which
    /// is sent only to the token server the registry's own challenge names,
    /// in a `POST grant_type=refresh_token`, and exchanged there for bearer
    /// tokens. The same as `credentials(Credentials::IdentityToken(..))`.
    pub fn identity_token(mut self, token: &str) -> ClientBuilder {
        self.credentials = Credentials::IdentityToken(token.to_string());
        self
    }

    /// Use these credentials.
    pub fn credentials(mut self, credentials: Credentials) -> ClientBuilder {
        self.credentials = credentials;
        self
    }

    /// Credentials from environment variables, as carvel imgpkg reads them:
    /// `<PREFIX>_HOSTNAME`, `<PREFIX>_USERNAME`, `<PREFIX>_PASSWORD`,
    /// `<PREFIX>_IDENTITY_TOKEN` (a refresh token for the token server) and
    /// `<PREFIX>_REGISTRY_TOKEN` (a bearer token sent as is) make one entry,
    /// and the same names ending in `_<SUFFIX>` (`_0`, `_1`, any suffix) one
    /// entry per suffix. `prefix` `None` is `REGISTRY`; `IMGPKG_REGISTRY`
    /// reads imgpkg's own variables unchanged.
    ///
    /// The variables are read from the process environment at this call
    /// (later changes are not seen); [`build`](Self::build) picks the entry
    /// whose `HOSTNAME` matches the registry's `host[:port]` (for Docker
    /// Hub: `index.docker.io`, `docker.io` or `registry-1.docker.io`).
    /// `HOSTNAME` may carry a scheme (ignored) and each dot-separated label
    /// may be a glob: `*.example.com` matches `eu.example.com`, not
    /// `example.com` nor `a.b.example.com`; `*`, `?`, `[a-z]`, `[^x]`; the
    /// port must be equal (a name without a port matches only a registry
    /// addressed without one). Entries are tried in descending order of
    /// their `HOSTNAME`, so `eu.example.com` wins over `*.example.com`.
    /// A `HOSTNAME` with a path (`quay.io/team`) names credentials for part
    /// of a registry, which a client (one set of credentials per registry)
    /// never matches. Within an entry a registry token wins over an identity
    /// token, which wins over a user name and password; an entry with none
    /// of them is ignored, and so are the other `<PREFIX>_…` variables
    /// (imgpkg refuses them; here `REGISTRY_` is also the distribution
    /// registry's own configuration prefix).
    ///
    /// Where a client's credentials come from: those given to this builder
    /// ([`basic_auth`](Self::basic_auth), [`bearer_token`](Self::bearer_token),
    /// [`credentials`](Self::credentials)) first, then the environment, then
    /// docker's [`config.json`](Self::docker_config). They go only to the
    /// registry they matched (and the token server its challenge names).
    /// A malformed `HOSTNAME` (or prefix) makes [`build`](Self::build) fail
    /// with INVALID_ARGUMENT naming the variable; no secret is ever quoted.
    ///
    /// # Examples
    ///
    /// ```
    /// // IMGPKG_REGISTRY_HOSTNAME_0=*.example.com IMGPKG_REGISTRY_USERNAME_0=… …
    /// let client = registry::Client::builder("eu.example.com")
    ///     .env_credentials(Some("IMGPKG_REGISTRY"))
    ///     .build()?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn env_credentials(self, prefix: Option<&str>) -> ClientBuilder {
        let vars = std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)));
        self.env_credentials_from(prefix, vars)
    }

    /// Like [`env_credentials`](Self::env_credentials), reading the
    /// variables from `vars` (name, value) instead of the process
    /// environment: for a program that keeps its own environment (and for
    /// tests). Only the `<PREFIX>_…` variables are kept.
    ///
    /// # Examples
    ///
    /// ```
    /// let vars = [
    ///     ("CI_REGISTRY_HOSTNAME".to_string(), "localhost:5000".to_string()),
    ///     ("CI_REGISTRY_USERNAME".to_string(), "ci".to_string()),
    ///     ("CI_REGISTRY_PASSWORD".to_string(), "secret".to_string()),
    /// ];
    /// let client = registry::Client::builder("localhost:5000")
    ///     .env_credentials_from(Some("CI_REGISTRY"), vars)
    ///     .build()?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn env_credentials_from(
        mut self,
        prefix: Option<&str>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> ClientBuilder {
        let prefix = prefix.unwrap_or(auth::env::DEFAULT_PREFIX).to_string();
        let vars = auth::env::select(&prefix, vars);
        self.env_credentials = Some((prefix, vars));
        self
    }

    /// Look credentials up in docker's `config.json` under `key` instead of
    /// the registry's host: binderhub's `auth_config_url`, such as
    /// `https://index.docker.io/v1/` for a registry reached under another
    /// name. The key is matched as docker matches its keys (scheme and path
    /// ignored, Docker Hub's aliases alike), and a credential helper named
    /// for it is asked for it. The credentials found go to this builder's
    /// registry: name a key whose credentials are meant for it. Applies to
    /// `config.json` only (see [`env_credentials`](Self::env_credentials)
    /// for the order).
    ///
    /// # Examples
    ///
    /// ```
    /// let client = registry::Client::builder("localhost:5000")
    ///     .auth_key("https://registry.example/v1/")
    ///     .build()?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn auth_key(mut self, key: &str) -> ClientBuilder {
        self.auth_key = Some(key.to_string());
        self
    }

    /// Where docker's `config.json` is: `path`, or with `None` (the default)
    /// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`; an empty
    /// path turns the lookup off. Read by [`build`](Self::build) when no
    /// credentials were given to this builder (those win); a missing file
    /// means anonymous. For the registry's key (`host:port`, or
    /// `https://index.docker.io/v1/`): a credential helper (`credHelpers`,
    /// `credsStore`; `docker-credential-<name> get`, given the client's
    /// timeout) if one is configured, else the `auths` entry (`auth`,
    /// `username`/`password`, `identitytoken`, `registrytoken`).
    pub fn docker_config(mut self, path: Option<&Path>) -> ClientBuilder {
        self.docker_config = path.map(Path::to_path_buf);
        self
    }

    /// Trust the PEM certificates in this file instead of the built-in web PKI
    /// roots. The file is read by [`build`](Self::build).
    ///
    /// The registry's certificate must chain to one of them, or be one of them
    /// byte for byte: a self-signed certificate made as docker's documentation
    /// says (`openssl req -x509 …`, which makes it its own CA) is trusted by
    /// naming that very certificate here. Either way its subjectAltName must
    /// name the host or IP address the client connects to, and the clock must
    /// be inside its validity period.
    pub fn ca_file(mut self, path: impl AsRef<Path>) -> ClientBuilder {
        self.ca_file = Some(path.as_ref().to_path_buf());
        self
    }

    /// Trust these PEM certificates instead of the built-in web PKI roots, as
    /// [`ca_file`](Self::ca_file) does.
    pub fn ca_pem(mut self, pem: &[u8]) -> ClientBuilder {
        self.ca_pem = Some(pem.to_vec());
        self
    }

    /// Allow plain HTTP: a bare address is tried over HTTPS first, and over
    /// plain HTTP only when the server answered the TLS handshake in plain
    /// HTTP (its first bytes were an HTTP response such as `HTTP/1.1 400`).
    /// Any other failure (a reset or closed connection, a certificate that is
    /// not trusted, a timeout) is returned as it is, and nothing is sent in
    /// plain text. Loopback addresses behave this way without `insecure`.
    /// Certificates are verified all the same, and a password is never sent
    /// in cleartext to a host that is not loopback.
    pub fn insecure(mut self, allow_plain_http: bool) -> ClientBuilder {
        self.insecure = allow_plain_http;
        self
    }

    /// The timeout (default 30 s). A small document (JSON, token, manifest,
    /// error) must arrive whole within it, redirects included: a deadline for
    /// each try of the request. A blob transfer may take as long as it needs,
    /// but fails with TIMEOUT when no byte moves within it (a stall timeout).
    /// Connecting and sending a request are bounded by it too, and so is
    /// reading an error answer's body. Longer than a day counts as a day.
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout.min(MAX_TIMEOUT);
        self
    }

    /// How many blobs one whole-image call
    /// ([`image_pull`](Client::image_pull), [`image_push`](Client::image_push),
    /// [`image_copy`](Client::image_copy)) moves at once, each on its own
    /// pooled connection (default 4; 1 moves them one after another;
    /// 0 is INVALID_ARGUMENT at [`build`](Self::build)).
    pub fn parallel(mut self, blobs: u32) -> ClientBuilder {
        self.parallel = blobs;
        self
    }

    /// Read a 401 on a read (GET, HEAD) as NOT_FOUND when a token was just
    /// granted for the request's scope: Docker Hub answers so for a
    /// repository that does not exist (or that the credentials may not
    /// see). On by default for `docker.io`, off for other registries.
    pub fn unauthorized_is_not_found(mut self, on: bool) -> ClientBuilder {
        self.unauthorized_is_not_found = Some(on);
        self
    }

    /// The `User-Agent` header (default `registry/<version>`).
    pub fn user_agent(mut self, user_agent: &str) -> ClientBuilder {
        self.user_agent = user_agent.to_string();
        self
    }

    /// Which API to speak (default: detect).
    pub fn api(mut self, api: Api) -> ClientBuilder {
        self.api = api;
        self
    }

    /// Builds the client. Fails on a malformed address, an unreadable or empty
    /// CA file, or a zero timeout.
    ///
    /// It sends no request: the first operation finds the scheme and the API.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a malformed address, a setting out of its
    ///   bounds (a zero timeout, `parallel` 0, a user agent of several lines),
    ///   a CA file or PEM with no usable certificate, or a malformed docker
    ///   `config.json`;
    /// - [`ErrorKind::Io`](crate::ErrorKind::Io) when the CA file, the certs directory or docker's
    ///   `config.json` cannot be read.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let client = registry::Client::builder("localhost:5000")
    ///     .timeout(Duration::from_secs(60))
    ///     .build()?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn build(self) -> Result<Client> {
        let address = Address::parse(&self.address)?;
        self.check_settings()?;
        let credentials = self.credentials_for(&address)?;
        let (ca_pem, client_cert) = self.trust_for(&address)?;
        let proxy = self.proxy_for(&address);
        let transport = Transport::new(&TransportConfig {
            timeout: self.timeout,
            user_agent: self.user_agent.clone(),
            ca_pem,
            client_cert,
            proxy,
            max_retries: self.max_retries,
            connections: self.parallel as usize,
            rate_limit: self.rate_limit,
        })
        .map_err(|e| match &self.ca_file {
            Some(p) if e.message().starts_with("the CA") => {
                e.map_message(|m| format!("{m} ({})", p.display()))
            }
            _ => e,
        })?;
        let v1 = v1::Session::default();
        if address.hub {
            v1.set_standalone(false);
        }
        let not_found = self.unauthorized_is_not_found.unwrap_or(address.hub);
        let mirrors = self
            .mirrors
            .iter()
            .map(|url| Ok(Mirror::new(self.for_mirror(url)?.build()?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(Client {
            inner: Arc::new(Inner {
                auth: Auth::new(credentials, not_found),
                base: Mutex::new(address.scheme.map(|s| {
                    let host = api_host(&address, self.api);
                    format!("{s}://{host}")
                })),
                probe_plain: self.insecure || is_loopback_host(&address.host),
                address,
                transport,
                api: self.api,
                detected: Mutex::new(None),
                v1,
                parallel: self.parallel as usize,
                mirrors,
                upload_state_dir: self.upload_state_dir.clone(),
            }),
            only: None,
        })
    }

    /// The builder of the mirror at `url`: this one's trust, proxy, timeout
    /// and user agent; none of its credentials (the environment's and
    /// config.json's are looked up by the mirror's own host); no retries; v2.
    fn for_mirror(&self, url: &str) -> Result<ClientBuilder> {
        Ok(ClientBuilder {
            address: crate::address::validate_mirror(url)?,
            credentials: Credentials::Anonymous,
            insecure: false,
            api: Api::V2,
            max_retries: 0,
            unauthorized_is_not_found: None,
            mirrors: vec![],
            // The key names the registry's entry; the mirror looks up its own.
            auth_key: None,
            // The limit is the registry's; a mirror is another server.
            rate_limit: 0,
            ..self.clone()
        })
    }

    /// The timeout, parallelism and user agent are within their bounds.
    fn check_settings(&self) -> Result<()> {
        if self.timeout.is_zero() {
            return Err(Error::invalid("the timeout must be greater than zero"));
        }
        if !(1..=MAX_PARALLEL).contains(&self.parallel) {
            return Err(Error::invalid(format!(
                "parallel must be between 1 and {MAX_PARALLEL}, not {}",
                self.parallel
            )));
        }
        if self.user_agent.is_empty() || self.user_agent.contains(['\r', '\n']) {
            return Err(Error::invalid("the user agent must be one non-empty line"));
        }
        if self.auth_key.as_ref().is_some_and(|k| k.trim().is_empty()) {
            return Err(Error::invalid("the config.json key must not be empty"));
        }
        Ok(())
    }

    /// The credentials: those given, else the environment's (see
    /// [`env_credentials`](Self::env_credentials)), else docker's
    /// `config.json` entry (or helper) for the address (or the
    /// [`auth_key`](Self::auth_key)), unless the lookup is off.
    fn credentials_for(&self, address: &Address) -> Result<Credentials> {
        if !matches!(self.credentials, Credentials::Anonymous) {
            return Ok(self.credentials.clone());
        }
        if let Some((prefix, vars)) = &self.env_credentials {
            let entries = auth::env::parse(prefix, vars)?;
            let targets: &[&str] = if address.hub {
                &["index.docker.io", "docker.io", "registry-1.docker.io"]
            } else {
                &[&address.host]
            };
            if let Some(c) = auth::env::credentials_for(&entries, targets, "") {
                return Ok(c);
            }
        }
        let config_path = match &self.docker_config {
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p.clone()),
            None => auth::config::default_path(),
        };
        match (config_path, &self.auth_key) {
            (Some(p), Some(key)) => auth::config::credentials_for(&p, key, false, self.timeout),
            (Some(p), None) => {
                auth::config::credentials_for(&p, &address.host, address.hub, self.timeout)
            }
            (None, _) => Ok(Credentials::Anonymous),
        }
    }

    /// What the client trusts and presents: the CA file or PEM, and the
    /// certs.d directory's CAs (added to them) and client certificate.
    fn trust_for(&self, address: &Address) -> Result<(Option<Vec<u8>>, ClientCert)> {
        let ca_pem = match (&self.ca_file, &self.ca_pem) {
            (Some(path), _) => Some(std::fs::read(path).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot read CA file {}: {e}", path.display()),
                )
            })?),
            (None, pem) => pem.clone(),
        };
        let certs = match &self.certs_dir {
            Some(dir) if dir.as_os_str().is_empty() => Default::default(),
            Some(dir) => crate::certs::load(dir, &address.host)?,
            None => crate::certs::load(&self.default_certs_dir, &address.host)?,
        };
        let ca_pem = match (ca_pem, certs.ca_pem) {
            (Some(mut a), Some(b)) => {
                a.push(b'\n');
                a.extend(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        Ok((ca_pem, certs.client))
    }

    /// The proxy: the one given ("" for none), else docker's environment
    /// variables for the address's scheme.
    fn proxy_for(&self, address: &Address) -> Option<String> {
        match &self.proxy {
            Some(p) if p.is_empty() => None,
            Some(p) => Some(p.clone()),
            None => {
                let scheme = address.scheme.unwrap_or("https");
                crate::proxy::from_env(scheme, &address.host, |k| std::env::var(k).ok())
            }
        }
    }
}

/// A client certificate chain and its key (PEM), for mutual TLS.
type ClientCert = Option<(Vec<u8>, Vec<u8>)>;

impl Client {
    /// A builder for the registry at `address`.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = registry::Client::builder("localhost:5000")
    ///     .basic_auth("alice", "secret")
    ///     .build()?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn builder(address: &str) -> ClientBuilder {
        ClientBuilder::new(address)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn user_of(b: &ClientBuilder, address: &str) -> Option<String> {
        match b
            .credentials_for(&Address::parse(address).unwrap())
            .unwrap()
        {
            Credentials::Basic { username, .. } => Some(username),
            Credentials::Anonymous => None,
            other => panic!("expected basic, got {other:?}"),
        }
    }

    fn config_file(name: &str, json: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!(
            "registry-builder-{name}-{}.json",
            std::process::id()
        ));
        std::fs::write(&p, json).unwrap();
        p
    }

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn given_credentials_beat_the_environment_which_beats_config_json() {
        let config = config_file(
            "precedence",
            r#"{"auths": {"127.0.0.1:5000": {"username": "from-config", "password": "c"},
                          "127.0.0.1:5001": {"username": "config-only", "password": "c"}}}"#,
        );
        let env = vars(&[
            ("T_HOSTNAME_0", "127.0.0.*:5000"),
            ("T_USERNAME_0", "from-env"),
            ("T_PASSWORD_0", "e"),
        ]);
        let b = || {
            Client::builder("x")
                .docker_config(Some(&config))
                .env_credentials_from(Some("T"), env.clone())
        };
        assert_eq!(user_of(&b(), "127.0.0.1:5000"), Some("from-env".into()));
        // The glob names port 5000 only: another port falls through to config.json.
        assert_eq!(user_of(&b(), "127.0.0.1:5001"), Some("config-only".into()));
        assert_eq!(
            user_of(&b().basic_auth("given", "g"), "127.0.0.1:5000"),
            Some("given".into())
        );
        // Without env_credentials the environment is not read.
        let plain = Client::builder("x").docker_config(Some(&config));
        assert_eq!(
            user_of(&plain, "127.0.0.1:5000"),
            Some("from-config".into())
        );
        // A malformed HOSTNAME fails the build, naming the variable only.
        let e = Client::builder("127.0.0.1:5000")
            .docker_config(Some(Path::new("")))
            .env_credentials_from(
                Some("T"),
                vars(&[("T_HOSTNAME", "a@b"), ("T_PASSWORD", "pw-secret")]),
            )
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains("T_HOSTNAME") && !e.message().contains("pw-secret"));
        std::fs::remove_file(&config).unwrap();
    }

    #[test]
    fn docker_hub_matches_its_imgpkg_name_and_aliases() {
        for host in ["index.docker.io", "docker.io", "*.docker.io"] {
            let b = Client::builder("x")
                .docker_config(Some(Path::new("")))
                .env_credentials_from(
                    None,
                    vars(&[
                        ("REGISTRY_HOSTNAME", host),
                        ("REGISTRY_USERNAME", "hub"),
                        ("REGISTRY_PASSWORD", "h"),
                    ]),
                );
            assert_eq!(user_of(&b, "docker.io"), Some("hub".into()), "{host}");
            assert_eq!(user_of(&b, "quay.io"), None, "{host}");
        }
    }

    #[test]
    fn auth_key_picks_the_config_entry_under_that_key() {
        let config = config_file(
            "auth-key",
            r#"{"auths": {"127.0.0.1:5000": {"username": "by-host", "password": "c"},
                          "https://index.docker.io/v1/": {"username": "hub", "password": "c"},
                          "https://build.example/v1/": {"username": "binder", "password": "c"}}}"#,
        );
        let b = |key: &str| {
            Client::builder("x")
                .docker_config(Some(&config))
                .auth_key(key)
        };
        assert_eq!(
            user_of(&b("https://build.example/v1/"), "127.0.0.1:5000"),
            Some("binder".into())
        );
        assert_eq!(
            user_of(&b("docker.io"), "127.0.0.1:5000"),
            Some("hub".into())
        );
        assert_eq!(user_of(&b("nothing.example"), "127.0.0.1:5000"), None);
        let e = b(" ").build().unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        std::fs::remove_file(&config).unwrap();
    }

    #[test]
    fn env_credentials_keep_only_their_prefix_and_debug_hides_them() {
        let b = Client::builder("x").env_credentials_from(
            Some("MINE"),
            vars(&[
                ("MINE_PASSWORD", "m1ne-secret"),
                ("OTHER_PASSWORD", "other"),
            ]),
        );
        let (_, kept) = b.env_credentials.as_ref().unwrap();
        assert_eq!(kept.len(), 1);
        let text = format!("{b:?}");
        assert!(text.contains("MINE_PASSWORD"), "{text}");
        assert!(!text.contains("m1ne-secret"), "{text}");
    }

    #[test]
    fn builder_debug_hides_secrets() {
        let b = Client::builder("localhost")
            .basic_auth("alice", "pa55word")
            .proxy("http://bob:pr0xy-secret@proxy.example:3128");
        let text = format!("{b:?}");
        assert!(text.contains("proxy.example:3128"), "{text}");
        assert!(!text.contains("pr0xy-secret"), "{text}");
        assert!(!text.contains("pa55word"), "{text}");
    }

    #[test]
    fn dockers_certs_dir_is_read_by_default_unless_another_is_named_or_it_is_off() {
        // docker's directory, played by a temporary one, holding a CA file
        // for 127.0.0.1:5000 that is not PEM: a build that reads it fails.
        let root =
            std::env::temp_dir().join(format!("registry-default-certs-d-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("127.0.0.1:5000")).unwrap();
        std::fs::write(root.join("127.0.0.1:5000/ca.crt"), b"not pem").unwrap();
        let other = root.join("other");
        std::fs::create_dir_all(&other).unwrap();
        let docker = |address: &str| ClientBuilder {
            default_certs_dir: root.clone(),
            ..Client::builder(address)
        };
        for b in [
            docker("127.0.0.1:5000"),
            docker("127.0.0.1:5000").certs_dir(None),
        ] {
            let e = b.build().expect_err("the default certs.d is read");
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        }
        // Another directory replaces it; an empty path turns it off; other
        // hosts find nothing there.
        docker("127.0.0.1:5000")
            .certs_dir(Some(&other))
            .build()
            .expect("another certs.d replaces the default");
        docker("127.0.0.1:5000")
            .certs_dir(Some(Path::new("")))
            .build()
            .expect("an empty path turns certs.d off");
        docker("127.0.0.1:5001")
            .build()
            .expect("nothing for this host");
        assert_eq!(
            Client::builder("x").default_certs_dir,
            Path::new("/etc/docker/certs.d")
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn builder_rejects_bad_settings() {
        let e = Client::builder("localhost")
            .timeout(Duration::ZERO)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = Client::builder("localhost")
            .ca_file("/nonexistent/ca.pem")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Io);
        assert!(e.message().contains("/nonexistent/ca.pem"));
        let e = Client::builder("localhost")
            .ca_pem(b"not pem")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        let e = Client::builder("localhost")
            .user_agent("a\nb")
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }
}
