//! The v2 read flows against a real distribution 2.8 registry, in each of the
//! four fixture modes: anon, basic (htpasswd), token, tls.

#[macro_use]
mod common;

use std::io::Read;

use common::{temp_path, Fixture};
use registry::{ApiVersion, Client, ErrorKind, Platform};

const APP: &str = "fixtures/app";
const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
const MISSING_BLOB: &str =
    "sha256:0000000000000000000000000000000000000000000000000000000000000000";

fn ping(f: &Fixture) {
    let info = f.client().ping_info().unwrap();
    assert_eq!(info.api, ApiVersion::V2);
    assert_eq!(info.api_version_header.as_deref(), Some("registry/2.0"));
}

fn tags(f: &Fixture) {
    let c = f.client();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    assert_eq!(c.tags("fixtures/multi").unwrap(), ["latest"]);
    let e = c.tags("fixtures/missing").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.code(), Some("NAME_UNKNOWN"));
    assert_eq!(e.http_status(), Some(404));
    let e = c.tags("Fixtures/App").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    assert!(e.message().contains("lowercase"), "{e}");
}

fn catalog_and_search(f: &Fixture) {
    let c = f.client();
    let repos = c.catalog().unwrap();
    for r in ["fixtures/app", "fixtures/multi", "fixtures/oci"] {
        assert!(repos.iter().any(|x| x == r), "{r} in {repos:?}");
    }
    // Other suites create repositories (copies of fixtures/multi among them).
    let found = c.search("FIXTURES/MULTI", 25).unwrap();
    assert_eq!(found.query, "FIXTURES/MULTI");
    assert_eq!(found.num_results, 1);
    assert_eq!(found.results[0].name, "fixtures/multi");
    assert_eq!(c.search("fixtures", 2).unwrap().results.len(), 2);
    assert_eq!(c.search("no-such-thing", 0).unwrap().num_results, 0);

    // Pages of the filtered catalog.
    let one = c.search_page("FIXTURES/MULTI", 1, 1).unwrap();
    assert_eq!(
        (one.num_results, one.num_pages, one.page, one.page_size),
        (1, 1, 1, 1)
    );
    assert_eq!(one.results[0].name, "fixtures/multi");
    assert!(!one.results[0].is_official && !one.results[0].is_trusted);
    let past = c.search_page("FIXTURES/MULTI", 2, 1).unwrap();
    assert!(past.results.is_empty());
    assert_eq!((past.num_results, past.num_pages, past.page), (1, 1, 2));
    let p1 = c.search_page("fixtures/", 1, 2).unwrap();
    assert_eq!(p1.results.len(), 2);
    assert!(p1.num_results >= 3, "{p1:?}");
    assert_eq!(p1.num_pages, p1.num_results.div_ceil(2));
    let p2 = c.search_page("fixtures/", 2, 2).unwrap();
    assert!(!p2.results.is_empty());
    assert!(p2.results.iter().all(|r| !p1.results.contains(r)));
    let none = c.search_page("no-such-thing", 1, 0).unwrap();
    assert_eq!(
        (none.num_results, none.num_pages, none.page_size),
        (0, 1, 25)
    );
    assert_eq!(
        c.search_page("x", 0, 1).unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

fn image_ids(f: &Fixture) {
    let c = f.client();
    let id = f.fact("IMAGE_ID");
    assert_eq!(c.image_id(APP, "v1").unwrap(), id);
    assert_eq!(c.image_id("fixtures/oci", "v1").unwrap(), id);
    assert_eq!(
        c.image_id("fixtures/multi", "latest").unwrap(),
        id,
        "index: linux/amd64"
    );
    let arm = Platform {
        architecture: "arm64".into(),
        ..Platform::default()
    };
    assert_eq!(
        c.image_id_for("fixtures/multi", "latest", &arm).unwrap(),
        f.fact("ARM64_IMAGE_ID")
    );
    let s390 = Platform {
        architecture: "s390x".into(),
        ..Platform::default()
    };
    let e = c
        .image_id_for("fixtures/multi", "latest", &s390)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.image_id(APP, "v9").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.code(), Some("MANIFEST_UNKNOWN"));
    assert_eq!(
        c.image_id(APP, "bad tag").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

fn manifests(f: &Fixture) {
    let c = f.client();
    let m = c.manifest_get(APP, "v1").unwrap();
    assert_eq!(m.media_type, DOCKER_V2);
    let by_digest = c.manifest_get(APP, m.digest.to_string()).unwrap();
    assert_eq!(by_digest, m);
    let head = c.manifest_head(APP, "v1").unwrap();
    assert_eq!(head.digest, m.digest);
    assert_eq!(head.size, Some(m.body.len() as u64));
    assert_eq!(head.media_type, DOCKER_V2);
    assert_eq!(
        c.manifest_get("fixtures/oci", "v1").unwrap().media_type,
        OCI_MANIFEST
    );
    assert_eq!(
        c.manifest_get("fixtures/multi", "latest")
            .unwrap()
            .media_type,
        OCI_INDEX
    );
    let e = c.manifest_get(APP, MISSING_BLOB).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.manifest_get(APP, "sha256:nothex").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

fn blobs(f: &Fixture) {
    let c = f.client();
    let layer = f.fact("LAYER_DIGEST");
    let size: u64 = f.fact("LAYER_SIZE").parse().unwrap();
    assert!(c.layer_exists(APP, &layer).unwrap());
    assert!(!c.layer_exists(APP, MISSING_BLOB).unwrap());

    let mut r = c.layer_open(APP, &layer).unwrap();
    assert_eq!(r.size(), Some(size));
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes.len() as u64, size);

    let path = temp_path("layer.tar.gz");
    assert_eq!(c.layer_get_file(APP, &layer, &path).unwrap(), size);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    let missing = temp_path("missing.tar.gz");
    let e = c.layer_get_file(APP, MISSING_BLOB, &missing).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(!missing.exists());
    let dir = missing.parent().unwrap();
    assert_eq!(
        std::fs::read_dir(dir).unwrap().count(),
        0,
        "no temporary file left"
    );
}

in_every_mode!(ping, tags, catalog_and_search, image_ids, manifests, blobs);

/// A wrong password is UNAUTHORIZED (HTTP 401 from the registry or the token
/// server) and never appears in the message.
fn wrong_password(f: &Fixture) {
    let c = f
        .anonymous()
        .basic_auth("alice", "wrong-pa55word")
        .build()
        .unwrap();
    let e = c.tags(APP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert_eq!(e.http_status(), Some(401));
    assert!(!e.message().contains("wrong-pa55word"));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn basic_wrong_password_is_unauthorized_and_never_echoed() {
    let f = common::fixture("basic");
    wrong_password(&f);
    let c = f
        .anonymous()
        .basic_auth("alice", "wrong-pa55word")
        .build()
        .unwrap();
    let e = c.ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn token_wrong_password_is_unauthorized_and_never_echoed() {
    wrong_password(&common::fixture("token"));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn basic_anonymous_is_unauthorized() {
    let f = common::fixture("basic");
    let e = f.anonymous().build().unwrap().tags(APP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn token_anonymous_can_ping_but_not_read() {
    let f = common::fixture("token");
    let c = f.anonymous().build().unwrap();
    assert_eq!(c.ping().unwrap(), ApiVersion::V2, "/v2/ needs no scope");
    let e = c.tags(APP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn token_pull_only_user_reads_but_has_no_catalog() {
    let f = common::fixture("token");
    let (u, p) = f.ro_user().unwrap();
    let c = f.anonymous().basic_auth(&u, &p).build().unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    assert_eq!(c.image_id(APP, "v1").unwrap(), f.fact("IMAGE_ID"));
    let e = c.catalog().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn token_is_fetched_once_per_scope_and_reused() {
    let f = common::fixture("token");
    let ua = "token-cache-test";
    let c = f.builder().user_agent(ua).build().unwrap();
    let before = f.tokens_issued(ua);
    c.tags(APP).unwrap();
    c.image_id(APP, "v1").unwrap();
    assert!(c.layer_exists(APP, f.fact("LAYER_DIGEST")).unwrap());
    c.manifest_get(APP, "v2").unwrap();
    c.tags(APP).unwrap();
    assert_eq!(
        f.tokens_issued(ua) - before,
        1,
        "five reads of one repository, one token"
    );
    c.tags("fixtures/oci").unwrap();
    assert_eq!(
        f.tokens_issued(ua) - before,
        2,
        "another repository, another scope"
    );
    // Clones share the cache.
    c.clone().tags("fixtures/oci").unwrap();
    assert_eq!(f.tokens_issued(ua) - before, 2);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn tls_without_the_ca_is_a_tls_error() {
    let f = common::fixture("tls");
    let e = Client::builder(&f.addr())
        .build()
        .unwrap()
        .ping()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    let e = Client::builder(&format!("https://{}", f.addr()))
        .build()
        .unwrap()
        .tags(APP)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn tls_by_name_and_explicit_scheme() {
    let f = common::fixture("tls");
    let port = f.addr().rsplit(':').next().unwrap().to_string();
    let ca = f.ca().unwrap();
    for addr in [
        format!("localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
    ] {
        let c = Client::builder(&addr).ca_file(&ca).build().unwrap();
        assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"], "{addr}");
    }
    // A plain-HTTP address to a TLS server does not silently work.
    let c = Client::builder(&format!("http://{}", f.addr()))
        .build()
        .unwrap();
    assert!(c.tags(APP).is_err());
}

#[test]
#[ignore = "needs make test (real registry)"]
fn one_client_many_threads() {
    let f = common::fixture("token");
    let c = f.client();
    let id = f.fact("IMAGE_ID");
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let c = c.clone();
            let id = id.clone();
            std::thread::spawn(move || {
                let tag = if i % 2 == 0 { "v1" } else { "v2" };
                assert_eq!(c.image_id(APP, tag).unwrap(), id);
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
}

#[test]
#[ignore = "needs make test (real registry)"]
fn certs_d_gives_the_ca() {
    let f = common::fixture("tls");
    let dir = f.fact("TLS_CERTS_DIR");
    let c = Client::builder(&f.addr())
        .certs_dir(Some(std::path::Path::new(&dir)))
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    // Another host's directory is not used.
    let other = Client::builder(&f.addr().replace("127.0.0.1", "localhost"))
        .certs_dir(Some(std::path::Path::new(&dir)))
        .build()
        .unwrap();
    assert_eq!(other.tags(APP).unwrap_err().kind(), ErrorKind::Tls);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn mutual_tls_with_a_client_certificate_from_certs_d() {
    let f = common::fixture("mtls");
    let dir = f.fact("MTLS_CERTS_DIR");
    let c = Client::builder(&f.addr())
        .certs_dir(Some(std::path::Path::new(&dir)))
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    assert_eq!(c.image_id(APP, "v1").unwrap(), f.fact("IMAGE_ID"));
    // The CA alone is not enough: the registry wants a client certificate.
    let e = f.anonymous().build().unwrap().tags(APP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e:?}");
}

#[test]
fn certs_d_layout_errors() {
    let root = common::temp_path("certs.d");
    let host = root.join("reg.example:5000");
    std::fs::create_dir_all(&host).unwrap();
    std::fs::write(host.join("client.cert"), b"x").unwrap();
    let build = || {
        Client::builder("reg.example:5000")
            .certs_dir(Some(&root))
            .build()
    };
    let e = build().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("client.key"), "{e}");
    std::fs::write(host.join("client.key"), b"not a key").unwrap();
    assert_eq!(build().unwrap_err().kind(), ErrorKind::InvalidArgument);
    std::fs::remove_file(host.join("client.cert")).unwrap();
    assert!(build().unwrap_err().message().contains(".cert"));
    // A registry without a directory there builds fine.
    assert!(Client::builder("other:1")
        .certs_dir(Some(&root))
        .build()
        .is_ok());
}

/// The fixture proxy's counters: (requests relayed, CONNECT tunnels).
fn proxy_counts(f: &Fixture) -> (u64, u64) {
    let body = ureq::get(&f.fact("PROXY_COUNT_URL"))
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    (
        v["requests"].as_u64().unwrap(),
        v["connects"].as_u64().unwrap(),
    )
}

#[test]
#[ignore = "needs make test (real registry)"]
fn an_explicit_proxy_carries_http_and_tunnels_https() {
    // ureq tunnels plain http through CONNECT too, so count both.
    let through = |f: &Fixture| {
        let (r, c) = proxy_counts(f);
        r + c
    };
    let anon = common::fixture("anon");
    let before = through(&anon);
    let c = Client::builder(&format!("http://{}", anon.addr()))
        .proxy(&anon.fact("PROXY_URL"))
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    assert_eq!(c.image_id(APP, "v1").unwrap(), anon.fact("IMAGE_ID"));
    assert!(through(&anon) > before, "the proxy carried them");

    let tls = common::fixture("tls");
    let (_, connects) = proxy_counts(&tls);
    let c = tls.builder().proxy(&tls.fact("PROXY_URL")).build().unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    assert!(
        proxy_counts(&tls).1 > connects,
        "https went through CONNECT"
    );

    // A proxy that is not there: the request fails instead of going direct.
    let dead = Client::builder(&anon.addr())
        .proxy("http://127.0.0.1:1")
        .max_retries(0)
        .build()
        .unwrap();
    assert_eq!(dead.tags(APP).unwrap_err().kind(), ErrorKind::Network);
    let e = Client::builder("h:1")
        .proxy("http://user:s3cretpw@[bad")
        .build()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(!e.message().contains("s3cretpw"), "{e}");
}
