//! `Client` and `ClientBuilder`: one registry, one connection pool, one token
//! cache; the request loop that adds credentials and answers challenges; and the
//! mapping of error responses onto [`ErrorKind`].

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use ureq::http::Response;
use ureq::Body;

use crate::auth::{self, challenges_of, is_loopback_host, lock, Auth, Credentials, Scope};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::{validate_domain, validate_repository};
use crate::transport::{self, Payload, Request, Transport, TransportConfig};

/// The default timeout for connecting, sending, and each read.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// How often an idempotent request is tried again by default.
pub const DEFAULT_MAX_RETRIES: u32 = 3;
/// Error bodies are read up to this size for their message.
const ERROR_BODY_CAP: u64 = 64 * 1024;
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

/// The API a registry was found to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// Docker Registry v1.
    V1,
    /// Docker Registry v2 / OCI distribution.
    V2,
}

/// The access a token grants (`Client::hub_token`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Pull (v2 scope `pull`; v1 index token `read`).
    Read,
    /// Push and pull (v2 `pull,push`; v1 `write`).
    Write,
    /// Delete (v2 `delete`; v1 `delete`).
    Delete,
}

/// A parsed registry address.
#[derive(Debug, Clone)]
struct Address {
    /// `host[:port]` the API is reached at.
    host: String,
    /// `Some` when the user typed a scheme.
    scheme: Option<&'static str>,
    /// Docker Hub: one-word repositories get `library/`.
    hub: bool,
}

impl Address {
    fn parse(input: &str) -> Result<Address> {
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
#[derive(Debug)]
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
    certs_dir: Option<Option<std::path::PathBuf>>,
    proxy: Option<String>,
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
            proxy: None,
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

    /// Read docker's `certs.d` layout from `dir` (with `None`:
    /// `/etc/docker/certs.d`): `<dir>/<host:port>/*.crt` are CA certificates
    /// and a `<name>.cert` + `<name>.key` pair is a client certificate for
    /// mutual TLS. Read by [`build`](Self::build); a missing directory holds
    /// nothing. The CAs found there are trusted instead of the built-in web
    /// PKI roots, together with a [`ca_file`](Self::ca_file) if one is set,
    /// and as there: a self-signed registry certificate copied to
    /// `<host:port>/ca.crt`, as docker's documentation says, is accepted when
    /// the registry presents exactly that certificate.
    pub fn certs_dir(mut self, dir: Option<&Path>) -> ClientBuilder {
        self.certs_dir = Some(dir.map(Path::to_path_buf));
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
    /// Certificates are verified all the same.
    pub fn insecure(mut self, allow_plain_http: bool) -> ClientBuilder {
        self.insecure = allow_plain_http;
        self
    }

    /// The timeout for connecting, sending a request, and each read (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.timeout = timeout;
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
            Some(dir) => {
                let dir = dir
                    .clone()
                    .unwrap_or_else(|| crate::certs::DEFAULT_CERTS_DIR.into());
                crate::certs::load(&dir, &address.host)?
            }
            None => Default::default(),
        };
        let ca_pem = match (ca_pem, certs.ca_pem) {
            (Some(mut a), Some(b)) => {
                a.push(b'\n');
                a.extend(b);
                Some(a)
            }
            (a, b) => a.or(b),
        };
        let loopback = is_loopback_host(&address.host);
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
        })
        .map_err(|e| match &self.ca_file {
            Some(p) if e.message().starts_with("the CA") => {
                e.map_message(|m| format!("{m} ({})", p.display()))
            }
            _ => e,
        })?;
        let plain_ok = self.insecure || address.scheme == Some("http") || loopback;
        Ok(Client {
            inner: Arc::new(Inner {
                auth: Auth::new(credentials, plain_ok),
                base: Mutex::new(address.scheme.map(|s| {
                    let host = api_host(&address, self.api);
                    format!("{s}://{host}")
                })),
                probe_plain: self.insecure || loopback,
                address,
                transport,
                api: self.api,
                detected: Mutex::new(None),
                v1: Default::default(),
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

pub(crate) struct Inner {
    address: Address,
    pub transport: Transport,
    pub auth: Auth,
    /// `scheme://host[:port]`, once known.
    base: Mutex<Option<String>>,
    /// A bare address may fall back to plain HTTP.
    probe_plain: bool,
    api: Api,
    /// What `Api::Auto` found.
    detected: Mutex<Option<ApiVersion>>,
    /// Index tokens, endpoints and cookies (v1).
    pub v1: crate::v1::Session,
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

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// Whether the address is Docker Hub's.
    pub(crate) fn is_hub(&self) -> bool {
        self.inner.address.hub
    }

    /// The API this client speaks: the one it was built for, or, on auto,
    /// the one detected on first use: v2 unless `GET /v2/` answers 404 and
    /// `GET /v1/_ping` answers 2xx (after the scheme was chosen, HTTPS
    /// before HTTP).
    pub fn api(&self) -> Result<ApiVersion> {
        match self.inner.api {
            Api::V1 => return Ok(ApiVersion::V1),
            Api::V2 => return Ok(ApiVersion::V2),
            Api::Auto => {}
        }
        if let Some(found) = *lock(&self.inner.detected) {
            return Ok(found);
        }
        let base = self.base()?;
        let v2 = self
            .inner
            .transport
            .send(&Request::new("GET", format!("{base}/v2/")), None)
            .map_err(|e| self.redact(e))?;
        let found = if v2.status().as_u16() == 404 && self.v1_ping_info().is_ok() {
            ApiVersion::V1
        } else {
            ApiVersion::V2
        };
        *lock(&self.inner.detected) = Some(found);
        Ok(found)
    }

    /// Fails with UNSUPPORTED unless the client speaks v2.
    pub(crate) fn require_v2(&self) -> Result<()> {
        match self.api()? {
            ApiVersion::V1 => Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "this call is part of the v2 API; {} speaks v1",
                    self.registry_host()
                ),
            )),
            ApiVersion::V2 => Ok(()),
        }
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
    pub(crate) fn base(&self) -> Result<String> {
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
            match t.send(&Request::new("GET", format!("{https}{probe}")), None) {
                Ok(_) => https,
                Err(e) if !e.is_plain_http_answer() => return Err(e),
                Err(tls_err) => {
                    let http = format!("http://{host}");
                    match t.send(&Request::new("GET", format!("{http}{probe}")), None) {
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

    /// Sends `req` with credentials for `scope`, answering one 401 challenge.
    /// The response may have any status; see [`Client::check`].
    pub(crate) fn execute(&self, req: &Request<'_>, scope: &Scope) -> Result<Response<Body>> {
        self.execute_with(req, scope, &mut Payload::Empty)
    }

    /// Like [`execute`](Self::execute) with a body. A stream cannot be sent
    /// twice, so it only gets the credentials known up front: callers make a
    /// bodiless request to the same scope first (as the upload POST is).
    pub(crate) fn execute_with(
        &self,
        req: &Request<'_>,
        scope: &Scope,
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        let t = &self.inner.transport;
        let a = &self.inner.auth;
        let mut run = || -> Result<Response<Body>> {
            let sent = a.upfront(t, scope)?;
            let resp = t.send_with(req, sent.as_deref(), payload)?;
            if resp.status().as_u16() != 401 || !payload.replayable() {
                return Ok(resp);
            }
            let challenges = challenges_of(&resp);
            match a.respond(t, &challenges, scope, sent.as_deref())? {
                Some(h) => t.send_with(req, Some(&h), payload),
                None => Ok(resp),
            }
        };
        run().map_err(|e| self.redact(e))
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
        if self.speaks_v1()? {
            return self.v1_hub_token(&repo, access);
        }
        let actions = match access {
            Access::Read => "pull",
            Access::Write => "pull,push",
            Access::Delete => "delete",
        };
        let scope = auth::repo_scope(&repo, actions);
        let t = &self.inner.transport;
        if let Some(tok) = self
            .inner
            .auth
            .bearer_token(t, &scope)
            .map_err(|e| self.redact(e))?
        {
            return Ok(tok);
        }
        // Learn the scheme from the registry's challenge (this fetches the token).
        let resp = self.execute(
            &Request::new("GET", format!("{}/v2/", self.base()?)),
            &scope,
        )?;
        self.check(resp, "GET /v2/")?;
        self.inner
            .auth
            .bearer_token(t, &scope)
            .map_err(|e| self.redact(e))?
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Unsupported,
                    format!("{} does not use token authentication", self.registry_host()),
                )
            })
    }

    /// Passes a 2xx response through; turns anything else into an error.
    pub(crate) fn check(&self, resp: Response<Body>, what: &str) -> Result<Response<Body>> {
        if resp.status().is_success() {
            return Ok(resp);
        }
        let e = status_error(resp, what);
        // An anonymous caller refused for lack of scope has no credentials, not wrong ones.
        let e = if e.kind() == ErrorKind::Forbidden
            && e.http_status() == Some(401)
            && self.inner.auth.is_anonymous()
        {
            e.with_kind(ErrorKind::Unauthorized)
        } else {
            e
        };
        Err(self.redact(e))
    }

    /// GET with credentials, then [`check`](Self::check).
    pub(crate) fn get(
        &self,
        req: &Request<'_>,
        scope: &Scope,
        what: &str,
    ) -> Result<Response<Body>> {
        let resp = self.execute(req, scope)?;
        self.check(resp, what)
    }

    /// Removes every known password and token from an error's message.
    pub(crate) fn redact(&self, e: Error) -> Error {
        e.map_message(|m| self.inner.v1.redact(&self.inner.auth.redact(&m)))
    }
}

pub(crate) fn pull_scope(repo: &str) -> Scope {
    auth::repo_scope(repo, "pull")
}

#[derive(Deserialize)]
struct V2Errors {
    errors: Vec<V2Error>,
}

#[derive(Deserialize)]
struct V2Error {
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct V1Error {
    error: String,
}

/// Maps a non-success response onto an [`Error`], reading the registry's
/// `{"errors":[…]}` (v2) or `{"error":"…"}` (v1) body when there is one.
pub(crate) fn status_error(resp: Response<Body>, what: &str) -> Error {
    let status = resp.status().as_u16();
    let insufficient_scope = challenges_of(&resp)
        .iter()
        .any(|c| c.param("error") == Some("insufficient_scope"));
    let body = transport::read_capped(resp, ERROR_BODY_CAP, what).unwrap_or_default();
    let (code, server_message) = if let Ok(v2) = serde_json::from_slice::<V2Errors>(&body) {
        match v2.errors.into_iter().next() {
            Some(e) => (e.code, e.message),
            None => (None, None),
        }
    } else if let Ok(v1) = serde_json::from_slice::<V1Error>(&body) {
        (None, Some(v1.error))
    } else {
        let text = String::from_utf8_lossy(&body);
        let line = text.lines().next().unwrap_or("").trim();
        let line: String = line.chars().take(200).collect();
        (None, (!line.is_empty()).then_some(line))
    };
    let kind = match (code.as_deref(), status) {
        (_, 401) | (Some("UNAUTHORIZED"), _) if insufficient_scope => ErrorKind::Forbidden,
        (Some(c), _) if c.ends_with("_UNKNOWN") => ErrorKind::NotFound,
        (Some("UNAUTHORIZED"), _) | (_, 401) => ErrorKind::Unauthorized,
        (Some("DENIED"), _) | (_, 403) => ErrorKind::Forbidden,
        (Some("UNSUPPORTED"), _) | (_, 405) => ErrorKind::Unsupported,
        (Some("TOOMANYREQUESTS"), _) | (_, 429) => ErrorKind::RateLimited,
        (_, 404) => ErrorKind::NotFound,
        (_, 500..=599) => ErrorKind::Server,
        (_, 400..=499) => ErrorKind::InvalidArgument,
        _ => ErrorKind::Protocol,
    };
    let mut message = format!("{what}: ");
    match (&server_message, kind) {
        (Some(m), _) => message.push_str(m),
        (None, ErrorKind::Forbidden) if insufficient_scope => {
            message.push_str("the credentials do not grant the needed scope")
        }
        (None, _) => message.push_str("unexpected answer"),
    }
    match &code {
        Some(c) => message.push_str(&format!(" (HTTP {status}, {c})")),
        None => message.push_str(&format!(" (HTTP {status})")),
    }
    Error::new(kind, message)
        .with_http_status(status)
        .with_code(code)
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
