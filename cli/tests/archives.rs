//! `regcli pull --format docker-archive|oci-archive` and `regcli save`
//! against the anonymous fixture registry; skopeo reads what they wrote.

mod common;

use std::path::Path;

use common::{fixture, sha256, skopeo, temp_dir, Cli};
use serde_json::Value;

const USAGE: i32 = 2;
const NOT_FOUND: i32 = 3;

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// The config digest of skopeo's manifest for `src` copied into `dir:`.
fn skopeo_config(src: &str, dir: &Path) -> String {
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--quiet",
        src,
        &format!("dir:{}", s(dir)),
    ]);
    let doc: Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    doc["config"]["digest"].as_str().unwrap().to_string()
}

#[test]
#[ignore = "needs the fixture registries (make test-cli)"]
fn pull_writes_archives_that_skopeo_reads_to_a_file_or_stdout() {
    let f = fixture("anon");
    let cli = Cli::new();
    let dir = temp_dir("archives");
    let file = dir.join("app.tar");
    let out = cli.run(&[
        "pull",
        "--format",
        "docker-archive",
        &f.image("fixtures/app:v1"),
        s(&file),
    ]);
    assert_eq!(out.lines().len(), 1, "the digest");
    let config = skopeo_config(&format!("docker-archive:{}", s(&file)), &dir.join("read"));
    assert_eq!(config, f.fact("IMAGE_ID"));

    // oci-archive to stdout: the tar on stdout, the digest on stderr.
    let out = cli.run(&[
        "pull",
        "--format",
        "oci-archive",
        &f.image("fixtures/multi:latest"),
        "-",
    ]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let index = f.fact("INDEX_DIGEST");
    assert!(out.stderr.contains(&index), "{}", out.stderr);
    let streamed = dir.join("multi.tar");
    std::fs::write(&streamed, &out.stdout).unwrap();
    let layout = dir.join("multi-oci");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--quiet",
        "--all",
        "--preserve-digests",
        &format!("oci-archive:{}", s(&streamed)),
        &format!("oci:{}:x", s(&layout)),
    ]);
    let raw = skopeo(&["inspect", "--raw", &format!("oci:{}:x", s(&layout))]);
    assert_eq!(sha256(&raw), index);

    // Failures leave no file.
    let none = dir.join("none.tar");
    cli.run(&[
        "pull",
        "--format",
        "docker-archive",
        &f.image("fixtures/app:nope"),
        s(&none),
    ])
    .fails(NOT_FOUND, "NOT_FOUND");
    cli.run(&[
        "pull",
        "--format",
        "tarball",
        &f.image("fixtures/app:v1"),
        s(&none),
    ])
    .fails(USAGE, "INVALID_ARGUMENT");
    assert!(!none.exists());
}

#[test]
#[ignore = "needs the fixture registries (make test-cli)"]
fn save_writes_several_images_into_one_docker_archive() {
    let f = fixture("anon");
    let cli = Cli::new();
    let dir = temp_dir("save");
    let file = dir.join("both.tar");
    let out = cli.run(&[
        "save",
        &f.image("fixtures/app:v1"),
        &f.image("fixtures/multi:latest"),
        "-o",
        s(&file),
    ]);
    assert_eq!(out.lines().len(), 2, "one digest per image");
    let config = skopeo_config(
        &format!("docker-archive:{}:{}", s(&file), f.image("fixtures/app:v1")),
        &dir.join("app"),
    );
    assert_eq!(config, f.fact("IMAGE_ID"));
    skopeo_config(
        &format!(
            "docker-archive:{}:{}",
            s(&file),
            f.image("fixtures/multi:latest")
        ),
        &dir.join("multi"),
    );
    // Images of two registries are refused before anything is written.
    cli.run(&[
        "save",
        &f.image("fixtures/app:v1"),
        "other.example:5000/x:1",
        "-o",
        s(&dir.join("mixed.tar")),
    ])
    .fails(USAGE, "INVALID_ARGUMENT");
}

#[test]
#[ignore = "needs the fixture registries (make test-cli)"]
fn push_takes_an_archive_file_or_stdin() {
    let f = fixture("anon");
    let cli = Cli::new();
    let dir = temp_dir("push-archive");
    let file = dir.join("app.tar");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}", f.image("fixtures/app:v1")),
        &format!("docker-archive:{}:cli/app:v1", s(&file)),
    ]);
    let out = cli.run(&["push", s(&file), &f.image("cli/from-archive:v1")]);
    let pushed = out.lines();
    assert_eq!(pushed.len(), 1);
    let raw = skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}", f.image("cli/from-archive:v1")),
    ]);
    assert_eq!(sha256(&raw), pushed[0]);
    let m: Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(m["config"]["digest"], f.fact("IMAGE_ID"));
    // --compress gzip: the uncompressed layer goes gzip-compressed.
    let out = cli.run(&[
        "push",
        "--compress",
        "gzip",
        s(&file),
        &f.image("cli/from-archive:gz"),
    ]);
    let gz: Value = serde_json::from_slice(&skopeo(&[
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{}", f.image("cli/from-archive:gz")),
    ]))
    .unwrap();
    assert_eq!(out.lines().len(), 1);
    assert_eq!(gz["config"]["digest"], f.fact("IMAGE_ID"));
    assert_eq!(
        gz["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar+gzip"
    );
    assert_ne!(gz["layers"][0]["digest"], m["layers"][0]["digest"]);
    cli.run(&["push", "--compress", "zstd", s(&file), &f.image("cli/x:v1")])
        .fails(USAGE, "INVALID_ARGUMENT");
    // From stdin, an oci-archive, named.
    let oci = dir.join("multi.tar");
    cli.run(&[
        "pull",
        "--format",
        "oci-archive",
        &f.image("fixtures/multi:latest"),
        s(&oci),
    ])
    .ok();
    let bytes = std::fs::read(&oci).unwrap();
    let out = cli.run_with_stdin(
        &[
            "push",
            "--ref",
            "latest",
            "-",
            &f.image("cli/from-stdin:multi"),
        ],
        Some(&bytes),
    );
    assert_eq!(out.lines(), vec![f.fact("INDEX_DIGEST")]);
    // A --ref the archive lacks.
    cli.run(&[
        "push",
        "--ref",
        "cli/app:v9",
        s(&file),
        &f.image("cli/from-archive:v2"),
    ])
    .fails(NOT_FOUND, "NOT_FOUND");
}
