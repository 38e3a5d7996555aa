//! Rate limits: the pace of one client's requests to its registry, shared
//! by every thread and clone ([`Pacer`]): at most `per_second` of them, and
//! none at all while a 429 pause lasts; and what the registry's
//! `RateLimit-*` headers (Docker Hub's) last said ([`RateLimitStatus`]).

#![forbid(unsafe_code)]

use std::sync::Mutex;
use std::time::{Duration, Instant};

use ureq::http::HeaderMap;

use crate::sync::lock;

/// The longest `docker-ratelimit-source` kept (an IP address or a UUID);
/// a longer one is dropped.
const MAX_SOURCE_LEN: usize = 256;

/// A registry's rate limit as its `RateLimit-Limit` and `RateLimit-Remaining`
/// headers state it (Docker Hub: `100;w=21600`: 100 pulls per 21,600 s
/// window), with the `docker-ratelimit-source` it is counted for (the
/// client's IP address, or the account's id).
///
/// # Examples
///
/// ```
/// let client = registry::Client::builder("localhost:5000").build()?;
/// // Nothing seen yet: no request was sent.
/// assert_eq!(client.rate_limit_status(), None);
/// # Ok::<(), registry::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimitStatus {
    /// Requests (Docker Hub: manifest GETs) allowed per window.
    pub limit: u64,
    /// What is left of them in the current window.
    pub remaining: u64,
    /// The window in seconds (the `w=` parameter), if the registry said.
    pub window_seconds: Option<u64>,
    /// What the limit is counted for (`docker-ratelimit-source`), if said.
    pub source: Option<String>,
}

impl RateLimitStatus {
    /// The status the headers of a response state, if they state one: both
    /// `RateLimit-Limit` and `RateLimit-Remaining` present and well formed.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Option<RateLimitStatus> {
        let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (limit, limit_window) = parse_quota(value("ratelimit-limit")?)?;
        let (remaining, remaining_window) = parse_quota(value("ratelimit-remaining")?)?;
        let source = value("docker-ratelimit-source")
            .map(str::trim)
            .filter(|s| !s.is_empty() && s.len() <= MAX_SOURCE_LEN)
            .map(str::to_string);
        Some(RateLimitStatus {
            limit,
            remaining,
            window_seconds: limit_window.or(remaining_window),
            source,
        })
    }

    /// `{"limit":…,"remaining":…,"window_seconds":…,"source":…}` (null for
    /// what was not said), as the C, Ruby and Go APIs hand it out.
    #[cfg_attr(not(feature = "capi"), allow(dead_code))]
    pub(crate) fn to_json(&self) -> String {
        // A struct, so that the keys keep this order.
        #[derive(serde::Serialize)]
        struct Json<'a> {
            limit: u64,
            remaining: u64,
            window_seconds: Option<u64>,
            source: Option<&'a str>,
        }
        let json = Json {
            limit: self.limit,
            remaining: self.remaining,
            window_seconds: self.window_seconds,
            source: self.source.as_deref(),
        };
        serde_json::to_string(&json).unwrap_or_else(|_| "null".to_string())
    }
}

/// `100;w=21600` (Docker Hub), or a bare `100`: the count, and the window
/// in seconds if a `w=` parameter gives one. Other parameters are ignored;
/// a count that is not a number makes the whole value malformed (`None`).
pub(crate) fn parse_quota(value: &str) -> Option<(u64, Option<u64>)> {
    let mut parts = value.split(';');
    let count = parts.next()?.trim();
    if count.is_empty() || !count.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count = count.parse().ok()?;
    let window = parts
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("w"))
        .and_then(|(_, v)| v.trim().parse().ok());
    Some((count, window))
}

/// The pace of one client's requests to its registry (see the module doc).
/// One per transport, so shared by every clone and thread of a client.
pub(crate) struct Pacer {
    /// The least time between two requests' turns; `None`: no limit.
    interval: Option<Duration>,
    state: Mutex<State>,
    /// The last [`RateLimitStatus`] a response stated.
    seen: Mutex<Option<RateLimitStatus>>,
}

#[derive(Default)]
struct State {
    /// The earliest turn the next request may take.
    next: Option<Instant>,
    /// No request goes out before this (a 429 was answered).
    paused_until: Option<Instant>,
}

impl Pacer {
    /// A pacer letting `per_second` requests go per second, one every
    /// `1/per_second` s (no bursts); 0: no limit (but 429 pauses).
    pub fn new(per_second: u32) -> Pacer {
        let interval = match per_second {
            0 => None,
            n => Some(Duration::from_secs(1) / n).filter(|d| !d.is_zero()),
        };
        Pacer {
            interval,
            state: Mutex::new(State::default()),
            seen: Mutex::new(None),
        }
    }

    /// Waits for the caller's turn: until any pause is over, then until one
    /// interval after the previous turn. Returns early when the work is told
    /// to stop (see `cancel`); the caller looks at that itself.
    pub fn wait_turn(&self) {
        loop {
            if crate::cancel::stopped() {
                return;
            }
            let now = Instant::now();
            let (until, took_turn) = {
                let mut s = lock(&self.state);
                match s.paused_until.filter(|p| *p > now) {
                    Some(p) => (p, false),
                    None => {
                        let Some(interval) = self.interval else {
                            return;
                        };
                        let turn = s.next.map_or(now, |n| n.max(now));
                        s.next = Some(turn + interval);
                        (turn, true)
                    }
                }
            };
            crate::cancel::sleep(until.saturating_duration_since(now));
            // A pause that began while this turn was awaited holds it back too.
            let paused = lock(&self.state)
                .paused_until
                .is_some_and(|p| p > Instant::now());
            if took_turn && !paused {
                return;
            }
        }
    }

    /// Holds every request back for `wait` from now (or longer, if an
    /// earlier pause lasts longer).
    pub fn pause(&self, wait: Duration) {
        let until = Instant::now() + wait;
        let mut s = lock(&self.state);
        if s.paused_until.is_none_or(|p| p < until) {
            s.paused_until = Some(until);
        }
    }

    /// Keeps the status `headers` state, if they state one; others leave
    /// the last one as it is.
    pub fn observe(&self, headers: &HeaderMap) {
        if let Some(status) = RateLimitStatus::from_headers(headers) {
            *lock(&self.seen) = Some(status);
        }
    }

    /// The last status seen.
    pub fn status(&self) -> Option<RateLimitStatus> {
        lock(&self.seen).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn headers(list: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in list {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_quota_grammar() {
        assert_eq!(parse_quota("100;w=21600"), Some((100, Some(21600))));
        assert_eq!(parse_quota("76;w=21600"), Some((76, Some(21600))));
        assert_eq!(parse_quota(" 5 ; W = 60 "), Some((5, Some(60))));
        assert_eq!(parse_quota("100"), Some((100, None)));
        assert_eq!(parse_quota("100;burst=5;w=60"), Some((100, Some(60))));
        assert_eq!(parse_quota("100;w=soon"), Some((100, None)));
        for garbage in [
            "",
            ";w=60",
            "abc",
            "-1;w=60",
            "+1",
            "1.5",
            "100w=60",
            "99999999999999999999999",
        ] {
            assert_eq!(parse_quota(garbage), None, "{garbage:?}");
        }
    }

    #[test]
    fn docker_hubs_headers_make_a_status_and_garbage_none() {
        let hub = headers(&[
            ("ratelimit-limit", "100;w=21600"),
            ("ratelimit-remaining", "76;w=21600"),
            ("docker-ratelimit-source", "192.0.2.7"),
        ]);
        assert_eq!(
            RateLimitStatus::from_headers(&hub),
            Some(RateLimitStatus {
                limit: 100,
                remaining: 76,
                window_seconds: Some(21600),
                source: Some("192.0.2.7".into()),
            })
        );
        let bare = headers(&[("RateLimit-Limit", "10"), ("RateLimit-Remaining", "0")]);
        let s = RateLimitStatus::from_headers(&bare).unwrap();
        assert_eq!((s.limit, s.remaining, s.window_seconds), (10, 0, None));
        assert_eq!(s.source, None);
        assert_eq!(
            s.to_json(),
            r#"{"limit":10,"remaining":0,"window_seconds":null,"source":null}"#
        );
        let long = "x".repeat(MAX_SOURCE_LEN + 1);
        for (what, h) in [
            ("missing", headers(&[])),
            ("limit only", headers(&[("ratelimit-limit", "100;w=21600")])),
            (
                "garbage",
                headers(&[("ratelimit-limit", "lots"), ("ratelimit-remaining", "1")]),
            ),
        ] {
            assert_eq!(RateLimitStatus::from_headers(&h), None, "{what}");
        }
        let long_source = headers(&[
            ("ratelimit-limit", "1"),
            ("ratelimit-remaining", "1"),
            ("docker-ratelimit-source", &long),
        ]);
        assert_eq!(
            RateLimitStatus::from_headers(&long_source).unwrap().source,
            None
        );
    }

    #[test]
    fn the_last_status_seen_is_kept_and_headerless_answers_keep_it() {
        let p = Pacer::new(0);
        assert_eq!(p.status(), None);
        p.observe(&headers(&[
            ("ratelimit-limit", "100;w=21600"),
            ("ratelimit-remaining", "76;w=21600"),
        ]));
        p.observe(&headers(&[]));
        assert_eq!(p.status().map(|s| s.remaining), Some(76));
        p.observe(&headers(&[
            ("ratelimit-limit", "100;w=21600"),
            ("ratelimit-remaining", "75;w=21600"),
        ]));
        assert_eq!(p.status().map(|s| s.remaining), Some(75));
    }

    // The bounds below are lower bounds on deliberate waits: a correctness
    // property of the pacer (it must not let requests go early), not a
    // performance assertion. Upper bounds are loose.

    #[test]
    fn turns_are_spaced_by_the_interval_across_threads() {
        let p = Arc::new(Pacer::new(20)); // one turn per 50 ms
        let start = Instant::now();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let p = p.clone();
                std::thread::spawn(move || {
                    for _ in 0..3 {
                        p.wait_turn();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        // 12 turns, 11 intervals of 50 ms.
        assert!(
            start.elapsed() >= Duration::from_millis(540),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn no_limit_means_no_wait_and_a_pause_holds_everyone() {
        let p = Pacer::new(0);
        let start = Instant::now();
        for _ in 0..100 {
            p.wait_turn();
        }
        assert!(start.elapsed() < Duration::from_secs(1));
        p.pause(Duration::from_millis(300));
        p.pause(Duration::from_millis(10)); // a shorter pause does not cut it
        let start = Instant::now();
        p.wait_turn();
        assert!(
            start.elapsed() >= Duration::from_millis(280),
            "{:?}",
            start.elapsed()
        );
    }

    #[test]
    fn a_stop_ends_a_wait_for_a_pause() {
        let p = Pacer::new(1);
        p.pause(Duration::from_secs(30));
        let stop = Arc::new(crate::cancel::Stop::default());
        let stopper = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                stop.stop();
            })
        };
        let start = Instant::now();
        crate::cancel::within(&stop, || p.wait_turn());
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "{:?}",
            start.elapsed()
        );
        stopper.join().unwrap();
    }
}
