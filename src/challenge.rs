//! `WWW-Authenticate` parsing (RFC 7235, RFC 6750 §3), as distribution's
//! client does it: schemes compared case-insensitively, keys lower-cased,
//! values as tokens or quoted strings with backslash escapes, several
//! challenges per header value and several header values per response.

#![forbid(unsafe_code)]

use std::collections::HashMap;

use ureq::http::Response;
use ureq::Body;

/// One challenge: a lower-cased scheme (`basic`, `bearer`, `token`) and its
/// parameters (keys lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Challenge {
    pub scheme: String,
    pub params: HashMap<String, String>,
}

impl Challenge {
    pub fn param(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// The scopes named by the `scope` parameter (space-separated).
    pub fn scopes(&self) -> Vec<String> {
        self.param("scope")
            .map(|s| s.split_ascii_whitespace().map(str::to_string).collect())
            .unwrap_or_default()
    }
}

/// The challenges in a response's `WWW-Authenticate` headers.
pub(crate) fn challenges_of(resp: &Response<Body>) -> Vec<Challenge> {
    parse_all(
        resp.headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    )
}

/// Parses every challenge in every given header value.
pub(crate) fn parse_all<'a>(values: impl IntoIterator<Item = &'a str>) -> Vec<Challenge> {
    values.into_iter().flat_map(parse).collect()
}

/// Parses the challenges in one header value.
pub(crate) fn parse(value: &str) -> Vec<Challenge> {
    let mut p = Parser {
        s: value.as_bytes(),
        i: 0,
    };
    let mut out: Vec<Challenge> = Vec::new();
    loop {
        p.skip_ws_and_commas();
        let Some(scheme) = p.token() else { break };
        let mut params = HashMap::new();
        loop {
            p.skip_ws();
            let save = p.i;
            let Some(key) = p.token() else { break };
            p.skip_ws();
            if !p.eat(b'=') {
                // A token with no '=' starts the next challenge.
                p.i = save;
                break;
            }
            p.skip_ws();
            let value = if p.peek() == Some(b'"') {
                p.quoted()
            } else {
                p.token().unwrap_or_default()
            };
            params.insert(key.to_ascii_lowercase(), value);
            p.skip_ws();
            if !p.eat(b',') {
                break;
            }
        }
        out.push(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        });
        if p.i >= p.s.len() {
            break;
        }
        // Skip anything the grammar does not allow, up to the next comma.
        while p.i < p.s.len() && !matches!(p.s[p.i], b',') && p.peek_is_junk() {
            p.i += 1;
        }
    }
    out
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn peek_is_junk(&self) -> bool {
        self.peek().is_some_and(|c| !is_tchar(c) && c != b' ')
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.i += 1;
        }
    }

    fn skip_ws_and_commas(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b',')) {
            self.i += 1;
        }
    }

    fn token(&mut self) -> Option<String> {
        let start = self.i;
        while self.peek().is_some_and(is_tchar) {
            self.i += 1;
        }
        (self.i > start).then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
    }

    fn quoted(&mut self) -> String {
        self.i += 1; // opening quote
        let mut out = Vec::new();
        while let Some(c) = self.peek() {
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    if let Some(n) = self.peek() {
                        out.push(n);
                        self.i += 1;
                    }
                }
                _ => out.push(c),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// RFC 7230 `tchar`, plus `/` and `:` so that unquoted realms and scopes parse.
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:".contains(&c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distribution_forms() {
        let c = parse(
            r#"Bearer realm="http://127.0.0.1:9/token",service="test-registry",scope="repository:test/a:pull,push",error="insufficient_scope""#,
        );
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].scheme, "bearer");
        assert_eq!(c[0].param("realm"), Some("http://127.0.0.1:9/token"));
        assert_eq!(c[0].param("service"), Some("test-registry"));
        assert_eq!(c[0].scopes(), vec!["repository:test/a:pull,push"]);
        assert_eq!(c[0].param("error"), Some("insufficient_scope"));
    }

    #[test]
    fn unquoted_several_and_escapes() {
        let c = parse(r#"Basic realm="a \"b\"", BEARER Realm=https://auth/t, service=svc"#);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].scheme, "basic");
        assert_eq!(c[0].param("realm"), Some(r#"a "b""#));
        assert_eq!(c[1].scheme, "bearer");
        assert_eq!(c[1].param("realm"), Some("https://auth/t"));
        assert_eq!(c[1].param("service"), Some("svc"));
    }

    #[test]
    fn bare_schemes_and_multiple_scopes() {
        let c = parse_all(["Token", r#"Basic realm="x",Token"#]);
        let schemes: Vec<_> = c.iter().map(|c| c.scheme.as_str()).collect();
        assert_eq!(schemes, ["token", "basic", "token"]);
        let c = parse(r#"Bearer realm="r",scope="repository:m:push,pull repository:a:pull""#);
        assert_eq!(
            c[0].scopes(),
            ["repository:m:push,pull", "repository:a:pull"]
        );
        assert!(parse("").is_empty());
        assert!(parse(" , ").is_empty());
    }
}
