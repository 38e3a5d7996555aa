//! Batches against the real registries (imgpkg's FirstImageExists and
//! MultiWrite): `first_image_exists` proven by the registry's access log to
//! send HEADs only, `image_push_all` read back with skopeo; and the builder's
//! identity token against the fixture token server's refresh-token grant.

#[macro_use]
mod common;

use std::path::Path;

use common::{skopeo, temp_path, Fixture};
use registry::{Client, Digest, ErrorKind, ImageOptions};
use serde_json::Value;

const MISSING_1: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
const MISSING_2: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// The request lines (`METHOD /path`) of the registry's access log sent
/// with User-Agent `ua`, but for those answered 401 (a token registry's
/// challenge, answered again with a token).
fn requests(f: &Fixture, ua: &str) -> Vec<String> {
    let log = std::fs::read_to_string(f.var("LOG").expect("the fixture has a log")).unwrap();
    log.lines()
        .filter(|l| l.ends_with(&format!("\"{ua}\"")) && !l.contains("\" 401 "))
        .filter_map(|l| l.split('"').nth(1))
        .map(|r| r.rsplit_once(' ').map_or(r, |(m, _)| m).to_string())
        .collect()
}

#[test]
#[ignore = "needs make test (real registry)"]
fn first_image_exists_sends_heads_only_and_stops_at_the_first() {
    let f = common::fixture("anon");
    let app = f
        .client()
        .manifest_head("fixtures/app", "v1")
        .unwrap()
        .digest
        .to_string();
    let index = f.fact("INDEX_DIGEST");
    let ua = format!("first-image-exists-{}", std::process::id());
    let c = f.builder().user_agent(&ua).build().unwrap();
    // The app's manifest is the third: two misses, then it; the index after
    // it (which exists in fixtures/multi only) is never asked for.
    let found = c
        .first_image_exists("fixtures/app", &[MISSING_1, MISSING_2, &app, &index])
        .unwrap();
    assert_eq!(found.to_string(), app);
    let manifests: Vec<String> = requests(&f, &ua)
        .into_iter()
        .filter(|r| r.contains("/manifests/"))
        .collect();
    assert_eq!(
        manifests,
        [
            format!("HEAD /v2/fixtures/app/manifests/{MISSING_1}"),
            format!("HEAD /v2/fixtures/app/manifests/{MISSING_2}"),
            format!("HEAD /v2/fixtures/app/manifests/{app}"),
        ]
    );
    assert!(
        requests(&f, &ua)
            .iter()
            .all(|r| r.starts_with("HEAD ") || r == "GET /v2/"),
        "nothing but HEADs (and the API probe): {:?}",
        requests(&f, &ua)
    );
    // None there: NOT_FOUND; an empty list too.
    let e = c
        .first_image_exists("fixtures/app", &[MISSING_1, &index])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let none: [&str; 0] = [];
    let e = c.first_image_exists("fixtures/app", &none).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // A malformed digest fails before anything is sent.
    let before = requests(&f, &ua).len();
    let e = c
        .first_image_exists("fixtures/app", &[app.as_str(), "sha256:nothex"])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(requests(&f, &ua).len(), before, "no request sent");
}

/// A layout holding fixtures/app:v1 (named "v1") and fixtures/multi:latest
/// (named "latest"), which share their layer, pulled by the client.
fn two_image_layout(f: &Fixture, name: &str) -> std::path::PathBuf {
    let dir = temp_path(name);
    let c = f.client();
    c.image_pull("fixtures/app", "v1", &dir, ImageOptions::default())
        .unwrap();
    c.image_pull("fixtures/multi", "latest", &dir, ImageOptions::default())
        .unwrap();
    dir
}

fn index_json(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap()
}

#[test]
#[ignore = "needs make test (real registry)"]
fn push_all_pushes_every_named_image_and_a_shared_blob_once() {
    let anon = common::fixture("anon");
    let token = common::fixture("token");
    let dir = two_image_layout(&anon, "push-all");
    let app = anon
        .client()
        .manifest_head("fixtures/app", "v1")
        .unwrap()
        .digest;
    let layer = anon.fact("LAYER_DIGEST");
    let ua = format!("push-all-{}", std::process::id());
    let c = token.builder().user_agent(&ua).build().unwrap();
    let mut reports: Vec<(String, u64, u64)> = Vec::new();
    let mut cb = |d: &Digest, done: u64, total: u64| {
        reports.push((d.to_string(), done, total));
        true
    };
    let pushed = c
        .image_push_all(
            &dir,
            "batch/all",
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap();
    let expected: Vec<(String, Digest)> = vec![
        ("v1".into(), app.clone()),
        ("latest".into(), anon.fact("INDEX_DIGEST").parse().unwrap()),
    ];
    assert_eq!(pushed, expected, "index.json's order");
    // The layer both images hold moved once: one start, one end, one HEAD.
    let of_layer: Vec<_> = reports.iter().filter(|r| r.0 == layer).collect();
    assert_eq!(
        of_layer.iter().filter(|r| r.1 == 0).count(),
        1,
        "{of_layer:?}"
    );
    assert_eq!(
        of_layer.iter().filter(|r| r.1 == r.2).count(),
        1,
        "{of_layer:?}"
    );
    let heads = requests(&token, &ua)
        .into_iter()
        .filter(|r| *r == format!("HEAD /v2/batch/all/blobs/{layer}"))
        .count();
    assert_eq!(heads, 1, "the shared layer is asked for once");
    // skopeo reads both back, byte for byte.
    for (tag, digest) in &pushed {
        let ca_dir = token.var("CERTS_DIR").unwrap();
        let (u, p) = token.user().unwrap();
        let raw = skopeo(&[
            "inspect".to_string(),
            "--raw".into(),
            format!("--cert-dir={ca_dir}/{}", token.addr()),
            format!("--creds={u}:{p}"),
            format!("docker://{}/batch/all:{tag}", token.addr()),
        ]);
        use sha2::Digest as _;
        assert_eq!(
            format!("sha256:{:x}", sha2::Sha256::digest(&raw)),
            digest.to_string()
        );
    }
    assert_eq!(c.tags("batch/all").unwrap(), ["latest", "v1"]);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn push_all_refuses_unnamed_entries_and_names_that_are_no_tags_before_sending() {
    let anon = common::fixture("anon");
    let ua = format!("push-all-refused-{}", std::process::id());
    let c = anon.builder().user_agent(&ua).build().unwrap();
    let dir = two_image_layout(&anon, "push-all-refused");
    let good = index_json(&dir);
    let write = |doc: &Value| std::fs::write(dir.join("index.json"), doc.to_string()).unwrap();

    // The second entry loses its name.
    let mut doc = good.clone();
    doc["manifests"][1]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    write(&doc);
    let e = c
        .image_push_all(&dir, "batch/refused", ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("entry 1"), "{e}");

    // A name that is a digest (what a pull by digest writes), and a name
    // twice.
    let mut doc = good.clone();
    doc["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"] =
        Value::String(anon.fact("INDEX_DIGEST"));
    write(&doc);
    let e = c
        .image_push_all(&dir, "batch/refused", ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let mut doc = good.clone();
    doc["manifests"][1]["annotations"]["org.opencontainers.image.ref.name"] =
        Value::String("v1".into());
    write(&doc);
    let e = c
        .image_push_all(&dir, "batch/refused", ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");

    // An empty index: NOT_FOUND.
    let mut doc = good.clone();
    doc["manifests"] = Value::Array(vec![]);
    write(&doc);
    let e = c
        .image_push_all(&dir, "batch/refused", ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(
        requests(&anon, &ua)
            .iter()
            .all(|r| !r.contains("batch/refused")),
        "nothing was sent for a refused layout"
    );
    // Restored, it pushes.
    write(&good);
    assert_eq!(
        c.image_push_all(&dir, "batch/refused", ImageOptions::default())
            .unwrap()
            .len(),
        2
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn identity_token_is_exchanged_at_the_token_server() {
    let f = common::fixture("token");
    let c = f
        .anonymous()
        .identity_token(&f.fact("TOKEN_REFRESH"))
        .build()
        .unwrap();
    assert_eq!(c.tags("fixtures/app").unwrap(), ["v1", "v2"]);
    // alice may push with it.
    let d = c.layer_put(
        "batch/idtoken",
        &mut &b"pushed with a refresh token"[..],
        None,
    );
    assert!(d.is_ok(), "{d:?}");
    let wrong = f
        .anonymous()
        .identity_token("not-the-refresh-token")
        .build()
        .unwrap();
    let e = wrong.tags("fixtures/app").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.message().contains("not-the-refresh-token"), "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn batches_need_v2() {
    let f = common::fixture("v1");
    let c = Client::builder(&f.addr()).build().unwrap();
    let e = c
        .first_image_exists("fixtures/v1app", &[MISSING_1])
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn push_all_stores_a_manifest_two_images_share_once() {
    let anon = common::fixture("anon");
    let dir = two_image_layout(&anon, "push-all-shared");
    // A third name for the index: its two children are shared.
    let mut doc = index_json(&dir);
    let mut again = doc["manifests"][1].clone();
    again["annotations"]["org.opencontainers.image.ref.name"] = Value::String("again".into());
    doc["manifests"].as_array_mut().unwrap().push(again);
    std::fs::write(dir.join("index.json"), doc.to_string()).unwrap();
    let ua = format!("push-all-shared-{}", std::process::id());
    let c = anon.builder().user_agent(&ua).build().unwrap();
    let pushed = c
        .image_push_all(&dir, "batch/shared", ImageOptions::default())
        .unwrap();
    let tags: Vec<&str> = pushed.iter().map(|(t, _)| t.as_str()).collect();
    assert_eq!(tags, ["v1", "latest", "again"]);
    assert_eq!(pushed[1].1, pushed[2].1);
    let puts: Vec<String> = requests(&anon, &ua)
        .into_iter()
        .filter(|r| r.starts_with("PUT /v2/batch/shared/manifests/"))
        .collect();
    let by_digest = puts.iter().filter(|r| r.contains("/sha256:")).count();
    assert_eq!(by_digest, 2, "the index's two children once each: {puts:?}");
    for tag in ["v1", "latest", "again"] {
        assert!(
            puts.contains(&format!("PUT /v2/batch/shared/manifests/{tag}")),
            "{tag}: {puts:?}"
        );
    }
    assert_eq!(puts.len(), 5, "{puts:?}");
}
