//! Registries that are not distribution: what they do differently, and how
//! the client copes, as skopeo does. A raw-socket server for a registry that
//! reads header names as docker writes them, httpmock for the rest. (The
//! suite against a second real implementation, ferro-oci-server, is
//! `registry_ferro.rs`.)

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use httpmock::Mock;
use registry::{Client, ErrorKind};

fn digest_of(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

fn client(server: &MockServer) -> Client {
    Client::builder(&server.url(""))
        .max_retries(0)
        .build()
        .unwrap()
}

// ------------------------------------------------ credentials as docker sends them

/// Reads one request head from `conn`. A TLS ClientHello (the client's
/// HTTPS probe of a bare address) is answered in plain HTTP, as Go's and
/// hyper's servers answer it (`400`), or with `bare_page` as Python's
/// `http.server` does (taking it for an HTTP/0.9 request: an HTML page, no
/// status line), and gives `None`.
fn head_or_tls_probe(conn: &mut TcpStream, bare_page: bool) -> Option<String> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => return None,
        }
        if head == [0x16] {
            let _ = conn.write_all(match bare_page {
                false => {
                    b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                }
                true => b"<!DOCTYPE HTML>\n<html lang=\"en\">\n<head><title>Error response</title>",
            });
            return None;
        }
    }
    Some(String::from_utf8_lossy(&head).into_owned())
}

/// The request lines a server answered, each with whether the credentials came.
type Seen = Arc<Mutex<Vec<(String, bool)>>>;

/// A registry that challenges `Basic` without `Docker-Distribution-API-Version`
/// and looks for the credentials in the header spelled `Authorization`, as
/// docker, skopeo and curl send it (as small registries and auth proxies in
/// front of registries do: header names are case-insensitive, but not to
/// them). Plain HTTP on 127.0.0.1; returns its address (no scheme: the client
/// probes HTTPS first, as for any bare address) and the request lines it
/// answered, each with whether the credentials came.
fn spelling_registry(bare_page: bool) -> (String, Seen) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let expected = "\r\nAuthorization: Basic YWxpY2U6czNjcmV0\r\n"; // alice:s3cret
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let log = log.clone();
            std::thread::spawn(move || {
                let Some(head) = head_or_tls_probe(&mut conn, bare_page) else {
                    return;
                };
                let line = head.lines().next().unwrap_or("").to_string();
                let authorized = head.contains(expected);
                log.lock().unwrap().push((line.clone(), authorized));
                let (status, extra, body) = if !authorized {
                    (
                        "401 Unauthorized",
                        "WWW-Authenticate: Basic realm=\"registry\"\r\n",
                        r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}"#,
                    )
                } else if line.starts_with("GET /v2/ ") {
                    ("200 OK", "", "{}")
                } else if line.starts_with("GET /v2/team/app/tags/list") {
                    ("200 OK", "", r#"{"name":"team/app","tags":["v2","v1"]}"#)
                } else if line.starts_with("DELETE ") {
                    (
                        "405 Method Not Allowed",
                        "",
                        r#"{"errors":[{"code":"UNSUPPORTED","message":"no deletes here"}]}"#,
                    )
                } else {
                    ("404 Not Found", "", "404 page not found\n")
                };
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 {status}\r\n{extra}Content-Type: application/json\r\n\
                         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            });
        }
    });
    (addr, seen)
}

#[test]
fn a_basic_registry_without_the_api_version_header_receives_the_credentials() {
    for bare_page in [false, true] {
        basic_without_the_api_version_header(bare_page);
    }
}

fn basic_without_the_api_version_header(bare_page: bool) {
    let (addr, seen) = spelling_registry(bare_page);
    // A bare loopback address: HTTPS first, plain HTTP after the plain answer.
    let c = Client::builder(&addr)
        .basic_auth("alice", "s3cret")
        .docker_config(Some(std::path::Path::new("")))
        .max_retries(0)
        .build()
        .unwrap();
    c.ping()
        .expect("GET /v2/ with the credentials is answered 200");
    assert_eq!(c.tags("team/app").unwrap(), ["v1", "v2"]);
    let seen = seen.lock().unwrap().clone();
    assert!(
        seen.iter()
            .any(|(line, auth)| line.starts_with("GET /v2/ ") && *auth),
        "the credentials never arrived: {seen:?}"
    );
    // Once the scheme is known the credentials go up front.
    let tags: Vec<_> = seen
        .iter()
        .filter(|(line, _)| line.contains("/tags/list"))
        .collect();
    assert_eq!(tags.len(), 1, "{seen:?}");
    assert!(tags[0].1, "{seen:?}");
}

#[test]
fn a_basic_registry_without_tags_list_or_delete_says_so_not_unauthorized() {
    let (addr, _) = spelling_registry(false);
    let c = Client::builder(&addr)
        .basic_auth("alice", "s3cret")
        .docker_config(Some(std::path::Path::new("")))
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.tags("team/other").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c
        .manifest_delete("team/app", digest_of(b"a manifest"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

// ------------------------------------------------ uploads: PATCH, then an empty PUT

/// A registry that refuses a body on the request that closes an upload (a
/// chunked PUT: no Content-Length), as some do with 500 "missing content
/// length not implemented", and takes the bytes by PATCH. Returns the mocks
/// of the PATCH and the bodiless commit.
fn patch_only_registry<'a>(s: &'a MockServer, digest: &str) -> (Mock<'a>, Mock<'a>) {
    s.mock(|w, t| {
        w.method("HEAD").path(format!("/v2/a/blobs/{digest}"));
        t.status(404);
    });
    s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202).header("Location", "/v2/a/blobs/uploads/u1");
    });
    let patch = s.mock(|w, t| {
        w.method(PATCH).path("/v2/a/blobs/uploads/u1");
        t.status(202)
            .header("Location", "/v2/a/blobs/uploads/u1?state=2");
    });
    s.mock(|w, t| {
        w.method(PUT)
            .path("/v2/a/blobs/uploads/u1")
            .header_missing("content-length");
        t.status(500).body("missing content length not implemented");
    });
    let commit = s.mock(|w, t| {
        w.method(PUT)
            .path("/v2/a/blobs/uploads/u1")
            .query_param("state", "2")
            .query_param("digest", digest)
            .header("content-length", "0");
        t.status(201).header("Docker-Content-Digest", digest);
    });
    (patch, commit)
}

#[test]
fn an_upload_of_a_known_digest_sends_its_bytes_by_patch_and_commits_with_an_empty_put() {
    let s = MockServer::start();
    let blob = b"layer bytes for a registry that wants PATCH";
    let digest = digest_of(blob);
    let (patch, commit) = patch_only_registry(&s, &digest);
    let got = client(&s)
        .layer_put("a", &mut &blob[..], Some(&digest.parse().unwrap()))
        .expect("PATCH then an empty PUT works where a PUT with a body does not");
    assert_eq!(got.to_string(), digest);
    patch.assert_calls(1);
    commit.assert_calls(1);
}

#[test]
fn bytes_that_do_not_match_the_expected_digest_are_never_committed_by_patch_either() {
    let s = MockServer::start();
    let blob = b"the bytes the caller meant";
    let digest = digest_of(blob);
    let (_, commit) = patch_only_registry(&s, &digest);
    let cancelled = s.mock(|w, t| {
        w.method(DELETE).path("/v2/a/blobs/uploads/u1");
        t.status(204);
    });
    let e = client(&s)
        .layer_put(
            "a",
            &mut &b"THE BYTES THE CALLER MEANT"[..],
            Some(&digest.parse().unwrap()),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    commit.assert_calls(0);
    cancelled.assert_calls(1);
}

// ------------------------------------------------ manifests without Docker-Content-Digest

#[test]
fn a_manifest_head_without_docker_content_digest_becomes_a_get_and_hashes_the_bytes() {
    let s = MockServer::start();
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[]}"#;
    let media_type = "application/vnd.oci.image.manifest.v1+json";
    let head = s.mock(|w, t| {
        w.method("HEAD").path("/v2/a/manifests/v1");
        t.status(200)
            .header("Content-Type", media_type)
            .header("Content-Length", body.len().to_string());
    });
    let get = s.mock(|w, t| {
        w.method(GET).path("/v2/a/manifests/v1");
        t.status(200).header("Content-Type", media_type).body(body);
    });
    let info = client(&s).manifest_head("a", "v1").unwrap();
    assert_eq!(info.digest.to_string(), digest_of(body));
    assert_eq!(info.media_type, media_type);
    assert_eq!(info.size, Some(body.len() as u64));
    head.assert_calls(1);
    get.assert_calls(1);
    // Pushed by tag, the digest is the bytes' too (no header to check against).
    s.mock(|w, t| {
        w.method(PUT).path("/v2/a/manifests/v2");
        t.status(201);
    });
    let put = client(&s)
        .manifest_put("a", "v2", media_type, body)
        .unwrap();
    assert_eq!(put.to_string(), digest_of(body));
}

// ------------------------------------------------ what a registry does not have

#[test]
fn a_registry_without_tags_list_is_not_found() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v2/a/tags/list");
        t.status(404).body("404 page not found\n");
    });
    let e = client(&s).tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.http_status(), Some(404));
}

#[test]
fn a_registry_without_delete_is_unsupported_and_the_tag_stays_where_it_was() {
    let s = MockServer::start();
    let manifest = b"{\"schemaVersion\":2}";
    let digest = digest_of(manifest);
    s.mock(|w, t| {
        w.method("HEAD").path("/v2/a/manifests/v1");
        t.status(200)
            .header("Docker-Content-Digest", digest.as_str())
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    });
    let deletes = s.mock(|w, t| {
        w.method(DELETE);
        t.status(405).json_body(serde_json::json!({"errors": [
            {"code": "UNSUPPORTED", "message": "The operation is unsupported."}]}));
    });
    // Pushing needs credentials this (anonymous) client does not have.
    let writes = s.mock(|w, t| {
        w.method(POST);
        t.status(401)
            .header("WWW-Authenticate", "Basic realm=\"registry\"");
    });
    let moved = s.mock(|w, t| {
        w.method(PUT);
        t.status(401)
            .header("WWW-Authenticate", "Basic realm=\"registry\"");
    });
    let e = client(&s).delete_tag("a", "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.http_status(), Some(405));
    deletes.assert_calls(2); // by tag, then by a digest no registry holds
    writes.assert_calls(0);
    moved.assert_calls(0);
    // Deleting by digest on such a registry is UNSUPPORTED too.
    let e = client(&s).manifest_delete("a", &digest).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
