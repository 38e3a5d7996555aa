//! Whole images against two real registries at once (anon: plain HTTP;
//! token: HTTPS with token auth), with skopeo reading back every layout and
//! image the client writes, and writing layouts the client pushes.

#[macro_use]
mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::thread;

use common::{skopeo, temp_path, Fixture};
use registry::{Client, Digest, ErrorKind, ImageOptions, Platform};
use serde_json::Value;

const OCI_REF_NAME: &str = "org.opencontainers.image.ref.name";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// skopeo's transport and flags for an image in `f`'s registry.
fn docker_ref(f: &Fixture, image: &str, src: bool) -> Vec<String> {
    let side = if src { "src" } else { "dest" };
    let mut args = match f.var("CERTS_DIR") {
        Some(dir) => vec![format!("--{side}-cert-dir={dir}/{}", f.addr())],
        None => vec![format!("--{side}-tls-verify=false")],
    };
    if let Some((u, p)) = f.user() {
        args.push(format!("--{side}-creds={u}:{p}"));
    }
    args.push(format!("docker://{}/{image}", f.addr()));
    args
}

/// `skopeo copy [--all] <src args> <dst>`: dst is `oci:…` or `dir:…`.
fn skopeo_copy(all: bool, src: Vec<String>, dst: Vec<String>) {
    let mut args = vec!["copy".to_string(), "--quiet".to_string()];
    if all {
        args.push("--all".into());
    }
    args.extend(src);
    args.extend(dst);
    skopeo(&args);
}

/// The digest skopeo computes for `oci:<dir>:<name>` (of its raw manifest).
fn skopeo_layout_digest(dir: &Path, name: &str) -> String {
    let raw = skopeo(&[
        "inspect".into(),
        "--raw".into(),
        format!("oci:{}:{name}", dir.display()),
    ]);
    sha256(&raw)
}

/// The digest skopeo computes for an image in a registry.
fn skopeo_registry_digest(f: &Fixture, image: &str) -> String {
    let mut args = vec!["inspect".to_string(), "--raw".to_string()];
    let mut src = docker_ref(f, image, true);
    for a in src.iter_mut() {
        *a = a.replace("--src-", "--");
    }
    args.extend(src);
    sha256(&skopeo(&args))
}

fn index_json(dir: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap()
}

/// The digests `index.json` names, by name.
fn names(dir: &Path) -> HashMap<String, String> {
    index_json(dir)["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["annotations"][OCI_REF_NAME].as_str().unwrap().to_string(),
                e["digest"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn layout_dir(name: &str) -> PathBuf {
    temp_path(name)
}

/// Progress reports of one call, checked for their promises.
#[derive(Default)]
struct Reports {
    by_digest: HashMap<String, Vec<(u64, u64)>>,
}

impl Reports {
    fn record(&mut self, d: &Digest, done: u64, total: u64) {
        self.by_digest
            .entry(d.to_string())
            .or_default()
            .push((done, total));
    }

    /// Every digest was reported 0 first and its total last, in order.
    fn check(&self) {
        assert!(!self.by_digest.is_empty());
        for (d, r) in &self.by_digest {
            assert_eq!(r.first().map(|x| x.0), Some(0), "{d} starts at 0");
            let total = r[0].1;
            assert_eq!(r.last(), Some(&(total, total)), "{d} ends at its total");
            assert!(r.windows(2).all(|w| w[0].0 <= w[1].0), "{d} in order");
        }
    }
}

fn with_progress<'a>(cb: &'a mut dyn FnMut(&Digest, u64, u64) -> bool) -> ImageOptions<'a> {
    ImageOptions::default().with_progress(cb)
}

#[test]
#[ignore = "needs make test (real registry)"]
fn pull_into_a_layout_that_skopeo_reads() {
    for mode in ["anon", "token"] {
        let f = common::fixture(mode);
        let c = f.client();
        let dir = layout_dir(&format!("pull-{mode}"));
        let caller = thread::current().id();
        let mut reports = Reports::default();
        let mut cb = |d: &Digest, done: u64, total: u64| {
            assert_eq!(
                thread::current().id(),
                caller,
                "reports on the calling thread"
            );
            reports.record(d, done, total);
            true
        };
        let d = c
            .image_pull("fixtures/layers", "v1", &dir, with_progress(&mut cb))
            .unwrap();
        assert_eq!(d.to_string(), f.fact("LAYERS_DIGEST"));
        reports.check();
        assert_eq!(
            reports.by_digest.len(),
            5,
            "a manifest, a config, three layers"
        );
        assert_eq!(names(&dir)["v1"], d.to_string());
        assert_eq!(skopeo_layout_digest(&dir, "v1"), d.to_string());
        let out = temp_path("skopeo-dir");
        skopeo_copy(
            false,
            vec![format!("oci:{}:v1", dir.display())],
            vec![format!("dir:{}", out.display())],
        );
        // Pulled again: every blob is there, verified, and skipped.
        c.image_pull("fixtures/layers", "v1", &dir, ImageOptions::default())
            .unwrap();
        assert!(dir.join("oci-layout").exists());
        let partials = std::fs::read_dir(dir.join("blobs/sha256"))
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .starts_with('.')
            })
            .count();
        assert_eq!(partials, 0, "no partial blob is left");
    }
}

#[test]
#[ignore = "needs make test (real registry)"]
fn pull_every_platform_or_one() {
    let f = common::fixture("anon");
    let c = f.client();
    let all = layout_dir("all");
    let d = c
        .image_pull("fixtures/multi", "latest", &all, ImageOptions::default())
        .unwrap();
    assert_eq!(d.to_string(), f.fact("INDEX_DIGEST"));
    assert_eq!(skopeo_layout_digest(&all, "latest"), d.to_string());
    skopeo_copy(
        true,
        vec![format!("oci:{}:latest", all.display())],
        vec![format!("dir:{}", temp_path("all-out").display())],
    );
    for platform in ["linux/arm64", "linux/arm64/v8"] {
        let one = layout_dir("arm64");
        let options = ImageOptions::default().with_platform(Platform::parse(platform).unwrap());
        let d = c
            .image_pull("fixtures/multi", "latest", &one, options)
            .unwrap();
        let entry = &index_json(&one)["manifests"][0];
        assert_eq!(entry["digest"], d.to_string());
        assert_eq!(entry["platform"]["architecture"], "arm64", "{platform}");
        assert_eq!(entry["platform"]["variant"], "v8");
        let config = f.fact("ARM64_IMAGE_ID");
        let hex = config.trim_start_matches("sha256:");
        let bytes = std::fs::read(one.join("blobs/sha256").join(hex)).unwrap();
        assert_eq!(sha256(&bytes), config, "the arm64 config is in the layout");
        assert_eq!(skopeo_layout_digest(&one, "latest"), d.to_string());
    }
    let missing = ImageOptions::default().with_platform(Platform::parse("linux/s390x").unwrap());
    let e = c
        .image_pull("fixtures/multi", "latest", layout_dir("none"), missing)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        Platform::parse("linux").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_layout_gains_images_and_names_a_digest_pull_by_its_digest() {
    let f = common::fixture("anon");
    let c = f.client();
    let dir = layout_dir("gains");
    c.image_pull("fixtures/oci", "v1", &dir, ImageOptions::default())
        .unwrap();
    let layers = f.fact("LAYERS_DIGEST");
    c.image_pull("fixtures/layers", &layers, &dir, ImageOptions::default())
        .unwrap();
    let n = names(&dir);
    assert_eq!(n.len(), 2, "{n:?}");
    assert_eq!(
        n[&layers], layers,
        "a pull by digest is named by the digest"
    );
    assert!(n.contains_key("v1"));
    assert_eq!(skopeo_layout_digest(&dir, "v1"), n["v1"]);
    assert_eq!(skopeo_layout_digest(&dir, &layers), layers);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn docker_manifests_keep_their_bytes_in_a_layout() {
    // fixtures/app is Docker schema 2: the layout keeps it byte for byte
    // (skopeo 1.9 looks up only OCI media types in a layout, so it does not
    // read this one), and it goes back with the same digest.
    let f = common::fixture("anon");
    let c = f.client();
    let dir = layout_dir("docker");
    let d = c
        .image_pull("fixtures/app", "v1", &dir, ImageOptions::default())
        .unwrap();
    assert_eq!(d, c.manifest_head("fixtures/app", "v1").unwrap().digest);
    let entry = &index_json(&dir)["manifests"][0];
    assert_eq!(
        entry["mediaType"],
        "application/vnd.docker.distribution.manifest.v2+json"
    );
    let back = c
        .image_push(
            &dir,
            Some("v1"),
            "docker/back",
            "v1",
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(back, d);
    assert_eq!(skopeo_registry_digest(&f, "docker/back:v1"), d.to_string());
}

#[test]
#[ignore = "needs make test (real registry)"]
fn push_a_layout_skopeo_wrote_and_one_the_client_wrote() {
    let anon = common::fixture("anon");
    let token = common::fixture("token");
    let c = token.client();
    // skopeo writes the layout.
    let dir = layout_dir("skopeo-wrote");
    skopeo_copy(
        false,
        docker_ref(&anon, "fixtures/layers:v1", true),
        vec![format!("oci:{}:img", dir.display())],
    );
    let mut reports = Reports::default();
    let mut cb = |d: &Digest, done: u64, total: u64| {
        reports.record(d, done, total);
        true
    };
    let d = c
        .image_push(
            &dir,
            Some("img"),
            "pushed/layers",
            "v1",
            with_progress(&mut cb),
        )
        .unwrap();
    reports.check();
    assert_eq!(d.to_string(), anon.fact("LAYERS_DIGEST"), "byte for byte");
    assert_eq!(
        skopeo_registry_digest(&token, "pushed/layers:v1"),
        d.to_string()
    );
    // The client writes the layout (an index), and pushes its only image.
    let ours = layout_dir("client-wrote");
    anon.client()
        .image_pull("fixtures/multi", "latest", &ours, ImageOptions::default())
        .unwrap();
    let d = c
        .image_push(&ours, None, "pushed/multi", "all", ImageOptions::default())
        .unwrap();
    assert_eq!(d.to_string(), anon.fact("INDEX_DIGEST"));
    skopeo_copy(
        true,
        docker_ref(&token, "pushed/multi:all", true),
        vec![format!("dir:{}", temp_path("pushed-out").display())],
    );
    // A layout of two images needs a name; an unknown name is NOT_FOUND.
    anon.client()
        .image_pull("fixtures/app", "v1", &ours, ImageOptions::default())
        .unwrap();
    let e = c
        .image_push(&ours, None, "pushed/x", "v1", ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let e = c
        .image_push(
            &ours,
            Some("nope"),
            "pushed/x",
            "v1",
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c
        .image_push(
            temp_path("empty"),
            None,
            "pushed/x",
            "v1",
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "not a layout: {e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn copy_between_registries_and_within_one() {
    let anon = common::fixture("anon");
    let token = common::fixture("token");
    let (a, t) = (anon.client(), token.client());
    // Between registries: the index and every platform, bytes streamed.
    let d = a
        .image_copy(
            "fixtures/multi",
            "latest",
            &t,
            "copied/multi",
            None,
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(d.to_string(), anon.fact("INDEX_DIGEST"));
    assert_eq!(
        skopeo_registry_digest(&token, "copied/multi:latest"),
        d.to_string()
    );
    skopeo_copy(
        true,
        docker_ref(&token, "copied/multi:latest", true),
        vec![format!("dir:{}", temp_path("copied-out").display())],
    );
    // One platform, under another tag.
    let options = ImageOptions::default().with_platform(Platform::parse("linux/arm64").unwrap());
    let arm = a
        .image_copy(
            "fixtures/multi",
            "latest",
            &t,
            "copied/arm",
            Some("arm64"),
            options,
        )
        .unwrap();
    assert_eq!(
        t.image_id("copied/arm", "arm64").unwrap(),
        anon.fact("ARM64_IMAGE_ID")
    );
    assert_eq!(t.manifest_head("copied/arm", "arm64").unwrap().digest, arm);
    // By digest: no tag on the other side.
    let layers = anon.fact("LAYERS_DIGEST");
    let d = a
        .image_copy(
            "fixtures/layers",
            &layers,
            &t,
            "copied/bydigest",
            None,
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(d.to_string(), layers);
    assert_eq!(
        t.tags("copied/bydigest").unwrap_or_default(),
        Vec::<String>::new()
    );
    // Within one registry: every blob mounted, none uploaded.
    let d = t
        .image_copy(
            "fixtures/layers",
            "v1",
            &t,
            "mounted/layers",
            Some("v2"),
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(d.to_string(), layers);
    let log = std::fs::read_to_string(token.var("LOG").unwrap()).unwrap();
    let uploads: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("/v2/mounted/layers/blobs/uploads/"))
        .collect();
    assert!(!uploads.is_empty(), "the mounts are in the log");
    assert!(
        uploads
            .iter()
            .all(|l| l.contains("POST") && l.contains("mount=") && l.contains("\" 201 ")),
        "mounts only: {uploads:#?}"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_cancelled_pull_resumes_with_a_range_request() {
    let f = common::fixture("anon");
    // Its own User-Agent, to find its requests in the registry's access log.
    let c = f
        .builder()
        .user_agent("registry-resume-test")
        .build()
        .unwrap();
    let dir = layout_dir("resume");
    let big_size: u64 = f.fact("BIG_LAYER_SIZE").parse().unwrap();
    let mut cb = |_: &Digest, done: u64, total: u64| !(total == big_size && done >= total / 2);
    let e = c
        .image_pull("fixtures/big", "v1", &dir, with_progress(&mut cb))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    assert!(
        !dir.join("index.json").exists() || !names(&dir).contains_key("v1"),
        "a cancelled pull names nothing"
    );
    let partial: Vec<_> = std::fs::read_dir(dir.join("blobs/sha256"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(".partial"))
        .collect();
    assert_eq!(partial.len(), 1, "the large layer's partial blob is kept");
    let kept = std::fs::metadata(&partial[0]).unwrap().len();
    assert!(
        kept >= big_size / 2 && kept < big_size,
        "{kept} of {big_size}"
    );

    let mut first_done = None;
    let mut cb = |_: &Digest, done: u64, total: u64| {
        if total == big_size && done > 0 && first_done.is_none() {
            first_done = Some(done);
        }
        true
    };
    let d = c
        .image_pull("fixtures/big", "v1", &dir, with_progress(&mut cb))
        .unwrap();
    assert_eq!(d.to_string(), f.fact("BIG_DIGEST"));
    assert_eq!(first_done, Some(kept), "the kept prefix counts as done");
    assert!(!partial[0].exists());
    assert_eq!(skopeo_layout_digest(&dir, "v1"), d.to_string());
    // The registry answered the second GET of the large blob with 206.
    let manifest: Value =
        serde_json::from_slice(&std::fs::read(dir.join("blobs/sha256").join(d.hex())).unwrap())
            .unwrap();
    let layer = manifest["layers"][0]["digest"]
        .as_str()
        .unwrap()
        .to_string();
    let blob = std::fs::read(
        dir.join("blobs/sha256")
            .join(layer.trim_start_matches("sha256:")),
    )
    .unwrap();
    assert_eq!(sha256(&blob), layer, "the resumed blob checks out");
    let log = std::fs::read_to_string(f.var("LOG").unwrap()).unwrap();
    let gets: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(&format!("GET /v2/fixtures/big/blobs/{layer}")))
        .filter(|l| l.contains("registry-resume-test"))
        .collect();
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert!(
        gets.iter().any(|l| l.contains("\" 200 ")),
        "the first run: {gets:#?}"
    );
    assert!(
        gets.iter().any(|l| l.contains("\" 206 ")),
        "the second run asked for the rest: {gets:#?}"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_cancelled_push_cancels_its_uploads() {
    let anon = common::fixture("anon");
    let token = common::fixture("token");
    let dir = layout_dir("push-cancel");
    anon.client()
        .image_pull("fixtures/big", "v1", &dir, ImageOptions::default())
        .unwrap();
    let big_size: u64 = anon.fact("BIG_LAYER_SIZE").parse().unwrap();
    let mut cb = |_: &Digest, done: u64, total: u64| !(total == big_size && done >= total / 4);
    let c = token.client();
    let e = c
        .image_push(&dir, None, "cancelled/big", "v1", with_progress(&mut cb))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    assert_eq!(
        c.tags("cancelled/big").map_err(|e| e.kind()),
        Err(ErrorKind::NotFound),
        "nothing was tagged"
    );
    let log = std::fs::read_to_string(token.var("LOG").unwrap()).unwrap();
    assert!(
        log.lines()
            .any(|l| l.contains("DELETE /v2/cancelled/big/blobs/uploads/")),
        "the open upload session was cancelled"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn manifest_head_and_image_config() {
    let f = common::fixture("token");
    let c = f.client();
    let head = c.manifest_head("fixtures/layers", "v1").unwrap();
    assert_eq!(head.digest.to_string(), f.fact("LAYERS_DIGEST"));
    assert_eq!(
        head.media_type,
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert!(head.size.unwrap() > 0);
    let arm = Platform::parse("linux/arm64").unwrap();
    let config = c
        .image_config("fixtures/multi", "latest", Some(&arm))
        .unwrap();
    assert_eq!(sha256(&config), f.fact("ARM64_IMAGE_ID"));
    let doc: Value = serde_json::from_slice(&config).unwrap();
    assert_eq!(doc["architecture"], "arm64");
    let amd = c.image_config("fixtures/app", "v1", None).unwrap();
    assert_eq!(sha256(&amd), f.fact("IMAGE_ID"));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn whole_images_need_v2() {
    let f = common::fixture("v1sa");
    let (u, p) = f.user().unwrap();
    let c = Client::builder(&f.addr())
        .basic_auth(&u, &p)
        .build()
        .unwrap();
    let e = c
        .image_pull(
            "fixtures/v1app",
            "latest",
            layout_dir("v1"),
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}
