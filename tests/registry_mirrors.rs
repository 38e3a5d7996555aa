//! Mirrors (`ClientBuilder::mirror`) against real registries: distribution
//! and ferro-oci-server each serve a pull whose registry is down; writes
//! never reach a mirror; the registry's credentials never reach a mirror,
//! which gets only its own `config.json` entry.

#[macro_use]
mod common;

use std::net::TcpListener;
use std::path::Path;

use base64::Engine as _;
use common::{temp_path, Fixture};
use httpmock::prelude::*;
use registry::{Client, ErrorKind, ImageOptions};

/// An address on loopback where nothing listens: a registry that is down.
fn down() -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

/// The registry is down and `mirror` holds the fixtures: every read is
/// served by the mirror, every write fails without reaching it.
fn served_by_the_mirror_while_the_registry_is_down(mirror: &Fixture) {
    let ua = format!("mirror-test-{}-{}", mirror.mode, std::process::id());
    let c = Client::builder(&down())
        .mirror(&format!("http://{}", mirror.addr()))
        .docker_config(Some(Path::new("")))
        .user_agent(&ua)
        .build()
        .unwrap();
    let dir = temp_path("mirror-pull");
    let mut served = vec![];
    let digest = c
        .image_pull(
            "fixtures/multi",
            "latest",
            &dir,
            ImageOptions::default().with_served_by(&mut served),
        )
        .expect("the mirror serves the whole pull");
    assert_eq!(digest, mirror.fact("INDEX_DIGEST"));
    // An index, two manifests, two configs, two layers at least.
    assert!(served.len() >= 5, "{served:?}");
    assert!(
        served.iter().all(|(_, host)| *host == mirror.addr()),
        "{served:?}"
    );
    assert!(c.tags("fixtures/app").unwrap().contains(&"v1".to_string()));
    let head = c.manifest_head("fixtures/app", "v1").unwrap();
    assert_eq!(
        c.manifest_get("fixtures/app", "v1").unwrap().digest,
        head.digest
    );
    let layer = mirror.fact("LAYER_DIGEST");
    assert!(c.layer_exists("fixtures/app", layer.as_str()).unwrap());
    let file = temp_path("mirror-layer");
    let n = c
        .layer_get_file("fixtures/app", layer.as_str(), &file)
        .unwrap();
    assert_eq!(n.to_string(), mirror.fact("LAYER_SIZE"));
    assert_eq!(
        c.image_id("fixtures/app", "v1").unwrap(),
        mirror.fact("IMAGE_ID")
    );
    assert!(!c
        .image_config("fixtures/app", "v1", None)
        .unwrap()
        .is_empty());

    // Writes go to the registry alone: it is down, so they fail.
    let repo = format!("mirrored/push-{}", std::process::id());
    for e in [
        c.image_push(&dir, None, &repo, "v1", ImageOptions::default())
            .unwrap_err(),
        c.set_tag("fixtures/app", "v1", "mirrored").unwrap_err(),
        c.delete_tag("fixtures/app", "v1").unwrap_err(),
        c.manifest_delete("fixtures/app", head.digest.clone())
            .unwrap_err(),
    ] {
        assert_eq!(e.kind(), ErrorKind::Network, "{e}");
    }
    // The fixtures are all still there.
    assert_eq!(
        mirror_client(mirror)
            .manifest_head("fixtures/app", "v1")
            .unwrap()
            .digest,
        head.digest
    );
    if let Some(log) = mirror.var("LOG") {
        let log = std::fs::read_to_string(log).unwrap();
        let ours: Vec<&str> = log.lines().filter(|l| l.contains(&ua)).collect();
        if mirror.mode == "anon" {
            assert!(ours.len() >= served.len(), "the log names our requests");
        }
        for l in &ours {
            for write in ["\"PUT ", "\"POST ", "\"PATCH ", "\"DELETE "] {
                assert!(!l.contains(write), "a write reached the mirror: {l}");
            }
        }
        assert!(!log.contains(&repo), "the push reached the mirror");
    }
}

fn mirror_client(f: &Fixture) -> Client {
    f.anonymous().build().unwrap()
}

in_modes!(anon: "anon", ferro: "ferro"; served_by_the_mirror_while_the_registry_is_down);

/// With the registry up, a mirror's writes: a push through a client with a
/// mirror goes to the registry, never to the mirror.
#[test]
#[ignore = "needs make test (real registry)"]
fn pushes_go_to_the_registry_not_the_mirror() {
    let (registry, mirror) = (common::fixture("ferro"), common::fixture("anon"));
    let ua = format!("mirror-push-test-{}", std::process::id());
    let c = Client::builder(&registry.addr())
        .mirror(&format!("http://{}", mirror.addr()))
        .user_agent(&ua)
        .docker_config(Some(Path::new("")))
        .build()
        .unwrap();
    // Pulled through the mirror (the registry is up: the mirror still comes first)…
    let dir = temp_path("mirror-roundtrip");
    let mut served = vec![];
    c.image_pull(
        "fixtures/app",
        "v1",
        &dir,
        ImageOptions::default().with_served_by(&mut served),
    )
    .unwrap();
    assert!(
        served.iter().all(|(_, h)| *h == mirror.addr()),
        "{served:?}"
    );
    // …pushed to the registry.
    let repo = format!("mirrored/roundtrip-{}", std::process::id());
    let pushed = c
        .image_push(&dir, None, &repo, "v1", ImageOptions::default())
        .unwrap();
    assert_eq!(
        mirror_client(&registry)
            .manifest_head(&repo, "v1")
            .unwrap()
            .digest,
        pushed
    );
    assert_eq!(
        mirror_client(&mirror)
            .manifest_head(&repo, "v1")
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    let log = std::fs::read_to_string(mirror.var("LOG").unwrap()).unwrap();
    for l in log.lines().filter(|l| l.contains(&ua)) {
        assert!(l.contains("\"GET ") || l.contains("\"HEAD "), "{l}");
    }
    // A read the mirror cannot serve falls back to the registry.
    let head = c.manifest_head(&repo, "v1").unwrap();
    assert_eq!(head.digest, pushed);
}

/// The registry takes basic auth; the mirror challenges every request. The
/// mirror hears only the credentials of its own `config.json` entry.
#[test]
#[ignore = "needs make test (real registry)"]
fn the_registrys_credentials_never_reach_a_mirror() {
    let registry = common::fixture("basic");
    let mirror = MockServer::start();
    let own = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode("mirror-user:mirror-pass")
    );
    let with_own = mirror.mock(|w, t| {
        w.header("authorization", own.as_str());
        t.status(404);
    });
    let with_other = mirror.mock(|w, t| {
        w.header_exists("authorization");
        t.status(404);
    });
    let challenged = mirror.mock(|w, t| {
        w.header_missing("authorization");
        t.status(401)
            .header("WWW-Authenticate", "Basic realm=\"mirror\"");
    });
    let config_dir = temp_path("mirror-config");
    std::fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("config.json");
    let entry = base64::engine::general_purpose::STANDARD.encode("mirror-user:mirror-pass");
    std::fs::write(
        &config,
        format!(
            r#"{{"auths": {{"{}": {{"auth": "{entry}"}}}}}}"#,
            mirror.address()
        ),
    )
    .unwrap();
    let c = registry
        .builder()
        .docker_config(Some(&config))
        .mirror(&mirror.url(""))
        .build()
        .unwrap();
    let dir = temp_path("mirror-creds");
    let mut served = vec![];
    c.image_pull(
        "fixtures/app",
        "v1",
        &dir,
        ImageOptions::default().with_served_by(&mut served),
    )
    .unwrap();
    assert!(
        served.iter().all(|(_, h)| *h == registry.addr()),
        "{served:?}"
    );
    assert!(
        with_own.calls() >= 1,
        "the mirror was asked, with its own credentials"
    );
    assert_eq!(
        with_other.calls(),
        0,
        "the registry's credentials reached the mirror"
    );
    assert!(challenged.calls() >= 1);
}
