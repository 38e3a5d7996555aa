//! Authentication, as one stage of the request pipeline: which credentials go
//! to which origin, and the answer to a 401, given once.
//!
//! The first request to a registry goes out without credentials (unless a
//! static bearer token was given); its `401` teaches the client which scheme
//! the registry wants. From then on credentials go up front: basic on every
//! request, bearer tokens from a cache keyed by (realm, service, scopes), so
//! that N operations on one repository cost one token fetch.
//!
//! The trust rules live here: credentials go only to the registry's own
//! origin, or to the token realm its own challenge named; a challenge from
//! any other origin (a redirect target, a `Link`, an upload `Location`) is
//! never learned; a password (or refresh token) travels in cleartext only to
//! loopback hosts.

#![forbid(unsafe_code)]

pub(crate) mod config;
pub(crate) mod env;
mod token;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

use base64::Engine;

use crate::challenge::Challenge;
use crate::error::{Error, ErrorKind, Result};
use crate::sync::lock;
use crate::transport::Transport;
use crate::types::Access;
use crate::url::is_loopback_host;

/// The most tokens one client keeps; the one expiring first makes room.
const TOKEN_CACHE_ENTRIES: usize = 256;

/// What the client authenticates with.
#[derive(Clone, Default)]
#[non_exhaustive]
pub enum Credentials {
    /// No credentials; bearer registries may still hand out anonymous tokens.
    #[default]
    Anonymous,
    /// A user name and password, sent as HTTP Basic to registries and token servers.
    Basic {
        /// The user name.
        username: String,
        /// The password.
        password: String,
    },
    /// A bearer token sent as is on every request.
    Bearer(String),
    /// An OAuth2 refresh token (docker's `identitytoken`), exchanged at the
    /// token server (`POST grant_type=refresh_token`) for bearer tokens.
    IdentityToken(String),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::Anonymous => f.write_str("Anonymous"),
            Credentials::Basic { username, .. } => {
                write!(
                    f,
                    "Basic {{ username: {username:?}, password: <redacted> }}"
                )
            }
            Credentials::Bearer(_) => f.write_str("Bearer(<redacted>)"),
            Credentials::IdentityToken(_) => f.write_str("IdentityToken(<redacted>)"),
        }
    }
}

impl Credentials {
    fn basic_header(&self) -> Option<String> {
        match self {
            Credentials::Basic { username, password } => {
                let raw = format!("{username}:{password}");
                Some(format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(raw)
                ))
            }
            _ => None,
        }
    }

    fn secrets(&self) -> Vec<String> {
        match self {
            Credentials::Anonymous => vec![],
            Credentials::Basic { password, .. } => {
                let mut v = vec![password.clone()];
                // The base64 form too, in case a server echoes the header back.
                v.extend(self.basic_header().map(|h| h["Basic ".len()..].to_string()));
                v
            }
            Credentials::Bearer(t) | Credentials::IdentityToken(t) => vec![t.clone()],
        }
    }
}

/// What a request needs access to, as token scopes (`repository:team/app:pull`).
/// Every scope the client asks for is built here. Empty for `/v2/`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Scope(Vec<String>);

impl Scope {
    /// No scope: `GET /v2/`.
    pub fn none() -> Scope {
        Scope::default()
    }

    /// Pulling from `repo`.
    pub fn pull(repo: &str) -> Scope {
        Scope::repo(repo, "pull")
    }

    /// Pushing to (and pulling from) `repo`.
    pub fn push(repo: &str) -> Scope {
        Scope::repo(repo, "pull,push")
    }

    /// Deleting in `repo`.
    pub fn delete(repo: &str) -> Scope {
        Scope::repo(repo, "delete")
    }

    /// The access a token for `repo` grants (`Client::token`).
    pub fn access(repo: &str, access: Access) -> Scope {
        match access {
            Access::Read => Scope::pull(repo),
            Access::Write => Scope::push(repo),
            Access::Delete => Scope::delete(repo),
        }
    }

    /// Mounting a blob of `from` into `repo`: push there, pull here.
    pub fn mount(repo: &str, from: &str) -> Scope {
        let mut s = Scope::push(repo);
        s.0.push(format!("repository:{from}:pull"));
        s
    }

    /// Listing the catalog.
    pub fn catalog() -> Scope {
        Scope(vec!["registry:catalog:*".to_string()])
    }

    fn repo(repo: &str, actions: &str) -> Scope {
        Scope(vec![format!("repository:{repo}:{actions}")])
    }

    /// This scope and the extra ones a challenge asked for.
    fn with(&self, extra: Vec<String>) -> Scope {
        let mut all = self.0.clone();
        for s in extra {
            if !all.contains(&s) {
                all.push(s);
            }
        }
        Scope(all)
    }
}

/// The scheme a registry asked for, learned from its first challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        /// Whether the challenge came over a channel a password may travel
        /// (TLS, or loopback): one read in cleartext from elsewhere could
        /// be anyone's, so its realm gets no secrets.
        trusted: bool,
    },
}

struct CachedToken {
    token: String,
    expires: Instant,
}

/// The authentication state of one client; shared by all its threads.
pub(crate) struct Auth {
    credentials: Credentials,
    /// A 401 on a read, after a token was granted for its scope, means the
    /// repository does not exist (Docker Hub's answer for a missing one).
    pub(crate) unauthorized_is_not_found: bool,
    learned: Mutex<Option<Scheme>>,
    tokens: Mutex<HashMap<String, CachedToken>>,
}

impl Auth {
    pub fn new(credentials: Credentials, unauthorized_is_not_found: bool) -> Auth {
        Auth {
            credentials,
            unauthorized_is_not_found,
            learned: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    /// Whether a 401 after a granted token reads as NOT_FOUND.
    #[cfg(test)]
    pub fn unauthorized_is_not_found(&self) -> bool {
        self.unauthorized_is_not_found
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self.credentials, Credentials::Anonymous)
    }

    /// The `Authorization` value for the registry at `registry` (an origin)
    /// before any challenge, if the scheme is known (or a static token was given).
    pub(crate) fn upfront(
        &self,
        t: &Transport,
        scope: &Scope,
        registry: &str,
    ) -> Result<Option<String>> {
        if let Credentials::Bearer(tok) = &self.credentials {
            // A static token is as secret as a password.
            return Ok(may_send_password(registry).then(|| format!("Bearer {tok}")));
        }
        if matches!(*lock(&self.learned), Some(Scheme::Basic)) {
            return Ok(self.basic_for(registry));
        }
        Ok(self
            .bearer_token(t, scope)?
            .map(|tok| format!("Bearer {tok}")))
    }

    /// A bearer token for `scope` when the registry uses token auth (or a
    /// static token was given); `None` while no Bearer challenge was seen.
    pub fn bearer_token(&self, t: &Transport, scope: &Scope) -> Result<Option<String>> {
        if let Credentials::Bearer(tok) = &self.credentials {
            return Ok(Some(tok.clone()));
        }
        let learned = lock(&self.learned).clone();
        match learned {
            Some(Scheme::Bearer {
                realm,
                service,
                trusted,
            }) => self
                .token(t, &realm, service.as_deref(), scope, false, trusted)
                .map(Some),
            _ => Ok(None),
        }
    }

    /// Answers the challenges of a 401 from the registry at `registry` (an
    /// origin): the `Authorization` value to retry with, or `None` when there
    /// is nothing better to send.
    pub(crate) fn respond(
        &self,
        t: &Transport,
        challenges: &[Challenge],
        scope: &Scope,
        sent: Option<&str>,
        registry: &str,
    ) -> Result<Option<String>> {
        if matches!(self.credentials, Credentials::Bearer(_)) {
            if !may_send_password(registry) {
                return Err(cleartext_refused(registry, "a token"));
            }
            return Ok(None);
        }
        if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = c.param("realm").filter(|r| !r.is_empty()).ok_or_else(|| {
                Error::protocol("the registry sent a Bearer challenge without a realm")
            })?;
            token::check_realm(realm)?;
            let service = c.param("service").map(str::to_string);
            let trusted = may_send_password(registry);
            *lock(&self.learned) = Some(Scheme::Bearer {
                realm: realm.to_string(),
                service: service.clone(),
                trusted,
            });
            let scopes = scope.with(c.scopes());
            // A token we sent was refused: fetch a fresh one.
            let refresh = sent.is_some();
            let tok = self.token(t, realm, service.as_deref(), &scopes, refresh, trusted)?;
            if scopes != *scope {
                // Later requests with our scope should present the wider token.
                let expires = lock(&self.tokens)
                    .get(&cache_key(realm, service.as_deref(), &scopes))
                    .map_or_else(Instant::now, |c| c.expires);
                self.store(cache_key(realm, service.as_deref(), scope), &tok, expires);
            }
            return Ok(Some(format!("Bearer {tok}")));
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            *lock(&self.learned) = Some(Scheme::Basic);
            let Some(basic) = self.credentials.basic_header() else {
                return Ok(None);
            };
            if !may_send_password(registry) {
                return Err(cleartext_refused(registry, "a password"));
            }
            if sent != Some(basic.as_str()) {
                return Ok(Some(basic));
            }
        }
        Ok(None)
    }

    /// A bearer token for `scopes`: from the cache unless `refresh`, else
    /// fetched, with the credentials only when the challenge that named the
    /// realm was `trusted`.
    fn token(
        &self,
        t: &Transport,
        realm: &str,
        service: Option<&str>,
        scopes: &Scope,
        refresh: bool,
        trusted: bool,
    ) -> Result<String> {
        let key = cache_key(realm, service, scopes);
        if !refresh {
            if let Some(c) = lock(&self.tokens).get(&key) {
                if c.expires > Instant::now() {
                    return Ok(c.token.clone());
                }
            }
        }
        let anonymous = Credentials::Anonymous;
        let credentials = if trusted {
            &self.credentials
        } else {
            &anonymous
        };
        let fetched = match token::fetch(t, credentials, realm, service, &scopes.0) {
            Err(e) if !trusted && e.kind() == ErrorKind::Unauthorized && !self.is_anonymous() => {
                let why = "the credentials were not sent: the challenge that named the token \
                           server came in cleartext from a host that is not loopback; use https";
                return Err(
                    Error::new(ErrorKind::Unauthorized, format!("{}; {why}", e.message()))
                        .with_http_status(e.http_status().unwrap_or(401)),
                );
            }
            other => other?,
        };
        let now = Instant::now();
        let expires = now.checked_add(fetched.lifetime).unwrap_or(now);
        self.store(key, &fetched.token, expires);
        Ok(fetched.token)
    }

    /// Caches `tok` under `key` until `expires`. Expired tokens go first,
    /// then, at the cap, the one that expires soonest: the cache (and
    /// redaction) stay small whatever the token servers answer.
    fn store(&self, key: String, tok: &str, expires: Instant) {
        let now = Instant::now();
        let mut tokens = lock(&self.tokens);
        tokens.retain(|_, c| c.expires > now);
        if !tokens.contains_key(&key) && tokens.len() >= TOKEN_CACHE_ENTRIES {
            let soonest = tokens
                .iter()
                .min_by_key(|(_, c)| c.expires)
                .map(|(k, _)| k.clone());
            if let Some(k) = soonest {
                tokens.remove(&k);
            }
        }
        tokens.insert(
            key,
            CachedToken {
                token: tok.to_string(),
                expires,
            },
        );
    }

    /// The `Basic …` value for a request to `url`, when the credentials are a
    /// user name and password and may travel there (see [`may_send_password`]).
    pub fn basic_for(&self, url: &str) -> Option<String> {
        may_send_password(url)
            .then(|| self.credentials.basic_header())
            .flatten()
    }

    /// Replaces the credentials and every cached token in `text` with `***`.
    pub fn redact(&self, text: &str) -> String {
        let mut secrets = self.credentials.secrets();
        secrets.extend(lock(&self.tokens).values().map(|c| c.token.clone()));
        redact_secrets(text, &secrets)
    }
}

/// Reads a token server's answer: the token and how long to cache it (for
/// the fuzz targets; `token.rs` reads it so).
pub(crate) fn parse_token_answer(body: &[u8]) -> Result<(String, std::time::Duration)> {
    token::parse(body, "token answer").map(|f| (f.token, f.lifetime))
}

/// UNAUTHORIZED: `registry` (plain HTTP, not loopback) asks for `secret`.
fn cleartext_refused(registry: &str, secret: &str) -> Error {
    Error::new(
        ErrorKind::Unauthorized,
        format!(
            "{registry} asks for {secret}, which this client never sends in cleartext to a \
             host that is not loopback; use https"
        ),
    )
    .with_http_status(401)
}

/// A password or refresh token goes over TLS, or in cleartext to a loopback
/// host only.
pub(crate) fn may_send_password(url: &str) -> bool {
    url.get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
        || is_loopback_host(url)
}

/// Replaces each of `secrets` (of three characters or more) in `text` with `***`.
pub(crate) fn redact_secrets(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets.iter().filter(|s| s.len() >= 3) {
        if out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

fn cache_key(realm: &str, service: Option<&str>, scopes: &Scope) -> String {
    let mut sorted = scopes.0.clone();
    sorted.sort();
    format!("{realm}\n{}\n{}", service.unwrap_or(""), sorted.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_token_cache_stays_under_its_cap_however_tokens_arrive() {
        let auth = Auth::new(Credentials::Anonymous, false);
        let later = Instant::now() + std::time::Duration::from_secs(3600);
        for i in 0..3 * TOKEN_CACHE_ENTRIES {
            // As respond() files a wider token under the scope asked for.
            auth.store(
                format!("realm\nservice\nrepository:r{i}:pull"),
                "tok",
                later,
            );
        }
        assert_eq!(lock(&auth.tokens).len(), TOKEN_CACHE_ENTRIES);
    }

    #[test]
    fn passwords_travel_over_tls_or_to_loopback() {
        assert!(may_send_password("https://reg.example/token"));
        assert!(may_send_password("HTTPS://reg.example"));
        assert!(may_send_password("http://127.0.0.1:5000/token"));
        assert!(may_send_password("http://localhost/x"));
        assert!(!may_send_password("http://reg.example/token"));
        assert!(!may_send_password("http://127.0.0.1.evil/token"));
        assert!(!may_send_password("ftp://127.0.0.1.evil/"));
    }

    #[test]
    fn secrets_are_redacted_and_hidden_from_debug() {
        let creds = Credentials::Basic {
            username: "alice".into(),
            password: "s3cret-pw".into(),
        };
        assert!(!format!("{creds:?}").contains("s3cret"));
        let a = Auth::new(creds, false);
        let header = a.credentials.basic_header().unwrap();
        let msg = a.redact(&format!("bad password s3cret-pw in {header}"));
        assert!(!msg.contains("s3cret-pw"), "{msg}");
        assert!(!msg.contains(&header[6..]), "{msg}");
    }

    #[test]
    fn cache_key_ignores_scope_order() {
        let ab = Scope(vec!["b".into(), "a".into()]);
        let ba = Scope(vec!["a".into(), "b".into()]);
        assert_eq!(
            cache_key("r", Some("s"), &ab),
            cache_key("r", Some("s"), &ba)
        );
        assert_ne!(cache_key("r", Some("s"), &ab), cache_key("r", None, &ab));
    }

    #[test]
    fn scopes() {
        assert_eq!(Scope::pull("a/b").0, ["repository:a/b:pull"]);
        assert_eq!(
            Scope::mount("a", "b").0,
            ["repository:a:pull,push", "repository:b:pull"]
        );
        assert_eq!(Scope::access("a", Access::Delete), Scope::delete("a"));
        let s = Scope::pull("a").with(vec!["repository:a:pull".into(), "x".into()]);
        assert_eq!(s.0, ["repository:a:pull", "x"]);
    }
}
