//! Rate limits against servers that show what no real registry here does: a
//! 429 to one of several threads pausing them all, the client's own pace,
//! and Docker Hub's `RateLimit-*` headers.
//!
//! The time bounds below are lower bounds on deliberate waits (a pause the
//! server asked for, a pace the client was told to keep): a correctness
//! property (no request may go early), not a performance assertion. They
//! are loose, and nothing asserts that anything is fast.

use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use registry::{Api, Client, ErrorKind, ImageOptions, RateLimitStatus};
use serde_json::json;

mod common;
use common::temp_path;

fn digest_of(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

fn http(status: &str, headers: &[(&str, String)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// What the server saw: each request's arrival and first line, and when it
/// answered the 429.
#[derive(Default)]
struct Seen {
    arrivals: Vec<(Instant, String)>,
    blob_gets: usize,
    answered_429: Option<Instant>,
}

/// A registry serving `r:v1`, an image of eight layers, on a raw socket
/// (a thread per connection). The first blob GET is held until four blob
/// GETs are in flight (the four threads of a `parallel(4)` pull), then
/// answered 429 (with `retry_after`, if given); the other three are answered
/// 60 ms later, so that the client has read the 429 before they are
/// answered and their threads would go on. Every later request is answered
/// at once.
fn throttling_registry(retry_after: Option<u64>) -> (String, Arc<(Mutex<Seen>, Condvar)>, usize) {
    let config = br#"{"architecture":"amd64","os":"linux"}"#.to_vec();
    let layers: Vec<Vec<u8>> = (0..8)
        .map(|i| common::bytes(&format!("l{i}"), 1000))
        .collect();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(&config), "size": config.len()},
        "layers": layers.iter().map(|l| json!({
            "mediaType": "application/vnd.oci.image.layer.v1.tar",
            "digest": digest_of(l), "size": l.len()})).collect::<Vec<_>>(),
    }))
    .unwrap();
    let mut blobs: Vec<(String, Vec<u8>)> =
        layers.iter().map(|l| (digest_of(l), l.clone())).collect();
    blobs.push((digest_of(&config), config));
    let blob_count = blobs.len();
    let blobs = Arc::new(blobs);
    let manifest = Arc::new(manifest);
    let seen = Arc::new((Mutex::new(Seen::default()), Condvar::new()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let state = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let (state, blobs, manifest) = (state.clone(), blobs.clone(), manifest.clone());
            std::thread::spawn(move || {
                let head = common::read_head(&mut conn);
                let line = head.lines().next().unwrap_or("").to_string();
                let (lock, cv) = &*state;
                let mut s = lock.lock().unwrap();
                s.arrivals.push((Instant::now(), line.clone()));
                let path = line.split(' ').nth(1).unwrap_or("").to_string();
                let answer = if path.starts_with("/v2/r/manifests/") {
                    drop(s);
                    let ct = (
                        "Content-Type",
                        "application/vnd.oci.image.manifest.v1+json".to_string(),
                    );
                    let body: &[u8] = if line.starts_with("HEAD") {
                        b""
                    } else {
                        &manifest
                    };
                    http(
                        "200 OK",
                        &[ct, ("Docker-Content-Digest", digest_of(&manifest))],
                        body,
                    )
                } else if let Some(d) = path.strip_prefix("/v2/r/blobs/") {
                    s.blob_gets += 1;
                    let n = s.blob_gets;
                    cv.notify_all();
                    let bytes = blobs
                        .iter()
                        .find(|(digest, _)| digest == d)
                        .map(|(_, b)| b.clone());
                    if n <= 4 {
                        // The first wave: wait for all four.
                        let until = Instant::now() + Duration::from_secs(3);
                        while s.blob_gets < 4 && Instant::now() < until {
                            s = cv.wait_timeout(s, Duration::from_millis(50)).unwrap().0;
                        }
                    }
                    if n == 1 {
                        s.answered_429 = Some(Instant::now());
                        cv.notify_all();
                        drop(s);
                        let extra: Vec<(&str, String)> = retry_after
                            .map(|a| vec![("Retry-After", a.to_string())])
                            .unwrap_or_default();
                        http(
                            "429 Too Many Requests",
                            &extra,
                            br#"{"errors":[{"code":"TOOMANYREQUESTS","message":"slow down"}]}"#,
                        )
                    } else {
                        if n <= 4 {
                            let until = Instant::now() + Duration::from_secs(3);
                            while s.answered_429.is_none() && Instant::now() < until {
                                s = cv.wait_timeout(s, Duration::from_millis(50)).unwrap().0;
                            }
                            let at = s.answered_429.unwrap_or_else(Instant::now);
                            drop(s);
                            std::thread::sleep(
                                (at + Duration::from_millis(60))
                                    .saturating_duration_since(Instant::now()),
                            );
                        } else {
                            drop(s);
                        }
                        match bytes {
                            Some(b) => http("200 OK", &[], &b),
                            None => http("404 Not Found", &[], b""),
                        }
                    }
                } else {
                    drop(s);
                    http("404 Not Found", &[], b"")
                };
                let _ = conn.write_all(&answer);
            });
        }
    });
    (url, seen, blob_count)
}

/// Pulls `r:v1` with four threads from a registry that answers one of them
/// 429, and checks that no request at all arrived within `min_pause` of
/// that answer: the other three threads waited too, not only the one that
/// got it. The pull still succeeds.
fn a_429_pauses_every_thread(retry_after: Option<u64>, min_pause: Duration) {
    let (url, seen, blob_count) = throttling_registry(retry_after);
    let c = Client::builder(&url)
        .api(Api::V2)
        .parallel(4)
        .build()
        .unwrap();
    let dir = temp_path("paused-pull");
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .expect("the pull succeeds after the pause");
    let s = seen.0.lock().unwrap();
    let t0 = s.answered_429.expect("one blob GET was answered 429");
    let first_wave = s
        .arrivals
        .iter()
        .filter(|(t, l)| *t <= t0 && l.contains("/blobs/"))
        .count();
    assert_eq!(
        first_wave, 4,
        "four threads had a blob GET in flight at the 429"
    );
    let during: Vec<_> = s
        .arrivals
        .iter()
        .filter(|(t, _)| *t > t0 && *t < t0 + min_pause)
        .map(|(t, l)| (t.duration_since(t0), l.clone()))
        .collect();
    assert!(
        during.is_empty(),
        "requests arrived during the pause: {during:?}"
    );
    // The retry and the five blobs no thread had started yet came after it.
    let after = s
        .arrivals
        .iter()
        .filter(|(t, _)| *t >= t0 + min_pause)
        .count();
    assert_eq!(after, 1 + blob_count - 4, "{:?}", s.arrivals);
}

#[test]
fn a_429_with_retry_after_pauses_every_thread_of_the_client() {
    a_429_pauses_every_thread(Some(1), Duration::from_millis(950));
}

#[test]
fn a_429_without_retry_after_pauses_every_thread_for_the_backoff() {
    // The first backoff is 200 ms ± 25 %: at least 150 ms.
    a_429_pauses_every_thread(None, Duration::from_millis(140));
}

/// A server answering every `GET /v2/a/tags/list` at once, recording when
/// each arrived.
fn recording_tags_server() -> (String, Arc<Mutex<Vec<Instant>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let times = Arc::new(Mutex::new(Vec::new()));
    let seen = times.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let _ = common::read_head(&mut conn);
                seen.lock().unwrap().push(Instant::now());
                let body = br#"{"name":"a","tags":["v1"]}"#;
                let ct = ("Content-Type", "application/json".to_string());
                let _ = conn.write_all(&http("200 OK", &[ct], body));
            });
        }
    });
    (url, times)
}

#[test]
fn a_rate_limit_spaces_the_requests_of_every_thread_and_clone() {
    let (url, times) = recording_tags_server();
    let c = Client::builder(&url)
        .api(Api::V2)
        .rate_limit(10)
        .build()
        .unwrap();
    let start = Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let c = c.clone();
            std::thread::spawn(move || {
                for _ in 0..3 {
                    assert_eq!(c.tags("a").unwrap(), ["v1"]);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // 12 requests at 10 per second: 11 intervals of 100 ms at least.
    assert!(
        start.elapsed() >= Duration::from_millis(1100),
        "{:?}",
        start.elapsed()
    );
    let mut times = times.lock().unwrap().clone();
    times.sort();
    assert_eq!(times.len(), 12);
    let span = times[11].duration_since(times[0]);
    assert!(
        span >= Duration::from_millis(1000),
        "arrivals spanned {span:?}"
    );
}

#[test]
fn no_rate_limit_by_default() {
    let (url, times) = recording_tags_server();
    let c = Client::builder(&url).api(Api::V2).build().unwrap();
    for _ in 0..5 {
        c.tags("a").unwrap();
    }
    assert_eq!(times.lock().unwrap().len(), 5);
}

#[test]
fn a_cancel_ends_a_wait_for_a_429_pause() {
    // Every blob GET is answered 429 with a 30 s Retry-After.
    let (url, _) = {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let layer = b"layer".to_vec();
        let config = b"{}".to_vec();
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest_of(&config), "size": config.len()},
            "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                        "digest": digest_of(&layer), "size": layer.len()}],
        }))
        .unwrap();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { return };
                let head = common::read_head(&mut conn);
                let answer = if head.contains("/manifests/") {
                    let ct = (
                        "Content-Type",
                        "application/vnd.oci.image.manifest.v1+json".to_string(),
                    );
                    http("200 OK", &[ct], &manifest)
                } else {
                    http(
                        "429 Too Many Requests",
                        &[("Retry-After", "30".to_string())],
                        b"",
                    )
                };
                let _ = conn.write_all(&answer);
            }
        });
        (url, ())
    };
    let c = Client::builder(&url).api(Api::V2).build().unwrap();
    let started = Instant::now();
    let mut cb =
        |_: &registry::Digest, _: u64, _: u64| started.elapsed() < Duration::from_millis(500);
    let e = c
        .image_pull(
            "r",
            "v1",
            temp_path("cancel-pause"),
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "the 30 s pause held the cancelled call for {:?}",
        started.elapsed()
    );
}

// ---- Docker Hub's RateLimit headers ----

fn hub_headers(s: &MockServer, method: &'static str, remaining: &str) {
    let remaining = remaining.to_string();
    s.mock(move |w, t| {
        w.method(method).path("/v2/library/alpine/manifests/latest");
        t.status(200)
            .header("Content-Type", "application/vnd.oci.image.index.v1+json")
            .header("Docker-Content-Digest", digest_of(b"{}"))
            .header("RateLimit-Limit", "100;w=21600")
            .header("RateLimit-Remaining", format!("{remaining};w=21600"))
            .header("docker-ratelimit-source", "192.0.2.7")
            .body("{}");
    });
}

#[test]
fn a_check_heads_a_manifest_and_reads_the_hub_headers() {
    let s = MockServer::start();
    hub_headers(&s, "HEAD", "76");
    let c = Client::builder(&s.base_url()).api(Api::V2).build().unwrap();
    assert_eq!(c.rate_limit_status(), None, "nothing seen yet");
    let status = c
        .rate_limit_check("library/alpine", "latest")
        .unwrap()
        .expect("headers sent");
    assert_eq!(
        (
            status.limit,
            status.remaining,
            status.window_seconds,
            status.source.as_deref()
        ),
        (100, 76, Some(21600), Some("192.0.2.7"))
    );
    assert_eq!(c.rate_limit_status(), Some(status));
}

#[test]
fn every_answer_updates_the_status_and_a_registry_without_headers_has_none() {
    let s = MockServer::start();
    hub_headers(&s, "GET", "75");
    s.mock(|w, t| {
        w.method("HEAD").path("/v2/plain/manifests/v1");
        t.status(200)
            .header("Docker-Content-Digest", digest_of(b"{}"));
    });
    let c = Client::builder(&s.base_url()).api(Api::V2).build().unwrap();
    c.manifest_get("library/alpine", "latest").unwrap();
    let seen: Option<RateLimitStatus> = c.rate_limit_status();
    assert_eq!(
        seen.map(|s| s.remaining),
        Some(75),
        "a GET's headers are kept"
    );
    assert_eq!(c.rate_limit_check("plain", "v1").unwrap(), None);
    assert_eq!(
        c.rate_limit_status().map(|s| s.remaining),
        Some(75),
        "an answer without the headers keeps the last status"
    );
    let e = c.rate_limit_check("missing", "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.rate_limit_check("Bad", "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}
