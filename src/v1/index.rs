//! Index tokens and the v1 session: which registry endpoint to use, with
//! which token, and the cookies those endpoints set.
//!
//! The index answers `X-Docker-Token: true` on `GET …/images` (read),
//! `PUT …/` (write) and `DELETE …/` (delete) with an `X-Docker-Token` header
//! (`signature=…,repository="…",access=…`) and the `X-Docker-Endpoints`
//! that take it. docker 1.x joined repeated token headers with `,` and sent
//! `Authorization: Token <joined>`; so does this client. A token is kept per
//! (repository, access) and goes only to the endpoint the index named with
//! it; the password never goes there.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::sync::Mutex;

use crate::auth::redact_secrets;
use crate::error::{what_of, Error, ErrorKind, Result};
use crate::reference::validate_domain;
use crate::remote::Remote;
use crate::sync::lock;
use crate::transport::{self, header_all, CookieJar, Credential, Payload, Request};
use crate::types::Access;
use crate::url::origin_of;

/// Index answers (image lists) are read up to this size and discarded.
const INDEX_BODY_CAP: u64 = 16 << 20;
/// The most (repository, access) tokens a session keeps.
const MAX_TOKENS: usize = 256;

/// A token from the index and the registry endpoint it is for.
#[derive(Clone)]
pub(crate) struct IndexToken {
    /// The token without its `Token ` prefix.
    pub token: String,
    /// `scheme://host[:port]` of the first endpoint the index named.
    pub endpoint: String,
}

impl std::fmt::Debug for IndexToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IndexToken")
            .field("token", &"<redacted>")
            .field("endpoint", &self.endpoint)
            .finish()
    }
}

impl IndexToken {
    fn authorization(&self) -> String {
        format!("Token {}", self.token)
    }
}

/// The v1 state of one client, shared by its threads.
#[derive(Default)]
pub(crate) struct Session {
    standalone: Mutex<Option<bool>>,
    /// The latest token per (repository, access).
    tokens: Mutex<HashMap<(String, Access), IndexToken>>,
    /// The token obtained last, per access, for image calls that name no
    /// repository (the calls of the C ABI's first v1 release).
    latest: Mutex<HashMap<Access, IndexToken>>,
    /// Cookies per origin.
    pub jar: CookieJar,
    /// Image JSON this client put, kept until the image's layer is put: the
    /// checksum sent after the layer covers it.
    pub json: Mutex<HashMap<String, Vec<u8>>>,
}

impl Session {
    pub fn set_standalone(&self, standalone: bool) {
        *lock(&self.standalone) = Some(standalone);
    }

    pub fn standalone(&self) -> Option<bool> {
        *lock(&self.standalone)
    }

    fn remember(&self, repo: &str, access: Access, token: &IndexToken) {
        let mut tokens = lock(&self.tokens);
        if tokens.len() >= MAX_TOKENS && !tokens.contains_key(&(repo.to_string(), access)) {
            tokens.clear();
        }
        tokens.insert((repo.to_string(), access), token.clone());
        lock(&self.latest).insert(access, token.clone());
    }

    fn token_for(&self, repo: &str, access: Access) -> Option<IndexToken> {
        lock(&self.tokens).get(&(repo.to_string(), access)).cloned()
    }

    /// The `host[:port]` of the endpoint the session's token for `repo` and
    /// `access` is for, if it holds one.
    pub fn endpoint_host(&self, repo: &str, access: Access) -> Option<String> {
        self.token_for(repo, access).map(|t| {
            let e = t.endpoint;
            e.split_once("://")
                .map_or(e.clone(), |(_, h)| h.to_string())
        })
    }

    /// The token obtained last for `access`, whatever its repository.
    pub fn latest(&self, access: Access) -> Option<IndexToken> {
        lock(&self.latest).get(&access).cloned()
    }

    /// Replaces every token and cookie value of the session in `text`.
    pub fn redact(&self, text: &str) -> String {
        let mut secrets: Vec<String> = lock(&self.tokens)
            .values()
            .map(|t| t.token.clone())
            .collect();
        secrets.extend(lock(&self.latest).values().map(|t| t.token.clone()));
        secrets.extend(self.jar.values());
        redact_secrets(text, &secrets)
    }
}

/// Sends `req` (to the index, a standalone registry or an endpoint) with the
/// session's cookies for each hop's origin, and `authorization` for the
/// origin of `req`'s URL only.
pub(crate) fn exchange(
    remote: &Remote<'_>,
    session: &Session,
    req: Request<'_>,
    authorization: Option<&str>,
    payload: &mut Payload<'_>,
) -> Result<ureq::http::Response<ureq::Body>> {
    let origin = origin_of(&req.url);
    let credential = authorization.map(|value| Credential {
        value,
        origin: &origin,
    });
    remote
        .transport
        .send(&req.cookies(&session.jar), credential, payload)
}

/// The session's token for `repo` and `access`, asking the index for one
/// when there is none yet.
pub(crate) fn session_token(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    access: Access,
) -> Result<IndexToken> {
    match session.token_for(repo, access) {
        Some(t) => Ok(t),
        None => index_token(remote, session, repo, access),
    }
}

/// Asks the index for a fresh token for `repo` (already normalised) and
/// `access`, and makes it the session's token for both.
pub(crate) fn index_token(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    access: Access,
) -> Result<IndexToken> {
    let body: &[u8] = match access {
        Access::Write => b"[]",
        Access::Read | Access::Delete => b"",
    };
    let (token, resp) = index_request(remote, session, repo, access, body)?;
    let what = format!("{} (index token)", what_of(&resp));
    // Read the (small) image list so the connection can be reused.
    let _ = transport::read_capped(resp, INDEX_BODY_CAP);
    token.ok_or_else(|| {
        Error::new(
            ErrorKind::Unsupported,
            format!("{what}: {} handed out no X-Docker-Token", remote.base),
        )
    })
}

/// The index request that grants `access` to `repo` (already normalised):
/// `GET …/images` (read), `PUT …/` with `body`, a JSON list of images
/// (write), `DELETE …/` (delete), with `X-Docker-Token: true` and the basic
/// credentials for the index. Returns the token the index handed out, if
/// any (it becomes the session's token for `repo` and `access`), and the
/// 2xx response, whose body the caller reads.
pub(crate) fn index_request(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    access: Access,
    body: &[u8],
) -> Result<(Option<IndexToken>, ureq::http::Response<ureq::Body>)> {
    let (method, path) = match access {
        Access::Read => ("GET", format!("/v1/repositories/{repo}/images")),
        Access::Write => ("PUT", format!("/v1/repositories/{repo}/")),
        Access::Delete => ("DELETE", format!("/v1/repositories/{repo}/")),
    };
    let url = remote.url(&path);
    let mut req = Request::new(method, url.clone())
        .header("Accept", "application/json")
        .header("X-Docker-Token", "true");
    let what = req.what();
    let mut payload = Payload::Empty;
    if access == Access::Write {
        req = req.header("Content-Type", "application/json");
        payload = Payload::Bytes(body);
    }
    let basic = remote.auth.basic_for(&url);
    let resp = exchange(remote, session, req, basic.as_deref(), &mut payload)?;
    let resp = remote.check(resp)?;
    let Some(token) = parse_token(&header_all(&resp, "x-docker-token")) else {
        return Ok((None, resp));
    };
    let endpoint = match parse_endpoints(&header_all(&resp, "x-docker-endpoints")) {
        Ok(Some(host)) => format!("{}://{host}", scheme_of(&remote.base)),
        Ok(None) => remote.base.clone(),
        Err(bad) => {
            return Err(Error::protocol(format!(
                "{what}: the index named an invalid registry endpoint {:?}",
                bad.chars().take(100).collect::<String>()
            )))
        }
    };
    let token = IndexToken { token, endpoint };
    session.remember(repo, access, &token);
    Ok((Some(token), resp))
}

/// Who a registry request acts for: a repository, with the access its token
/// must grant; or an image, whose path names no repository: with the
/// repository it belongs to, or (`None`) whichever the session's latest
/// token for that access is for.
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    Repo(&'a str, Access),
    Image(Option<&'a str>, Access),
}

/// `GET path` for `target` (see [`send`]), whatever its status.
pub(crate) fn get(
    remote: &Remote<'_>,
    session: &Session,
    path: &str,
    target: Target<'_>,
) -> Result<ureq::http::Response<ureq::Body>> {
    send(
        remote,
        session,
        "GET",
        path,
        target,
        &[],
        &mut Payload::Empty,
    )
}

/// Sends a request to the registry for `target` and returns the response,
/// whatever its status. A standalone registry gets basic credentials; one
/// behind an index gets the index's token for the target (fetched when the
/// session has none), at the endpoint the index named with it, and its
/// session cookies; a refused token is replaced once (bodies that can be
/// sent again only).
pub(crate) fn send(
    remote: &Remote<'_>,
    session: &Session,
    method: &str,
    path: &str,
    target: Target<'_>,
    headers: &[(&'static str, &str)],
    payload: &mut Payload<'_>,
) -> Result<ureq::http::Response<ureq::Body>> {
    let run = |endpoint: &str, authorization: Option<String>, payload: &mut Payload<'_>| {
        let mut req =
            Request::new(method, format!("{endpoint}{path}")).header("Accept", "application/json");
        for (k, v) in headers {
            req = req.header(k, *v);
        }
        if method == "PUT" && path.ends_with("/layer") {
            req = req.bulk();
        }
        exchange(remote, session, req, authorization.as_deref(), payload)
    };
    if super::standalone(remote, session)? {
        let basic = remote.auth.basic_for(&remote.base);
        return run(&remote.base, basic, payload);
    }
    let (repo, access) = match target {
        Target::Repo(repo, access) | Target::Image(Some(repo), access) => (Some(repo), access),
        Target::Image(None, access) => (None, access),
    };
    let token = match repo {
        Some(repo) => Some(session_token(remote, session, repo, access)?),
        None => session.latest(access),
    };
    let Some(token) = token else {
        // No token for this access yet: the cookies of an endpoint may do.
        let endpoint = [Access::Read, Access::Write, Access::Delete]
            .into_iter()
            .find_map(|a| session.latest(a))
            .map_or_else(|| remote.base.clone(), |t| t.endpoint);
        return run(&endpoint, None, payload);
    };
    let resp = run(&token.endpoint, Some(token.authorization()), payload)?;
    match repo {
        Some(repo) if resp.status().as_u16() == 401 && payload.replayable() => {
            let fresh = index_token(remote, session, repo, access)?;
            run(&fresh.endpoint, Some(fresh.authorization()), payload)
        }
        _ => Ok(resp),
    }
}

/// The token from the `X-Docker-Token` values: each without a leading
/// `Token ` (some registries include it), joined with `,`.
pub(crate) fn parse_token(values: &[String]) -> Option<String> {
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
pub(crate) fn parse_endpoints(values: &[String]) -> std::result::Result<Option<String>, String> {
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

    #[test]
    fn session_tokens_are_kept_per_repository() {
        let s = Session::default();
        let t = |tok: &str| IndexToken {
            token: tok.into(),
            endpoint: "http://e".into(),
        };
        s.remember("a/one", Access::Read, &t("ta"));
        s.remember("b/two", Access::Read, &t("tb"));
        assert_eq!(s.token_for("a/one", Access::Read).unwrap().token, "ta");
        assert_eq!(s.token_for("b/two", Access::Read).unwrap().token, "tb");
        assert!(s.token_for("a/one", Access::Write).is_none());
        assert_eq!(s.latest(Access::Read).unwrap().token, "tb");
    }
}
