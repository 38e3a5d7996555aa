//! Index tokens and the v1 session: which registry endpoints to use, with
//! which token, and the cookies those endpoints set.
//!
//! The index answers `X-Docker-Token: true` on `GET …/images` (read),
//! `PUT …/` (write) and `DELETE …/` (delete) with an `X-Docker-Token` header
//! (`signature=…,repository="…",access=…`) and the `X-Docker-Endpoints`
//! that take it. docker 1.x joined repeated token headers with `,` and sent
//! `Authorization: Token <joined>`; so does this client.

use std::collections::HashMap;
use std::sync::Mutex;

use ureq::http::Response;
use ureq::Body;

use crate::auth::{lock, redact_secrets};
use crate::client::{Access, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::validate_domain;
use crate::transport::{self, header_all, origin_of, Payload, Request};

/// Index answers (image lists) are read up to this size and discarded.
const INDEX_BODY_CAP: u64 = 16 << 20;

/// A token from the index and the registry endpoint it is for.
#[derive(Clone, Debug)]
pub(crate) struct IndexToken {
    /// The token without its `Token ` prefix.
    pub token: String,
    /// `scheme://host[:port]` of the first endpoint the index named.
    pub endpoint: String,
}

impl IndexToken {
    pub fn authorization(&self) -> String {
        format!("Token {}", self.token)
    }
}

/// The v1 state of one client, shared by its threads.
#[derive(Default)]
pub(crate) struct Session {
    standalone: Mutex<Option<bool>>,
    /// The latest token per (repository, access).
    tokens: Mutex<HashMap<(String, Access), IndexToken>>,
    /// The latest token per access, for image requests.
    latest: Mutex<HashMap<Access, IndexToken>>,
    /// Cookies per origin, in the order first set.
    cookies: Mutex<HashMap<String, Vec<(String, String)>>>,
    /// Image JSON this client put, kept until the image's layer is put: the
    /// checksum sent after the layer covers it.
    pub json: Mutex<HashMap<String, Vec<u8>>>,
}

impl Session {
    pub fn set_standalone(&self, standalone: bool) {
        *lock(&self.standalone) = Some(standalone);
    }

    pub fn latest(&self, access: Access) -> Option<IndexToken> {
        lock(&self.latest).get(&access).cloned()
    }

    /// The endpoint of any token of the session: where image requests go
    /// when there is no token for their access (the cookies may still do).
    pub fn any_endpoint(&self) -> Option<String> {
        lock(&self.latest)
            .values()
            .next()
            .map(|t| t.endpoint.clone())
    }

    fn remember(&self, repo: &str, access: Access, token: &IndexToken) {
        lock(&self.tokens).insert((repo.to_string(), access), token.clone());
        lock(&self.latest).insert(access, token.clone());
    }

    /// The `Cookie` value for a request to `url`, if its origin set any.
    pub fn cookies_for(&self, url: &str) -> Option<String> {
        let jar = lock(&self.cookies);
        let cookies = jar.get(&origin_of(url))?;
        let pairs: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Some(pairs.join("; "))
    }

    /// Keeps the `name=value` of every `Set-Cookie` in `resp` for `url`'s
    /// origin (attributes are ignored: the jar lives as long as the client).
    pub fn keep_cookies(&self, url: &str, resp: &Response<Body>) {
        let set = header_all(resp, "set-cookie");
        if set.is_empty() {
            return;
        }
        let mut jar = lock(&self.cookies);
        let cookies = jar.entry(origin_of(url)).or_default();
        for line in set {
            let pair = line.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            if name.is_empty() || name.contains(['\r', '\n']) || value.contains(['\r', '\n']) {
                continue;
            }
            match cookies.iter_mut().find(|(n, _)| *n == name) {
                Some(c) => c.1 = value,
                None => cookies.push((name, value)),
            }
        }
    }

    /// Replaces every token and cookie value of the session in `text`.
    pub fn redact(&self, text: &str) -> String {
        let mut secrets: Vec<String> = lock(&self.tokens)
            .values()
            .map(|t| t.token.clone())
            .collect();
        secrets.extend(lock(&self.latest).values().map(|t| t.token.clone()));
        for cookies in lock(&self.cookies).values() {
            secrets.extend(cookies.iter().map(|(_, v)| v.clone()));
        }
        redact_secrets(text, &secrets)
    }
}

impl Client {
    /// Whether the registry is standalone (takes basic credentials itself),
    /// learned from `_ping` once. Docker Hub's index is not.
    pub(crate) fn v1_standalone(&self) -> Result<bool> {
        if let Some(s) = *lock(&self.inner().v1.standalone) {
            return Ok(s);
        }
        if self.is_hub() {
            self.inner().v1.set_standalone(false);
            return Ok(false);
        }
        Ok(self.v1_ping_info()?.standalone.unwrap_or(true))
    }

    /// The session's token for `repo` and `access`, asking the index for one
    /// when there is none yet.
    pub(crate) fn v1_session_token(&self, repo: &str, access: Access) -> Result<IndexToken> {
        let cached = lock(&self.inner().v1.tokens)
            .get(&(repo.to_string(), access))
            .cloned();
        match cached {
            Some(t) => Ok(t),
            None => self.v1_index_token(repo, access),
        }
    }

    /// Asks the index for a fresh token for `repo` (already normalised) and
    /// `access`, and makes it the session's token for both.
    pub(crate) fn v1_index_token(&self, repo: &str, access: Access) -> Result<IndexToken> {
        let base = self.base()?;
        let (method, path, body): (&str, String, &[u8]) = match access {
            Access::Read => ("GET", format!("/v1/repositories/{repo}/images"), b""),
            Access::Write => ("PUT", format!("/v1/repositories/{repo}/"), b"[]"),
            Access::Delete => ("DELETE", format!("/v1/repositories/{repo}/"), b""),
        };
        let what = format!("{method} {path} (index token)");
        let url = format!("{base}{path}");
        let mut req = Request::new(method, url.clone())
            .header("Accept", "application/json")
            .header("X-Docker-Token", "true");
        let mut payload = Payload::Empty;
        if !body.is_empty() {
            req = req.header("Content-Type", "application/json");
            payload = Payload::Bytes(body);
        }
        let basic = self.inner().auth.basic_for(&url);
        let resp = self
            .v1_exchange(req, basic.as_deref(), &mut payload)
            .map_err(|e| self.redact(e))?;
        let resp = self.check(resp, &what)?;
        let token = parse_token(&header_all(&resp, "x-docker-token")).ok_or_else(|| {
            Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{what}: {} handed out no X-Docker-Token",
                    self.registry_host()
                ),
            )
        })?;
        let endpoint = match parse_endpoints(&header_all(&resp, "x-docker-endpoints")) {
            Ok(Some(host)) => format!("{}://{host}", scheme_of(&base)),
            Ok(None) => base,
            Err(bad) => {
                return Err(Error::protocol(format!(
                    "{what}: the index named an invalid registry endpoint {bad:?}"
                )))
            }
        };
        // Read the (small) image list so the connection can be reused.
        let _ = transport::read_capped(resp, INDEX_BODY_CAP, &what);
        let token = IndexToken { token, endpoint };
        self.inner().v1.remember(repo, access, &token);
        Ok(token)
    }

    /// `Client::hub_token` on v1: a fresh index token for `repo`.
    pub(crate) fn v1_hub_token(&self, repo: &str, access: Access) -> Result<String> {
        let repo = self.v1_repo(repo)?;
        Ok(self.v1_index_token(&repo, access)?.token)
    }
}

/// The token from the `X-Docker-Token` values: each without a leading
/// `Token ` (some registries include it), joined with `,`.
fn parse_token(values: &[String]) -> Option<String> {
    let parts: Vec<&str> = values
        .iter()
        .map(|v| {
            let v = v.trim();
            match v.split_once(char::is_whitespace) {
                Some((word, rest)) if word.eq_ignore_ascii_case("token") => rest.trim_start(),
                _ if v.eq_ignore_ascii_case("token") => "",
                _ => v,
            }
        })
        .filter(|v| !v.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(","))
}

/// The first endpoint in the `X-Docker-Endpoints` values (comma-separated
/// `host[:port]`, or URLs whose host is taken), or `None` when there is none.
/// A malformed one is returned as `Err`.
fn parse_endpoints(values: &[String]) -> std::result::Result<Option<String>, String> {
    let Some(first) = values
        .iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find(|v| !v.is_empty())
    else {
        return Ok(None);
    };
    let host = first.split_once("://").map_or(first, |(_, rest)| rest);
    let host = host.split('/').next().unwrap_or("");
    match validate_domain(host) {
        Ok(()) if !host.contains('@') => Ok(Some(host.to_ascii_lowercase())),
        _ => Err(first.to_string()),
    }
}

fn scheme_of(base: &str) -> &str {
    base.split_once("://").map_or("https", |(s, _)| s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tokens_lose_their_prefix_and_join() {
        assert_eq!(parse_token(&[]), None);
        assert_eq!(
            parse_token(&strings(&["signature=1,repository=\"a/b\",access=read"])).as_deref(),
            Some("signature=1,repository=\"a/b\",access=read")
        );
        assert_eq!(
            parse_token(&strings(&["Token signature=1", "token  access=read"])).as_deref(),
            Some("signature=1,access=read")
        );
        assert_eq!(parse_token(&strings(&["Token "])), None);
    }

    #[test]
    fn endpoints() {
        assert_eq!(parse_endpoints(&[]), Ok(None));
        assert_eq!(
            parse_endpoints(&strings(&["registry-1.docker.io, registry-2.docker.io"])),
            Ok(Some("registry-1.docker.io".into()))
        );
        assert_eq!(
            parse_endpoints(&strings(&["", "https://Reg.example:5000/v1/"])),
            Ok(Some("reg.example:5000".into()))
        );
        assert!(parse_endpoints(&strings(&["user@evil"])).is_err());
        assert!(parse_endpoints(&strings(&["bad host"])).is_err());
    }
}
