//! The client against a second registry implementation: ferro-oci-server (an
//! OCI 1.1 registry in Rust, `registry.py`'s `ferro` mode), with skopeo
//! reading back what the library wrote. Push, pull, copy (within ferro and
//! from distribution), tags, tag, untag, delete, blob get and put.
//!
//! Where ferro differs from distribution 2.8 (found by running it): it
//! refuses `DELETE …/manifests/<tag>` with 405 (OCI's answer), so `delete_tag`
//! parks the tag on a throw-away manifest and deletes that by digest; it
//! ignores `mount=` (202, an upload session), so a copy within it uploads;
//! and it lists an unknown repository's tags as an empty list, not 404.

#[macro_use]
mod common;

use std::io::Read;
use std::path::Path;

use common::{bytes, sha256, skopeo, temp_path, Fixture};
use registry::{ApiVersion, Client, ErrorKind, ImageOptions};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

/// A repository name no other test (or earlier run) uses.
fn unique(name: &str) -> String {
    common::unique_repo("ferro", name)
}

/// The digest of the manifest skopeo reads for `image` in ferro.
fn skopeo_digest(f: &Fixture, image: &str) -> String {
    let src = format!("docker://{}/{image}", f.addr());
    sha256(&skopeo(&["inspect", "--tls-verify=false", "--raw", &src]))
}

/// skopeo copies `image` from ferro into the directory `dir` (`dir:`
/// transport: the manifest and every blob as files named by hex digest),
/// checking every digest on the way.
fn skopeo_to_dir(f: &Fixture, image: &str, dir: &Path) {
    let src = format!("docker://{}/{image}", f.addr());
    let dst = format!("dir:{}", dir.display());
    skopeo(&["copy", "--quiet", "--src-tls-verify=false", &src, &dst]);
}

fn read_layer(c: &Client, repo: &str, digest: &str) -> Vec<u8> {
    let mut out = Vec::new();
    c.layer_open(repo, digest)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

#[test]
#[ignore = "needs make test (real registry)"]
fn reads_what_skopeo_pushed() {
    let f = common::fixture("ferro");
    let c = f.client();
    assert_eq!(c.ping().unwrap(), ApiVersion::V2);
    assert_eq!(c.tags("fixtures/app").unwrap(), ["v1", "v2"]);
    assert_eq!(
        c.image_id("fixtures/oci", "v1").unwrap(),
        f.fact("IMAGE_ID")
    );
    let head = c.manifest_head("fixtures/oci", "v1").unwrap();
    assert_eq!(
        head.digest.to_string(),
        skopeo_digest(&f, "fixtures/oci:v1")
    );
    let index = c.manifest_get("fixtures/multi", "latest").unwrap();
    assert_eq!(index.digest.to_string(), f.fact("INDEX_DIGEST"));
    let layer = read_layer(&c, "fixtures/oci", &f.fact("LAYER_DIGEST"));
    assert_eq!(sha256(&layer), f.fact("LAYER_DIGEST"));
    assert_eq!(layer.len().to_string(), f.fact("LAYER_SIZE"));
    let e = c.manifest_get("fixtures/app", "no-such-tag").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn pull_and_push_an_index_that_skopeo_reads_back() {
    let f = common::fixture("ferro");
    let c = f.client();
    let dir = temp_path("ferro-pull");
    let pulled = c
        .image_pull("fixtures/multi", "latest", &dir, ImageOptions::default())
        .unwrap();
    assert_eq!(pulled.to_string(), f.fact("INDEX_DIGEST"));
    let repo = unique("pushed");
    let pushed = c
        .image_push(&dir, Some("latest"), &repo, "v1", ImageOptions::default())
        .unwrap();
    assert_eq!(pushed, pulled);
    assert_eq!(c.tags(&repo).unwrap(), ["v1"]);
    assert_eq!(
        skopeo_digest(&f, &format!("{repo}:v1")),
        f.fact("INDEX_DIGEST")
    );
    // skopeo copies every platform out of ferro into a layout of its own.
    let out = temp_path("ferro-skopeo-layout");
    skopeo(&[
        "copy",
        "--quiet",
        "--all",
        "--src-tls-verify=false",
        &format!("docker://{}/{repo}:v1", f.addr()),
        &format!("oci:{}:v1", out.display()),
    ]);
    let raw = skopeo(&["inspect", "--raw", &format!("oci:{}:v1", out.display())]);
    assert_eq!(sha256(&raw), f.fact("INDEX_DIGEST"));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn copy_within_ferro_and_from_distribution() {
    let f = common::fixture("ferro");
    let c = f.client();
    let repo = unique("copied");
    let d = c
        .image_copy(
            "fixtures/layers",
            "v1",
            &c,
            &repo,
            Some("v1"),
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(d.to_string(), f.fact("LAYERS_DIGEST"));
    let out = temp_path("ferro-copied");
    skopeo_to_dir(&f, &format!("{repo}:v1"), &out);
    assert_eq!(
        sha256(&std::fs::read(out.join("manifest.json")).unwrap()),
        f.fact("LAYERS_DIGEST")
    );
    // From the other implementation, distribution, when it runs too.
    let Some(anon) = common::try_fixture("anon") else {
        return;
    };
    let from = anon.client();
    let repo = unique("from-distribution");
    let d = from
        .image_copy(
            "fixtures/oci",
            "v1",
            &c,
            &repo,
            Some("v1"),
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(skopeo_digest(&f, &format!("{repo}:v1")), d.to_string());
    assert_eq!(c.image_id(&repo, "v1").unwrap(), f.fact("IMAGE_ID"));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn tag_untag_and_delete() {
    let f = common::fixture("ferro");
    let c = f.client();
    let repo = unique("tags");
    let d = c
        .image_copy(
            "fixtures/oci",
            "v1",
            &c,
            &repo,
            Some("v1"),
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(c.set_tag(&repo, "v1", "stable").unwrap(), d.to_string());
    assert_eq!(c.tags(&repo).unwrap(), ["stable", "v1"]);
    assert_eq!(skopeo_digest(&f, &format!("{repo}:stable")), d.to_string());
    // ferro refuses DELETE by tag (405): the tag goes, the image and its
    // other tag stay.
    c.delete_tag(&repo, "stable").unwrap();
    assert_eq!(c.tags(&repo).unwrap(), ["v1"]);
    assert_eq!(skopeo_digest(&f, &format!("{repo}:v1")), d.to_string());
    let e = c.delete_tag(&repo, "stable").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // Deleting the manifest by digest takes the image (and its tag) away.
    c.manifest_delete(&repo, d.to_string()).unwrap();
    let e = c.manifest_get(&repo, d.to_string()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.manifest_delete(&repo, d.to_string()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn blob_put_and_get_then_skopeo_reads_the_image_they_make() {
    let f = common::fixture("ferro");
    let c = f.client();
    let repo = unique("blobs");
    // A layer without a digest (hashed on the way), 3 MiB.
    let layer = bytes("ferro layer", 3 << 20);
    let layer_digest = c.layer_put(&repo, &mut &layer[..], None).unwrap();
    assert_eq!(layer_digest.to_string(), sha256(&layer));
    // The config with its digest, from a file.
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    let config_digest = sha256(config);
    let file = temp_path("ferro-config.json");
    std::fs::write(&file, config).unwrap();
    assert_eq!(
        c.layer_put_file(&repo, &file, Some(&config_digest.parse().unwrap()))
            .unwrap()
            .to_string(),
        config_digest
    );
    // Already there: not sent again.
    assert_eq!(
        c.layer_put(
            &repo,
            &mut std::io::empty(),
            Some(&config_digest.parse().unwrap())
        )
        .unwrap()
        .to_string(),
        config_digest
    );
    assert!(c.layer_exists(&repo, layer_digest.to_string()).unwrap());
    assert_eq!(read_layer(&c, &repo, &layer_digest.to_string()), layer);
    let got = temp_path("ferro-layer");
    assert_eq!(
        c.layer_get_file(&repo, layer_digest.to_string(), &got)
            .unwrap(),
        layer.len() as u64
    );
    assert_eq!(std::fs::read(&got).unwrap(), layer);
    // A manifest over them, and skopeo reads every byte back.
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest.to_string(), "size": layer.len()}],
    }))
    .unwrap();
    let m = c
        .manifest_put(&repo, "v1", OCI_MANIFEST, &manifest)
        .unwrap();
    assert_eq!(m.to_string(), sha256(&manifest));
    let out = temp_path("ferro-blobs-dir");
    skopeo_to_dir(&f, &format!("{repo}:v1"), &out);
    assert_eq!(
        std::fs::read(out.join(&layer_digest.to_string()[7..])).unwrap(),
        layer
    );
    assert_eq!(
        std::fs::read(out.join(&config_digest[7..])).unwrap(),
        config
    );
    // A blob that is not there.
    assert!(!c.layer_exists(&repo, sha256(b"nothing")).unwrap());
}
