//! The trust rules against hostile or broken servers (httpmock and raw
//! sockets on loopback): credentials and cookies only to their own origin,
//! every call ends, memory and disk stay bounded, and v1 checksums are
//! either checked or reported as unchecked.
//!
//! "Another host" is played by a second server on another port (another
//! origin). A host that is not loopback is played through an explicit HTTP
//! proxy on loopback: the client sends the request for `http://auth.example`
//! to the proxy, which answers it, so nothing leaves the machine.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use httpmock::prelude::*;
use registry::{Client, ErrorKind};

mod common;
use common::{read_head, temp_path};

const BLOB: &[u8] = b"layer bytes that the registry serves";

fn digest_of(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

fn with_password(s: &MockServer) -> Client {
    Client::builder(&s.url(""))
        .basic_auth("alice", "pw")
        .max_retries(0)
        .build()
        .unwrap()
}

/// A server on 127.0.0.1 that hands each connection to `serve`; its URL.
fn raw_server(serve: impl Fn(TcpStream) + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let serve = std::sync::Arc::new(serve);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let serve = serve.clone();
            std::thread::spawn(move || serve(conn));
        }
    });
    format!("http://{addr}")
}

/// A request as [`http_server`] hands it over.
struct Req {
    /// The request target: a path, or an absolute URL when sent to a proxy.
    target: String,
    /// Header names lower-cased.
    headers: Vec<(String, String)>,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A small HTTP/1.1 server (one request per connection) answering with
/// `handle`'s (status, headers, body). It also plays a proxy that answers
/// for the whole world: after `CONNECT host:port` it serves the tunnelled
/// request itself, with the target made absolute (`http://host:port/path`).
fn http_server(
    handle: impl Fn(&Req) -> (u16, Vec<(&'static str, String)>, Vec<u8>) + Send + Sync + 'static,
) -> String {
    raw_server(move |mut conn| {
        let mut head = read_head(&mut conn);
        let mut tunnel = None;
        if let Some(rest) = head.strip_prefix("CONNECT ") {
            tunnel = rest.split(' ').next().map(str::to_string);
            let _ = conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
            head = read_head(&mut conn);
        }
        let mut lines = head.lines();
        let mut target = lines
            .next()
            .and_then(|l| l.split(' ').nth(1))
            .unwrap_or("")
            .to_string();
        if let Some(host) = tunnel {
            target = format!("http://{host}{target}");
        }
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect::<Vec<_>>();
        let req = Req { target, headers };
        if let Some(n) = req.header("content-length").and_then(|n| n.parse().ok()) {
            let mut body = vec![0u8; n];
            let _ = conn.read_exact(&mut body);
        }
        let (status, headers, body) = handle(&req);
        let mut out = format!(
            "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (k, v) in headers {
            out.push_str(&format!("{k}: {v}\r\n"));
        }
        out.push_str("\r\n");
        let _ = conn.write_all(out.as_bytes());
        let _ = conn.write_all(&body);
    })
}

// ------------------------------------------------ credentials and origins

#[test]
fn a_redirect_target_cannot_collect_the_password() {
    let registry = MockServer::start();
    let other = MockServer::start();
    let digest = digest_of(BLOB);
    let location = other.url("/blob");
    registry.mock(|w, t| {
        w.method(GET).path(format!("/v2/a/blobs/{digest}"));
        t.status(307).header("Location", location);
    });
    registry.mock(|w, t| {
        w.method(GET).path("/v2/");
        t.status(200);
    });
    let realm = other.url("/token");
    other.mock(|w, t| {
        w.method(GET).path("/blob");
        t.status(401)
            .header("WWW-Authenticate", format!("Bearer realm=\"{realm}\""));
    });
    let token = other.mock(|w, t| {
        w.path("/token");
        t.status(200)
            .json_body(serde_json::json!({"token": "stolen"}));
    });
    let c = with_password(&registry);
    let e = c.layer_open("a", &digest).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    c.ping().unwrap();
    token.assert_calls(0);
}

#[test]
fn link_and_upload_urls_to_another_origin_get_no_credentials() {
    let registry = MockServer::start();
    let other = MockServer::start();
    let next = other.url("/page2");
    registry.mock(|w, t| {
        w.path("/v2/_catalog").header_exists("authorization");
        t.status(200)
            .header("Link", format!("<{next}>; rel=\"next\""))
            .json_body(serde_json::json!({"repositories": ["a"]}));
    });
    let up = other.url("/up/1");
    registry.mock(|w, t| {
        w.method(POST)
            .path("/v2/a/blobs/uploads/")
            .header_exists("authorization");
        t.status(202).header("Location", up);
    });
    registry.mock(|w, t| {
        w.any_request();
        t.status(401)
            .header("WWW-Authenticate", "Basic realm=\"r\"");
    });
    let leaked = other.mock(|w, t| {
        w.header_exists("authorization");
        t.status(400);
    });
    other.mock(|w, t| {
        w.path("/page2");
        t.status(200)
            .json_body(serde_json::json!({"repositories": ["b"]}));
    });
    other.mock(|w, t| {
        w.method(PATCH).path("/up/1");
        t.status(202).header("Location", "/up/2");
    });
    let digest = digest_of(BLOB);
    let put = other.mock(|w, t| {
        w.method(PUT)
            .path("/up/2")
            .query_param("digest", digest.as_str());
        t.status(201);
    });
    let c = with_password(&registry);
    assert_eq!(c.catalog().unwrap(), ["a", "b"]);
    let got = c.layer_put("a", &mut &BLOB[..], None).unwrap();
    assert_eq!(got.to_string(), digest);
    put.assert_calls(1);
    leaked.assert_calls(0);
}

#[test]
fn the_password_never_goes_in_cleartext_to_a_host_that_is_not_loopback() {
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::sync::Arc;
    // The proxy plays the world: a loopback registry whose token realm is
    // plain HTTP on another host, and a plain-HTTP registry elsewhere.
    let (leaks, tokens) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (l, n) = (leaks.clone(), tokens.clone());
    let world = http_server(move |req| {
        let to = |host: &str| {
            let host = if host.contains(':') {
                host.to_string()
            } else {
                format!("{host}:80")
            };
            req.target.starts_with(&format!("http://{host}/"))
        };
        let authorized = req.header("authorization");
        if authorized.is_some_and(|a| a.starts_with("Basic")) {
            l.fetch_add(1, SeqCst);
        }
        if to("auth.example") {
            n.fetch_add(1, SeqCst);
            return (200, vec![], br#"{"token":"anon-token"}"#.to_vec());
        }
        if to("127.0.0.1:9") && authorized == Some("Bearer anon-token") {
            return (200, vec![], b"{}".to_vec());
        }
        let challenge = if to("127.0.0.1:9") {
            "Bearer realm=\"http://auth.example/token\",service=\"s\"".to_string()
        } else {
            "Basic realm=\"r\"".to_string()
        };
        (401, vec![("WWW-Authenticate", challenge)], b"{}".to_vec())
    });
    let c = Client::builder("http://127.0.0.1:9")
        .basic_auth("alice", "pw")
        .proxy(&world)
        .build()
        .unwrap();
    c.ping().unwrap();
    assert_eq!(tokens.load(SeqCst), 1, "an anonymous token");
    let c = Client::builder("http://reg.example")
        .basic_auth("alice", "pw")
        .proxy(&world)
        .build()
        .unwrap();
    let e = c.ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(e.message().contains("cleartext"), "{e}");
    assert_eq!(leaks.load(SeqCst), 0, "no password went out");
}

#[test]
fn v1_cookies_stay_with_the_origin_that_set_them() {
    let registry = MockServer::start();
    let storage = MockServer::start();
    let id = "a".repeat(64);
    let json = format!("{{\"id\":\"{id}\"}}");
    let checksum = {
        let mut all = json.clone().into_bytes();
        all.push(b'\n');
        all.extend_from_slice(BLOB);
        digest_of(&all)
    };
    registry.mock(|w, t| {
        w.path("/v1/_ping");
        t.status(200).json_body(serde_json::json!({}));
    });
    let with_own_cookie = registry.mock(|w, t| {
        w.path("/v1/repositories/library/x/tags")
            .header("cookie", "session=s3ssion");
        t.status(200).json_body(serde_json::json!({"latest": id}));
    });
    registry.mock(|w, t| {
        w.path("/v1/repositories/library/x/tags");
        t.status(200)
            .header("Set-Cookie", "session=s3ssion; Path=/")
            .json_body(serde_json::json!({"latest": id}));
    });
    registry.mock(|w, t| {
        w.path(format!("/v1/images/{id}/json"));
        t.status(200)
            .header("X-Docker-Checksum-Payload", checksum.as_str())
            .body(json.clone());
    });
    let location = storage.url("/layer");
    registry.mock(|w, t| {
        w.path(format!("/v1/images/{id}/layer"));
        t.status(302).header("Location", location);
    });
    let leaked = storage.mock(|w, t| {
        w.header_exists("cookie");
        t.status(400);
    });
    storage.mock(|w, t| {
        w.path("/layer");
        t.status(200)
            .header("Set-Cookie", "storage=st0rage")
            .body(BLOB);
    });
    let c = Client::builder(&registry.url(""))
        .api(registry::Api::V1)
        .build()
        .unwrap();
    c.tags("x").unwrap();
    let mut bytes = Vec::new();
    let mut layer = c.layer_open("x", &id).unwrap();
    layer.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes, BLOB);
    assert!(layer.verified());
    // The registry gets its own cookie back, and not the storage's.
    c.tags("x").unwrap();
    with_own_cookie.assert_calls(1);
    leaked.assert_calls(0);
}

// ------------------------------------------------ every call ends

/// A server that answers every request with headers announcing a 200-byte
/// JSON body, then sends one byte every 300 ms.
fn trickling_server() -> String {
    raw_server(|mut conn| {
        read_head(&mut conn);
        let _ = conn.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{",
        );
        for _ in 0..199 {
            std::thread::sleep(Duration::from_millis(300));
            if conn.write_all(b" ").is_err() {
                return;
            }
        }
    })
}

#[test]
fn a_trickling_server_cannot_hold_a_small_document() {
    let c = Client::builder(&trickling_server())
        .timeout(Duration::from_secs(1))
        .max_retries(0)
        .build()
        .unwrap();
    let start = Instant::now();
    let e = c.tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the 1 s deadline held the call for {:?}",
        start.elapsed()
    );
}

/// A blob of `chunks` × 4 bytes sent with `gap` between chunks.
fn slow_blob_server(chunks: usize, gap: Duration) -> String {
    raw_server(move |mut conn| {
        read_head(&mut conn);
        let head = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {}\r\n\r\n",
            chunks * 4
        );
        let _ = conn.write_all(head.as_bytes());
        for _ in 0..chunks {
            std::thread::sleep(gap);
            if conn.write_all(b"abcd").is_err() {
                return;
            }
        }
    })
}

#[test]
fn a_blob_may_take_long_but_not_stall() {
    let blob = b"abcd".repeat(6);
    let digest = digest_of(&blob);
    // 6 chunks 400 ms apart: 2.4 s in all, longer than the 1 s timeout, but
    // bytes keep moving.
    let c = Client::builder(&slow_blob_server(6, Duration::from_millis(400)))
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let mut got = Vec::new();
    c.layer_open("a", &digest)
        .unwrap()
        .read_to_end(&mut got)
        .unwrap();
    assert_eq!(got, blob);
    // One chunk, then nothing for 3 s: a stall.
    let c = Client::builder(&slow_blob_server(1, Duration::from_secs(3)))
        .timeout(Duration::from_secs(1))
        .max_retries(0)
        .build()
        .unwrap();
    let e = match c.layer_open("a", &digest) {
        Ok(mut r) => registry::Error::from(r.read_to_end(&mut Vec::new()).unwrap_err()),
        Err(e) => e,
    };
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[test]
fn an_error_body_cannot_trickle_forever() {
    // A blob GET answered 500 with a 64 KiB body that comes a byte every
    // 100 ms (never a stall): its message is read for 1 s at most.
    let server = raw_server(|mut conn| {
        read_head(&mut conn);
        let _ = conn.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\n\
              Content-Length: 65536\r\n\r\nbroken",
        );
        for _ in 0..65530 {
            std::thread::sleep(Duration::from_millis(100));
            if conn.write_all(b".").is_err() {
                return;
            }
        }
    });
    let c = Client::builder(&server)
        .timeout(Duration::from_secs(1))
        .max_retries(0)
        .build()
        .unwrap();
    let start = Instant::now();
    let e = c.layer_open("a", digest_of(BLOB)).expect_err("a 500");
    assert_eq!(e.kind(), ErrorKind::Server, "{e}");
    assert_eq!(e.http_status(), Some(500));
    assert!(e.message().contains("broken"), "what came in time: {e}");
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "the error body held the call for {:?}",
        start.elapsed()
    );
    // A client timeout of any length is taken without overflow.
    let quick = raw_server(|mut conn| {
        read_head(&mut conn);
        let _ = conn.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 4\r\n\r\ngone");
    });
    let c = Client::builder(&quick)
        .timeout(Duration::MAX)
        .build()
        .unwrap();
    let e = c.layer_open("a", digest_of(BLOB)).expect_err("a 404");
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
fn token_lifetimes_of_any_shape_are_taken_without_panic() {
    for expires in [
        serde_json::json!(18446744073709551615u64),
        serde_json::json!(1e300),
        serde_json::json!(-5),
        serde_json::json!(0),
        serde_json::json!(0.5),
        serde_json::json!("soon"),
        serde_json::json!("3600"),
    ] {
        let s = MockServer::start();
        let realm = s.url("/token");
        s.mock(|w, t| {
            w.path("/token");
            t.status(200)
                .json_body(serde_json::json!({"token": "tok", "expires_in": expires}));
        });
        s.mock(|w, t| {
            w.path("/v2/a/tags/list")
                .header("authorization", "Bearer tok");
            t.status(200).json_body(serde_json::json!({"tags": ["v1"]}));
        });
        s.mock(|w, t| {
            w.path("/v2/a/tags/list");
            t.status(401)
                .header("WWW-Authenticate", format!("Bearer realm=\"{realm}\""));
        });
        let c = Client::builder(&s.url("")).build().unwrap();
        assert_eq!(c.tags("a").unwrap(), ["v1"], "expires_in {expires}");
        assert_eq!(c.tags("a").unwrap(), ["v1"], "cached, expires_in {expires}");
    }
}

// ------------------------------------------------ memory and disk

/// A listing server: `pages` pages of `names` names each, linked by `Link`.
fn listing_server(field: &'static str, pages: usize, names: usize, name_len: usize) -> String {
    http_server(move |req| {
        let page: usize = req
            .target
            .rsplit_once("page=")
            .and_then(|(_, n)| n.parse().ok())
            .unwrap_or(1);
        let items: Vec<String> = (0..names)
            .map(|i| format!("{:0>width$}", format!("{page}-{i}"), width = name_len))
            .collect();
        let body = serde_json::json!({ field: items }).to_string().into_bytes();
        let mut headers = vec![];
        if page < pages {
            headers.push(("Link", format!("</next?page={}>; rel=\"next\"", page + 1)));
        }
        (200, headers, body)
    })
}

#[test]
fn listings_are_bounded_over_all_pages() {
    // Five pages of about 3.5 MiB, each under the page cap, 17.5 MiB in all.
    let c = Client::builder(&listing_server("repositories", 5, 35_000, 100))
        .build()
        .unwrap();
    let e = c.catalog().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    // Three pages of 100,000 short names.
    let c = Client::builder(&listing_server("tags", 3, 100_000, 8))
        .build()
        .unwrap();
    let e = c.tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    assert!(e.message().contains("names"), "{e}");
    // Under the bounds, all pages are read.
    let c = Client::builder(&listing_server("tags", 3, 1000, 8))
        .build()
        .unwrap();
    assert_eq!(c.tags("a").unwrap().len(), 3000);
}

#[test]
fn a_body_longer_than_announced_never_reaches_the_disk() {
    // Announces 36 bytes but sends a chunked body that does not end.
    let url = raw_server(|mut conn| {
        read_head(&mut conn);
        let _ = conn.write_all(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 36\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        let chunk = format!("{:x}\r\n{}\r\n", 65536, "x".repeat(65536));
        let start = Instant::now();
        while start.elapsed() < Duration::from_secs(10) {
            if conn.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
    });
    let c = Client::builder(&url).max_retries(0).build().unwrap();
    let path = temp_path("endless");
    let start = Instant::now();
    let e = c.layer_get_file("a", digest_of(BLOB), &path).unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::TooLarge | ErrorKind::Protocol),
        "{e:?}"
    );
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        0,
        "no partial file is left"
    );
}

// ------------------------------------------------ integrity

#[test]
fn v1_checksums_are_checked_reported_or_refused() {
    let id = "b".repeat(64);
    let json = format!("{{\"id\":\"{id}\"}}");
    let layer_of = |checksum: Option<&str>| {
        let s = MockServer::start();
        s.mock(|w, t| {
            w.path("/v1/_ping");
            t.status(200).json_body(serde_json::json!({}));
        });
        let (json, checksum) = (json.clone(), checksum.map(str::to_string));
        s.mock(move |w, t| {
            w.path(format!("/v1/images/{}/json", "b".repeat(64)));
            let t = t.status(200).body(json);
            if let Some(c) = checksum {
                t.header("X-Docker-Checksum-Payload", c);
            }
        });
        s.mock(|w, t| {
            w.path(format!("/v1/images/{}/layer", "b".repeat(64)));
            t.status(200).body(BLOB);
        });
        let c = Client::builder(&s.url(""))
            .api(registry::Api::V1)
            .build()
            .unwrap();
        let mut r = c.layer_open("x", &id)?;
        let mut bytes = Vec::new();
        r.read_to_end(&mut bytes).map_err(registry::Error::from)?;
        Ok::<_, registry::Error>(r.verified())
    };
    let mut all = json.clone().into_bytes();
    all.push(b'\n');
    all.extend_from_slice(BLOB);
    assert!(layer_of(Some(&digest_of(&all))).unwrap(), "checked");
    assert!(!layer_of(None).unwrap(), "nothing to check against");
    let e = layer_of(Some("md5:abc")).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    let e = layer_of(Some(&digest_of(b"other"))).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
}

#[test]
fn v1_threads_on_two_repositories_present_their_own_tokens() {
    let index = MockServer::start();
    let registry = MockServer::start();
    let ids = ["1".repeat(64), "2".repeat(64)];
    index.mock(|w, t| {
        w.path("/v1/_ping");
        t.status(200)
            .header("X-Docker-Registry-Standalone", "false")
            .json_body(serde_json::json!({}));
    });
    for (n, id) in ids.iter().enumerate() {
        let endpoint = registry.address().to_string();
        index.mock(move |w, t| {
            w.path(format!("/v1/repositories/team/r{n}/images"));
            t.status(200)
                .header("X-Docker-Token", format!("signature=s{n},access=read"))
                .header("X-Docker-Endpoints", endpoint)
                .json_body(serde_json::json!([]));
        });
        let id = id.clone();
        registry.mock(move |w, t| {
            w.path(format!("/v1/images/{id}/json"))
                .header("authorization", format!("Token signature=s{n},access=read"));
            t.status(200).body(format!("{{\"id\":\"{id}\"}}"));
        });
    }
    let wrong = registry.mock(|w, t| {
        w.any_request();
        t.status(401);
    });
    let c = Client::builder(&index.url(""))
        .api(registry::Api::V1)
        .build()
        .unwrap();
    std::thread::scope(|scope| {
        for t in 0..4 {
            let (c, ids) = (&c, &ids);
            scope.spawn(move || {
                for i in 0..25 {
                    let n = (t + i) % 2;
                    let json = c
                        .v1_image_json(Some(&format!("team/r{n}")), &ids[n])
                        .unwrap();
                    assert!(String::from_utf8(json).unwrap().contains(&ids[n]));
                }
            });
        }
    });
    wrong.assert_calls(0);
}

// ------------------------------------------------ errors users can act on

#[test]
fn unauthorized_after_a_granted_token_is_not_found_when_asked() {
    let s = MockServer::start();
    let realm = s.url("/token");
    s.mock(|w, t| {
        w.path("/token");
        t.status(200).json_body(serde_json::json!({"token": "t"}));
    });
    s.mock(|w, t| {
        w.path("/v2/gone/manifests/latest");
        t.status(401)
            .header("WWW-Authenticate", format!("Bearer realm=\"{realm}\""))
            .json_body(serde_json::json!({"errors": [{"code": "UNAUTHORIZED"}]}));
    });
    let plain = Client::builder(&s.url("")).build().unwrap();
    let e = plain.manifest_get("gone", "latest").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    let hub_like = Client::builder(&s.url(""))
        .unauthorized_is_not_found(true)
        .build()
        .unwrap();
    let e = hub_like.manifest_get("gone", "latest").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.http_status(), Some(401));
}
