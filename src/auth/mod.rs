//! Authentication: anonymous, basic and bearer, the challenges that select
//! between them, and a per-scope token cache.
//!
//! The first request to a registry goes out without credentials (unless a
//! static bearer token was given); its `401` teaches the client which scheme
//! the registry wants. From then on credentials go up front: basic on every
//! request, bearer tokens from the cache keyed by (realm, service, scopes), so
//! that N operations on one repository cost one token fetch.

mod challenge;
pub(crate) mod config;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;

pub(crate) use challenge::{parse_all, Challenge};

use crate::error::{Error, ErrorKind, Result};
use crate::transport::{self, add_query, encode, Payload, Request, Transport};

/// Token responses are small; anything larger is refused.
const TOKEN_CAP: u64 = 1 << 20;
/// Token servers that send no `expires_in` mean 60 seconds (token.md).
const DEFAULT_TOKEN_LIFETIME: u64 = 60;
/// Tokens are dropped this long before they expire.
const TOKEN_SLACK: u64 = 10;

/// What the client authenticates with.
#[derive(Clone, Default)]
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

/// What a request needs access to, e.g. `repository:team/app:pull`. Empty for
/// `/v2/`.
pub(crate) type Scope = Vec<String>;

pub(crate) fn repo_scope(repo: &str, actions: &str) -> Scope {
    vec![format!("repository:{repo}:{actions}")]
}

/// The scheme a registry asked for, learned from its first challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Scheme {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
    },
}

struct CachedToken {
    token: String,
    expires: Instant,
}

/// The authentication state of one client; shared by all its threads.
pub(crate) struct Auth {
    credentials: Credentials,
    allow_plain_credentials: bool,
    learned: Mutex<Option<Scheme>>,
    tokens: Mutex<HashMap<String, CachedToken>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl Auth {
    pub fn new(credentials: Credentials, allow_plain_credentials: bool) -> Auth {
        Auth {
            credentials,
            allow_plain_credentials,
            learned: Mutex::new(None),
            tokens: Mutex::new(HashMap::new()),
        }
    }

    pub fn is_anonymous(&self) -> bool {
        matches!(self.credentials, Credentials::Anonymous)
    }

    /// The `Authorization` value to send before any challenge, if the scheme is
    /// known (or a static token was given).
    pub fn upfront(&self, t: &Transport, scope: &Scope) -> Result<Option<String>> {
        if let Credentials::Bearer(tok) = &self.credentials {
            return Ok(Some(format!("Bearer {tok}")));
        }
        let learned = lock(&self.learned).clone();
        match learned {
            Some(Scheme::Basic) => Ok(self.credentials.basic_header()),
            Some(Scheme::Bearer { realm, service }) => self
                .token(t, &realm, service.as_deref(), scope.clone(), false)
                .map(|tok| Some(format!("Bearer {tok}"))),
            None => Ok(None),
        }
    }

    /// A bearer token for `scope` when the registry uses token auth (or a
    /// static token was given); `None` while no Bearer challenge was seen.
    pub fn bearer_token(&self, t: &Transport, scope: &Scope) -> Result<Option<String>> {
        if let Credentials::Bearer(tok) = &self.credentials {
            return Ok(Some(tok.clone()));
        }
        let learned = lock(&self.learned).clone();
        match learned {
            Some(Scheme::Bearer { realm, service }) => self
                .token(t, &realm, service.as_deref(), scope.clone(), false)
                .map(Some),
            _ => Ok(None),
        }
    }

    /// Answers a 401's challenges: the `Authorization` value to retry with, or
    /// `None` when there is nothing better to send.
    pub fn respond(
        &self,
        t: &Transport,
        challenges: &[Challenge],
        scope: &Scope,
        sent: Option<&str>,
    ) -> Result<Option<String>> {
        if matches!(self.credentials, Credentials::Bearer(_)) {
            return Ok(None);
        }
        if let Some(c) = challenges.iter().find(|c| c.scheme == "bearer") {
            let realm = c.param("realm").filter(|r| !r.is_empty()).ok_or_else(|| {
                Error::protocol("the registry sent a Bearer challenge without a realm")
            })?;
            let service = c.param("service").map(str::to_string);
            *lock(&self.learned) = Some(Scheme::Bearer {
                realm: realm.to_string(),
                service: service.clone(),
            });
            let mut scopes = scope.clone();
            for s in c.scopes() {
                if !scopes.contains(&s) {
                    scopes.push(s);
                }
            }
            // A token we sent was refused: fetch a fresh one.
            let refresh = sent.is_some();
            let tok = self.token(t, realm, service.as_deref(), scopes.clone(), refresh)?;
            if scopes != *scope {
                // Later requests with our scope should present the wider token.
                self.store(cache_key(realm, service.as_deref(), scope), &tok);
            }
            return Ok(Some(format!("Bearer {tok}")));
        }
        if challenges.iter().any(|c| c.scheme == "basic") {
            *lock(&self.learned) = Some(Scheme::Basic);
            let basic = self.credentials.basic_header();
            if basic.is_some() && sent != basic.as_deref() {
                return Ok(basic);
            }
        }
        Ok(None)
    }

    /// A bearer token for `scopes`: from the cache unless `refresh`, else fetched.
    fn token(
        &self,
        t: &Transport,
        realm: &str,
        service: Option<&str>,
        scopes: Scope,
        refresh: bool,
    ) -> Result<String> {
        let key = cache_key(realm, service, &scopes);
        if !refresh {
            if let Some(c) = lock(&self.tokens).get(&key) {
                if c.expires > Instant::now() {
                    return Ok(c.token.clone());
                }
            }
        }
        let (tok, lifetime) = self.fetch_token(t, realm, service, &scopes)?;
        let expires = Instant::now() + Duration::from_secs(lifetime.saturating_sub(TOKEN_SLACK));
        let mut tokens = lock(&self.tokens);
        // Expired tokens go, so the cache (and redaction) stay small.
        let now = Instant::now();
        tokens.retain(|_, c| c.expires > now);
        tokens.insert(
            key,
            CachedToken {
                token: tok.clone(),
                expires,
            },
        );
        Ok(tok)
    }

    fn store(&self, key: String, tok: &str) {
        let mut tokens = lock(&self.tokens);
        let expires = tokens
            .values()
            .find(|c| c.token == tok)
            .map(|c| c.expires)
            .unwrap_or_else(Instant::now);
        tokens.insert(
            key,
            CachedToken {
                token: tok.to_string(),
                expires,
            },
        );
    }

    /// `GET <realm>?service=…&scope=…` with basic credentials when there are some.
    fn fetch_token(
        &self,
        t: &Transport,
        realm: &str,
        service: Option<&str>,
        scopes: &Scope,
    ) -> Result<(String, u64)> {
        if !(realm.starts_with("https://") || realm.starts_with("http://")) {
            return Err(Error::protocol(format!(
                "the registry's token realm {realm:?} is not an http(s) URL"
            )));
        }
        let mut url = realm.to_string();
        if let Some(s) = service {
            url = add_query(&url, "service", s);
        }
        for s in scopes {
            url = add_query(&url, "scope", s);
        }
        let what = format!("token request to {}", transport::describe(realm));
        let resp = match &self.credentials {
            Credentials::IdentityToken(refresh) if self.may_send_credentials(realm) => {
                // OAuth2 (oauth.md): POST a refresh grant; token servers
                // without OAuth answer 404, and then get a plain GET.
                let mut form = format!(
                    "grant_type=refresh_token&client_id=registry-client&refresh_token={}",
                    encode(refresh)
                );
                if let Some(s) = service {
                    form.push_str(&format!("&service={}", encode(s)));
                }
                if !scopes.is_empty() {
                    form.push_str(&format!("&scope={}", encode(&scopes.join(" "))));
                }
                let post = Request::new("POST", realm.to_string())
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .header("Accept", "application/json");
                let resp = t.send_with(&post, None, &mut Payload::Bytes(form.as_bytes()))?;
                if resp.status().as_u16() == 404 {
                    t.send(
                        &Request::new("GET", url).header("Accept", "application/json"),
                        None,
                    )?
                } else {
                    resp
                }
            }
            _ => {
                let mut basic = None;
                if let Credentials::Basic { username, .. } = &self.credentials {
                    if self.may_send_credentials(realm) {
                        url = add_query(&url, "account", username);
                        basic = self.credentials.basic_header();
                    }
                }
                let req = Request::new("GET", url).header("Accept", "application/json");
                t.send(&req, basic.as_deref())?
            }
        };
        let status = resp.status().as_u16();
        if status == 401 || status == 403 {
            return Err(Error::new(
                ErrorKind::Unauthorized,
                format!("{what}: the token server refused the credentials"),
            )
            .with_http_status(status));
        }
        if status != 200 {
            return Err(crate::client::status_error(resp, &what));
        }
        let body: TokenResponse = transport::read_json(resp, TOKEN_CAP, &what)?;
        let tok = body
            .access_token
            .filter(|s| !s.is_empty())
            .or(body.token.filter(|s| !s.is_empty()))
            .ok_or_else(|| Error::protocol(format!("{what}: the answer has no token")))?;
        let lifetime = body
            .expires_in
            .unwrap_or(DEFAULT_TOKEN_LIFETIME)
            .max(DEFAULT_TOKEN_LIFETIME);
        Ok((tok, lifetime))
    }

    /// Basic credentials go over TLS, or over plain HTTP to loopback or when the
    /// caller allowed plain HTTP.
    fn may_send_credentials(&self, url: &str) -> bool {
        url.starts_with("https://")
            || self.allow_plain_credentials
            || is_loopback_host(&transport::origin_of(url))
    }

    /// The `Basic …` value for a request to `url`, when the credentials are a
    /// user name and password and may travel there.
    pub fn basic_for(&self, url: &str) -> Option<String> {
        self.may_send_credentials(url)
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
    let mut sorted = scopes.clone();
    sorted.sort();
    format!("{realm}\n{}\n{}", service.unwrap_or(""), sorted.join(" "))
}

/// True for `localhost`, `127.x.y.z` and `[::1]`, with or without a scheme or port.
pub(crate) fn is_loopback_host(addr: &str) -> bool {
    let rest = addr.split_once("://").map_or(addr, |(_, r)| r);
    let host = if rest.starts_with('[') {
        rest.split(']').next().unwrap_or("").trim_start_matches('[')
    } else {
        rest.split([':', '/']).next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || (host.starts_with("127.") && host.parse::<std::net::Ipv4Addr>().is_ok())
}

/// The challenges in a response's `WWW-Authenticate` headers.
pub(crate) fn challenges_of(resp: &ureq::http::Response<ureq::Body>) -> Vec<Challenge> {
    parse_all(
        resp.headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

/// Locks a mutex, going on with the data if another thread panicked with it.
pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback() {
        for h in [
            "localhost:5000",
            "127.0.0.1",
            "http://127.0.0.2:80",
            "[::1]:5000",
            "https://localhost",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.com",
            "127.example.com",
            "10.0.0.1:5000",
            "[::2]:1",
            "localhost.evil",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
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
        let a = cache_key("r", Some("s"), &vec!["b".into(), "a".into()]);
        let b = cache_key("r", Some("s"), &vec!["a".into(), "b".into()]);
        assert_eq!(a, b);
        assert_ne!(a, cache_key("r", None, &vec!["a".into(), "b".into()]));
    }
}
