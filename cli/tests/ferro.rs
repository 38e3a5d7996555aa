//! The built `regcli` against a second registry implementation,
//! ferro-oci-server (`registry.py`'s `ferro` mode): push, pull, cp, tags,
//! tag, untag, rm and blob get and put, with skopeo reading back what regcli
//! wrote.

mod common;

use std::path::Path;

use common::{fixture, sha256, skopeo, temp_dir, unique, Cli, Fixture};

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// `skopeo inspect --raw` of `image` in ferro: the manifest's bytes.
fn skopeo_raw(f: &Fixture, image: &str) -> Vec<u8> {
    skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}", f.image(image)),
    ])
}

/// skopeo copies `image` out of ferro into `dir:` (every blob a file named by
/// its hex digest), checking each digest.
fn skopeo_to_dir(f: &Fixture, image: &str, dir: &Path) {
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}", f.image(image)),
        &format!("dir:{}", s(dir)),
    ]);
}

#[test]
fn ferro_push_pull_cp_and_tags_read_back_by_skopeo() {
    let f = fixture("ferro");
    let cli = Cli::new();
    assert_eq!(cli.run(&["ping", &f.addr()]).lines(), ["v2"]);
    assert_eq!(
        cli.run(&["tags", &f.image("fixtures/app")]).lines(),
        ["v1", "v2"]
    );
    // Pull the two-platform index skopeo pushed, push it back elsewhere.
    let dir = temp_dir("ferro-pull");
    let index = f.fact("INDEX_DIGEST");
    assert_eq!(
        cli.run(&["pull", &f.image("fixtures/multi:latest"), s(&dir)])
            .lines(),
        [index.as_str()]
    );
    let repo = unique("ferro-push");
    assert_eq!(
        cli.run(&["push", s(&dir), &f.image(&format!("{repo}:v1"))])
            .lines(),
        [index.as_str()]
    );
    assert_eq!(sha256(&skopeo_raw(&f, &format!("{repo}:v1"))), index);
    let out = temp_dir("ferro-skopeo");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--quiet",
        "--all",
        "--src-tls-verify=false",
        &format!("docker://{}", f.image(&format!("{repo}:v1"))),
        &format!("oci:{}:v1", s(&out)),
    ]);
    // cp within ferro.
    let copied = unique("ferro-cp");
    assert_eq!(
        cli.run(&[
            "cp",
            &f.image("fixtures/layers:v1"),
            &f.image(&format!("{copied}:v1"))
        ])
        .lines(),
        [f.fact("LAYERS_DIGEST")]
    );
    let copy_dir = temp_dir("ferro-cp-dir");
    skopeo_to_dir(&f, &format!("{copied}:v1"), &copy_dir);
    assert_eq!(
        sha256(&std::fs::read(copy_dir.join("manifest.json")).unwrap()),
        f.fact("LAYERS_DIGEST")
    );
    // tag, untag (ferro refuses DELETE by tag: 405), rm.
    let image = f.image(&format!("{copied}:v1"));
    cli.run(&["tag", &image, "stable"]).ok();
    assert_eq!(
        cli.run(&["tags", &f.image(&copied)]).lines(),
        ["stable", "v1"]
    );
    assert_eq!(
        sha256(&skopeo_raw(&f, &format!("{copied}:stable"))),
        f.fact("LAYERS_DIGEST")
    );
    cli.run(&["untag", &f.image(&format!("{copied}:stable"))])
        .ok();
    assert_eq!(cli.run(&["tags", &f.image(&copied)]).lines(), ["v1"]);
    assert_eq!(
        sha256(&skopeo_raw(&f, &format!("{copied}:v1"))),
        f.fact("LAYERS_DIGEST")
    );
    let by_digest = f.image(&format!("{copied}@{}", f.fact("LAYERS_DIGEST")));
    cli.run(&["rm", &by_digest]).ok();
    cli.run(&["digest", &by_digest]).fails(3, "NOT_FOUND");
}

#[test]
fn ferro_blob_put_and_get_read_back_by_skopeo() {
    let f = fixture("ferro");
    let cli = Cli::new();
    let dir = temp_dir("ferro-blobs");
    let repo = unique("ferro-blobs");
    // A layer hashed on the way, a config with its digest given.
    let layer: Vec<u8> = (0..1_500_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    std::fs::write(dir.join("layer"), &layer).unwrap();
    std::fs::write(dir.join("config"), config).unwrap();
    assert_eq!(
        cli.run(&["blob", "put", &f.image(&repo), s(&dir.join("layer"))])
            .lines(),
        [sha256(&layer)]
    );
    assert_eq!(
        cli.run(&[
            "blob",
            "put",
            "--digest",
            &sha256(config),
            &f.image(&repo),
            s(&dir.join("config"))
        ])
        .lines(),
        [sha256(config)]
    );
    let back = dir.join("back");
    cli.run(&["blob", "get", &f.image(&repo), &sha256(&layer), s(&back)])
        .ok();
    assert_eq!(std::fs::read(&back).unwrap(), layer);
    // A manifest over them (regcli has no manifest put: the library's), and
    // skopeo reads every byte regcli uploaded.
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": sha256(&layer), "size": layer.len()}],
    }))
    .unwrap();
    registry::Client::builder(&f.addr())
        .build()
        .unwrap()
        .manifest_put(
            &repo,
            "v1",
            "application/vnd.oci.image.manifest.v1+json",
            &manifest,
        )
        .unwrap();
    let out = temp_dir("ferro-blobs-skopeo");
    skopeo_to_dir(&f, &format!("{repo}:v1"), &out);
    assert_eq!(
        std::fs::read(out.join(&sha256(&layer)[7..])).unwrap(),
        layer
    );
    assert_eq!(
        std::fs::read(out.join(&sha256(config)[7..])).unwrap(),
        config
    );
}
