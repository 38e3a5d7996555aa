//! Bearer tokens from a token server (distribution's `token.md`, `oauth.md`):
//! the request, and the answer read leniently (`token` or `access_token`;
//! `expires_in` as whatever number or string a server sends, clamped).

#![forbid(unsafe_code)]

use std::time::Duration;

use serde::Deserialize;

use super::{may_send_password, Credentials};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{self, Credential, Payload, Request, Transport};
use crate::url::{add_query, describe, encode, origin_of};

/// Token answers are small; anything larger is refused.
const TOKEN_CAP: u64 = 1 << 20;
/// The longest token kept (JWTs of real registries are a few KiB).
const MAX_TOKEN_LEN: usize = 64 * 1024;
/// Token servers that send no usable `expires_in` mean 60 seconds, which is
/// also the shortest lifetime the spec allows.
const MIN_LIFETIME: u64 = 60;
/// However long a server says, a token is cached at most this long.
const MAX_LIFETIME: u64 = 24 * 3600;
/// Tokens are dropped this long before they expire.
const SLACK: u64 = 10;

/// A token and how long to cache it.
#[derive(PartialEq, Eq)]
pub(super) struct Fetched {
    pub token: String,
    pub lifetime: Duration,
}

impl std::fmt::Debug for Fetched {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fetched")
            .field("token", &"<redacted>")
            .field("lifetime", &self.lifetime)
            .finish()
    }
}

#[derive(Deserialize)]
struct Answer {
    token: Option<String>,
    access_token: Option<String>,
    #[serde(default)]
    expires_in: Option<serde_json::Value>,
}

/// A realm must be an http(s) URL.
pub(super) fn check_realm(realm: &str) -> Result<()> {
    let scheme = realm.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
    if matches!(scheme.as_deref(), Some("https" | "http")) && realm.len() <= 2048 {
        return Ok(());
    }
    Err(Error::protocol(format!(
        "the registry's token realm {:?} is not an http(s) URL",
        realm.chars().take(100).collect::<String>()
    )))
}

/// `GET <realm>?service=…&scope=…`, with basic credentials when there are
/// some and they may travel to the realm; with an identity token, an OAuth2
/// refresh grant (`POST`), and a plain GET when the server has no OAuth.
pub(super) fn fetch(
    t: &Transport,
    credentials: &Credentials,
    realm: &str,
    service: Option<&str>,
    scopes: &[String],
) -> Result<Fetched> {
    check_realm(realm)?;
    let realm_origin = origin_of(realm);
    let mut url = realm.to_string();
    if let Some(s) = service {
        url = add_query(&url, "service", s);
    }
    for s in scopes {
        url = add_query(&url, "scope", s);
    }
    let what = format!("token request to {}", describe(realm));
    let get = |url: String, basic: Option<&str>| {
        let req = Request::new("GET", url)
            .header("Accept", "application/json")
            .labelled(what.clone())
            .unpaced();
        let credential = basic.map(|value| Credential {
            value,
            origin: &realm_origin,
        });
        t.send(&req, credential, &mut Payload::Empty)
    };
    let resp = match credentials {
        Credentials::IdentityToken(refresh) if may_send_password(realm) => {
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
                .header("Accept", "application/json")
                .labelled(what.clone())
                .unpaced();
            let resp = t.send(&post, None, &mut Payload::Bytes(form.as_bytes()))?;
            if resp.status().as_u16() == 404 {
                get(url, None)?
            } else {
                resp
            }
        }
        Credentials::Basic { username, .. } if may_send_password(realm) => {
            let basic = credentials.basic_header();
            get(add_query(&url, "account", username), basic.as_deref())?
        }
        _ => get(url, None)?,
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
        return Err(Error::from_response(resp));
    }
    parse(&transport::read_capped(resp, TOKEN_CAP)?, &what)
}

/// Reads a token server's answer.
pub(crate) fn parse(body: &[u8], what: &str) -> Result<Fetched> {
    let answer: Answer = transport::decode_json(body, what)?;
    let token = answer
        .access_token
        .filter(|s| !s.is_empty())
        .or(answer.token.filter(|s| !s.is_empty()))
        .ok_or_else(|| Error::protocol(format!("{what}: the answer has no token")))?;
    if token.len() > MAX_TOKEN_LEN || token.contains(['\r', '\n']) {
        return Err(Error::protocol(format!(
            "{what}: the token is malformed or longer than {MAX_TOKEN_LEN} bytes"
        )));
    }
    let secs = lifetime_secs(answer.expires_in.as_ref());
    Ok(Fetched {
        token,
        lifetime: Duration::from_secs(secs.saturating_sub(SLACK)),
    })
}

/// `expires_in` in whole seconds between the minimum and the maximum: a
/// number (integer or fractional, any size or sign) or a numeric string; a
/// missing, negative, zero or unreadable value means the minimum.
fn lifetime_secs(expires_in: Option<&serde_json::Value>) -> u64 {
    let secs = match expires_in {
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match secs {
        Some(s) if s.is_finite() && s >= MAX_LIFETIME as f64 => MAX_LIFETIME,
        Some(s) if s.is_finite() && s > MIN_LIFETIME as f64 => s as u64,
        _ => MIN_LIFETIME,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifetime(json: &str) -> u64 {
        parse(json.as_bytes(), "t").unwrap().lifetime.as_secs() + SLACK
    }

    #[test]
    fn expires_in_every_shape() {
        assert_eq!(lifetime(r#"{"token":"t"}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":300}"#), 300);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":0}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":-5}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":-1e300}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":299.9}"#), 299);
        assert_eq!(
            lifetime(r#"{"token":"t","expires_in":18446744073709551615}"#),
            MAX_LIFETIME
        );
        assert_eq!(
            lifetime(r#"{"token":"t","expires_in":1e308}"#),
            MAX_LIFETIME
        );
        assert_eq!(lifetime(r#"{"token":"t","expires_in":"900"}"#), 900);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":"soon"}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":null}"#), 60);
        assert_eq!(lifetime(r#"{"token":"t","expires_in":[1]}"#), 60);
    }

    #[test]
    fn token_fields() {
        let f = parse(br#"{"access_token":"a","token":"b"}"#, "t").unwrap();
        assert_eq!(f.token, "a");
        let f = parse(br#"{"access_token":"","token":"b"}"#, "t").unwrap();
        assert_eq!(f.token, "b");
        let e = parse(br#"{"token":""}"#, "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        let e = parse(b"not json", "t").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Protocol);
        let long = format!(r#"{{"token":"{}"}}"#, "x".repeat(MAX_TOKEN_LEN + 1));
        assert_eq!(
            parse(long.as_bytes(), "t").unwrap_err().kind(),
            ErrorKind::Protocol
        );
    }

    #[test]
    fn realms() {
        assert!(check_realm("https://auth.example/token").is_ok());
        assert!(check_realm("HTTP://127.0.0.1:9/token").is_ok());
        assert!(check_realm("file:///etc/passwd").is_err());
        assert!(check_realm("/token").is_err());
    }
}
