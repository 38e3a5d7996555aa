//! `Client` and `ClientBuilder`: the public façade. One method per
//! operation; each validates its arguments, dispatches on the API the
//! registry speaks (v1 or v2, whose modules hold the protocol), and redacts
//! secrets from the errors it returns.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::auth::{self, Auth, Credentials, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::layer::{copy_to_file, LayerReader};
use crate::reference::{
    validate_domain, validate_layer, validate_repository, validate_tag, Digest, ManifestRef,
    Platform,
};
use crate::remote::Remote;
use crate::sync::lock;
use crate::transport::{Payload, Request, Transport, TransportConfig};
pub use crate::types::{Access, ApiVersion};
use crate::types::{Manifest, ManifestInfo, PingInfo, SearchResults};
use crate::url::is_loopback_host;
use crate::{v1, v2};

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
/// Where Docker Hub's v2 API lives.
const HUB_V2_HOST: &str = "registry-1.docker.io";
/// Where Docker Hub's v1 index lives.
const HUB_V1_HOST: &str = "index.docker.io";

/// Which API a client speaks, or should detect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Api {
    /// Detect: v2 first, v1 only when the registry does not speak v2.
    #[default]
    Auto,
    /// The legacy Docker Registry v1 API.
    V1,
    /// Docker Registry v2 / OCI distribution.
    V2,
}

/// A parsed registry address.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    /// `host[:port]` the API is reached at.
    host: String,
    /// `Some` when the user typed a scheme.
    scheme: Option<&'static str>,
    /// Docker Hub: one-word repositories get `library/`.
    hub: bool,
}

impl Address {
    pub(crate) fn parse(input: &str) -> Result<Address> {
        let bad = |why: &str| Error::invalid(format!("invalid registry address {input:?}: {why}"));
        let s = input.trim();
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((sch, rest)) if sch.eq_ignore_ascii_case("https") => (Some("https"), rest),
            Some((sch, rest)) if sch.eq_ignore_ascii_case("http") => (Some("http"), rest),
            Some(_) => return Err(bad("only http:// and https:// addresses are supported")),
            None => (None, s),
        };
        let rest = rest.trim_end_matches('/');
        let host = rest.strip_suffix("/v2").unwrap_or(rest);
        if host.contains(['/', '?', '#', '@']) {
            return Err(bad("expected host[:port], without a path or user"));
        }
        validate_domain(host).map_err(|why| bad(&why))?;
        let lower = host.to_ascii_lowercase();
        let hub = matches!(
            lower.as_str(),
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        );
        Ok(Address {
            host: if hub { HUB_V2_HOST.to_string() } else { lower },
            scheme,
            hub,
        })
    }
}

/// Configures and builds a [`Client`].
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
        }
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

    /// Use these credentials.
    pub fn credentials(mut self, credentials: Credentials) -> ClientBuilder {
        self.credentials = credentials;
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

    /// How many blobs one whole-image call ([`pull`](Client::pull),
    /// [`push`](Client::push), [`copy`](Client::copy)) moves at once, each on
    /// its own pooled connection (default 4; 1 moves them one after another;
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
    pub fn build(self) -> Result<Client> {
        let address = Address::parse(&self.address)?;
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
        let ca_pem = match (&self.ca_file, self.ca_pem) {
            (Some(path), _) => Some(std::fs::read(path).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot read CA file {}: {e}", path.display()),
                )
            })?),
            (None, pem) => pem,
        };
        let config_path = match &self.docker_config {
            Some(p) if p.as_os_str().is_empty() => None,
            Some(p) => Some(p.clone()),
            None => auth::config::default_path(),
        };
        let credentials = match (&self.credentials, config_path) {
            (Credentials::Anonymous, Some(p)) => {
                auth::config::credentials_for(&p, &address.host, address.hub, self.timeout)?
            }
            _ => self.credentials,
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
        let proxy = match self.proxy {
            Some(p) if p.is_empty() => None,
            Some(p) => Some(p),
            None => {
                let scheme = address.scheme.unwrap_or("https");
                crate::proxy::from_env(scheme, &address.host, |k| std::env::var(k).ok())
            }
        };
        let transport = Transport::new(&TransportConfig {
            timeout: self.timeout,
            user_agent: self.user_agent,
            ca_pem,
            client_cert: certs.client,
            proxy,
            max_retries: self.max_retries,
            connections: self.parallel as usize,
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
            }),
        })
    }
}

/// A client for one registry. Cheap to clone; clones share the connection pool
/// and the token cache; `Send + Sync`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    address: Address,
    transport: Transport,
    auth: Auth,
    /// `scheme://host[:port]`, once known.
    base: Mutex<Option<String>>,
    /// A bare address may fall back to plain HTTP.
    probe_plain: bool,
    api: Api,
    /// What `Api::Auto` found.
    detected: Mutex<Option<ApiVersion>>,
    /// Index tokens, endpoints and cookies (v1).
    v1: v1::Session,
    /// Blobs moved at once by whole-image calls.
    parallel: usize,
}

/// The host an API is reached at: Docker Hub keeps v1 on its index.
fn api_host(address: &Address, api: Api) -> &str {
    if address.hub && api == Api::V1 {
        HUB_V1_HOST
    } else {
        &address.host
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.inner.address.host)
            .finish_non_exhaustive()
    }
}

/// What a v1 or a v2 registry says of a layer's size, when nothing else does.
type Size = Option<u64>;

impl Client {
    /// A builder for the registry at `address`.
    pub fn builder(address: &str) -> ClientBuilder {
        ClientBuilder::new(address)
    }

    /// The `host[:port]` requests go to.
    pub fn registry_host(&self) -> &str {
        &self.inner.address.host
    }

    /// The API mode the client was built with.
    pub fn api_mode(&self) -> Api {
        self.inner.api
    }

    /// How many blobs a whole-image call moves at once.
    pub(crate) fn parallel(&self) -> usize {
        self.inner.parallel
    }

    /// Runs `f`, removing every known password, token and cookie from the
    /// message of the error it returns.
    fn run<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
        f().map_err(|e| {
            let (auth, v1) = (&self.inner.auth, &self.inner.v1);
            e.map_message(|m| v1.redact(&auth.redact(&m)))
        })
    }

    /// The registry seen through the request pipeline, at its base URL.
    fn remote(&self) -> Result<Remote<'_>> {
        Ok(Remote {
            transport: &self.inner.transport,
            auth: &self.inner.auth,
            base: self.base()?,
        })
    }

    /// The API this client speaks: the one it was built for, or, on auto,
    /// the one detected on first use: v2 unless `GET /v2/` answers 404 and
    /// `GET /v1/_ping` answers 2xx (after the scheme was chosen, HTTPS
    /// before HTTP).
    pub fn api(&self) -> Result<ApiVersion> {
        self.run(|| self.detect())
    }

    fn detect(&self) -> Result<ApiVersion> {
        match self.inner.api {
            Api::V1 => return Ok(ApiVersion::V1),
            Api::V2 => return Ok(ApiVersion::V2),
            Api::Auto => {}
        }
        if let Some(found) = *lock(&self.inner.detected) {
            return Ok(found);
        }
        let remote = self.remote()?;
        let req = Request::new("GET", remote.url("/v2/"));
        let v2 = remote.transport.send(&req, None, &mut Payload::Empty)?;
        let found = if v2.status().as_u16() == 404 && v1::ping(&remote, &self.inner.v1).is_ok() {
            ApiVersion::V1
        } else {
            ApiVersion::V2
        };
        *lock(&self.inner.detected) = Some(found);
        Ok(found)
    }

    /// Runs `v2` or `v1` with the registry, whichever API the client speaks.
    fn dispatch<T>(
        &self,
        v2: impl FnOnce(&Remote<'_>) -> Result<T>,
        v1: impl FnOnce(&Remote<'_>, &v1::Session) -> Result<T>,
    ) -> Result<T> {
        self.run(|| {
            let (api, remote) = self.connect()?;
            match api {
                ApiVersion::V2 => v2(&remote),
                ApiVersion::V1 => v1(&remote, &self.inner.v1),
            }
        })
    }

    /// The API the registry speaks, and the registry through the pipeline.
    fn connect(&self) -> Result<(ApiVersion, Remote<'_>)> {
        Ok((self.detect()?, self.remote()?))
    }

    /// Runs a v2-only operation; UNSUPPORTED on a v1 registry.
    pub(crate) fn v2_only<T>(
        &self,
        what: &str,
        f: impl FnOnce(&Remote<'_>) -> Result<T>,
    ) -> Result<T> {
        let host = self.registry_host();
        self.dispatch(f, |_, _| {
            Err(Error::new(
                ErrorKind::Unsupported,
                format!("{what} is part of the v2 API; {host} speaks v1"),
            ))
        })
    }

    /// Runs a v1-only operation; UNSUPPORTED on a v2 registry.
    fn v1_only<T>(
        &self,
        what: &str,
        f: impl FnOnce(&Remote<'_>, &v1::Session) -> Result<T>,
    ) -> Result<T> {
        let host = self.registry_host();
        self.dispatch(
            |_| {
                Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("{what} is part of the v1 API; {host} speaks v2"),
                ))
            },
            f,
        )
    }

    /// Validates a repository name, adding `library/` to one-word Docker Hub names.
    pub(crate) fn repo(&self, repo: &str) -> Result<String> {
        let repo = if self.inner.address.hub && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo.to_string()
        };
        validate_repository(&repo)?;
        Ok(repo)
    }

    /// `scheme://host[:port]`, probing HTTPS then HTTP for bare loopback (or
    /// insecure) addresses the first time. Plain HTTP is tried only when the
    /// server answered the TLS handshake in plain HTTP; any other failure
    /// (a reset, a certificate problem, a timeout) is returned as it is.
    fn base(&self) -> Result<String> {
        if let Some(b) = lock(&self.inner.base).clone() {
            return Ok(b);
        }
        let host = api_host(&self.inner.address, self.inner.api);
        let probe = match self.inner.api {
            Api::V1 => "/v1/_ping",
            Api::Auto | Api::V2 => "/v2/",
        };
        let https = format!("https://{host}");
        let chosen = if !self.inner.probe_plain {
            https
        } else {
            let t = &self.inner.transport;
            let get = |url: String| t.send(&Request::new("GET", url), None, &mut Payload::Empty);
            match get(format!("{https}{probe}")) {
                Ok(_) => https,
                Err(e) if !e.is_plain_http_answer() => return Err(e),
                Err(tls_err) => {
                    let http = format!("http://{host}");
                    match get(format!("{http}{probe}")) {
                        // A TLS server answers a plain request with 400: keep the TLS error.
                        Ok(r) if r.status().as_u16() != 400 => http,
                        _ => return Err(tls_err),
                    }
                }
            }
        };
        *lock(&self.inner.base) = Some(chosen.clone());
        Ok(chosen)
    }

    /// Checks that the registry answers and accepts the credentials:
    /// `GET /v2/`, or `GET /v1/_ping` on v1. Returns the API.
    pub fn ping(&self) -> Result<ApiVersion> {
        self.ping_info().map(|p| p.api)
    }

    /// Like [`ping`](Self::ping), with the detail the registry sent.
    pub fn ping_info(&self) -> Result<PingInfo> {
        self.dispatch(v2::ping, v1::ping)
    }

    /// Every repository in `/v2/_catalog`, following `Link` pagination
    /// (bounded: TOO_LARGE past 16 MiB or 250,000 names over all pages).
    pub fn catalog(&self) -> Result<Vec<String>> {
        let mut all = Vec::new();
        self.v2_only("the catalog", |r| {
            v2::each_catalog_page(r, |page| {
                all.extend(page);
                true
            })
        })?;
        Ok(all)
    }

    /// Repositories whose name contains `term` (case-insensitive), at most
    /// `limit` of them (0 = no limit), in the shape of Docker Hub's search.
    /// On a v1 registry, its own search (`GET /v1/search`), all pages up to
    /// `limit`.
    pub fn search(&self, term: &str, limit: usize) -> Result<SearchResults> {
        self.dispatch(
            |r| v2::search(r, term, limit),
            |r, s| v1::search(r, s, term, limit),
        )
    }

    /// The tags of `repo`, all pages, sorted, without duplicates. A repository
    /// with no tags left (`"tags": null`) has an empty list.
    pub fn tags(&self, repo: &str) -> Result<Vec<String>> {
        let repo = self.repo(repo)?;
        self.dispatch(
            |r| v2::tags(r, &repo),
            |r, s| Ok(v1::tags(r, s, &repo)?.into_keys().collect()),
        )
    }

    /// `GET /v1/repositories/<repo>/tags`: every tag with the image id it
    /// names (v1 only).
    pub fn v1_tags(&self, repo: &str) -> Result<BTreeMap<String, String>> {
        let repo = self.repo(repo)?;
        self.v1_only("the tag map", |r, s| v1::tags(r, s, &repo))
    }

    /// The image id of `tag` (or digest): the config digest of its manifest,
    /// what `docker images --no-trunc` shows. For an index, the linux/amd64
    /// entry. On a v1 registry, the image id the tag names.
    pub fn image_id(&self, repo: &str, tag: &str) -> Result<String> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(tag)?;
        self.dispatch(
            |r| {
                v2::image_config_digest(r, &repo, &reference, &Platform::default())
                    .map(|d| d.to_string())
            },
            |r, s| v1::image_id(r, s, &repo, tag),
        )
    }

    /// Like [`image_id`](Self::image_id), picking `platform` from an index (v2 only).
    pub fn image_id_for(&self, repo: &str, reference: &str, platform: &Platform) -> Result<String> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("image_id_for", |r| {
            v2::image_config_digest(r, &repo, &reference, platform).map(|d| d.to_string())
        })
    }

    /// Whether the layer exists: `HEAD /v2/<repo>/blobs/<digest>` (v2), or
    /// whether the image's JSON can be read, `GET /v1/images/<id>/json` (v1).
    pub fn blob_exists(&self, repo: &str, layer: &str) -> Result<bool> {
        let repo = self.repo(repo)?;
        validate_layer(layer)?;
        self.dispatch(
            |r| v2::blob_exists(r, &repo, &Digest::parse(layer)?),
            |r, s| v1::layer_exists(r, s, &repo, layer),
        )
    }

    /// Opens a layer for streaming: a v2 blob by digest, checked against it,
    /// or a v1 image's layer by image id, checked against the image's
    /// checksum. Redirects to other hosts are followed without credentials.
    /// A body longer than the announced size fails with TOO_LARGE.
    pub fn layer(&self, repo: &str, layer: &str) -> Result<LayerReader> {
        self.layer_sized(repo, layer, None)
    }

    /// [`layer`](Self::layer) for a layer whose size a descriptor gives.
    pub(crate) fn layer_sized(&self, repo: &str, layer: &str, size: Size) -> Result<LayerReader> {
        let repo = self.repo(repo)?;
        validate_layer(layer)?;
        self.dispatch(
            |r| v2::open_blob(r, &repo, &Digest::parse(layer)?, size),
            |r, s| v1::open_layer(r, s, &repo, layer),
        )
    }

    /// Downloads a layer (see [`layer`](Self::layer)) to `path`: the bytes go
    /// to a temporary file beside it, which is renamed to `path` only after the
    /// digest checked out. On any failure nothing is left at `path` (an
    /// existing file there is kept as it was). Returns the number of bytes
    /// written.
    pub fn layer_to_file(&self, repo: &str, layer: &str, path: impl AsRef<Path>) -> Result<u64> {
        copy_to_file(&mut self.layer(repo, layer)?, path.as_ref())
    }

    /// Uploads a layer (blob) from `reader` into `repo` and returns its digest.
    /// On a v1 registry `expected` is the id of the image whose JSON was put
    /// first, and the digest returned is the image checksum (the layer is
    /// PUT, then the checksum, which completes the image).
    ///
    /// v2: the bytes stream through one PATCH, hashed on the way, and a
    /// bodiless `PUT ?digest=` commits them (as skopeo uploads: some
    /// registries refuse a body on the request that opens or closes an
    /// upload). With `expected`, a blob already in the repository is not
    /// sent again (the reader is not read at all), and bytes that hash to
    /// anything else fail with DIGEST_MISMATCH with nothing committed.
    /// Nothing is held in memory. An error from the reader aborts the upload
    /// and is returned as is (an `io::Error` wrapping [`Error`] keeps its
    /// kind, e.g. ABORTED).
    pub fn put_layer(
        &self,
        repo: &str,
        reader: &mut dyn Read,
        expected: Option<&str>,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        expected.map(validate_layer).transpose()?;
        self.run(|| match self.connect()? {
            (ApiVersion::V2, r) => {
                let expected = expected.map(Digest::parse).transpose()?;
                v2::put_blob(&r, &repo, reader, expected.as_ref())
            }
            (ApiVersion::V1, r) => v1::put_layer(&r, &self.inner.v1, &repo, reader, expected),
        })
    }

    /// Uploads a layer from a file; see [`put_layer`](Self::put_layer).
    pub fn put_layer_file(
        &self,
        repo: &str,
        path: impl AsRef<Path>,
        expected: Option<&str>,
    ) -> Result<Digest> {
        let path = path.as_ref();
        let mut file = std::fs::File::open(path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("cannot open {}: {e}", path.display()),
            )
        })?;
        self.put_layer(repo, &mut file, expected)
    }

    /// Mounts `digest` from repository `from` into `repo` without copying
    /// bytes (v2 only). True when the registry mounted it; false when it
    /// could not (the blob is unknown in `from`, or mounts are off), in which
    /// case nothing changed and the caller uploads the blob instead.
    pub fn mount_blob(&self, repo: &str, digest: &str, from: &str) -> Result<bool> {
        let repo = self.repo(repo)?;
        let from = self.repo(from)?;
        let digest = Digest::parse(digest)?;
        self.v2_only("mounting a blob", |r| {
            v2::mount_blob(r, &repo, &digest, &from)
        })
    }

    /// Fetches a manifest by tag or digest (v2 only). By digest, the body must
    /// hash to it; by tag, to the `Docker-Content-Digest` the registry
    /// announced (when it uses the same algorithm).
    pub fn manifest(&self, repo: &str, reference: &str) -> Result<Manifest> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| v2::get_manifest(r, &repo, &reference))
    }

    /// The manifest of `platform`'s image that `reference` names (v2 only):
    /// through an index, and indexes nested in it up to four deep, to its
    /// entry for the platform (see [`Platform::best_of`]: `linux/arm64`
    /// matches `arm64/v8`; `linux/arm` takes `arm/v7`, else the closest
    /// lower variant); the manifest itself when it is not an index.
    /// NOT_FOUND when an index has no entry for the platform. Each manifest
    /// is checked like [`manifest`](Self::manifest)'s.
    pub fn manifest_for(
        &self,
        repo: &str,
        reference: &str,
        platform: &Platform,
    ) -> Result<Manifest> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| {
            v2::get_platform_manifest(r, &repo, &reference, platform)
        })
    }

    /// HEADs a manifest: its media type, digest and size without the body (v2
    /// only). A registry that announces no `Docker-Content-Digest` gets a GET
    /// instead, and the digest is that of the manifest's bytes.
    pub fn manifest_head(&self, repo: &str, reference: &str) -> Result<ManifestInfo> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| v2::head_manifest(r, &repo, &reference))
    }

    /// Stores a manifest under `reference` (a tag, or the body's own digest)
    /// with `media_type` as its `Content-Type` (v2 only). Returns the digest
    /// of `body`, checked against the one the registry reports. All blobs it
    /// names must already be in `repo`.
    pub fn put_manifest(
        &self,
        repo: &str,
        reference: &str,
        media_type: &str,
        body: &[u8],
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        let reference = ManifestRef::parse(reference)?;
        self.v2_only("a manifest", |r| {
            v2::put_manifest(r, &repo, &reference, media_type, body)
        })
    }

    /// Deletes the manifest with this digest (and so, on distribution, every
    /// tag that points at it; v2 only). A manifest already gone is NOT_FOUND.
    pub fn delete_manifest(&self, repo: &str, digest: &str) -> Result<()> {
        let repo = self.repo(repo)?;
        let digest = Digest::parse(digest)?;
        self.v2_only("deleting a manifest", |r| {
            v2::delete_manifest(r, &repo, &digest)
        })
    }

    /// Points `tag` at the manifest `image` (a tag or digest) names: its bytes
    /// are stored again, unchanged, under `tag`, with their own media type. No
    /// blob is copied. Returns the manifest digest. On a v1 registry `image`
    /// is an image id, and it is returned.
    pub fn set_tag(&self, repo: &str, image: &str, tag: &str) -> Result<String> {
        let repo = self.repo(repo)?;
        validate_tag(tag)?;
        self.dispatch(
            |r| Ok(v2::set_tag(r, &repo, &ManifestRef::parse(image)?, tag)?.to_string()),
            |r, s| v1::set_tag(r, s, &repo, image, tag),
        )
    }

    /// Removes `tag` and nothing else: other tags on the same image survive.
    ///
    /// Uses `DELETE …/manifests/<tag>` where the registry allows it (OCI).
    /// Registries that refuse (distribution 2.8 answers 400 `DIGEST_INVALID`,
    /// others 405) get the tag pointed at a small throw-away manifest made for
    /// this call, which is then deleted by digest. That leaves one tiny empty
    /// config blob (`{}`) in the repository for garbage collection. A
    /// registry that deletes nothing (405 also for a DELETE by digest) is
    /// UNSUPPORTED, with the tag untouched. A missing tag is NOT_FOUND. On a
    /// v1 registry, `DELETE …/tags/<tag>`.
    pub fn delete_tag(&self, repo: &str, tag: &str) -> Result<()> {
        let repo = self.repo(repo)?;
        validate_tag(tag)?;
        self.dispatch(
            |r| v2::delete_tag(r, &repo, tag),
            |r, s| v1::delete_tag(r, s, &repo, tag),
        )
    }

    /// The bearer token the registry's token server grants these credentials
    /// for `access` to `repo`, as used on the wire (from the cache when it
    /// holds one). UNSUPPORTED when the registry does not use token auth.
    ///
    /// On v1, a fresh index token (`X-Docker-Token`, without the `Token `
    /// prefix) from `GET …/images` (read), `PUT …/` (write) or `DELETE …/`
    /// (delete), which also becomes the session's token for that access.
    pub fn hub_token(&self, repo: &str, access: Access) -> Result<String> {
        let repo = self.repo(repo)?;
        let scope = Scope::access(&repo, access);
        let host = self.registry_host();
        self.dispatch(
            |r| {
                if let Some(tok) = r.auth.bearer_token(r.transport, &scope)? {
                    return Ok(tok);
                }
                // Learn the scheme from the registry's challenge (this fetches the token).
                let req = Request::new("GET", r.url("/v2/"));
                let resp = r.send(&req, &scope, &mut Payload::Empty)?;
                r.check(resp, "GET /v2/")?;
                r.auth.bearer_token(r.transport, &scope)?.ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unsupported,
                        format!("{host} does not use token authentication"),
                    )
                })
            },
            |r, s| v1::hub_token(r, s, &repo, access),
        )
    }

    /// `GET /v1/images/<id>/json`: the image's JSON, as the registry keeps it
    /// (v1 only). Image paths name no repository: behind an index, `repo`
    /// says whose token to present (fetched if the session has none); `None`
    /// presents the session's latest read token, whichever repository it is
    /// for, which is ambiguous when threads work on several repositories.
    pub fn v1_image_json(&self, repo: Option<&str>, image_id: &str) -> Result<Vec<u8>> {
        let repo = repo.map(|r| self.repo(r)).transpose()?;
        self.v1_only("image JSON", |r, s| {
            v1::image_json(r, s, repo.as_deref(), image_id)
        })
    }

    /// `PUT /v1/images/<id>/json`: the first step of pushing an image (v1
    /// only). `json` must be an object whose `id` is `image_id`; its
    /// `parent`, if any, must already be in the registry. Behind an index,
    /// `repo` names the repository whose write token to present (`None`: the
    /// session's latest write token, e.g. from `hub_token(repo, Access::Write)`).
    pub fn v1_image_json_put(&self, repo: Option<&str>, image_id: &str, json: &[u8]) -> Result<()> {
        let repo = repo.map(|r| self.repo(r)).transpose()?;
        self.v1_only("putting image JSON", |r, s| {
            v1::image_json_put(r, s, repo.as_deref(), image_id, json)
        })
    }

    /// `GET /v1/images/<id>/ancestry`: the image id, its parent, and so on
    /// down to the base image (v1 only; `repo` as for
    /// [`v1_image_json`](Self::v1_image_json)).
    pub fn v1_ancestry(&self, repo: Option<&str>, image_id: &str) -> Result<Vec<String>> {
        let repo = repo.map(|r| self.repo(r)).transpose()?;
        self.v1_only("ancestry", |r, s| {
            v1::ancestry(r, s, repo.as_deref(), image_id)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses() {
        let a = Address::parse("localhost:5000").unwrap();
        assert_eq!(
            (a.host.as_str(), a.scheme, a.hub),
            ("localhost:5000", None, false)
        );
        let a = Address::parse("https://Quay.io/").unwrap();
        assert_eq!((a.host.as_str(), a.scheme), ("quay.io", Some("https")));
        let a = Address::parse("docker.io").unwrap();
        assert_eq!((a.host.as_str(), a.hub), ("registry-1.docker.io", true));
        let a = Address::parse("http://127.0.0.1:5000/v2/").unwrap();
        assert_eq!(
            (a.host.as_str(), a.scheme),
            ("127.0.0.1:5000", Some("http"))
        );
        for bad in [
            "",
            "ftp://x",
            "host/path",
            "user@host",
            "ho st",
            "host:port",
            "http://",
        ] {
            let e = Address::parse(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn hub_repositories_get_library() {
        let c = Client::builder("docker.io").build().unwrap();
        assert_eq!(c.repo("alpine").unwrap(), "library/alpine");
        assert_eq!(c.repo("user/app").unwrap(), "user/app");
        let c = Client::builder("localhost:5000").build().unwrap();
        assert_eq!(c.repo("alpine").unwrap(), "alpine");
        assert_eq!(
            c.repo("Bad").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
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
    fn docker_hub_reads_401_as_not_found_by_default() {
        let hub = Client::builder("docker.io").build().unwrap();
        assert!(hub.inner.auth.unauthorized_is_not_found());
        let other = Client::builder("localhost:5000").build().unwrap();
        assert!(!other.inner.auth.unauthorized_is_not_found());
        let asked = Client::builder("localhost:5000")
            .unauthorized_is_not_found(true)
            .build()
            .unwrap();
        assert!(asked.inner.auth.unauthorized_is_not_found());
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
