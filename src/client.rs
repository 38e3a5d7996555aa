//! `Client`: one registry, and how an operation reaches it. Each operation
//! (in `ops/`, one file per resource; whole images in `image`) validates its
//! arguments and runs through [`Client::dispatch`] (or `v2_only`, `v1_only`):
//! the scheme probed once (HTTPS, then plain HTTP for a loopback registry
//! that answers in plain HTTP), the API detected once (v2, else v1), and the
//! secrets redacted from every error it returns. Reads may be served by
//! mirrors first (`Client::dispatch_read`).

#![forbid(unsafe_code)]

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::address::{api_host, Address, Api};
use crate::auth::Auth;
use crate::error::{Error, ErrorKind, Result};
use crate::reference::validate_repository;
use crate::remote::Remote;
use crate::sync::lock;
use crate::transport::{Payload, Request, Transport};
use crate::types::{ApiVersion, PingInfo};
use crate::{v1, v2};

/// A client for one registry. Cheap to clone; clones share the connection pool
/// and the token cache; `Send + Sync`.
///
/// # Errors
///
/// Every operation that reaches the registry can fail with
/// [`ErrorKind::Network`](crate::ErrorKind::Network), [`ErrorKind::Timeout`](crate::ErrorKind::Timeout) or [`ErrorKind::Tls`](crate::ErrorKind::Tls) on the way there;
/// [`ErrorKind::Unauthorized`](crate::ErrorKind::Unauthorized) or [`ErrorKind::Forbidden`](crate::ErrorKind::Forbidden) when the credentials do not allow
/// it; [`ErrorKind::RateLimited`](crate::ErrorKind::RateLimited) or [`ErrorKind::Server`](crate::ErrorKind::Server) after retries; and
/// [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) for an answer it cannot read. A malformed repository
/// name, tag or digest is [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument), before any request. The
/// `# Errors` of each method name what is particular to it.
///
/// # Examples
///
/// ```no_run
/// use registry::{Client, ErrorKind};
///
/// let client = Client::builder("localhost:5000").build()?;
/// match client.manifest_head("team/app", "v1") {
///     Ok(info) => println!("{}", info.digest),
///     Err(e) if e.kind() == ErrorKind::NotFound => println!("no such image"),
///     Err(e) => return Err(e),
/// }
/// # Ok::<(), registry::Error>(())
/// ```
#[derive(Clone)]
pub struct Client {
    pub(crate) inner: Arc<Inner>,
    /// The one repository a [`restrict`](Client::restrict)ed client serves.
    pub(crate) only: Option<Arc<str>>,
}

pub(crate) struct Inner {
    pub(crate) address: Address,
    pub(crate) transport: Transport,
    pub(crate) auth: Auth,
    /// `scheme://host[:port]`, once known.
    pub(crate) base: Mutex<Option<String>>,
    /// A bare address may fall back to plain HTTP.
    pub(crate) probe_plain: bool,
    pub(crate) api: Api,
    /// What `Api::Auto` found.
    pub(crate) detected: Mutex<Option<ApiVersion>>,
    /// Index tokens, endpoints and cookies (v1).
    pub(crate) v1: v1::Session,
    /// Blobs moved at once by whole-image calls.
    pub(crate) parallel: usize,
    /// Registries that serve this one's reads first, in order.
    pub(crate) mirrors: Vec<Mirror>,
    /// Where blob uploads record their sessions (see
    /// [`ClientBuilder::upload_state_dir`](crate::ClientBuilder::upload_state_dir)).
    pub(crate) upload_state_dir: Option<std::path::PathBuf>,
}

/// How long a mirror that could not be reached is passed over.
const MIRROR_PAUSE: Duration = Duration::from_secs(30);

/// A registry that serves another's reads in its place (docker's
/// `registry-mirrors`): the same repositories under the same names, reached
/// with its own credentials, TLS settings and no retries (the next source
/// is the retry).
pub(crate) struct Mirror {
    pub(crate) client: Client,
    /// Until when it is passed over, after it could not be reached.
    down_until: Mutex<Option<Instant>>,
}

impl Mirror {
    pub(crate) fn new(client: Client) -> Mirror {
        Mirror {
            client,
            down_until: Mutex::new(None),
        }
    }

    fn is_down(&self) -> bool {
        lock(&self.down_until).is_some_and(|t| Instant::now() < t)
    }

    /// Runs `f` with the mirror; one that cannot be reached is passed over
    /// for [`MIRROR_PAUSE`] (so that a pull does not wait for it once per blob).
    fn read<T>(&self, f: &mut impl FnMut(&Remote<'_>) -> Result<T>) -> Result<T> {
        let c = &self.client;
        let result = c.run(|| f(&c.remote()?));
        if let Err(e) = &result {
            if matches!(
                e.kind(),
                ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Tls
            ) {
                *lock(&self.down_until) = Some(Instant::now() + MIRROR_PAUSE);
            }
        }
        result
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("registry", &self.inner.address.host)
            .field("only", &self.only)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// The `host[:port]` requests go to.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// assert_eq!(client.registry_host(), "localhost:5000");
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn registry_host(&self) -> &str {
        &self.inner.address.host
    }

    /// The API setting the client was built with
    /// ([`ClientBuilder::api`](crate::ClientBuilder::api)); `Api::Auto`
    /// until [`api_version`](Self::api_version) says what was found.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// assert_eq!(client.api_setting(), registry::Api::Auto);
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn api_setting(&self) -> Api {
        self.inner.api
    }

    /// How many blobs a whole-image call moves at once.
    pub(crate) fn parallel(&self) -> usize {
        self.inner.parallel
    }

    /// Runs `f`, removing every known password, token and cookie from the
    /// message of the error it returns.
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> Result<T>) -> Result<T> {
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
            upload_state: self.inner.upload_state_dir.as_deref(),
        })
    }

    /// The API this client speaks: the one it was built for, or, on auto,
    /// the one detected on first use (which sends requests): v2 unless
    /// `GET /v2/` answers 404 and `GET /v1/_ping` answers 2xx (after the
    /// scheme was chosen, HTTPS before HTTP).
    ///
    /// # Errors
    ///
    /// None on a client built for one API; on auto, those of every call (see
    /// [`Client`](crate::Client#errors)) that the detection meets.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// if client.api_version()? == registry::ApiVersion::V1 {
    ///     println!("a v1 registry");
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn api_version(&self) -> Result<ApiVersion> {
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
    pub(crate) fn dispatch<T>(
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
    pub(crate) fn connect(&self) -> Result<(ApiVersion, Remote<'_>)> {
        Ok((self.detect()?, self.remote()?))
    }

    /// Runs a read with each mirror in turn (v2 registries all), then with
    /// the registry through [`dispatch`](Self::dispatch), and returns the
    /// first success with the host that served it. A mirror that fails in
    /// any way (unreachable, 404, 5xx, bytes that fail their digest) is
    /// skipped; what each said is kept in the registry's error, if it fails
    /// too. A cancel or a bad argument ends the read at once. A client built
    /// for v1 has no mirrors.
    pub(crate) fn dispatch_read<T>(
        &self,
        mut v2: impl FnMut(&Remote<'_>) -> Result<T>,
        v1: impl FnOnce(&Remote<'_>, &v1::Session) -> Result<T>,
    ) -> Result<(T, &str)> {
        let mut skipped = vec![];
        if self.inner.api != Api::V1 {
            for m in self.inner.mirrors.iter().filter(|m| !m.is_down()) {
                match m.read(&mut v2) {
                    Ok(t) => return Ok((t, m.client.registry_host())),
                    Err(e)
                        if matches!(e.kind(), ErrorKind::Aborted | ErrorKind::InvalidArgument) =>
                    {
                        return Err(e)
                    }
                    Err(e) => skipped.push(format!("mirror {}: {e}", m.client.registry_host())),
                }
            }
        }
        let served = self.dispatch(v2, v1).map(|t| (t, self.registry_host()));
        served.map_err(|e| match skipped.is_empty() {
            true => e,
            false => e.with_source(Skipped(skipped.join("; "))),
        })
    }

    /// A v2-only read, mirrors first (see [`dispatch_read`](Self::dispatch_read)).
    pub(crate) fn v2_read<T>(
        &self,
        what: &str,
        f: impl FnMut(&Remote<'_>) -> Result<T>,
    ) -> Result<T> {
        self.v2_read_from(what, f).map(|(t, _)| t)
    }

    /// [`v2_read`](Self::v2_read), saying which host served the read.
    pub(crate) fn v2_read_from<T>(
        &self,
        what: &str,
        f: impl FnMut(&Remote<'_>) -> Result<T>,
    ) -> Result<(T, &str)> {
        let host = self.registry_host();
        self.dispatch_read(f, |_, _| Err(not_v2(what, host)))
    }

    /// Runs a v2-only operation; UNSUPPORTED on a v1 registry.
    pub(crate) fn v2_only<T>(
        &self,
        what: &str,
        f: impl FnOnce(&Remote<'_>) -> Result<T>,
    ) -> Result<T> {
        let host = self.registry_host();
        self.dispatch(f, |_, _| Err(not_v2(what, host)))
    }

    /// Runs a v1-only operation; UNSUPPORTED on a v2 registry.
    pub(crate) fn v1_only<T>(
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

    /// Validates a repository name, adding `library/` to one-word Docker Hub
    /// names; on a [`restrict`](Self::restrict)ed client, INVALID_ARGUMENT
    /// for any repository but its own.
    pub(crate) fn repo(&self, repo: &str) -> Result<String> {
        let repo = self.normalise_repo(repo)?;
        match &self.only {
            Some(only) if **only != *repo => Err(Error::invalid(format!(
                "this client is restricted to the repository {only}; {repo} is another one"
            ))),
            _ => Ok(repo),
        }
    }

    /// A validated repository name, `library/` added to one-word Docker Hub names.
    fn normalise_repo(&self, repo: &str) -> Result<String> {
        let repo = if self.inner.address.hub && !repo.contains('/') {
            format!("library/{repo}")
        } else {
            repo.to_string()
        };
        validate_repository(&repo)?;
        Ok(repo)
    }

    /// `repo` checked as [`repo`](Self::repo) does; `None` on a restricted
    /// client means its own repository.
    pub(crate) fn repo_or_own(&self, repo: Option<&str>) -> Result<Option<String>> {
        match (repo, &self.only) {
            (Some(r), _) => self.repo(r).map(Some),
            (None, Some(only)) => Ok(Some(only.to_string())),
            (None, None) => Ok(None),
        }
    }

    /// INVALID_ARGUMENT on a restricted client: `what` would name other
    /// repositories.
    pub(crate) fn unrestricted(&self, what: &str) -> Result<()> {
        match &self.only {
            Some(only) => Err(Error::invalid(format!(
                "this client is restricted to the repository {only}; {what} names others"
            ))),
            None => Ok(()),
        }
    }

    /// A client that serves only `repo`, sharing this one's connections,
    /// token cache, credentials and settings (imgpkg's
    /// `CloneWithSingleAuth`): every call naming another repository
    /// (as either repository of a mount or a copy too) fails with
    /// INVALID_ARGUMENT before anything is sent, and so do
    /// [`catalog`](Self::catalog) and [`search`](Self::search), which list
    /// other repositories. Calls that name no repository
    /// ([`ping`](Self::ping), [`api_version`](Self::api_version)) work; v1
    /// image calls given no repository present its token. Restricting a
    /// restricted client to its own repository gives it again; to another,
    /// INVALID_ARGUMENT. Both clients may be dropped in any order.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for
    /// a malformed repository name, or another repository than a restricted
    /// client's own. Sends nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let app = client.restrict("team/app")?;
    /// let e = app.tags("team/other").unwrap_err();
    /// assert_eq!(e.kind(), registry::ErrorKind::InvalidArgument);
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn restrict(&self, repo: &str) -> Result<Client> {
        let repo = self.repo(repo)?;
        Ok(Client {
            inner: Arc::clone(&self.inner),
            only: Some(repo.into()),
        })
    }

    /// The repository a [`restrict`](Self::restrict)ed client serves,
    /// `None` for an unrestricted one.
    ///
    /// # Examples
    ///
    /// ```
    /// let client = registry::Client::builder("docker.io").build()?;
    /// assert_eq!(client.restricted_to(), None);
    /// assert_eq!(client.restrict("alpine")?.restricted_to(), Some("library/alpine"));
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn restricted_to(&self) -> Option<&str> {
        self.only.as_deref()
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
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unauthorized`](crate::ErrorKind::Unauthorized) when the registry refuses the credentials (or
    /// wants some), and the other kinds of every call (see
    /// [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// println!("{:?}", client.ping()?);
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn ping(&self) -> Result<ApiVersion> {
        self.ping_info().map(|p| p.api)
    }

    /// Like [`ping`](Self::ping), with the detail the registry sent.
    ///
    /// # Errors
    ///
    /// Those of [`ping`](Self::ping).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// println!("{:?}", client.ping_info()?.registry_version);
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn ping_info(&self) -> Result<PingInfo> {
        self.dispatch(v2::ping, v1::ping)
    }
}

/// UNSUPPORTED: `what` on a v1 registry.
fn not_v2(what: &str, host: &str) -> Error {
    Error::new(
        ErrorKind::Unsupported,
        format!("{what} is part of the v2 API; {host} speaks v1"),
    )
}

/// What the mirrors said before the registry failed too: the source of its error.
#[derive(Debug)]
struct Skipped(String);

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Skipped {}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn a_restricted_client_refuses_other_repositories_before_sending() {
        // Nothing listens on port 9: any request would fail with NETWORK.
        let c = Client::builder("127.0.0.1:9").build().unwrap();
        let app = c.restrict("team/app").unwrap();
        assert_eq!(app.restricted_to(), Some("team/app"));
        assert_eq!(c.restricted_to(), None);
        assert!(
            Arc::ptr_eq(&c.inner, &app.inner),
            "shares connections and tokens"
        );
        let refused = |e: Error| {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
            assert!(
                e.message()
                    .contains("restricted to the repository team/app"),
                "{e}"
            );
        };
        refused(app.tags("team/other").unwrap_err());
        refused(app.catalog().unwrap_err());
        refused(app.search("x", 1).unwrap_err());
        refused(app.restrict("team/other").unwrap_err());
        let digest = format!("sha256:{}", "0".repeat(64));
        refused(
            app.blob_mount("team/app", digest.as_str(), "team/other")
                .unwrap_err(),
        );
        // Its own repository goes out (and meets no server).
        assert_eq!(app.tags("team/app").unwrap_err().kind(), ErrorKind::Network);
        assert_eq!(
            app.restrict("team/app").unwrap().restricted_to(),
            Some("team/app")
        );
        assert_eq!(app.repo_or_own(None).unwrap().as_deref(), Some("team/app"));
        assert_eq!(c.repo_or_own(None).unwrap(), None);
        // On Docker Hub, one-word names are the same with or without library/.
        let hub = Client::builder("docker.io").build().unwrap();
        let alpine = hub.restrict("alpine").unwrap();
        assert_eq!(alpine.repo("library/alpine").unwrap(), "library/alpine");
        assert!(alpine.repo("busybox").is_err());
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
}
