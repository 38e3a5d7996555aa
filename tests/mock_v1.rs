//! The v1 API and index tokens against httpmock servers: detection, every
//! endpoint and header, Hub-style flows where the index and the registry are
//! different hosts, and v1 error bodies.

use httpmock::prelude::*;
use registry::{Access, Api, ApiVersion, Client, ErrorKind};
use sha2::Digest as _;

mod common;
use common::temp_path;

const ID: &str = "1111111111111111111111111111111111111111111111111111111111111111";
const PARENT: &str = "2222222222222222222222222222222222222222222222222222222222222222";
const JSON: &str = r#"{"id":"1111111111111111111111111111111111111111111111111111111111111111","parent":"2222222222222222222222222222222222222222222222222222222222222222"}"#;
const LAYER: &[u8] = b"v1 layer bytes, a tar in real life";
/// "alice:pw" in base64.
const BASIC: &str = "Basic YWxpY2U6cHc=";

/// The image checksum: sha256(json + "\n" + layer).
fn checksum(json: &str, layer: &[u8]) -> String {
    let mut h = sha2::Sha256::new();
    h.update(json.as_bytes());
    h.update(b"\n");
    h.update(layer);
    format!("sha256:{:x}", h.finalize())
}

fn v1(server: &MockServer) -> Client {
    Client::builder(&server.url(""))
        .api(Api::V1)
        .docker_config(Some("".as_ref()))
        .build()
        .unwrap()
}

fn v1_alice(server: &MockServer) -> Client {
    Client::builder(&server.url(""))
        .api(Api::V1)
        .basic_auth("alice", "pw")
        .build()
        .unwrap()
}

/// An index that says it is not standalone.
fn index() -> MockServer {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v1/_ping");
        t.status(200)
            .header("X-Docker-Registry-Version", "0.6.0")
            .header("X-Docker-Registry-Standalone", "False")
            .body("{}");
    });
    s
}

/// A standalone registry.
fn standalone() -> MockServer {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v1/_ping");
        t.status(200).body("{}");
    });
    s
}

fn token(repo: &str, access: &str) -> String {
    format!("signature=sig-{access},repository=\"{repo}\",access={access}")
}

#[test]
fn auto_detects_v1_when_v2_is_missing_and_reads_ping_headers() {
    let s = MockServer::start();
    let v2 = s.mock(|w, t| {
        w.method(GET).path("/v2/");
        t.status(404).body("404 page not found");
    });
    let ping = s.mock(|w, t| {
        w.method(GET).path("/v1/_ping");
        t.status(200)
            .header("X-Docker-Registry-Version", "0.9.1")
            .header("X-Docker-Registry-Standalone", "True")
            .body("{}");
    });
    let c = Client::builder(&s.url("")).build().unwrap();
    let info = c.ping_info().unwrap();
    assert_eq!(info.api, ApiVersion::V1);
    assert_eq!(info.registry_version.as_deref(), Some("0.9.1"));
    assert_eq!(info.standalone, Some(true));
    assert_eq!(c.api_version().unwrap(), ApiVersion::V1);
    assert!(v2.calls() >= 1);
    assert!(ping.calls() >= 1);
    // v2-only calls on a v1 client are UNSUPPORTED.
    let e = c.manifest_get("a/b", "latest").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    let e = c
        .blob_mount("a/b", format!("sha256:{ID}"), "c/d")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

#[test]
fn auto_prefers_v2_and_never_pings_v1_then() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v2/");
        t.status(200)
            .header("Docker-Distribution-API-Version", "registry/2.0")
            .body("{}");
    });
    let ping = s.mock(|w, t| {
        w.method(GET).path("/v1/_ping");
        t.status(200).body("{}");
    });
    let c = Client::builder(&s.url("")).build().unwrap();
    assert_eq!(c.ping().unwrap(), ApiVersion::V2);
    assert_eq!(c.ping_info().unwrap().standalone, None);
    ping.assert_calls(0);
    // v1-only calls on a v2 client are UNSUPPORTED.
    for e in [
        c.v1_image_json(None, ID).unwrap_err(),
        c.v1_ancestry(None, ID).unwrap_err(),
        c.v1_image_json_put(None, ID, JSON.as_bytes()).unwrap_err(),
        c.v1_tags("a/b").unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    }
}

#[test]
fn neither_api_is_reported_as_unsupported() {
    let s = MockServer::start(); // 404 everywhere
    let e = Client::builder(&s.url(""))
        .build()
        .unwrap()
        .ping()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
    assert_eq!(e.http_status(), Some(404));
}

#[test]
fn standalone_flag_follows_docker() {
    for (value, want) in [
        (None, true),
        (Some("true"), true),
        (Some("1"), true),
        (Some("False"), false),
        (Some("mirror"), false),
    ] {
        let s = MockServer::start();
        s.mock(|w, t| {
            w.method(GET).path("/v1/_ping");
            let t = t.status(200).body("{}");
            if let Some(v) = value {
                t.header("X-Docker-Registry-Standalone", v);
            }
        });
        let info = v1(&s).ping_info().unwrap();
        assert_eq!(info.standalone, Some(want), "{value:?}");
        assert_eq!(info.registry_version, None);
    }
}

#[test]
fn hub_style_read_flow_uses_index_token_and_endpoint_cookie() {
    let idx = index();
    let reg = MockServer::start();
    let tok = token("library/busybox", "read");
    let images = idx.mock(|w, t| {
        w.method(GET)
            .path("/v1/repositories/library/busybox/images")
            .header("X-Docker-Token", "true")
            .header("Authorization", BASIC);
        t.status(200)
            .header("X-Docker-Token", tok.as_str())
            .header(
                "X-Docker-Endpoints",
                format!("{}, other.invalid", reg.address()),
            )
            .json_body(serde_json::json!([{"id": ID, "checksum": "sha256:x"}]));
    });
    let tags = reg.mock(|w, t| {
        w.method(GET)
            .path("/v1/repositories/library/busybox/tags")
            .header("Authorization", format!("Token {tok}"));
        t.status(200)
            .header("Set-Cookie", "session=c00kie-value; Path=/; HttpOnly")
            .json_body(serde_json::json!({"latest": ID, "1.0": PARENT}));
    });
    let tag = reg.mock(|w, t| {
        w.method(GET)
            .path("/v1/repositories/library/busybox/tags/latest")
            .header("Authorization", format!("Token {tok}"))
            .header("Cookie", "session=c00kie-value");
        t.status(200).json_body(serde_json::json!(ID));
    });
    let ancestry = reg.mock(|w, t| {
        w.method(GET)
            .path(format!("/v1/images/{ID}/ancestry"))
            .header("Authorization", format!("Token {tok}"))
            .header("Cookie", "session=c00kie-value");
        t.status(200).json_body(serde_json::json!([ID, PARENT]));
    });
    let json = reg.mock(|w, t| {
        w.method(GET)
            .path(format!("/v1/images/{ID}/json"))
            .header("Cookie", "session=c00kie-value");
        t.status(200).body(JSON);
    });
    let basic_to_registry = reg.mock(|w, t| {
        w.header("Authorization", BASIC);
        t.status(500);
    });
    let c = v1_alice(&idx);
    assert_eq!(c.tags("busybox").unwrap(), ["1.0", "latest"]);
    let map = c.v1_tags("busybox").unwrap();
    assert_eq!(map.get("latest").map(String::as_str), Some(ID));
    assert_eq!(c.image_id("busybox", "latest").unwrap(), ID);
    assert_eq!(c.v1_ancestry(None, ID).unwrap(), [ID, PARENT]);
    assert_eq!(c.v1_image_json(None, ID).unwrap(), JSON.as_bytes());
    assert_eq!(c.token("busybox", Access::Read).unwrap(), tok);
    images.assert_calls(2); // one for the session, one for hub_token
    tags.assert_calls(2);
    tag.assert_calls(1);
    ancestry.assert_calls(1);
    json.assert_calls(1);
    basic_to_registry.assert_calls(0);
}

#[test]
fn hub_style_push_flow_puts_json_layer_checksum_and_tag() {
    let idx = index();
    let reg = MockServer::start();
    let tok = token("team/app", "write");
    let auth = format!("Token {tok}");
    let start = idx.mock(|w, t| {
        w.method(PUT)
            .path("/v1/repositories/team/app/")
            .header("X-Docker-Token", "true")
            .header("Authorization", BASIC)
            .header("Content-Type", "application/json")
            .body("[]");
        t.status(200)
            .header("X-Docker-Token", tok.as_str())
            .header("X-Docker-Endpoints", format!("http://{}", reg.address()))
            .body("\"\"");
    });
    let put_json = reg.mock(|w, t| {
        w.method(PUT)
            .path(format!("/v1/images/{ID}/json"))
            .header("Authorization", auth.as_str())
            .header("Content-Type", "application/json")
            .body(JSON);
        t.status(200).body("true");
    });
    let put_layer = reg.mock(|w, t| {
        w.method(PUT)
            .path(format!("/v1/images/{ID}/layer"))
            .header("Authorization", auth.as_str())
            .header("Content-Type", "application/octet-stream")
            .body(String::from_utf8(LAYER.to_vec()).unwrap());
        t.status(200).body("true");
    });
    let sum = checksum(JSON, LAYER);
    let put_sum = reg.mock(|w, t| {
        w.method(PUT)
            .path(format!("/v1/images/{ID}/checksum"))
            .header("Authorization", auth.as_str())
            .header("X-Docker-Checksum-Payload", sum.as_str());
        t.status(200).body("true");
    });
    let put_tag = reg.mock(|w, t| {
        w.method(PUT)
            .path("/v1/repositories/team/app/tags/latest")
            .header("Authorization", auth.as_str())
            .header("Content-Type", "application/json")
            .body(format!("\"{ID}\""));
        t.status(200).body("true");
    });
    let c = v1_alice(&idx);
    assert_eq!(c.token("team/app", Access::Write).unwrap(), tok);
    c.v1_image_json_put(None, ID, JSON.as_bytes()).unwrap();
    let got = c
        .layer_put("team/app", &mut &LAYER[..], Some(&ID.parse().unwrap()))
        .unwrap();
    assert_eq!(got.to_string(), sum);
    assert_eq!(c.set_tag("team/app", ID, "latest").unwrap(), ID);
    start.assert_calls(1);
    put_json.assert_calls(1);
    put_layer.assert_calls(1);
    put_sum.assert_calls(1);
    put_tag.assert_calls(1);
}

#[test]
fn delete_token_comes_from_index_delete() {
    let idx = index();
    let reg = MockServer::start();
    let tok = token("team/app", "delete");
    let del_index = idx.mock(|w, t| {
        w.method(DELETE)
            .path("/v1/repositories/team/app/")
            .header("X-Docker-Token", "true")
            .header("Authorization", BASIC);
        t.status(202)
            .header("X-Docker-Token", tok.as_str())
            .header("X-Docker-Endpoints", reg.address().to_string())
            .body("");
    });
    let del_tag = reg.mock(|w, t| {
        w.method(DELETE)
            .path("/v1/repositories/team/app/tags/old")
            .header("Authorization", format!("Token {tok}"));
        t.status(200).body("true");
    });
    let missing = reg.mock(|w, t| {
        w.method(DELETE)
            .path("/v1/repositories/team/app/tags/gone")
            .header("Authorization", format!("Token {tok}"));
        t.status(404)
            .json_body(serde_json::json!({"error": "Tag not found"}));
    });
    let c = v1_alice(&idx);
    c.delete_tag("team/app", "old").unwrap();
    let e = c.delete_tag("team/app", "gone").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert!(e.message().contains("Tag not found"), "{e}");
    del_index.assert_calls(1);
    del_tag.assert_calls(1);
    missing.assert_calls(1);
}

#[test]
fn tokens_lose_a_token_prefix_and_repeated_headers_join() {
    let idx = index();
    idx.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/b/images");
        t.status(200)
            .header("X-Docker-Token", "Token signature=s1,repository=\"a/b\"")
            .header("X-Docker-Token", "access=read")
            .json_body(serde_json::json!([]));
    });
    let tok = v1(&idx).token("a/b", Access::Read).unwrap();
    assert_eq!(tok, "signature=s1,repository=\"a/b\",access=read");
}

#[test]
fn an_index_without_a_token_header_is_unsupported() {
    let idx = index();
    idx.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/b/images");
        t.status(200).json_body(serde_json::json!([]));
    });
    let e = v1(&idx).token("a/b", Access::Read).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

#[test]
fn a_refused_token_is_replaced_once_and_never_leaks() {
    let idx = index();
    let reg = MockServer::start();
    let mut old = idx.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/b/images");
        t.status(200)
            .header("X-Docker-Token", "signature=old-secret-sig")
            .header("X-Docker-Endpoints", reg.address().to_string())
            .body("[]");
    });
    reg.mock(|w, t| {
        w.path("/v1/repositories/a/b/tags")
            .header("Authorization", "Token signature=old-secret-sig");
        t.status(401).header("WWW-Authenticate", "Token").json_body(
            serde_json::json!({"error": "Requires authorization, signature=old-secret-sig"}),
        );
    });
    let fresh = reg.mock(|w, t| {
        w.path("/v1/repositories/a/b/tags")
            .header("Authorization", "Token signature=new-sig");
        t.status(200).json_body(serde_json::json!({"v1": ID}));
    });
    let c = v1(&idx);
    c.token("a/b", Access::Read).unwrap();
    old.delete();
    let new = idx.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/b/images");
        t.status(200)
            .header("X-Docker-Token", "signature=new-sig")
            .header("X-Docker-Endpoints", reg.address().to_string())
            .body("[]");
    });
    assert_eq!(c.tags("a/b").unwrap(), ["v1"]);
    fresh.assert_calls(1);
    new.assert_calls(1);

    // A registry that refuses every token: UNAUTHORIZED, with no token in the message.
    let c = v1(&idx);
    c.token("a/b", Access::Read).unwrap(); // the session now holds new-sig
    let e = c.v1_ancestry(None, ID).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let reg2 = MockServer::start();
    let idx2 = index();
    idx2.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/b/images");
        t.status(200)
            .header("X-Docker-Token", "signature=old-secret-sig")
            .header("X-Docker-Endpoints", reg2.address().to_string())
            .body("[]");
    });
    reg2.mock(|w, t| {
        w.path("/v1/repositories/a/b/tags");
        t.status(401)
            .json_body(serde_json::json!({"error": "bad token signature=old-secret-sig"}));
    });
    let e = v1(&idx2).tags("a/b").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.message().contains("old-secret-sig"), "{e}");
}

#[test]
fn standalone_registry_takes_basic_directly() {
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v1/_ping");
        t.status(200)
            .header("X-Docker-Registry-Standalone", "true")
            .body("{}");
    });
    let tags = s.mock(|w, t| {
        w.method(GET)
            .path("/v1/repositories/library/app/tags")
            .header("Authorization", BASIC);
        t.status(200).json_body(serde_json::json!({"latest": ID}));
    });
    let images = s.mock(|w, t| {
        w.path_includes("/images");
        t.status(500);
    });
    let c = v1_alice(&s);
    assert_eq!(c.tags("app").unwrap(), ["latest"]);
    tags.assert_calls(1);
    images.assert_calls(0);
}

#[test]
fn old_registries_list_tags_as_name_layer_pairs() {
    let s = standalone();
    s.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/b/tags");
        t.status(200).json_body(serde_json::json!([
            {"name": "v2", "layer": PARENT}, {"name": "v1", "layer": ID}
        ]));
    });
    let c = v1(&s);
    assert_eq!(c.tags("a/b").unwrap(), ["v1", "v2"]);
    assert_eq!(c.v1_tags("a/b").unwrap()["v2"], PARENT);
}

#[test]
fn search_pages_through_and_tolerates_hub_shapes() {
    let s = MockServer::start();
    let p1 = s.mock(|w, t| {
        w.method(GET)
            .path("/v1/search")
            .query_param("q", "bus y")
            .query_param("n", "25")
            .query_param("page", "1")
            .header("X-Docker-Token", "true");
        t.status(200).json_body(serde_json::json!({
        "query": "bus y", "num_results": 3, "num_pages": 2, "page_size": 25, "page": "1",
        "results": [
            {"name": "busybox", "description": "tiny", "star_count": 7,
             "is_official": true, "is_automated": false, "is_trusted": false},
            {"name": "me/busy", "description": null}
        ]}));
    });
    let p2 = s.mock(|w, t| {
        w.method(GET).path("/v1/search").query_param("page", "2");
        t.status(200).json_body(serde_json::json!({
            "query": "bus y", "num_results": 3, "num_pages": "2",
            "results": [{"name": "you/busy"}]}));
    });
    let c = v1(&s);
    let all = c.search("bus y", 0).unwrap();
    assert_eq!(all.num_results, 3);
    assert_eq!(all.query, "bus y");
    let names: Vec<_> = all.results.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names, ["busybox", "me/busy", "you/busy"]);
    assert!(all.results[0].is_official);
    assert_eq!(all.results[0].star_count, 7);
    assert_eq!(all.results[0].description, "tiny");
    assert_eq!(all.results[1].description, "");
    p1.assert_calls(1);
    p2.assert_calls(1);

    let one = s.mock(|w, t| {
        w.method(GET).path("/v1/search").query_param("n", "1");
        t.status(200).json_body(serde_json::json!({
            "query": "x", "num_results": 3, "results": [{"name": "only"}]}));
    });
    let got = c.search("x", 1).unwrap();
    assert_eq!(got.results.len(), 1);
    one.assert_calls(1);
}

#[test]
fn layers_are_checked_against_the_image_checksum() {
    let s = standalone();
    let good = checksum(JSON, LAYER);
    s.mock(|w, t| {
        w.method(GET).path(format!("/v1/images/{ID}/json"));
        t.status(200)
            .header("X-Docker-Checksum-Payload", good.as_str())
            .header("X-Docker-Size", LAYER.len().to_string())
            .body(JSON);
    });
    s.mock(|w, t| {
        w.method(GET).path(format!("/v1/images/{ID}/layer"));
        t.status(200).body(LAYER);
    });
    let c = v1(&s);
    let mut r = c.layer_open("a/b", ID).unwrap();
    assert_eq!(r.digest().map(|d| d.to_string()), Some(good.clone()));
    let mut got = Vec::new();
    std::io::Read::read_to_end(&mut r, &mut got).unwrap();
    assert_eq!(got, LAYER);
    let path = temp_path("v1-layer");
    assert_eq!(
        c.layer_get_file("a/b", ID, &path).unwrap(),
        LAYER.len() as u64
    );
    assert_eq!(std::fs::read(&path).unwrap(), LAYER);
    std::fs::remove_file(&path).unwrap();
    assert!(c.layer_exists("a/b", ID).unwrap());
    assert!(!c.layer_exists("a/b", PARENT).unwrap());

    // The registry keeps a checksum these bytes do not match.
    s.mock(|w, t| {
        w.method(GET).path(format!("/v1/images/{PARENT}/json"));
        t.status(200)
            .header("X-Docker-Checksum-Payload", good.as_str())
            .body(JSON);
    });
    s.mock(|w, t| {
        w.method(GET).path(format!("/v1/images/{PARENT}/layer"));
        t.status(200).body("other bytes");
    });
    let e = c.layer_get_file("a/b", PARENT, &path).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    assert!(!path.exists());
}

#[test]
fn v1_errors_map_onto_statuses() {
    let s = standalone();
    s.mock(|w, t| {
        w.method(PUT).path("/v1/repositories/a/b/tags/v1");
        t.status(404)
            .json_body(serde_json::json!({"error": "Image not found"}));
    });
    s.mock(|w, t| {
        w.method(GET).path(format!("/v1/images/{ID}/json"));
        t.status(200).body(JSON);
    });
    s.mock(|w, t| {
        w.method(PUT).path(format!("/v1/images/{ID}/layer"));
        t.status(200).body("true");
    });
    s.mock(|w, t| {
        w.method(PUT).path(format!("/v1/images/{ID}/checksum"));
        t.status(400)
            .json_body(serde_json::json!({"error": "Checksum mismatch"}));
    });
    s.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/b/tags/x");
        t.status(200)
            .json_body(serde_json::json!({"not": "a string"}));
    });
    let c = v1(&s);
    let e = c.set_tag("a/b", ID, "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("Image not found"), "{e}");
    let e = c
        .layer_put("a/b", &mut &LAYER[..], Some(&ID.parse().unwrap()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    let e = c.image_id("a/b", "x").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");

    // Bad input never reaches the server.
    for e in [
        c.set_tag("a/b", "sha256:abc", "v1").unwrap_err(),
        c.v1_image_json(None, "ABC").unwrap_err(),
        c.layer_put("a/b", &mut &LAYER[..], None).unwrap_err(),
        c.v1_image_json_put(None, ID, b"[1]").unwrap_err(),
        c.v1_image_json_put(None, ID, format!(r#"{{"id":"{PARENT}"}}"#).as_bytes())
            .unwrap_err(),
        c.tags("Bad/Name").unwrap_err(),
        c.delete_tag("a/b", "bad tag").unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
}

#[test]
fn docker_hub_v1_lives_on_the_index_host() {
    // Only checks where requests would go; nothing leaves loopback.
    let c = Client::builder("docker.io")
        .api(Api::V1)
        .proxy("http://127.0.0.1:9")
        .docker_config(Some("".as_ref()))
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.tags("busybox").unwrap_err();
    assert!(
        e.message().contains("index.docker.io")
            && e.message()
                .contains("/v1/repositories/library/busybox/images"),
        "{e}"
    );
}

#[test]
fn image_calls_without_a_token_for_their_access_still_go_to_the_registry() {
    let idx = index();
    let reg = MockServer::start();
    idx.mock(|w, t| {
        w.method(PUT).path("/v1/repositories/a/b/");
        t.status(200)
            .header("X-Docker-Token", "signature=w")
            .header("X-Docker-Endpoints", reg.address().to_string())
            .body("\"\"");
    });
    let json = reg.mock(|w, t| {
        w.method(GET)
            .path(format!("/v1/images/{ID}/json"))
            .header_missing("Authorization");
        t.status(200).body(JSON);
    });
    let c = v1_alice(&idx);
    c.token("a/b", Access::Write).unwrap();
    // A write token must not be shown for a read; the registry may still
    // accept the session cookie.
    assert_eq!(c.v1_image_json(None, ID).unwrap(), JSON.as_bytes());
    json.assert_calls(1);
}

#[test]
fn hub_style_repository_image_lists_and_delete() {
    let idx = index();
    let reg = MockServer::start();
    let read = token("team/app", "read");
    let write = token("team/app", "write");
    let delete = token("team/app", "delete");
    let list = idx.mock(|w, t| {
        w.method(GET)
            .path("/v1/repositories/team/app/images")
            .header("X-Docker-Token", "true")
            .header("Authorization", BASIC);
        t.status(200)
            .header("X-Docker-Token", read.as_str())
            .header("X-Docker-Endpoints", reg.address().to_string())
            .json_body(serde_json::json!([
                {"id": ID, "checksum": "sha256:abc", "Tag": "latest"},
                {"id": PARENT, "checksum": ""},
                {"id": PARENT}
            ]));
    });
    let tags = reg.mock(|w, t| {
        w.method(GET)
            .path("/v1/repositories/team/app/tags")
            .header("Authorization", format!("Token {read}"));
        t.status(200).json_body(serde_json::json!({"latest": ID}));
    });
    let create = idx.mock(|w, t| {
        w.method(PUT)
            .path("/v1/repositories/team/app/")
            .header("X-Docker-Token", "true")
            .header("Authorization", BASIC)
            .json_body(serde_json::json!([{"id": ID}, {"id": PARENT}]));
        t.status(201)
            .header("X-Docker-Token", write.as_str())
            .header("X-Docker-Endpoints", reg.address().to_string())
            .body("\"\"");
    });
    let endpoints = reg.address().to_string();
    let validate = idx.mock(|w, t| {
        w.method(PUT)
            .path("/v1/repositories/team/app/images")
            .header("X-Docker-Token", "true")
            .header("Authorization", BASIC)
            .header("Content-Type", "application/json")
            .header("X-Docker-Endpoints", endpoints.as_str())
            .json_body(serde_json::json!([{"id": ID, "checksum": "sha256:abc"}]));
        t.status(204);
    });
    let delete_index = idx.mock(|w, t| {
        w.method(DELETE)
            .path("/v1/repositories/team/app/")
            .header("X-Docker-Token", "true")
            .header("Authorization", BASIC);
        t.status(202)
            .header("X-Docker-Token", delete.as_str())
            .header("X-Docker-Endpoints", reg.address().to_string())
            .body("");
    });
    let delete_repo = reg.mock(|w, t| {
        w.method(DELETE)
            .path("/v1/repositories/team/app/")
            .header("Authorization", format!("Token {delete}"));
        t.status(200).body("true");
    });
    let basic_to_registry = reg.mock(|w, t| {
        w.header("Authorization", BASIC);
        t.status(500);
    });
    let c = v1_alice(&idx);
    let got = c.v1_repository_images("team/app").unwrap();
    assert_eq!(
        got,
        [
            registry::V1ImageEntry::new(ID, Some("sha256:abc".into())),
            registry::V1ImageEntry::new(PARENT, None),
            registry::V1ImageEntry::new(PARENT, None),
        ]
    );
    // The read token that came with the list is the session's.
    assert_eq!(c.tags("team/app").unwrap(), ["latest"]);
    list.assert_calls(1);
    tags.assert_calls(1);

    c.v1_repository_put(
        "team/app",
        &[
            registry::V1ImageEntry::new(ID, None),
            registry::V1ImageEntry::new(PARENT, None),
        ],
    )
    .unwrap();
    c.v1_repository_images_put(
        "team/app",
        &[
            registry::V1ImageEntry::new(ID, Some("sha256:abc".into())),
            registry::V1ImageEntry::new(PARENT, None),
        ],
    )
    .unwrap();
    c.v1_repository_delete("team/app").unwrap();
    create.assert_calls(1);
    validate.assert_calls(1);
    delete_index.assert_calls(1);
    delete_repo.assert_calls(1);
    basic_to_registry.assert_calls(0);

    // Bad lists never leave the client.
    for bad in [
        registry::V1ImageEntry::new("abc", None),
        registry::V1ImageEntry::new(ID, Some("no checksum".into())),
    ] {
        let e = c
            .v1_repository_images_put("team/app", std::slice::from_ref(&bad))
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        let e = c.v1_repository_put("team/app", &[bad]).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    }
    validate.assert_calls(1);
    create.assert_calls(1);
}

#[test]
fn repository_image_lists_are_bounded_and_checked() {
    let s = standalone();
    s.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/bad/images");
        t.status(200)
            .json_body(serde_json::json!([{"id": "../../etc"}]));
    });
    s.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/huge/images");
        let entry = format!(r#"{{"id":"{ID}","checksum":"sha256:{}"}},"#, "0".repeat(64));
        let mut body = String::from("[");
        while body.len() < (5 << 20) {
            body.push_str(&entry);
        }
        body.push_str(&format!(r#"{{"id":"{ID}"}}]"#));
        t.status(200).body(body);
    });
    s.mock(|w, t| {
        w.method(GET).path("/v1/repositories/a/gone/images");
        t.status(404)
            .json_body(serde_json::json!({"error": "Repository not found"}));
    });
    let c = v1(&s);
    let e = c.v1_repository_images("a/bad").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Protocol, "{e}");
    let e = c.v1_repository_images("a/huge").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    let e = c.v1_repository_images("a/gone").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
fn an_image_that_exists_is_already_exists() {
    let s = standalone();
    s.mock(|w, t| {
        w.method(PUT).path(format!("/v1/images/{ID}/json"));
        t.status(409)
            .json_body(serde_json::json!({"error": "Image already exists"}));
    });
    s.mock(|w, t| {
        w.method(PUT).path(format!("/v1/images/{PARENT}/json"));
        t.status(409).body("");
    });
    s.mock(|w, t| {
        w.method(GET).path(format!("/v1/images/{PARENT}/json"));
        t.status(200).body(JSON);
    });
    // moby reads the message whatever the status, on the layer and checksum too.
    s.mock(|w, t| {
        w.method(PUT).path(format!("/v1/images/{PARENT}/layer"));
        t.status(400)
            .json_body(serde_json::json!({"error": "Image already exists"}));
    });
    let c = v1(&s);
    let e = c.v1_image_json_put(None, ID, JSON.as_bytes()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(e.http_status(), Some(409));
    assert!(e.message().contains("Image already exists"), "{e}");
    let json = format!(r#"{{"id":"{PARENT}"}}"#);
    let e = c
        .v1_image_json_put(Some("a/b"), PARENT, json.as_bytes())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    let e = c
        .layer_put("a/b", &mut &LAYER[..], Some(&PARENT.parse().unwrap()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(ErrorKind::AlreadyExists.name(), "ALREADY_EXISTS");
    assert_eq!(ErrorKind::AlreadyExists.code(), 18);
}

#[test]
fn a_v2_conflict_stays_invalid_argument() {
    // A 409 on v2 (e.g. a manifest the registry refuses to overwrite) is not
    // a v1 image that exists: it keeps its old status.
    let s = MockServer::start();
    s.mock(|w, t| {
        w.method(GET).path("/v2/");
        t.status(200).body("{}");
    });
    s.mock(|w, t| {
        w.method(DELETE)
            .path(format!("/v2/a/b/manifests/sha256:{ID}"));
        t.status(409)
            .json_body(serde_json::json!({"errors": [{"message": "conflict"}]}));
    });
    let c = Client::builder(&s.url("")).build().unwrap();
    let e = c
        .manifest_delete("a/b", format!("sha256:{ID}"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(e.http_status(), Some(409));
}

#[test]
fn search_pages_as_the_hub_answers_them() {
    let s = MockServer::start();
    let p2 = s.mock(|w, t| {
        w.method(GET)
            .path("/v1/search")
            .query_param("q", "bus")
            .query_param("n", "10")
            .query_param("page", "2");
        t.status(200).json_body(serde_json::json!({
        "query": "bus", "num_results": 25, "num_pages": "3", "page_size": 10,
        "page": "2",
        "results": [
            {"name": "a/busy", "star_count": 4, "is_trusted": true, "is_automated": true},
            {"name": "busybox", "is_official": true}
        ]}));
    });
    let big = s.mock(|w, t| {
        w.method(GET).path("/v1/search").query_param("n", "100");
        t.status(200)
            .json_body(serde_json::json!({"results": [{"name": "x"}]}));
    });
    let full = s.mock(|w, t| {
        w.method(GET)
            .path("/v1/search")
            .query_param("n", "1")
            .query_param("page", "4");
        t.status(200)
            .json_body(serde_json::json!({"results": [{"name": "y"}, {"name": "z"}]}));
    });
    let c = v1(&s);
    let got = c.search_page("bus", 2, 10).unwrap();
    assert_eq!(
        (got.num_results, got.num_pages, got.page_size, got.page),
        (25, 3, 10, 2)
    );
    assert_eq!(got.results.len(), 2);
    assert!(got.results[0].is_trusted && got.results[0].is_automated);
    assert_eq!(got.results[0].star_count, 4);
    assert!(got.results[1].is_official && !got.results[1].is_trusted);
    let json = serde_json::to_value(&got).unwrap();
    assert_eq!(json["num_pages"], 3);
    assert_eq!(json["results"][0]["is_trusted"], true);
    p2.assert_calls(1);

    // Page sizes over the Hub's 100 are asked as 100; an index that says
    // nothing of pages: this page is the last unless it is full.
    let one = c.search_page("x", 1, 1000).unwrap();
    assert_eq!((one.page_size, one.num_pages, one.num_results), (100, 1, 1));
    big.assert_calls(1);
    let more = c.search_page("y", 4, 1).unwrap();
    assert_eq!(more.results.len(), 1, "at most a page is kept");
    assert_eq!((more.page, more.num_pages), (4, 5));
    full.assert_calls(1);

    let e = c.search_page("x", 0, 10).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}
