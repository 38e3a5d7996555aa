//! What the real registry cannot show: opaque pagination links, token server
//! variants, redirects to other hosts, corrupt, truncated, oversized or slow
//! answers. httpmock servers (and, for a truncated body, a raw socket).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::Duration;

use httpmock::prelude::*;
use registry::{Client, ErrorKind};

mod common;
use common::temp_path;

const BLOB: &[u8] = b"layer bytes that the registry serves";

fn digest_of(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

fn client(server: &MockServer) -> Client {
    Client::builder(&server.url("")).build().unwrap()
}

#[test]
fn catalog_follows_opaque_links_across_pages() {
    let s = MockServer::start();
    let other = MockServer::start();
    let p1 = s.mock(|w, t| {
        w.method(GET).path("/v2/_catalog").query_param("n", "100");
        t.status(200)
            .header(
                "Link",
                format!("<{}>; rel=\"next\"", other.url("/opaque/x?cursor=a%2Fb")),
            )
            .json_body(serde_json::json!({"repositories": ["a/one", "b/two"]}));
    });
    let p2 = other.mock(|w, t| {
        w.method(GET).path("/opaque/x").query_param("cursor", "a/b");
        t.status(200)
            .header("Link", "</page3?state=zz%3D>; rel=\"next\"")
            .json_body(serde_json::json!({"repositories": ["c/three"]}));
    });
    let p3 = other.mock(|w, t| {
        w.method(GET).path("/page3").query_param("state", "zz=");
        t.status(200)
            .json_body(serde_json::json!({"repositories": null}));
    });
    assert_eq!(client(&s).catalog().unwrap(), ["a/one", "b/two", "c/three"]);
    p1.assert_calls(1);
    p2.assert_calls(1);
    p3.assert_calls(1);
}

#[test]
fn tags_all_pages_null_is_empty_and_sorted() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET)
            .path("/v2/a/b/tags/list")
            .query_param_missing("last");
        t.status(200)
            .header("Link", "</v2/a/b/tags/list?last=v2&n=2>; rel=\"next\"")
            .json_body(serde_json::json!({"name": "a/b", "tags": ["v2", "latest"]}));
    });
    s.mock(|w, t| {
        w.method(GET)
            .path("/v2/a/b/tags/list")
            .query_param("last", "v2");
        t.status(200)
            .json_body(serde_json::json!({"name": "a/b", "tags": ["v1", "v2"]}));
    });
    s.mock(|w, t| {
        w.method(GET).path("/v2/empty/tags/list");
        t.status(200)
            .json_body(serde_json::json!({"name": "empty", "tags": null}));
    });
    let c = client(&s);
    assert_eq!(c.tags("a/b").unwrap(), ["latest", "v1", "v2"]);
    assert!(c.tags("empty").unwrap().is_empty());
}

#[test]
fn a_link_loop_is_a_protocol_error() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v2/a/tags/list");
        t.status(200)
            .header("Link", "</v2/a/tags/list>; rel=\"next\"")
            .json_body(serde_json::json!({"tags": ["x"]}));
    });
    let e = client(&s).tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
}

/// A registry at `s` whose tags/list for `repo` wants `Bearer <token>`, with
/// its token server at `auth`.
fn bearer_registry(
    s: &MockServer,
    auth: &MockServer,
    repo: &str,
    token: &str,
    scope_in_challenge: bool,
) {
    let challenge = if scope_in_challenge {
        format!(
            "Bearer realm=\"{}\",service=\"svc\",scope=\"repository:{repo}:pull\"",
            auth.url("/token")
        )
    } else {
        format!("Bearer realm=\"{}\",service=\"svc\"", auth.url("/token"))
    };
    let path = format!("/v2/{repo}/tags/list");
    let p = path.clone();
    s.mock(move |w, t| {
        w.method(GET)
            .path(p)
            .header("authorization", format!("Bearer {token}"));
        t.status(200).json_body(serde_json::json!({"tags": ["ok"]}));
    });
    s.mock(move |w, t| {
        w.method(GET).path(path);
        t.status(401)
            .header("WWW-Authenticate", challenge)
            .json_body(serde_json::json!({"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]}));
    });
}

#[test]
fn token_servers_answering_access_token_or_token() {
    for field in ["access_token", "token"] {
        let s = MockServer::start();
        let auth = MockServer::start();
        bearer_registry(&s, &auth, "a/b", "T-123", true);
        let tok = auth.mock(|w, t| {
            w.method(GET)
                .path("/token")
                .query_param("service", "svc")
                .query_param("scope", "repository:a/b:pull")
                .query_param("account", "alice")
                .header_exists("authorization");
            t.status(200)
                .json_body(serde_json::json!({field: "T-123", "expires_in": 300}));
        });
        let c = Client::builder(&s.url(""))
            .basic_auth("alice", "pw")
            .build()
            .unwrap();
        assert_eq!(c.tags("a/b").unwrap(), ["ok"], "{field}");
        assert_eq!(c.tags("a/b").unwrap(), ["ok"], "{field}");
        tok.assert_calls(1);
    }
}

#[test]
fn a_challenge_without_scope_uses_the_operation_scope() {
    let s = MockServer::start();
    let auth = MockServer::start();
    bearer_registry(&s, &auth, "team/app", "anon-tok", false);
    let tok = auth.mock(|w, t| {
        w.method(GET)
            .path("/token")
            .query_param("scope", "repository:team/app:pull")
            .header_missing("authorization");
        t.status(200)
            .json_body(serde_json::json!({"token": "anon-tok"}));
    });
    assert_eq!(client(&s).tags("team/app").unwrap(), ["ok"]);
    tok.assert_calls(1);
}

#[test]
fn the_token_server_refusing_is_unauthorized_without_the_password() {
    let s = MockServer::start();
    let auth = MockServer::start();
    bearer_registry(&s, &auth, "a", "x", true);
    auth.mock(|w, t| {
        w.path("/token");
        t.status(401).body("bad password: hunter2-pw");
    });
    let c = Client::builder(&s.url(""))
        .basic_auth("alice", "hunter2-pw")
        .build()
        .unwrap();
    let e = c.tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.message().contains("hunter2-pw"), "{e}");
}

#[test]
fn secrets_echoed_by_a_hostile_server_are_redacted() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.path("/v2/a/tags/list");
        t.status(400).json_body(serde_json::json!({"errors": [{
            "code": "DENIED",
            "message": "you sent Bearer static-T0KEN-value, and hunter2-pw"
        }]}));
    });
    let c = Client::builder(&s.url(""))
        .bearer_token("static-T0KEN-value")
        .build()
        .unwrap();
    let e = c.tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden, "{e}");
    assert_eq!(e.code(), Some("DENIED"));
    assert!(!e.message().contains("static-T0KEN-value"), "{e}");
}

#[test]
fn insufficient_scope_with_credentials_is_forbidden() {
    let s = MockServer::start();
    let auth = MockServer::start();
    s.mock(|w, t| {
        w.path("/v2/a/tags/list");
        t.status(401).header(
            "WWW-Authenticate",
            format!(
                "Bearer realm=\"{}\",service=\"svc\",scope=\"repository:a:pull\",error=\"insufficient_scope\"",
                auth.url("/token")
            ),
        );
    });
    auth.mock(|w, t| {
        w.path("/token");
        t.status(200)
            .json_body(serde_json::json!({"token": "weak"}));
    });
    let c = Client::builder(&s.url(""))
        .basic_auth("bob", "pw")
        .build()
        .unwrap();
    let e = c.tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden, "{e}");
    assert_eq!(e.http_status(), Some(401));
}

#[test]
fn blob_redirect_to_another_host_drops_authorization() {
    let s = MockServer::start();
    let cdn = MockServer::start();
    let digest = digest_of(BLOB);
    let path = format!("/v2/a/blobs/{digest}");
    let location = cdn.url("/blob/abc?sig=1");
    let p = path.clone();
    s.mock(move |w, t| {
        w.method(GET).path(p).header_exists("authorization");
        t.status(307).header("Location", location);
    });
    s.mock(move |w, t| {
        w.method(GET).path(path);
        t.status(401)
            .header("WWW-Authenticate", "Basic realm=\"r\"");
    });
    let clean = cdn.mock(|w, t| {
        w.method(GET)
            .path("/blob/abc")
            .query_param("sig", "1")
            .header_missing("authorization");
        t.status(200).body(BLOB);
    });
    let leaked = cdn.mock(|w, t| {
        w.method(GET)
            .path("/blob/abc")
            .header_exists("authorization");
        t.status(400);
    });
    let c = Client::builder(&s.url(""))
        .basic_auth("alice", "pw")
        .build()
        .unwrap();
    let mut bytes = Vec::new();
    c.layer_open("a", &digest)
        .unwrap()
        .read_to_end(&mut bytes)
        .unwrap();
    assert_eq!(bytes, BLOB);
    clean.assert_calls(1);
    leaked.assert_calls(0);
}

#[test]
fn a_blob_that_does_not_match_its_digest_leaves_no_file() {
    let s = MockServer::start();
    let digest = digest_of(BLOB);
    s.mock(|w, t| {
        w.method(GET).path(format!("/v2/a/blobs/{digest}"));
        t.status(200).body(b"other bytes entirely");
    });
    let c = client(&s);
    let e = read_error(&c, &digest);
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");

    let path = temp_path("blob");
    std::fs::write(&path, b"previous content").unwrap();
    let e = c.layer_get_file("a", &digest, &path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"previous content",
        "existing file untouched"
    );
    let fresh = temp_path("fresh");
    assert!(c.layer_get_file("a", &digest, &fresh).is_err());
    assert!(!fresh.exists());
    assert_eq!(
        std::fs::read_dir(fresh.parent().unwrap()).unwrap().count(),
        0
    );
}

/// Opens a blob, reads it to the end, and returns the error that must come.
fn read_error(c: &Client, digest: &str) -> registry::Error {
    let mut sink = Vec::new();
    c.layer_open("a", digest)
        .unwrap()
        .read_to_end(&mut sink)
        .unwrap_err()
        .into()
}

/// A server that announces 1000 bytes, sends 10 and hangs up, `times` times.
fn truncating_server(times: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for _ in 0..times {
            let Ok((mut conn, _)) = listener.accept() else {
                return;
            };
            let mut buf = [0u8; 4096];
            let _ = conn.read(&mut buf);
            let _ = conn.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/octet-stream\r\n\r\n0123456789",
            );
        }
    });
    format!("http://{addr}")
}

#[test]
fn a_truncated_body_is_an_error_and_leaves_no_file() {
    let digest = digest_of(BLOB);
    let c = Client::builder(&truncating_server(2)).build().unwrap();
    let e = read_error(&c, &digest);
    // ureq notices the short body before the digest check would.
    assert_eq!(e.kind(), ErrorKind::Network, "{e:?}");
    let path = temp_path("truncated");
    assert!(c.layer_get_file("a", &digest, &path).is_err());
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        0
    );
}

#[test]
fn json_over_the_cap_is_too_large_and_malformed_json_is_protocol() {
    let s = MockServer::start();
    let huge = format!(
        "{{\"schemaVersion\":2,\"pad\":\"{}\"}}",
        "x".repeat(5 << 20)
    );
    s.mock(|w, t| {
        w.path("/v2/a/manifests/big");
        t.status(200)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(huge);
    });
    s.mock(|w, t| {
        w.path("/v2/a/tags/list");
        t.status(200).body("{\"tags\": [\"unterminated");
    });
    let c = client(&s);
    let e = c.manifest_get("a", "big").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    let e = c.tags("a").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
}

#[test]
fn a_slow_server_times_out() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.path("/v2/");
        t.status(200).delay(Duration::from_secs(3));
    });
    let c = Client::builder(&s.url(""))
        .timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let e = c.ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
}

#[test]
fn statuses_map_onto_kinds() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.path("/v2/");
        t.status(404).body("404 page not found");
    });
    for (repo, status, kind) in [
        ("r429", 429, ErrorKind::RateLimited),
        ("r503", 503, ErrorKind::Server),
        ("r403", 403, ErrorKind::Forbidden),
        ("r405", 405, ErrorKind::Unsupported),
    ] {
        s.mock(|w, t| {
            w.path(format!("/v2/{repo}/tags/list"));
            t.status(status);
        });
        let e = client(&s).tags(repo).unwrap_err();
        assert_eq!((e.kind(), e.http_status()), (kind, Some(status)), "{e}");
    }
    let e = client(&s).ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "not a v2 registry: {e}");
}

#[test]
fn manifest_by_digest_must_hash_to_it() {
    let s = MockServer::start();
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    let wrong = digest_of(b"something else");
    s.mock(|w, t| {
        w.path(format!("/v2/a/manifests/{wrong}"));
        t.status(200)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .body(body);
    });
    s.mock(|w, t| {
        w.path("/v2/a/manifests/lying");
        t.status(200)
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json")
            .header("Docker-Content-Digest", wrong.as_str())
            .body(body);
    });
    let c = client(&s);
    assert_eq!(
        c.manifest_get("a", &wrong).unwrap_err().kind(),
        ErrorKind::DigestMismatch
    );
    assert_eq!(
        c.manifest_get("a", "lying").unwrap_err().kind(),
        ErrorKind::DigestMismatch
    );
}

#[test]
fn upload_keeps_opaque_relative_locations_and_their_state() {
    let s = MockServer::start();
    let digest = digest_of(BLOB);
    let post = s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202)
            .header("Location", "/upload/sess-1?_state=s%2B1");
    });
    let patch = s.mock(|w, t| {
        w.method(PATCH)
            .path("/upload/sess-1")
            .query_param("_state", "s+1")
            .header("content-type", "application/octet-stream")
            .body(String::from_utf8(BLOB.to_vec()).unwrap());
        t.status(202).header("Location", "sess-2?_state=s2");
    });
    let put = s.mock(|w, t| {
        w.method(PUT)
            .path("/upload/sess-2")
            .query_param("_state", "s2")
            .query_param("digest", digest.as_str());
        t.status(201)
            .header("Docker-Content-Digest", digest.as_str());
    });
    let got = client(&s).layer_put("a", &mut &BLOB[..], None).unwrap();
    assert_eq!(got.to_string(), digest);
    post.assert_calls(1);
    patch.assert_calls(1);
    put.assert_calls(1);
}

#[test]
fn upload_is_skipped_when_the_blob_is_there() {
    let s = MockServer::start();
    let digest = digest_of(BLOB);
    s.mock(|w, t| {
        w.method("HEAD").path(format!("/v2/a/blobs/{digest}"));
        t.status(200);
    });
    let post = s.mock(|w, t| {
        w.method(POST);
        t.status(500);
    });
    let mut never_read = std::io::repeat(0).take(0);
    assert_eq!(
        client(&s)
            .layer_put("a", &mut never_read, Some(&digest.parse().unwrap()))
            .unwrap()
            .to_string(),
        digest
    );
    post.assert_calls(0);
}

#[test]
fn a_registry_that_stores_another_digest_is_a_mismatch() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202).header("Location", "/up/1");
    });
    s.mock(|w, t| {
        w.method(PATCH).path("/up/1");
        t.status(202);
    });
    s.mock(|w, t| {
        w.method(PUT).path("/up/1");
        t.status(201)
            .header("Docker-Content-Digest", digest_of(b"else"));
    });
    let e = client(&s).layer_put("a", &mut &BLOB[..], None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
}

#[test]
fn delete_tag_uses_oci_tag_delete_where_the_registry_allows_it() {
    let s = MockServer::start();
    let digest = digest_of(b"manifest");
    s.mock(|w, t| {
        w.method("HEAD").path("/v2/a/manifests/old");
        t.status(200)
            .header("Docker-Content-Digest", digest.as_str())
            .header("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    });
    let delete = s.mock(|w, t| {
        w.method(DELETE).path("/v2/a/manifests/old");
        t.status(202);
    });
    let fallback = s.mock(|w, t| {
        w.method(POST);
        t.status(500);
    });
    client(&s).delete_tag("a", "old").unwrap();
    delete.assert_calls(1);
    fallback.assert_calls(0);
}

#[test]
fn errors_name_the_request_they_answer_without_its_query() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v2/");
        t.status(200);
    });
    s.mock(|w, t| {
        w.method(GET).path("/v2/team/app/tags/list");
        t.status(404)
            .json_body(serde_json::json!({"errors": [{"code": "NAME_UNKNOWN", "message": "no such repository"}]}));
    });
    s.mock(|w, t| {
        w.method(POST).path("/v2/team/app/blobs/uploads/");
        t.status(202).header(
            "Location",
            "/v2/team/app/blobs/uploads/u1?_state=secret-state",
        );
    });
    s.mock(|w, t| {
        w.method(PATCH).path("/v2/team/app/blobs/uploads/u1");
        t.status(500).body("disk full");
    });
    s.mock(|w, t| {
        w.method(DELETE).path("/v2/team/app/blobs/uploads/u1");
        t.status(204);
    });
    let c = client(&s);
    let e = c.tags("team/app").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(
        e.message()
            .starts_with("GET /v2/team/app/tags/list: no such repository"),
        "{e}"
    );
    let e = c.layer_put("team/app", &mut &BLOB[..], None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server);
    assert!(
        e.message()
            .starts_with("PATCH /v2/team/app/blobs/uploads/u1: disk full"),
        "{e}"
    );
    assert!(!e.message().contains("secret-state"), "{e}");
}
