//! Retries against a scripted server: each connection gets the next scripted
//! answer, or is closed without one (a reset). Requests are counted.
//! Clients are built for v2, so that no detection request takes a scripted answer.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use registry::{Api, Client, ErrorKind};

/// A 200 tags/list answer naming the one tag `v1`.
fn tags_ok() -> Option<String> {
    let body = r#"{"name":"a","tags":["v1"]}"#;
    Some(format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    ))
}

fn status(code: u16, extra: &str) -> String {
    let body =
        format!("{{\"errors\":[{{\"code\":\"UNKNOWN\",\"message\":\"try later ({code})\"}}]}}");
    format!(
        "HTTP/1.1 {code} Whatever\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// Serves `script` in order, one connection per entry (`None` = hang up).
fn scripted(script: Vec<Option<String>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("http://{}", listener.local_addr().unwrap());
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    std::thread::spawn(move || {
        for answer in script {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut req = Vec::new();
            let mut buf = [0u8; 1024];
            while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                match conn.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => req.extend_from_slice(&buf[..n]),
                }
            }
            seen.fetch_add(1, Ordering::SeqCst);
            if let Some(a) = answer {
                let _ = conn.write_all(a.as_bytes());
            }
        }
    });
    (addr, count)
}

#[test]
fn a_503_then_success_is_retried() {
    let (addr, count) = scripted(vec![Some(status(503, "")), tags_ok()]);
    let c = Client::builder(&addr).api(Api::V2).build().unwrap();
    assert_eq!(c.tags("a").unwrap(), ["v1"]);
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn a_reset_connection_is_retried() {
    let (addr, count) = scripted(vec![None, Some(status(502, "")), tags_ok()]);
    let c = Client::builder(&addr).api(Api::V2).build().unwrap();
    assert_eq!(c.tags("a").unwrap(), ["v1"]);
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[test]
fn a_429_waits_for_retry_after() {
    let (addr, count) = scripted(vec![Some(status(429, "Retry-After: 1\r\n")), tags_ok()]);
    let c = Client::builder(&addr).api(Api::V2).build().unwrap();
    let start = Instant::now();
    assert_eq!(c.tags("a").unwrap(), ["v1"]);
    // A lower bound only: the client must not retry before the server said so.
    assert!(
        start.elapsed() >= Duration::from_millis(950),
        "{:?}",
        start.elapsed()
    );
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[test]
fn after_the_last_try_the_status_and_message_are_the_registrys() {
    let script = (0..4)
        .map(|_| Some(status(429, "Retry-After: 0\r\n")))
        .collect();
    let (addr, count) = scripted(script);
    let c = Client::builder(&addr).api(Api::V2).build().unwrap();
    let e = c.tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::RateLimited, "{e}");
    assert!(e.message().contains("try later (429)"), "{e}");
    assert_eq!(count.load(Ordering::SeqCst), 4, "1 try + 3 retries");
}

#[test]
fn max_retries_zero_turns_retries_off() {
    let (addr, count) = scripted(vec![Some(status(503, "")), tags_ok()]);
    let c = Client::builder(&addr)
        .api(Api::V2)
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.tags("a").unwrap_err();
    assert_eq!(
        (e.kind(), e.http_status()),
        (ErrorKind::Server, Some(503)),
        "{e}"
    );
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn an_upload_start_is_not_replayed() {
    let (addr, count) = scripted(vec![Some(status(503, "")), Some(status(503, ""))]);
    let c = Client::builder(&addr).api(Api::V2).build().unwrap();
    let e = c.layer_put("a", &mut &b"bytes"[..], None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server, "{e}");
    assert_eq!(count.load(Ordering::SeqCst), 1, "POST is sent once");
}
