//! HTTP plumbing: one ureq `Agent` per client (one connection pool), TLS and
//! proxies, deadlines, retries, and redirects that carry credentials and
//! cookies only to the origin they belong to; bounded body reads.
//!
//! Every request ends: a small document (JSON, token, manifest, error body)
//! must arrive whole within the client's timeout (a deadline for the whole
//! request, redirects included); a bulk transfer (blob bytes) may take as
//! long as it needs but fails when no byte moves within the timeout.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ureq::http::{self, HeaderValue, Response};
use ureq::{Agent, Body, SendBody};

use crate::error::{what_of, Error, ErrorKind, ReadBy, Result, Sent};
use crate::ratelimit::{Pacer, RateLimitStatus};
use crate::url::{describe, origin_of, path_of, resolve};

/// How many redirects one request may follow.
const MAX_REDIRECTS: usize = 10;
/// The first retry waits about this long; each further one twice as long.
const RETRY_BASE: Duration = Duration::from_millis(200);
/// No backoff wait is longer than this.
const RETRY_MAX_WAIT: Duration = Duration::from_secs(10);
/// A `Retry-After` longer than this is cut to it.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(30);
/// Cookies kept per origin, and the longest cookie value kept.
const MAX_COOKIES: usize = 32;
const MAX_COOKIE_LEN: usize = 4096;
/// Origins whose cookies the jar keeps (a v1 index and its registries).
const MAX_COOKIE_ORIGINS: usize = 16;

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
    /// How many requests may be in flight at once to one host (whole-image
    /// calls); the pool keeps that many connections, and a few more.
    pub connections: usize,
    /// Requests per second to the registry (0 = no limit; see [`Pacer`]).
    pub rate_limit: u32,
}

/// The shared HTTP client of one `Client`.
#[derive(Clone)]
pub(crate) struct Transport {
    agent: Agent,
    max_retries: u32,
    timeout: Duration,
    /// The pace of requests to the registry, shared by every clone.
    pacer: Arc<Pacer>,
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
    /// A blob transfer: a stall timeout instead of a whole-request deadline.
    pub bulk: bool,
    /// Cookies to send and keep, per origin (v1 sessions).
    pub cookies: Option<&'a CookieJar>,
    /// Cleanup after a failure or a cancel: sent once, under a deadline of
    /// [`BEST_EFFORT_DEADLINE`], even when the work was told to stop.
    pub best_effort: bool,
    /// How messages name the request, when not "METHOD /path".
    pub label: Option<String>,
    /// A request to the registry (the default), which waits for its turn
    /// (see [`Pacer`]); a token server's is not one.
    pub paced: bool,
}

/// The deadline of a [`Request::best_effort`] request.
pub(crate) const BEST_EFFORT_DEADLINE: Duration = Duration::from_secs(1);

impl<'a> Request<'a> {
    pub fn new(method: &'a str, url: String) -> Request<'a> {
        Request {
            method,
            url,
            headers: Vec::new(),
            bulk: false,
            cookies: None,
            best_effort: false,
            label: None,
            paced: true,
        }
    }

    /// Marks a request that does not go to the registry itself (a token
    /// server's): it neither waits for the client's turn nor pauses it.
    pub fn unpaced(mut self) -> Request<'a> {
        self.paced = false;
        self
    }

    /// How messages name this request: "METHOD /path" (no query: upload
    /// URLs carry server state there), or its [`labelled`](Self::labelled) name.
    pub fn what(&self) -> String {
        match &self.label {
            Some(l) => l.clone(),
            None => format!("{} {}", self.method, describe(path_of(&self.url))),
        }
    }

    /// Names the request otherwise in messages (a token server's, say,
    /// whose host matters).
    pub fn labelled(mut self, label: String) -> Request<'a> {
        self.label = Some(label);
        self
    }

    /// Marks a cleanup request (see the field).
    pub fn best_effort(mut self) -> Request<'a> {
        self.best_effort = true;
        self
    }

    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request<'a> {
        self.headers.push((name, value.into()));
        self
    }

    /// Marks a blob transfer (see the module doc).
    pub fn bulk(mut self) -> Request<'a> {
        self.bulk = true;
        self
    }

    /// Sends the jar's cookies for each hop's origin and keeps what each hop sets.
    pub fn cookies(mut self, jar: &'a CookieJar) -> Request<'a> {
        self.cookies = Some(jar);
        self
    }
}

/// An `Authorization` value and the one origin (`scheme://host:port`, see
/// [`origin_of`]) it may be sent to. A hop to any other origin goes without it.
#[derive(Clone, Copy)]
pub(crate) struct Credential<'a> {
    pub value: &'a str,
    pub origin: &'a str,
}

/// The URL a response came from, after redirects; every response the
/// transport returns carries it in its extensions.
#[derive(Clone, Debug)]
pub(crate) struct FinalUrl(pub String);

/// The URL `resp` came from (see [`FinalUrl`]).
pub(crate) fn final_url(resp: &Response<Body>) -> &str {
    resp.extensions()
        .get::<FinalUrl>()
        .map_or("", |u| u.0.as_str())
}

/// Cookies by origin: sent back only to the origin that set them.
#[derive(Default)]
pub(crate) struct CookieJar {
    jar: Mutex<HashMap<String, Vec<(String, String)>>>,
}

impl CookieJar {
    /// The `Cookie` value for a request to `url`, if its origin set any.
    pub(crate) fn header_for(&self, url: &str) -> Option<String> {
        let jar = crate::sync::lock(&self.jar);
        let cookies = jar.get(&origin_of(url)).filter(|c| !c.is_empty())?;
        let pairs: Vec<String> = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
        Some(pairs.join("; "))
    }

    /// Keeps the `name=value` of every `Set-Cookie` in `resp` under `url`'s
    /// origin (attributes are ignored: the jar lives as long as the client),
    /// for [`MAX_COOKIE_ORIGINS`] origins at most: later ones get none.
    pub(crate) fn keep(&self, url: &str, resp: &Response<Body>) {
        let set = header_all(resp, "set-cookie");
        if set.is_empty() {
            return;
        }
        let mut jar = crate::sync::lock(&self.jar);
        let origin = origin_of(url);
        if !jar.contains_key(&origin) && jar.len() >= MAX_COOKIE_ORIGINS {
            return;
        }
        let cookies = jar.entry(origin).or_default();
        for line in set {
            let pair = line.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            let (name, value) = (name.trim().to_string(), value.trim().to_string());
            if name.is_empty() || name.len() + value.len() > MAX_COOKIE_LEN {
                continue;
            }
            match cookies.iter().position(|(n, _)| *n == name) {
                Some(i) => cookies[i].1 = value,
                None if cookies.len() < MAX_COOKIES => cookies.push((name, value)),
                None => {}
            }
        }
    }

    /// Every cookie value, for redaction.
    pub fn values(&self) -> Vec<String> {
        let jar = crate::sync::lock(&self.jar);
        jar.values()
            .flat_map(|c| c.iter().map(|(_, v)| v.clone()))
            .collect()
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
            .max_idle_connections_per_host(cfg.connections + 2)
            .max_idle_connections(cfg.connections + 8)
            .build();
        let tls = crate::tls::TlsSettings {
            ca_pem: cfg.ca_pem.as_deref(),
            client_cert: cfg.client_cert.as_ref().map(|(c, k)| (&c[..], &k[..])),
        };
        Ok(Transport {
            agent: crate::tls::agent(config, &tls)?,
            max_retries: cfg.max_retries,
            timeout: cfg.timeout,
            pacer: Arc::new(Pacer::new(cfg.rate_limit)),
        })
    }

    /// What the registry's `RateLimit-*` headers last said.
    pub fn rate_limit_status(&self) -> Option<RateLimitStatus> {
        self.pacer.status()
    }

    /// Sends `req`, following redirects for GET and HEAD, and retrying
    /// idempotent requests with a replayable body (GET, HEAD, PUT, DELETE) on
    /// connection errors, timeouts, 429, 502, 503 and 504, with exponential
    /// backoff and jitter, honouring `Retry-After`. POST and streamed bodies
    /// are sent once. `credential` goes only to hops of its own origin, the
    /// request's cookies only to the origin that set them. Work told to stop
    /// (see `cancel`) sends nothing more and ends with ABORTED, but for a
    /// best-effort cleanup, which goes once, under its own short deadline.
    ///
    /// Each try of a [`paced`](Request::paced) request (retries included)
    /// waits for its turn (the client's rate limit, and any pause); a 429 to
    /// one pauses every paced request of the client, on every thread, for its
    /// `Retry-After` (at most 30 s) or else the backoff, after the last try
    /// too. Best-effort cleanups are not paced.
    pub fn send(
        &self,
        req: &Request<'_>,
        credential: Option<Credential<'_>>,
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        if req.best_effort {
            return crate::cancel::outside(|| self.send_once(req, credential, payload));
        }
        let retries =
            if payload.replayable() && matches!(req.method, "GET" | "HEAD" | "PUT" | "DELETE") {
                self.max_retries
            } else {
                0
            };
        let mut attempt = 0;
        loop {
            if crate::cancel::stopped() {
                return Err(crate::cancel::aborted());
            }
            if req.paced {
                self.pacer.wait_turn();
                if crate::cancel::stopped() {
                    return Err(crate::cancel::aborted());
                }
            }
            let result =
                self.send_once(req, credential, payload).map_err(
                    |e| match crate::cancel::stopped() {
                        true => crate::cancel::aborted(),
                        false => e,
                    },
                );
            let retry_after = match &result {
                Ok(resp) if matches!(resp.status().as_u16(), 429 | 502 | 503 | 504) => {
                    Some(header(resp, "retry-after").and_then(|v| parse_retry_after(&v)))
                }
                Err(e) if matches!(e.kind(), ErrorKind::Network | ErrorKind::Timeout) => Some(None),
                _ => None,
            };
            let Some(after) = retry_after else {
                return result;
            };
            let wait = after.map_or_else(|| backoff(attempt), |a| a.min(RETRY_AFTER_CAP));
            // A 429 slows the whole client: the pause holds every thread's
            // next try, this one's retry included.
            let shared = req.paced && matches!(&result, Ok(r) if r.status().as_u16() == 429);
            if shared {
                self.pacer.pause(wait);
            }
            if attempt >= retries {
                return result;
            }
            if !shared {
                crate::cancel::sleep(wait);
            }
            attempt += 1;
        }
    }

    /// One try: the request and its redirects, each hop under what is left of
    /// the request's deadline (documents) or the stall timeout (bulk).
    fn send_once(
        &self,
        req: &Request<'_>,
        credential: Option<Credential<'_>>,
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        let timeout = match req.best_effort {
            true => self.timeout.min(BEST_EFFORT_DEADLINE),
            false => self.timeout,
        };
        let deadline = Instant::now() + timeout;
        let mut url = req.url.clone();
        let follows = matches!(req.method, "GET" | "HEAD");
        for _ in 0..=MAX_REDIRECTS {
            let what = || format!("{} {}", req.method, describe(&url));
            let mut b = http::Request::builder()
                .method(req.method)
                .uri(url.as_str());
            for (k, v) in &req.headers {
                b = b.header(*k, v.as_str());
            }
            if let Some(c) = credential.filter(|c| origin_of(&url) == c.origin) {
                b = b.header("Authorization", sensitive(c.value)?);
            }
            if let Some(cookie) = req.cookies.and_then(|jar| jar.header_for(&url)) {
                b = b.header("Cookie", sensitive(&cookie)?);
            }
            let b = with_usual_capitals(&self.agent, b);
            let global = if req.bulk {
                None
            } else {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(self.deadline_error(&what()));
                }
                Some(left)
            };
            let built = |e: http::Error| {
                Error::invalid(format!("cannot build request for {}: {e}", path_of(&url)))
            };
            let agent = &self.agent;
            let result = match payload {
                Payload::Empty => {
                    let r = b.body(()).map_err(built)?;
                    agent.run(agent.configure_request(r).timeout_global(global).build())
                }
                Payload::Bytes(bytes) => {
                    let r = b.body(*bytes).map_err(built)?;
                    agent.run(agent.configure_request(r).timeout_global(global).build())
                }
                Payload::Stream(reader) => {
                    let r = b
                        .body(SendBody::from_reader(&mut **reader))
                        .map_err(built)?;
                    agent.run(agent.configure_request(r).timeout_global(global).build())
                }
            };
            let mut resp = result.map_err(|e| self.map_error(e, &what(), req.bulk))?;
            // The registry's own rate-limit headers; not a redirect target's.
            if req.paced && origin_of(&url) == origin_of(&req.url) {
                self.pacer.observe(resp.headers());
            }
            if let Some(jar) = req.cookies {
                jar.keep(&url, &resp);
            }
            let status = resp.status().as_u16();
            if follows && matches!(status, 301 | 302 | 303 | 307 | 308) {
                if let Some(loc) = header(&resp, "location") {
                    url = resolve(&url, &loc);
                    continue;
                }
            }
            resp.extensions_mut().insert(FinalUrl(url));
            let read_by = if req.bulk {
                Instant::now() + self.timeout
            } else {
                deadline
            };
            resp.extensions_mut().insert(ReadBy(read_by));
            resp.extensions_mut().insert(Sent(req.what()));
            return Ok(resp);
        }
        Err(Error::protocol(format!(
            "{} {}: more than {MAX_REDIRECTS} redirects",
            req.method,
            path_of(&req.url)
        )))
    }

    fn deadline_error(&self, what: &str) -> Error {
        Error::new(
            ErrorKind::Timeout,
            format!(
                "{what}: no complete answer within {} ms",
                self.timeout.as_millis()
            ),
        )
    }

    /// A ureq error, with the timeouts said in words.
    fn map_error(&self, e: ureq::Error, what: &str, bulk: bool) -> Error {
        match e {
            ureq::Error::Timeout(ureq::Timeout::Global) => self.deadline_error(what),
            ureq::Error::Timeout(_) if bulk => Error::new(
                ErrorKind::Timeout,
                format!(
                    "{what}: stalled, no byte moved within {} ms",
                    self.timeout.as_millis()
                ),
            ),
            e => Error::from_ureq(e, what),
        }
    }
}

/// The wait before retry number `attempt` (0-based): 200 ms, 400 ms, 800 ms …
/// up to 10 s, each between 75 % and 125 % of that.
pub(crate) fn backoff(attempt: u32) -> Duration {
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
pub(crate) fn parse_http_date(v: &str) -> Option<u64> {
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
    // HTTP dates have four-digit years; a larger one would overflow below.
    if !(0..=9999).contains(&year) {
        return None;
    }
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

/// Has the header names of `b` written with their usual capitals
/// (`Authorization`, `Content-Type`), as docker, skopeo and curl write them.
/// Names are case-insensitive, but some registries and the proxies in front
/// of them look for `Authorization` spelled so: given ureq's lower-case
/// `authorization`, they never see the credentials and answer 401 forever.
/// ureq keeps a spelling per header only through its own request builder, so
/// one is made to spell them and lends `b` the result (an extension of the
/// request). The values stay in `b`.
fn with_usual_capitals(agent: &Agent, mut b: http::request::Builder) -> http::request::Builder {
    let Some(headers) = b.headers_ref() else {
        return b;
    };
    let mut speller = agent.get("http://spelling.invalid/");
    for (name, value) in headers {
        speller = speller.header_raw(&usual_capitals(name.as_str()), value.as_bytes());
    }
    let spelled = speller.extensions_ref().cloned();
    if let (Some(spelled), Some(ext)) = (spelled, b.extensions_mut()) {
        ext.extend(spelled);
    }
    b
}

/// `content-type` → `Content-Type`: each `-`-separated word capitalised.
fn usual_capitals(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut start = true;
    for c in name.chars() {
        out.push(if start { c.to_ascii_uppercase() } else { c });
        start = c == '-';
    }
    out
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
pub(crate) fn read_capped(resp: Response<Body>, cap: u64) -> Result<Vec<u8>> {
    let what = what_of(&resp).to_string();
    resp.into_body()
        .into_with_config()
        .limit(cap)
        .read_to_vec()
        .map_err(|e| match e {
            ureq::Error::BodyExceedsLimit(_) => Error::new(
                ErrorKind::TooLarge,
                format!("{what}: response is larger than the {cap}-byte cap"),
            ),
            e => Error::from_ureq(e, &what),
        })
}

/// The bound on a listing read page by page (catalog, tags, v1 search):
/// each page at most 4 MiB, all pages together at most 16 MiB and 250,000
/// names; past that, TOO_LARGE.
pub(crate) struct ListBudget {
    bytes: u64,
    names: usize,
    /// The request of the latest page, for messages.
    what: String,
}

impl ListBudget {
    const PAGE_BYTES: u64 = 4 << 20;
    const TOTAL_BYTES: u64 = 16 << 20;
    const NAMES: usize = 250_000;

    pub fn new() -> ListBudget {
        ListBudget {
            bytes: 0,
            names: 0,
            what: String::new(),
        }
    }

    /// Reads one page's body within what is left.
    pub fn read_page(&mut self, resp: Response<Body>) -> Result<Vec<u8>> {
        self.what = what_of(&resp).to_string();
        let cap = Self::PAGE_BYTES.min(Self::TOTAL_BYTES - self.bytes);
        let bytes = read_capped(resp, cap).map_err(|e| match e.kind() {
            ErrorKind::TooLarge if cap < Self::PAGE_BYTES => self.exceeded(),
            _ => e,
        })?;
        self.bytes += bytes.len() as u64;
        Ok(bytes)
    }

    /// Counts a page's names.
    pub fn count(&mut self, names: usize) -> Result<()> {
        self.names += names;
        if self.names > Self::NAMES {
            return Err(self.exceeded());
        }
        Ok(())
    }

    fn exceeded(&self) -> Error {
        let what = &self.what;
        Error::new(
            ErrorKind::TooLarge,
            format!(
                "{what}: the listing is longer than the client reads ({} bytes or {} names \
                 over all pages)",
                Self::TOTAL_BYTES,
                Self::NAMES
            ),
        )
    }
}

/// Reads and decodes a JSON body of at most `cap` bytes.
pub(crate) fn read_json<T: serde::de::DeserializeOwned>(
    resp: Response<Body>,
    cap: u64,
) -> Result<T> {
    let what = what_of(&resp).to_string();
    decode_json(&read_capped(resp, cap)?, &what)
}

/// Decodes a JSON document the registry sent.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::protocol(format!("{what}: malformed JSON from the registry: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_jar_is_bounded_in_origins_cookies_and_length() {
        let set = |values: &[String]| {
            let mut resp = Response::builder().status(200);
            for v in values {
                resp = resp.header("set-cookie", v.as_str());
            }
            resp.body(Body::builder().data(Vec::new())).unwrap()
        };
        let jar = CookieJar::default();
        let many: Vec<String> = (0..100).map(|i| format!("c{i}=v{i}; Path=/")).collect();
        for port in 1..=100 {
            jar.keep(&format!("http://127.0.0.1:{port}/x"), &set(&many));
        }
        let long = format!("big={}", "x".repeat(MAX_COOKIE_LEN));
        jar.keep("http://127.0.0.1:1/", &set(&[long]));
        assert_eq!(jar.values().len(), MAX_COOKIE_ORIGINS * MAX_COOKIES);
        assert!(jar.header_for("http://127.0.0.1:1/v1/").is_some());
        assert!(
            jar.header_for("http://127.0.0.1:99/v1/").is_none(),
            "origins past the cap get none"
        );
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
        // Found by fuzzing: a huge year overflowed the day count.
        assert_eq!(
            parse_http_date("Sun, 06 Nov 3709551615994 08:49:37 GMT"),
            None
        );
        assert_eq!(
            parse_http_date(&format!("Sun, 06 Nov {} 08:49:37 GMT", i64::MIN)),
            None
        );
        for attempt in 0..20 {
            let b = backoff(attempt);
            let base = RETRY_BASE
                .saturating_mul(1 << attempt.min(16))
                .min(RETRY_MAX_WAIT);
            assert!(b >= base * 3 / 4 && b <= base * 5 / 4, "{attempt}: {b:?}");
        }
    }
}
