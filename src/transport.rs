//! HTTP plumbing: one ureq `Agent` per client (one connection pool), timeouts,
//! TLS roots, redirects that never carry `Authorization` to another origin, and
//! bounded body reads.

use std::time::Duration;

use std::io::Read;

use ureq::http::{self, HeaderValue, Response};
use ureq::{Agent, Body, SendBody};

use crate::error::{Error, ErrorKind, Result};

/// How many redirects one request may follow.
const MAX_REDIRECTS: usize = 10;
/// The first retry waits about this long; each further one twice as long.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// No backoff wait is longer than this.
const RETRY_MAX_WAIT: Duration = Duration::from_secs(10);
/// A `Retry-After` longer than this is cut to it.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);

/// Settings the agent is built from.
pub(crate) struct TransportConfig {
    pub timeout: Duration,
    pub user_agent: String,
    pub ca_pem: Option<Vec<u8>>,
    /// A client certificate chain and key (PEM), for mutual TLS.
    pub client_cert: Option<(Vec<u8>, Vec<u8>)>,
    /// The proxy URL requests go through, if any.
    pub proxy: Option<String>,
    /// Extra tries for idempotent requests (0 = none).
    pub max_retries: u32,
}

/// The shared HTTP client of one `Client`.
#[derive(Clone)]
pub(crate) struct Transport {
    agent: Agent,
    max_retries: u32,
}

/// What a request sends: nothing, bytes that can be sent again after a
/// challenge, or a stream that can be sent once.
pub(crate) enum Payload<'b> {
    Empty,
    Bytes(&'b [u8]),
    Stream(&'b mut dyn Read),
}

impl Payload<'_> {
    /// Whether the request can be sent a second time.
    pub fn replayable(&self) -> bool {
        !matches!(self, Payload::Stream(_))
    }
}

/// One request: everything needed to send it again after an auth challenge
/// or a redirect.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
}

impl<'a> Request<'a> {
    pub fn new(method: &'a str, url: String) -> Request<'a> {
        Request {
            method,
            url,
            headers: Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request<'a> {
        self.headers.push((name, value.into()));
        self
    }
}

impl Transport {
    pub fn new(cfg: &TransportConfig) -> Result<Transport> {
        let proxy = match &cfg.proxy {
            Some(url) => Some(ureq::Proxy::new(url).map_err(|e| {
                Error::invalid(format!(
                    "invalid proxy {}: {e}",
                    crate::proxy::describe(url)
                ))
            })?),
            None => None,
        };
        let config = Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .user_agent(cfg.user_agent.as_str())
            .accept_encoding("")
            .proxy(proxy)
            .timeout_connect(Some(cfg.timeout))
            .timeout_send_request(Some(cfg.timeout))
            .timeout_recv_response(Some(cfg.timeout))
            .timeout_per_read(Some(cfg.timeout))
            .timeout_per_write(Some(cfg.timeout))
            .build();
        let tls = crate::tls::TlsSettings {
            ca_pem: cfg.ca_pem.as_deref(),
            client_cert: cfg.client_cert.as_ref().map(|(c, k)| (&c[..], &k[..])),
        };
        Ok(Transport {
            agent: crate::tls::agent(config, &tls)?,
            max_retries: cfg.max_retries,
        })
    }

    /// Sends `req` without a body; see [`send_with`](Self::send_with).
    pub fn send(&self, req: &Request<'_>, authorization: Option<&str>) -> Result<Response<Body>> {
        self.send_with(req, authorization, &mut Payload::Empty)
    }

    /// Sends `req`, following redirects for GET and HEAD, and retrying
    /// idempotent requests with a replayable body (GET, HEAD, PUT, DELETE) on
    /// connection errors, timeouts, 429, 502, 503 and 504, with exponential
    /// backoff and jitter, honouring `Retry-After`. POST and streamed bodies
    /// are sent once. The `authorization` value goes to the request's origin
    /// only: a redirect to another scheme, host or port drops it.
    pub fn send_with(
        &self,
        req: &Request<'_>,
        authorization: Option<&str>,
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        let retries =
            if payload.replayable() && matches!(req.method, "GET" | "HEAD" | "PUT" | "DELETE") {
                self.max_retries
            } else {
                0
            };
        let mut attempt = 0;
        loop {
            let result = self.send_once(req, authorization, payload);
            let retry_after = match &result {
                Ok(resp) if matches!(resp.status().as_u16(), 429 | 502 | 503 | 504) => {
                    Some(header(resp, "retry-after").and_then(|v| parse_retry_after(&v)))
                }
                Err(e) if matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout) => Some(None),
                _ => None,
            };
            match retry_after {
                Some(after) if attempt < retries => {
                    std::thread::sleep(
                        after.map_or_else(|| backoff(attempt), |a| a.min(RETRY_AFTER_CAP)),
                    );
                    attempt += 1;
                }
                _ => return result,
            }
        }
    }

    fn send_once(
        &self,
        req: &Request<'_>,
        authorization: Option<&str>,
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        let origin = origin_of(&req.url);
        let mut url = req.url.clone();
        let follows = matches!(req.method, "GET" | "HEAD");
        for _ in 0..=MAX_REDIRECTS {
            let mut b = http::Request::builder()
                .method(req.method)
                .uri(url.as_str());
            for (k, v) in &req.headers {
                b = b.header(*k, v.as_str());
            }
            if let Some(a) = authorization.filter(|_| origin_of(&url) == origin) {
                b = b.header("Authorization", sensitive(a)?);
            }
            let what = || format!("{} {}", req.method, describe(&url));
            let built = |e: http::Error| {
                Error::invalid(format!("cannot build request for {}: {e}", path_of(&url)))
            };
            let result = match payload {
                Payload::Empty => self.agent.run(b.body(()).map_err(built)?),
                Payload::Bytes(bytes) => self.agent.run(b.body(*bytes).map_err(built)?),
                Payload::Stream(reader) => self.agent.run(
                    b.body(SendBody::from_reader(&mut **reader))
                        .map_err(built)?,
                ),
            };
            let resp = result.map_err(|e| Error::from_ureq(e, &what()))?;
            let status = resp.status().as_u16();
            if follows && matches!(status, 301 | 302 | 303 | 307 | 308) {
                if let Some(loc) = header(&resp, "location") {
                    url = resolve(&url, &loc);
                    continue;
                }
            }
            return Ok(resp);
        }
        Err(Error::protocol(format!(
            "{} {}: more than {MAX_REDIRECTS} redirects",
            req.method,
            path_of(&req.url)
        )))
    }
}

/// The wait before retry number `attempt` (0-based): 200 ms, 400 ms, 800 ms …
/// up to 10 s, each between 75 % and 125 % of that.
fn backoff(attempt: u32) -> Duration {
    let base = RETRY_BASE
        .saturating_mul(1 << attempt.min(16))
        .min(RETRY_MAX_WAIT);
    // Jitter from the clock's sub-second nanoseconds: no RNG dependency needed.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let percent = 75 + (nanos % 51); // 75..=125
    base * percent / 100
}

/// `Retry-After`: delta seconds, or an HTTP date (RFC 9110 IMF-fixdate).
pub(crate) fn parse_retry_after(value: &str) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = parse_http_date(v)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_secs();
    Some(Duration::from_secs(when.saturating_sub(now)))
}

/// `Sun, 06 Nov 1994 08:49:37 GMT` as Unix seconds.
fn parse_http_date(v: &str) -> Option<u64> {
    let mut parts = v.split_ascii_whitespace();
    let _weekday = parts.next()?;
    let day: u64 = parts.next()?.parse().ok()?;
    let month = match parts.next()? {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        "Dec" => 12,
        _ => return None,
    };
    let year: i64 = parts.next()?.parse().ok()?;
    let mut hms = parts.next()?.split(':').map(|x| x.parse::<u64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if parts.next()? != "GMT" || !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    // Days from 1970-01-01 to the date (Howard Hinnant's days_from_civil).
    let (y, mo) = if month <= 2 {
        (year - 1, month + 9)
    } else {
        (year, month - 3)
    };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * mo + 2) / 5 + day as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + s)
}

fn sensitive(value: &str) -> Result<HeaderValue> {
    let mut v = HeaderValue::from_str(value)
        .map_err(|_| Error::invalid("credentials contain characters not allowed in a header"))?;
    v.set_sensitive(true);
    Ok(v)
}

/// The first value of a response header, as text.
pub(crate) fn header(resp: &Response<Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Every value of a response header that is sent more than once, as text,
/// trimmed, in order.
pub(crate) fn header_all(resp: &Response<Body>, name: &str) -> Vec<String> {
    resp.headers()
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
        .collect()
}

/// Reads a whole body, failing with TOO_LARGE past `cap` bytes.
pub(crate) fn read_capped(resp: Response<Body>, cap: u64, what: &str) -> Result<Vec<u8>> {
    resp.into_body()
        .into_with_config()
        .limit(cap)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Error::new(
                ErrorKind::TooLarge,
                format!("{what}: response is larger than the {cap}-byte cap"),
            ),
            e => Error::from_ureq(e, what),
        })
}

/// Reads and decodes a JSON body of at most `cap` bytes.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    resp: Response<Body>,
    cap: u64,
    what: &str,
) -> Result<T> {
    let bytes = read_capped(resp, cap, what)?;
    serde_json::from_slice(&bytes)
        .map_err(|e| Error::protocol(format!("{what}: malformed JSON from the registry: {e}")))
}

/// `scheme://authority` of a URL, lower-cased, with the default port made explicit.
pub(crate) fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority
        .rsplit('@')
        .next()
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let scheme = scheme.to_ascii_lowercase();
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'));
    match (scheme.as_str(), has_port) {
        ("https", false) => format!("https://{authority}:443"),
        ("http", false) => format!("http://{authority}:80"),
        _ => format!("{scheme}://{authority}"),
    }
}

/// The path and query of a URL, for messages.
pub(crate) fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

/// A URL for an error message: scheme, host and path, no query (upload URLs
/// carry server state there).
pub(crate) fn describe(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// Resolves a `Location` or `Link` reference against the URL of the request
/// that returned it (RFC 3986 §5.2, without dot-segment removal: registries
/// send absolute paths or full URLs).
pub(crate) fn resolve(base: &str, reference: &str) -> String {
    let reference = reference.trim();
    if reference.contains("://") {
        return reference.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = reference.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let path_and_query = &rest[authority_end..];
    let path = path_and_query.split(['?', '#']).next().unwrap_or("");
    if reference.starts_with('/') {
        format!("{scheme}://{authority}{reference}")
    } else if reference.starts_with('?') {
        format!("{scheme}://{authority}{path}{reference}")
    } else if reference.is_empty() {
        format!("{scheme}://{authority}{path}")
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{reference}")
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Appends `key=value` to a URL's query, keeping what is there.
pub(crate) fn add_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={}", encode(value))
}

/// The `rel="next"` target of an RFC 8288 `Link` header, if any.
pub(crate) fn next_link(link: &str) -> Option<String> {
    for entry in split_link_entries(link) {
        let entry = entry.trim();
        let Some(rest) = entry.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target.to_string());
        }
    }
    None
}

/// Splits a Link header at the commas between entries (not those inside `<…>`
/// or quotes).
fn split_link_entries(link: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_angle, mut in_quote, mut start) = (false, false, 0);
    for (i, c) in link.char_indices() {
        match c {
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            '"' if !in_angle => in_quote = !in_quote,
            ',' if !in_angle && !in_quote => {
                out.push(&link[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&link[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_references() {
        let base = "http://127.0.0.1:5000/v2/_catalog?n=1";
        assert_eq!(
            resolve(base, "/v2/_catalog?last=a&n=1"),
            "http://127.0.0.1:5000/v2/_catalog?last=a&n=1"
        );
        assert_eq!(resolve(base, "https://x/y?z"), "https://x/y?z");
        assert_eq!(resolve(base, "//cdn:9/b"), "http://cdn:9/b");
        assert_eq!(
            resolve(base, "?page=2"),
            "http://127.0.0.1:5000/v2/_catalog?page=2"
        );
        assert_eq!(resolve(base, "next"), "http://127.0.0.1:5000/v2/next");
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://Host/a"), "https://host:443");
        assert_eq!(origin_of("https://host:443/b?c"), "https://host:443");
        assert_ne!(origin_of("http://h:1/"), origin_of("http://h:2/"));
        assert_ne!(origin_of("http://h/"), origin_of("https://h/"));
        assert_eq!(origin_of("http://[::1]:5/x"), "http://[::1]:5");
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=test%2Fa&n=1>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=test%2Fa&n=1")
        );
        assert_eq!(
            next_link(r#"<https://a/x?a=1,2>; rel=prev, <https://a/y>; rel=next"#).as_deref(),
            Some("https://a/y")
        );
        assert_eq!(next_link(r#"<https://a/x>; rel="prev""#), None);
    }

    #[test]
    fn retry_after_and_backoff() {
        assert_eq!(parse_retry_after("3"), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777)
        );
        assert_eq!(parse_http_date("Thu, 01 Jan 1970 00:00:00 GMT"), Some(0));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(Duration::ZERO),
            "past"
        );
        assert_eq!(parse_retry_after("soon"), None);
        assert_eq!(parse_http_date("Sun, 32 Nov 1994 08:49:37 GMT"), None);
        for attempt in 0..20 {
            let b = backoff(attempt);
            let base = RETRY_BASE
                .saturating_mul(1 << attempt.min(16))
                .min(RETRY_MAX_WAIT);
            assert!(b >= base * 3 / 4 && b <= base * 5 / 4, "{attempt}: {b:?}");
        }
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(
            add_query("http://h/p?_state=x", "digest", "sha256:1"),
            "http://h/p?_state=x&digest=sha256%3A1"
        );
    }
}
