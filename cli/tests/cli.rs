//! The built `regcli` against real registries: the anonymous one (plain HTTP
//! on loopback), the HTTPS one with basic auth (docker's self-signed
//! certificate, credentials through a logged-in config.json), the token one,
//! and the v1 fixture; skopeo reads back what pull, push and cp wrote.

mod common;

use std::path::Path;
use std::process::Command;

use base64::Engine;
use common::{bin, fixture, sha256, skopeo, temp_dir, unique, Cli, Fixture};
use serde_json::Value;

/// Exit codes, as documented in `regcli --help` and the README.
const USAGE: i32 = 2;
const NOT_FOUND: i32 = 3;
const AUTH: i32 = 4;
const NETWORK: i32 = 5;
const INTEGRITY: i32 = 6;
const OTHER: i32 = 1;

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// `skopeo inspect --raw` of an image on the anonymous registry.
fn skopeo_raw_anon(image: &str) -> Vec<u8> {
    skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{image}"),
    ])
}

/// The `--cert-dir` and `--creds` skopeo needs for the basic registry.
fn skopeo_basic_args(f: &Fixture) -> Vec<String> {
    vec![
        "--cert-dir".into(),
        format!("{}/{}", f.var("CERTS_DIR"), f.addr()),
        "--creds".into(),
        format!("{}:{}", f.var("USER"), f.var("PASS")),
    ]
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

// ---------------------------------------------------------------- anonymous

#[test]
fn anon_reads_every_listing_and_document() {
    let f = fixture("anon");
    let cli = Cli::new();
    let a = f.addr();
    assert_eq!(cli.run(&["ping", &a]).lines(), ["v2"]);
    let catalog = cli.run(&["catalog", &a]).lines();
    for repo in ["fixtures/app", "fixtures/multi", "fixtures/layers"] {
        assert!(catalog.iter().any(|r| r == repo), "{repo} in {catalog:?}");
    }
    let found = cli.run(&["search", "--limit", "0", &a, "MULT"]).lines();
    assert!(found.iter().any(|r| r == "fixtures/multi"), "{found:?}");
    assert!(found.iter().all(|r| r.contains("mult")), "{found:?}");
    // One page of the filtered catalog, the Hub's paging fields in the JSON.
    let page = cli
        .run(&[
            "--json",
            "search",
            "--page",
            "1",
            "--limit",
            "1",
            &a,
            "FIXTURES/MULTI",
        ])
        .json();
    assert_eq!(
        (
            &page["num_results"],
            &page["num_pages"],
            &page["page_size"],
            &page["page"]
        ),
        (
            &Value::from(1),
            &Value::from(1),
            &Value::from(1),
            &Value::from(1)
        ),
        "{page}"
    );
    assert_eq!(page["results"][0]["name"], "fixtures/multi");
    assert_eq!(page["results"][0]["is_trusted"], false);
    let past = cli
        .run(&[
            "search",
            "--page",
            "2",
            "--limit",
            "1",
            &a,
            "FIXTURES/MULTI",
        ])
        .lines();
    assert!(past.is_empty(), "{past:?}");
    let tags = cli.run(&["tags", &f.image("fixtures/app")]).lines();
    assert!(
        tags.contains(&"v1".into()) && tags.contains(&"v2".into()),
        "{tags:?}"
    );
    assert_eq!(tags, sorted(tags.clone()), "tags come sorted");

    let layers = f.fact("LAYERS_DIGEST");
    assert_eq!(
        cli.run(&["digest", &f.image("fixtures/layers:v1")]).lines(),
        vec![layers.clone()]
    );
    assert_eq!(
        cli.run(&["digest", &f.image("fixtures/multi")]).lines(),
        [f.fact("INDEX_DIGEST")],
        "no tag means latest"
    );
    let manifest = cli.run(&["manifest", &f.image("fixtures/layers:v1")]);
    assert_eq!(
        sha256(&manifest.stdout),
        layers,
        "the manifest, byte for byte"
    );
    let by_digest = cli.run(&["manifest", &f.image(&format!("fixtures/layers@{layers}"))]);
    assert_eq!(by_digest.stdout, manifest.stdout);
    let doc: Value = serde_json::from_slice(&manifest.stdout).unwrap();
    assert_eq!(doc["layers"].as_array().map(Vec::len), Some(3));

    let config = cli.run(&["config", &f.image("fixtures/app:v1")]);
    assert_eq!(sha256(&config.stdout), f.fact("IMAGE_ID"));
    let doc: Value = serde_json::from_slice(&config.stdout).unwrap();
    assert_eq!(doc["architecture"], "amd64");

    // --platform picks from the index.
    let arm = cli
        .run(&[
            "digest",
            "--platform",
            "linux/arm64",
            &f.image("fixtures/multi"),
        ])
        .lines();
    assert_ne!(arm, [f.fact("INDEX_DIGEST")]);
    let arm_manifest = cli.run(&[
        "manifest",
        "--platform",
        "linux/arm64",
        &f.image("fixtures/multi"),
    ]);
    assert_eq!([sha256(&arm_manifest.stdout)], arm.as_slice());
    let arm_config = cli.run(&[
        "config",
        "--platform",
        "linux/arm64/v8",
        &f.image("fixtures/multi"),
    ]);
    assert_eq!(sha256(&arm_config.stdout), f.fact("ARM64_IMAGE_ID"));
    let amd_config = cli.run(&["config", &f.image("fixtures/multi")]);
    assert_eq!(
        sha256(&amd_config.stdout),
        f.fact("IMAGE_ID"),
        "default linux/amd64"
    );
    cli.run(&[
        "digest",
        "--platform",
        "windows/amd64",
        &f.image("fixtures/multi"),
    ])
    .fails(NOT_FOUND, "NOT_FOUND");

    // A reader that goes away early is no error (`regcli catalog … | head -1`).
    let piped = Command::new("bash")
        .args([
            "-c",
            r#"set -o pipefail; "$0" catalog "$1" | true"#,
            bin(),
            &a,
        ])
        .env("DOCKER_CONFIG", &cli.docker_config)
        .output()
        .unwrap();
    assert!(piped.status.success(), "{piped:?}");
    assert_eq!(String::from_utf8_lossy(&piped.stderr), "");
}

#[test]
fn anon_pull_and_push_are_read_back_by_skopeo() {
    let f = fixture("anon");
    let cli = Cli::new();
    let layers = f.fact("LAYERS_DIGEST");
    let dir = temp_dir("pull");
    let out = cli.run(&["pull", &f.image("fixtures/layers:v1"), s(&dir)]);
    assert_eq!(out.lines(), vec![layers.clone()]);
    let raw = skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        &format!("oci:{}:v1", s(&dir)),
    ]);
    assert_eq!(sha256(&raw), layers, "skopeo reads the pulled layout");
    let copied = temp_dir("skopeo-dir");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--all",
        &format!("oci:{}:v1", s(&dir)),
        &format!("dir:{}", s(&copied)),
    ]);
    let manifest = std::fs::read(copied.join("manifest.json")).unwrap();
    assert_eq!(sha256(&manifest), layers);
    let doc: Value = serde_json::from_slice(&manifest).unwrap();
    for layer in doc["layers"].as_array().unwrap() {
        let d = layer["digest"].as_str().unwrap();
        let bytes = std::fs::read(copied.join(d.trim_start_matches("sha256:"))).unwrap();
        assert_eq!(sha256(&bytes), d, "skopeo copied every pulled blob");
    }

    // Every platform of an index, then only one.
    let all = temp_dir("pull-all");
    let index = f.fact("INDEX_DIGEST");
    assert_eq!(
        cli.run(&["pull", &f.image("fixtures/multi"), s(&all)])
            .lines(),
        vec![index.clone()]
    );
    let copied = temp_dir("skopeo-all");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--all",
        &format!("oci:{}:latest", s(&all)),
        &format!("dir:{}", s(&copied)),
    ]);
    assert_eq!(
        sha256(&std::fs::read(copied.join("manifest.json")).unwrap()),
        index
    );
    let arm = temp_dir("pull-arm");
    let arm_digest = cli
        .run(&[
            "digest",
            "--platform",
            "linux/arm64",
            &f.image("fixtures/multi"),
        ])
        .ok();
    let pulled = cli.run(&[
        "pull",
        "--platform",
        "linux/arm64",
        &f.image("fixtures/multi"),
        s(&arm),
    ]);
    assert_eq!(pulled.ok(), arm_digest);
    let raw = skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        &format!("oci:{}:latest", s(&arm)),
    ]);
    assert_eq!(format!("{}\n", sha256(&raw)), arm_digest);

    // Push the pulled layout; skopeo reads it from the registry.
    let repo = unique("pushed");
    let pushed = cli.run(&["push", s(&dir), &f.image(&format!("{repo}:p1"))]);
    assert_eq!(pushed.lines(), vec![layers.clone()]);
    assert_eq!(
        sha256(&skopeo_raw_anon(&f.image(&format!("{repo}:p1")))),
        layers
    );
    assert_eq!(cli.run(&["tags", &f.image(&repo)]).lines(), ["p1"]);

    // A layout with two images needs --ref.
    let app_v2 = cli.run(&["digest", &f.image("fixtures/app:v2")]).ok();
    cli.run(&["pull", &f.image("fixtures/app:v2"), s(&dir)])
        .ok();
    let two = cli.run(&["push", s(&dir), &f.image(&format!("{repo}:p2"))]);
    two.fails(USAGE, "INVALID_ARGUMENT");
    assert!(two.stderr.contains("--ref"), "{}", two.stderr);
    let pushed = cli.run(&[
        "push",
        s(&dir),
        "--ref",
        "v2",
        &f.image(&format!("{repo}:p2")),
    ]);
    assert_eq!(pushed.ok(), app_v2);
    assert_eq!(
        format!(
            "{}\n",
            sha256(&skopeo_raw_anon(&f.image(&format!("{repo}:p2"))))
        ),
        app_v2
    );
}

#[test]
fn anon_cp_tag_untag_rm() {
    let f = fixture("anon");
    let cli = Cli::new();
    let index = f.fact("INDEX_DIGEST");
    let repo = unique("copied");
    let at = |tag: &str| f.image(&format!("{repo}{tag}"));
    assert_eq!(
        cli.run(&["cp", &f.image("fixtures/multi"), &at(":c1")])
            .lines(),
        vec![index.clone()]
    );
    assert_eq!(
        sha256(&skopeo_raw_anon(&at(":c1"))),
        index,
        "copied byte for byte"
    );
    // No destination tag: the source's.
    let app = cli.run(&["digest", &f.image("fixtures/app:v1")]).ok();
    let kept = cli.run(&["cp", &f.image("fixtures/app:v1"), &at("")]);
    assert_eq!(kept.ok(), app);
    assert!(
        kept.stderr.contains(&format!("to {}:v1", at(""))),
        "says the tag it wrote: {}",
        kept.stderr
    );
    assert_eq!(cli.run(&["tags", &at("")]).lines(), ["c1", "v1"]);
    // One platform of the index.
    let arm = cli
        .run(&[
            "digest",
            "--platform",
            "linux/arm64",
            &f.image("fixtures/multi"),
        ])
        .ok();
    let copied = cli.run(&[
        "cp",
        "--platform",
        "linux/arm64",
        &f.image("fixtures/multi"),
        &at(":arm"),
    ]);
    assert_eq!(copied.ok(), arm);

    assert_eq!(
        cli.run(&["tag", &at(":c1"), "c2"]).lines(),
        vec![index.clone()]
    );
    assert_eq!(
        cli.run(&["tags", &at("")]).lines(),
        ["arm", "c1", "c2", "v1"]
    );
    assert!(cli.run(&["untag", &at(":c1")]).ok().is_empty());
    assert_eq!(cli.run(&["tags", &at("")]).lines(), ["arm", "c2", "v1"]);
    assert_eq!(
        cli.run(&["digest", &at(":c2")]).lines(),
        vec![index.clone()],
        "the image survives"
    );
    assert!(cli.run(&["rm", &at(&format!("@{index}"))]).ok().is_empty());
    assert_eq!(cli.run(&["tags", &at("")]).lines(), ["arm", "v1"]);
    cli.run(&["digest", &at(":c2")])
        .fails(NOT_FOUND, "NOT_FOUND");
    cli.run(&["untag", &at(":c1")])
        .fails(NOT_FOUND, "NOT_FOUND");
    // untag wants a tag written out; rm a digest.
    cli.run(&["untag", &at("")])
        .fails(USAGE, "INVALID_ARGUMENT");
    cli.run(&["rm", &at(":v1")])
        .fails(USAGE, "INVALID_ARGUMENT");
    assert_eq!(cli.run(&["tags", &at("")]).lines(), ["arm", "v1"]);
}

/// Bytes no other test uploads.
fn unique_bytes(n: usize) -> Vec<u8> {
    let seed = format!("{}-{:?}", std::process::id(), std::time::SystemTime::now());
    let mut out = Vec::with_capacity(n);
    let mut x: u64 = seed.bytes().fold(1469598103934665603, |h, b| {
        (h ^ b as u64).wrapping_mul(1099511628211)
    });
    while out.len() < n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(n);
    out
}

#[test]
fn anon_blobs() {
    let f = fixture("anon");
    let cli = Cli::new();
    let layer = f.fact("LAYER_DIGEST");
    let dir = temp_dir("blobs");
    let file = dir.join("layer.tar.gz");
    let got = cli.run(&["blob", "get", &f.image("fixtures/app"), &layer, s(&file)]);
    assert!(got.ok().is_empty(), "the bytes go to the file only");
    let bytes = std::fs::read(&file).unwrap();
    assert_eq!(sha256(&bytes), layer);
    assert_eq!(bytes.len().to_string(), f.fact("LAYER_SIZE"));
    let to_stdout = cli.run(&["blob", "get", &f.image("fixtures/app"), &layer, "-"]);
    assert_eq!(to_stdout.code, 0, "{}", to_stdout.stderr);
    assert_eq!(sha256(&to_stdout.stdout), layer);

    let repo = f.image(&unique("blobs"));
    let data = unique_bytes(700_000);
    let src = dir.join("upload.bin");
    std::fs::write(&src, &data).unwrap();
    let put = cli.run(&["blob", "put", &repo, s(&src)]);
    assert_eq!(put.lines(), [sha256(&data)]);
    let again = cli.run(&["blob", "put", &repo, s(&src)]);
    assert_eq!(again.lines(), [sha256(&data)], "a blob already there");
    let from_stdin = cli.run_with_stdin(&["blob", "put", &repo, "-"], Some(&data));
    assert_eq!(from_stdin.lines(), [sha256(&data)]);
    // With --digest the file is not hashed first; a wrong one commits nothing.
    let other = f.image(&unique("digest"));
    let known = cli.run(&["blob", "put", "--digest", &sha256(&data), &other, s(&src)]);
    assert_eq!(known.lines(), [sha256(&data)]);
    let wrong = sha256(b"something else");
    let third = f.image(&unique("wrong"));
    cli.run(&["blob", "put", "--digest", &wrong, &third, s(&src)])
        .fails(INTEGRITY, "DIGEST_MISMATCH");
    cli.run(&["blob", "get", &third, &wrong, s(&dir.join("never.bin"))])
        .fails(NOT_FOUND, "NOT_FOUND");
    cli.run(&["blob", "put", "--digest", "sha256:nothex", &third, s(&src)])
        .fails(USAGE, "INVALID_ARGUMENT");
    let back = dir.join("back.bin");
    cli.run(&["blob", "get", &repo, &sha256(&data), s(&back)])
        .ok();
    assert_eq!(std::fs::read(&back).unwrap(), data);

    let missing = dir.join("missing.bin");
    let zero = format!("sha256:{}", "0".repeat(64));
    cli.run(&["blob", "get", &repo, &zero, s(&missing)])
        .fails(NOT_FOUND, "NOT_FOUND");
    assert!(!missing.exists());
    cli.run(&["blob", "get", &repo, "sha256:nothex", s(&missing)])
        .fails(USAGE, "INVALID_ARGUMENT");
}

#[test]
fn a_blob_that_does_not_match_its_digest_is_an_integrity_failure() {
    let f = fixture("anon");
    let cli = Cli::new();
    let repo = f.image(&unique("tampered"));
    let dir = temp_dir("tampered");
    let data = unique_bytes(100_000);
    let src = dir.join("blob.bin");
    std::fs::write(&src, &data).unwrap();
    let digest = cli
        .run(&["blob", "put", &repo, s(&src)])
        .ok()
        .trim()
        .to_string();
    // Change one byte where the registry keeps it (its filesystem driver).
    let hex = digest.trim_start_matches("sha256:");
    let stored = f
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&stored).expect("the registry stores the blob on disk");
    bytes[50_000] ^= 0xff;
    std::fs::write(&stored, &bytes).unwrap();
    let out = dir.join("out.bin");
    cli.run(&["blob", "get", &repo, &digest, s(&out)])
        .fails(INTEGRITY, "DIGEST_MISMATCH");
    assert!(!out.exists(), "nothing is left at FILE");
    let left: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(left, ["blob.bin"], "no temporary file is left either");
}

#[test]
fn json_output_parses() {
    let f = fixture("anon");
    let cli = Cli::new();
    let a = f.addr();
    let ping = cli.run(&["--json", "ping", &a]).json();
    assert_eq!(ping["api"], "v2");
    assert_eq!(ping["api_version_header"], "registry/2.0");
    let tags = cli
        .run(&["tags", "--json", &f.image("fixtures/app")])
        .json();
    assert_eq!(tags["name"], "fixtures/app");
    assert!(tags["tags"]
        .as_array()
        .unwrap()
        .contains(&Value::from("v1")));
    let catalog = cli.run(&["catalog", &a, "--json"]).json();
    assert!(catalog["repositories"]
        .as_array()
        .unwrap()
        .contains(&Value::from("fixtures/app")));
    let search = cli.run(&["--json", "search", &a, "app"]).json();
    assert_eq!(search["query"], "app");
    let results = search["results"].as_array().unwrap();
    assert_eq!(search["num_results"].as_u64(), Some(results.len() as u64));
    assert!(
        results.iter().any(|r| r["name"] == "fixtures/app"),
        "{search}"
    );
    assert!(results
        .iter()
        .all(|r| r["star_count"].is_u64() && r["description"].is_string()));
    let digest = cli
        .run(&["--json", "digest", &f.image("fixtures/multi")])
        .json();
    assert_eq!(digest["digest"], f.fact("INDEX_DIGEST").as_str());
    assert_eq!(
        digest["mediaType"],
        "application/vnd.oci.image.index.v1+json"
    );
    assert!(digest["size"].as_u64().unwrap() > 0);
    let dir = temp_dir("json-pull");
    let pull = cli
        .run(&["--json", "pull", &f.image("fixtures/layers:v1"), s(&dir)])
        .json();
    assert_eq!(pull["digest"], f.fact("LAYERS_DIGEST").as_str());
    assert_eq!(pull["name"], "v1");
    let file = dir.join("blob.bin");
    std::fs::write(&file, b"json blob").unwrap();
    let put = cli
        .run(&["--json", "blob", "put", &f.image(&unique("json")), s(&file)])
        .json();
    assert_eq!(put["digest"], sha256(b"json blob").as_str());
    assert_eq!(put["size"], 9);
}

#[test]
fn a_missing_repository_is_not_found_with_nothing_on_stdout() {
    for mode in ["anon", "basic"] {
        let f = fixture(mode);
        let cli = Cli::new();
        let mut flags = vec![];
        if mode == "basic" {
            flags = vec![
                "--ca-file".to_string(),
                f.var("CA"),
                "-u".into(),
                f.var("USER"),
                "--password-stdin".into(),
            ];
        }
        let password = format!(
            "{}\n",
            if mode == "basic" {
                f.var("PASS")
            } else {
                String::new()
            }
        );
        let dir = temp_dir("missing");
        let missing = f.image("no/such/repo");
        for args in [
            vec!["tags", &missing],
            vec!["digest", &missing],
            vec!["manifest", &missing],
            vec!["config", &missing],
            vec!["pull", &missing, s(&dir)],
            vec!["cp", &missing, &missing],
        ] {
            let mut all: Vec<&str> = flags.iter().map(String::as_str).collect();
            all.extend(args);
            let stdin = (mode == "basic").then_some(password.as_bytes());
            cli.run_with_stdin(&all, stdin)
                .fails(NOT_FOUND, "NOT_FOUND");
        }
    }
    let f = fixture("anon");
    Cli::new()
        .run(&["digest", &f.image("fixtures/app:no-such-tag")])
        .fails(NOT_FOUND, "NOT_FOUND");
}

#[test]
fn pull_under_a_terminal_shows_each_blob_by_its_short_digest() {
    let f = fixture("anon");
    let cli = Cli::new();
    let dir = temp_dir("pty");
    let command = format!("{} pull {} {}", bin(), f.image("fixtures/app:v1"), s(&dir));
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("DOCKER_CONFIG", &cli.docker_config)
        .env("COLUMNS", "100")
        .output()
        .expect("script (bsdutils) runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let layer = f.fact("LAYER_DIGEST");
    let short = &layer.trim_start_matches("sha256:")[..12];
    assert!(
        text.contains(&format!("{short}: ")),
        "the layer by its short digest: {text}"
    );
    assert!(text.contains("Pull complete"), "{text}");
    assert!(text.contains("[="), "a live bar: {text}");
    assert!(text.contains("KiB/"), "bytes and total: {text}");
    assert!(text.contains("/s"), "a rate: {text}");
    let config = &f.fact("IMAGE_ID").trim_start_matches("sha256:")[..12].to_string();
    assert!(
        text.contains(config.as_str()),
        "the config blob too: {text}"
    );
}

#[test]
fn progress_is_one_line_per_blob_off_a_terminal_and_nothing_when_quiet() {
    let f = fixture("anon");
    let cli = Cli::new();
    let image = f.image("fixtures/layers:v1");
    let plain = cli.run(&["pull", &image, s(&temp_dir("plain"))]);
    plain.ok();
    let done: Vec<&str> = plain
        .stderr
        .lines()
        .filter(|l| l.contains("Pull complete"))
        .collect();
    // The manifest, the config and three layers.
    assert_eq!(done.len(), 5, "{}", plain.stderr);
    let manifest = cli.run(&["manifest", &image]).stdout;
    let doc: Value = serde_json::from_slice(&manifest).unwrap();
    for layer in doc["layers"].as_array().unwrap() {
        let d = layer["digest"]
            .as_str()
            .unwrap()
            .trim_start_matches("sha256:");
        assert!(
            done.iter()
                .any(|l| l.starts_with(&format!("{}: ", &d[..12]))),
            "{done:?}"
        );
    }
    assert!(!plain.stderr.contains('\x1b'), "no escapes off a terminal");
    let quiet = cli.run(&["pull", "-q", &image, s(&temp_dir("quiet"))]);
    quiet.ok();
    assert_eq!(quiet.stderr, "", "--quiet");
    let none = cli.run(&["pull", "--progress", "none", &image, s(&temp_dir("none"))]);
    none.ok();
    assert!(!none.stderr.contains("Pull complete"), "{}", none.stderr);
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let cli = Cli::new();
    let none = cli.run(&[]);
    assert_eq!(none.code, USAGE);
    assert!(none.stdout.is_empty());
    let dir = temp_dir("usage");
    for args in [
        vec!["bogus"],
        vec!["tags"],
        vec!["tags", "a", "b"],
        vec!["tags", "Bad/Name"],
        vec!["tags", "127.0.0.1:1/repo:tag"],
        vec!["--progress", "sometimes", "tags", "127.0.0.1:1/repo"],
        vec!["--platform", "linux", "digest", "127.0.0.1:1/repo"],
        vec!["--password-stdin", "tags", "127.0.0.1:1/repo"],
        vec!["--parallel", "0", "pull", "127.0.0.1:1/repo", s(&dir)],
        vec!["untag", "127.0.0.1:1/repo"],
        vec!["rm", "127.0.0.1:1/repo:v1"],
        vec![
            "cp",
            "127.0.0.1:1/a",
            &format!("127.0.0.1:1/b@sha256:{}", "a".repeat(64)),
        ],
        vec![
            "push",
            s(&dir),
            &format!("127.0.0.1:1/b@sha256:{}", "a".repeat(64)),
        ],
        vec!["login", "ftp://host"],
        vec!["blob", "frob"],
        vec!["search", "--page", "0", "127.0.0.1:1", "x"],
    ] {
        cli.run(&args).fails(USAGE, "INVALID_ARGUMENT");
    }
    // The password and the blob cannot both come from stdin.
    let both = [
        "-u",
        "ci",
        "--password-stdin",
        "blob",
        "put",
        "127.0.0.1:1/repo",
        "-",
    ];
    cli.run_with_stdin(&both, Some(b"secret\nlayer bytes"))
        .fails(USAGE, "INVALID_ARGUMENT");
}

#[test]
fn every_command_has_a_manual() {
    let cli = Cli::new();
    let top = cli.run(&["--help"]).ok();
    for section in ["EXIT STATUS", "EXAMPLES", "DOCKER_CONFIG", "Global options"] {
        assert!(top.contains(section), "{section} in {top}");
    }
    let commands = [
        "login", "logout", "ping", "catalog", "search", "tags", "digest", "manifest", "config",
        "pull", "push", "cp", "tag", "untag", "rm", "blob get", "blob put",
    ];
    for cmd in commands {
        let name = cmd.split(' ').next_back().unwrap();
        assert!(top.contains(cmd.split(' ').next().unwrap()), "{cmd} listed");
        let mut args: Vec<&str> = cmd.split(' ').collect();
        args.push("--help");
        let help = cli.run(&args).ok();
        assert!(help.contains(&format!("Usage: regcli {cmd}")), "{help}");
        for part in ["Arguments:", "EXAMPLES:", "--docker-config", "--json"] {
            assert!(help.contains(part), "{part} in regcli {cmd} --help");
        }
        assert!(
            help.contains(&format!("regcli {cmd} ")),
            "an example of {name}"
        );
    }
    let version = cli.run(&["--version"]).ok();
    assert!(version.starts_with("regcli "), "{version}");
}

// ------------------------------------------------- basic: HTTPS + basic auth

/// Logs in to the basic registry through `--certs-dir`; returns the flags
/// that trust it.
fn log_in(cli: &Cli, f: &Fixture) -> Vec<String> {
    let certs = vec!["--certs-dir".to_string(), f.var("CERTS_DIR")];
    let mut args: Vec<&str> = vec!["login", "-u"];
    let user = f.var("USER");
    args.push(&user);
    args.push("--password-stdin");
    let addr = f.addr();
    args.push(&addr);
    args.extend(certs.iter().map(String::as_str));
    let password = format!("{}\n", f.var("PASS"));
    let out = cli.run_with_stdin(&args, Some(password.as_bytes()));
    assert!(out.ok().is_empty(), "login prints nothing on stdout");
    assert!(out.stderr.contains("Login Succeeded"), "{}", out.stderr);
    certs
}

#[test]
fn basic_login_then_every_command_through_config_json() {
    let f = fixture("basic");
    let anon = fixture("anon");
    let cli = Cli::new();
    let b = f.addr();
    let certs = log_in(&cli, &f);
    let config = cli.config_json();
    let expected = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        f.var("USER"),
        f.var("PASS")
    ));
    assert_eq!(config["auths"][&b]["auth"], expected.as_str());
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(cli.docker_config.join("config.json"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600, "config.json is private");

    let run = |args: &[&str]| {
        let mut all: Vec<&str> = certs.iter().map(String::as_str).collect();
        all.extend(args);
        cli.run(&all)
    };
    assert_eq!(run(&["ping", &b]).lines(), ["v2"]);
    assert!(run(&["catalog", &b])
        .lines()
        .contains(&"fixtures/app".into()));
    assert!(run(&["search", &b, "layers"])
        .lines()
        .contains(&"fixtures/layers".into()));
    assert!(run(&["tags", &f.image("fixtures/app")])
        .lines()
        .contains(&"v1".into()));
    let layers = f.fact("LAYERS_DIGEST");
    assert_eq!(
        run(&["digest", &f.image("fixtures/layers:v1")]).lines(),
        vec![layers.clone()]
    );
    assert_eq!(
        sha256(&run(&["manifest", &f.image("fixtures/layers:v1")]).stdout),
        layers
    );
    assert_eq!(
        sha256(&run(&["config", &f.image("fixtures/app:v1")]).stdout),
        f.fact("IMAGE_ID")
    );

    // pull, push: skopeo reads both back.
    let dir = temp_dir("basic-pull");
    assert_eq!(
        run(&["pull", &f.image("fixtures/layers:v1"), s(&dir)]).lines(),
        vec![layers.clone()]
    );
    let raw = skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        &format!("oci:{}:v1", s(&dir)),
    ]);
    assert_eq!(sha256(&raw), layers);
    let repo = unique("basic");
    let at = |tag: &str| f.image(&format!("{repo}{tag}"));
    assert_eq!(
        run(&["push", s(&dir), &at(":p1")]).lines(),
        vec![layers.clone()]
    );
    let mut args: Vec<String> = vec!["--insecure-policy".into(), "inspect".into(), "--raw".into()];
    args.extend(skopeo_basic_args(&f));
    args.push(format!("docker://{}", at(":p1")));
    let raw = skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(sha256(&raw), layers, "skopeo reads the pushed image");

    // cp from the anonymous registry to this one, and within this one.
    let index = f.fact("INDEX_DIGEST");
    assert_eq!(
        run(&["cp", &anon.image("fixtures/multi"), &at(":m")]).lines(),
        vec![index.clone()]
    );
    let copied = temp_dir("basic-skopeo");
    let mut args: Vec<String> = vec!["--insecure-policy".into(), "copy".into(), "--all".into()];
    args.extend(skopeo_basic_args(&f).iter().map(|a| {
        a.replace("--cert-dir", "--src-cert-dir")
            .replace("--creds", "--src-creds")
    }));
    args.push(format!("docker://{}", at(":m")));
    args.push(format!("dir:{}", s(&copied)));
    skopeo(&args.iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(
        sha256(&std::fs::read(copied.join("manifest.json")).unwrap()),
        index
    );
    assert_eq!(
        run(&["cp", &at(":p1"), &at(":p2")]).lines(),
        vec![layers.clone()]
    );

    // tag, untag, rm.
    assert_eq!(run(&["tag", &at(":p1"), "t"]).lines(), vec![layers.clone()]);
    assert_eq!(run(&["tags", &at("")]).lines(), ["m", "p1", "p2", "t"]);
    run(&["untag", &at(":p2")]).ok();
    assert_eq!(run(&["tags", &at("")]).lines(), ["m", "p1", "t"]);
    run(&["rm", &at(&format!("@{layers}"))]).ok();
    assert_eq!(run(&["tags", &at("")]).lines(), ["m"]);

    // Blobs.
    let file = dir.join("layer");
    run(&[
        "blob",
        "get",
        &f.image("fixtures/app"),
        &f.fact("LAYER_DIGEST"),
        s(&file),
    ])
    .ok();
    assert_eq!(
        sha256(&std::fs::read(&file).unwrap()),
        f.fact("LAYER_DIGEST")
    );
    let data = unique_bytes(50_000);
    std::fs::write(&file, &data).unwrap();
    assert_eq!(
        run(&["blob", "put", &at(""), s(&file)]).lines(),
        [sha256(&data)]
    );

    // --ca-file instead of certs.d, and -u instead of config.json.
    let out = cli.run_with_stdin(
        &[
            "tags",
            "--ca-file",
            &f.var("CA"),
            "--docker-config",
            s(&temp_dir("empty")),
            "-u",
            &f.var("USER"),
            "--password-stdin",
            &f.image("fixtures/app"),
        ],
        Some(format!("{}\n", f.var("PASS")).as_bytes()),
    );
    assert!(out.lines().contains(&"v1".into()));

    // logout forgets them.
    let out = run(&["logout", &b]);
    assert!(out.ok().is_empty());
    assert!(
        cli.config_json()["auths"].get(&b).is_none(),
        "{}",
        cli.config_json()
    );
    run(&["tags", &f.image("fixtures/app")]).fails(AUTH, "UNAUTHORIZED");
    let again = run(&["logout", &b]);
    again.ok();
    assert!(again.stderr.contains("Not logged in"), "{}", again.stderr);
}

#[test]
fn basic_wrong_password_is_refused_and_nothing_is_saved() {
    let f = fixture("basic");
    let cli = Cli::new();
    let wrong = "not-the-Passw0rd-xyzzy";
    let out = cli.run_with_stdin(
        &[
            "login",
            &f.addr(),
            "-u",
            &f.var("USER"),
            "--password-stdin",
            "--ca-file",
            &f.var("CA"),
        ],
        Some(format!("{wrong}\n").as_bytes()),
    );
    out.fails(AUTH, "UNAUTHORIZED");
    assert!(
        !out.stderr.contains(wrong),
        "no secret in errors: {}",
        out.stderr
    );
    assert!(
        !cli.docker_config.join("config.json").exists(),
        "nothing saved"
    );
    let out = cli.run_with_stdin(
        &[
            "tags",
            "-u",
            &f.var("USER"),
            "--password-stdin",
            "--ca-file",
            &f.var("CA"),
            &f.image("fixtures/app"),
        ],
        Some(wrong.as_bytes()),
    );
    out.fails(AUTH, "UNAUTHORIZED");
    assert!(!out.stderr.contains(wrong), "{}", out.stderr);
    // A good login stays when a later one fails.
    log_in(&cli, &f);
    let before = cli.config_json();
    cli.run_with_stdin(
        &[
            "login",
            &f.addr(),
            "-u",
            "mallory",
            "--password-stdin",
            "--ca-file",
            &f.var("CA"),
        ],
        Some(wrong.as_bytes()),
    )
    .fails(AUTH, "UNAUTHORIZED");
    assert_eq!(cli.config_json(), before);
    // Without a terminal, no password is no login.
    cli.run(&["login", &f.addr(), "-u", "alice"])
        .fails(USAGE, "INVALID_ARGUMENT");
}

#[test]
fn an_untrusted_certificate_is_a_tls_failure() {
    let f = fixture("basic");
    let cli = Cli::new();
    let no_certs = temp_dir("no-certs");
    for args in [
        vec!["tags", &f.image("fixtures/app")],
        vec!["ping", &f.addr()],
        vec!["digest", &f.image("fixtures/app:v1")],
    ] {
        let mut all = vec!["--certs-dir", s(&no_certs)];
        all.extend(args);
        cli.run(&all).fails(NETWORK, "TLS");
    }
    let out = cli.run_with_stdin(
        &[
            "login",
            &f.addr(),
            "-u",
            &f.var("USER"),
            "--password-stdin",
            "--certs-dir",
            s(&no_certs),
        ],
        Some(f.var("PASS").as_bytes()),
    );
    out.fails(NETWORK, "TLS");
    assert!(!cli.docker_config.join("config.json").exists());
    // Nothing listening: a network failure, the same class.
    cli.run(&["tags", "127.0.0.1:1/app"])
        .fails(NETWORK, "NETWORK");
}

#[test]
fn login_and_logout_go_through_the_configured_credential_helper() {
    let f = fixture("basic");
    let helpers = temp_dir("helpers");
    let store = helpers.join("store.json");
    let log = helpers.join("calls.log");
    let script = helpers.join("docker-credential-regclitest");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
echo "$1" >> '{log}'
case "$1" in
  store) cat > '{store}' ;;
  get) cat > /dev/null
       if [ -s '{store}' ]; then cat '{store}'; else echo "credentials not found in native keychain"; exit 1; fi ;;
  erase) cat > /dev/null
         if [ -s '{store}' ]; then rm '{store}'; else echo "credentials not found in native keychain"; exit 1; fi ;;
  *) exit 2 ;;
esac
"#,
            log = s(&log),
            store = s(&store)
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        s(&helpers),
        std::env::var("PATH").unwrap_or_default()
    );
    let cli = Cli::new().env("PATH", &path);
    std::fs::write(
        cli.docker_config.join("config.json"),
        r#"{"credsStore": "regclitest"}"#,
    )
    .unwrap();

    let certs = log_in(&cli, &f);
    let stored: Value = serde_json::from_slice(&std::fs::read(&store).unwrap()).unwrap();
    assert_eq!(stored["ServerURL"], f.addr().as_str());
    assert_eq!(stored["Username"], f.var("USER").as_str());
    assert_eq!(stored["Secret"], f.var("PASS").as_str());
    let config = cli.config_json();
    assert_eq!(config["credsStore"], "regclitest");
    assert_eq!(
        config["auths"][&f.addr()],
        serde_json::json!({}),
        "no secret in config.json"
    );

    let mut args: Vec<&str> = certs.iter().map(String::as_str).collect();
    let image = f.image("fixtures/app");
    args.extend(["tags", &image]);
    assert!(
        cli.run(&args).lines().contains(&"v1".into()),
        "the library asks the helper"
    );
    let calls = std::fs::read_to_string(&log).unwrap();
    assert_eq!(calls.lines().collect::<Vec<_>>(), ["store", "get"]);

    cli.run(&["logout", &f.addr()]).ok();
    assert!(!store.exists(), "erased from the helper");
    assert!(cli.config_json()["auths"].get(f.addr()).is_none());
    cli.run(&args).fails(AUTH, "UNAUTHORIZED");
}

// ------------------------------------------------------------ token, v1

#[test]
fn token_registry_login() {
    let f = fixture("token");
    let cli = Cli::new();
    let ca = f.var("CA");
    cli.run_with_stdin(
        &[
            "login",
            &f.addr(),
            "--ca-file",
            &ca,
            "-u",
            &f.var("USER"),
            "--password-stdin",
        ],
        Some(b"wrong-password"),
    )
    .fails(AUTH, "UNAUTHORIZED");
    let out = cli.run_with_stdin(
        &[
            "login",
            &f.addr(),
            "--ca-file",
            &ca,
            "-u",
            &f.var("USER"),
            "--password-stdin",
        ],
        Some(f.var("PASS").as_bytes()),
    );
    out.ok();
    assert!(cli
        .run(&["tags", "--ca-file", &ca, &f.image("fixtures/app")])
        .lines()
        .contains(&"v2".into()));
    let dir = temp_dir("token-pull");
    let pulled = cli.run(&[
        "pull",
        "--ca-file",
        &ca,
        &f.image("fixtures/layers:v1"),
        s(&dir),
    ]);
    assert_eq!(pulled.lines(), [f.fact("LAYERS_DIGEST")]);
}

#[test]
fn v1_registry_where_the_operation_exists() {
    let f = fixture("v1");
    let cli = Cli::new();
    let v = f.addr();
    let id = f.fact("V1_IMAGE_ID");
    assert_eq!(cli.run(&["ping", &v]).lines(), ["v1"]);
    assert_eq!(cli.run(&["--api", "v1", "ping", &v]).lines(), ["v1"]);
    let app = f.image("fixtures/v1app");
    let tags = cli.run(&["tags", &app]).lines();
    assert!(
        tags.contains(&"latest".into()) && tags.contains(&"base".into()),
        "{tags:?}"
    );
    assert!(cli
        .run(&["search", &v, "v1app"])
        .lines()
        .contains(&"fixtures/v1app".into()));
    let page = cli
        .run(&[
            "--json", "search", "--page", "1", "--limit", "0", &v, "busybox",
        ])
        .json();
    assert_eq!(page["page_size"], 25, "{page}");
    assert_eq!(page["num_pages"], 1, "{page}");
    assert_eq!(page["results"][0]["is_official"], true, "{page}");
    assert_eq!(page["results"][0]["star_count"], 15, "{page}");
    assert!(cli
        .run(&["catalog", &v])
        .lines()
        .contains(&"fixtures/v1app".into()));
    assert_eq!(
        cli.run(&["digest", &app]).lines(),
        vec![id.clone()],
        "the image id"
    );
    let config: Value = serde_json::from_slice(&cli.run(&["config", &app]).stdout).unwrap();
    assert_eq!(config["id"], id.as_str());
    let dir = temp_dir("v1");
    let layer = dir.join("layer");
    cli.run(&["blob", "get", &app, &id, s(&layer)]).ok();
    let bytes = std::fs::read(&layer).unwrap();
    assert_eq!(bytes.len().to_string(), f.fact("V1_LAYER_SIZE"));
    assert_eq!(
        sha256(&bytes),
        format!("sha256:{}", f.fact("V1_LAYER_SHA256"))
    );

    // Writes need the index's credentials.
    let tag = format!("cli-{}", std::process::id());
    let pass = f.var("PASS");
    let with_login = |args: &[&str]| {
        let mut all = vec!["-u", "alice", "--password-stdin"];
        all.extend(args);
        cli.run_with_stdin(&all, Some(pass.as_bytes()))
    };
    cli.run(&["tag", &format!("{app}:latest"), &tag])
        .fails(AUTH, "UNAUTHORIZED");
    assert_eq!(
        with_login(&["tag", &format!("{app}:latest"), &tag]).lines(),
        vec![id.clone()]
    );
    assert!(cli.run(&["tags", &app]).lines().contains(&tag));
    with_login(&["untag", &format!("{app}:{tag}")]).ok();
    assert!(!cli.run(&["tags", &app]).lines().contains(&tag));

    // What v1 does not have.
    cli.run(&["manifest", &app]).fails(OTHER, "UNSUPPORTED");
    cli.run(&["pull", &app, s(&dir.join("layout"))])
        .fails(OTHER, "UNSUPPORTED");
    assert!(!dir.join("layout").exists());
}

// ------------------------------------- temporary files, credential helpers

/// Runs `regcli args` from a shell that first plants a symlink to `victim` at
/// `dir/<prefix><pid><suffix>`, the pid being the one regcli runs as (`exec`
/// keeps the shell's), then checks that the victim is untouched.
fn run_planting_link(
    cli: &Cli,
    victim: &Path,
    dir: &Path,
    (prefix, suffix): (&str, &str),
    args: &[&str],
) -> common::Run {
    std::fs::write(victim, "precious\n").unwrap();
    let script = r#"ln -s "$1" "$2/$3$$$4" || exit 99; shift 4; exec "$0" "$@""#;
    let out = Command::new("sh")
        .args(["-c", script, bin(), s(victim), s(dir), prefix, suffix])
        .args(args)
        .env("DOCKER_CONFIG", &cli.docker_config)
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("http_proxy")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let left = std::fs::read(victim).unwrap();
    assert!(
        left == b"precious\n",
        "regcli {args:?} wrote through the link planted in {}: the victim now holds {} bytes",
        dir.display(),
        left.len()
    );
    common::Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        args: args.iter().map(|a| a.to_string()).collect(),
    }
}

/// Asserts that `path` is a regular file, not a link.
fn regular_file(path: &Path) -> std::fs::Metadata {
    let meta = std::fs::symlink_metadata(path).unwrap();
    assert!(meta.file_type().is_file(), "{}: {meta:?}", path.display());
    meta
}

#[test]
fn logout_writes_config_json_through_a_fresh_file_not_a_planted_link() {
    use std::os::unix::fs::PermissionsExt;
    let cli = Cli::new();
    let config = cli.docker_config.join("config.json");
    std::fs::write(
        &config,
        r#"{"auths":{"127.0.0.1:1":{"auth":"eDp5"},"k:2":{"auth":"YTpi"}}}"#,
    )
    .unwrap();
    let victim = temp_dir("victim").join("victim");
    let out = run_planting_link(
        &cli,
        &victim,
        &cli.docker_config,
        (".config.json.regcli-", ""),
        &["logout", "127.0.0.1:1"],
    );
    out.ok();
    let meta = regular_file(&config);
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let saved = cli.config_json();
    assert!(saved["auths"].get("127.0.0.1:1").is_none(), "{saved}");
    assert_eq!(saved["auths"]["k:2"]["auth"], "YTpi");
}

#[test]
fn blob_get_writes_through_a_fresh_file_not_a_planted_link() {
    let f = fixture("anon");
    let cli = Cli::new();
    let layer = f.fact("LAYER_DIGEST");
    let dir = temp_dir("blob-link");
    let victim = temp_dir("victim").join("victim");
    let file = dir.join("layer.bin");
    let image = f.image("fixtures/app");
    run_planting_link(
        &cli,
        &victim,
        &dir,
        (".layer.bin.regcli-", ".partial"),
        &["blob", "get", &image, &layer, s(&file)],
    )
    .ok();
    regular_file(&file);
    assert_eq!(sha256(&std::fs::read(&file).unwrap()), layer);
}

/// A `DOCKER_CONFIG` whose `credsStore` is `docker-credential-<name>`, a
/// shell script written into `bin`, with an `auths` entry for `h:1`.
fn cli_with_helper(bin: &Path, name: &str, script: &str) -> Cli {
    use std::os::unix::fs::PermissionsExt;
    std::fs::create_dir_all(bin).unwrap();
    let p = bin.join(format!("docker-credential-{name}"));
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cli = Cli::new();
    std::fs::write(
        cli.docker_config.join("config.json"),
        format!(r#"{{"credsStore":"{name}","auths":{{"h:1":{{}}}}}}"#),
    )
    .unwrap();
    cli
}

#[test]
fn a_credential_helper_in_a_relative_path_entry_is_not_run() {
    let cwd = temp_dir("cwd");
    let marker = cwd.join("ran");
    let cli = cli_with_helper(
        &cwd.join("bin"),
        "fromcwd",
        &format!("touch '{}'; cat >/dev/null", s(&marker)),
    );
    let path = format!("bin:{}", std::env::var("PATH").unwrap_or_default());
    let out = Command::new(bin())
        .args(["logout", "h:1"])
        .current_dir(&cwd)
        .env("DOCKER_CONFIG", &cli.docker_config)
        .env("PATH", path)
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!marker.exists(), "the helper in ./bin ran: {stderr}");
    assert_eq!(out.status.code(), Some(USAGE), "{stderr}");
    assert!(stderr.contains("docker-credential-fromcwd"), "{stderr}");
}

#[test]
fn a_credential_helper_that_leaves_its_output_open_is_killed_at_the_timeout() {
    let dir = temp_dir("lingers");
    let cli = cli_with_helper(
        &dir.join("bin"),
        "lingers",
        "cat >/dev/null\nsleep 20 &\nexit 0",
    );
    let path = format!(
        "{}:{}",
        s(&dir.join("bin")),
        std::env::var("PATH").unwrap_or_default()
    );
    let cli = cli.env("PATH", &path);
    let start = std::time::Instant::now();
    let out = cli.run(&["logout", "--timeout", "2", "h:1"]);
    let took = start.elapsed();
    out.fails(NETWORK, "TIMEOUT");
    assert!(
        out.stderr.contains("docker-credential-lingers"),
        "{}",
        out.stderr
    );
    assert!(took < std::time::Duration::from_secs(10), "{took:?}");
}

// ------------------------------------------------------------------ mirrors

/// An address on loopback where nothing listens: a registry that is down.
fn down_address() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().to_string()
}

#[test]
fn mirrors_serve_pulls_while_the_registry_is_down_and_say_so() {
    let f = fixture("anon");
    let cli = Cli::new();
    let down = down_address();
    let mirror = format!("http://{}", f.addr());
    let dir = temp_dir("mirror-pull");
    let out = cli.run(&[
        "pull",
        "--json",
        "-v",
        "--mirror",
        &mirror,
        "--daemon-config",
        "",
        "--registries-conf",
        "",
        &format!("{down}/fixtures/app:v1"),
        s(&dir),
    ]);
    let doc = out.json();
    let served = doc["served_by"].as_array().expect("served_by");
    assert!(served.len() >= 3, "{doc}");
    for entry in served {
        assert_eq!(entry["from"], f.addr().as_str(), "{doc}");
    }
    let layer = f.fact("LAYER_DIGEST");
    assert!(
        out.stderr.contains(&format!("{layer} from {}", f.addr())),
        "-v says where each blob came from: {}",
        out.stderr
    );
    // A write goes to the registry alone, which is down.
    cli.run(&[
        "tag",
        "--mirror",
        &mirror,
        &format!("{down}/fixtures/app:v1"),
        "mirrored",
    ])
    .fails(NETWORK, "NETWORK");
    // registries.conf says the same in containers' words.
    let conf = temp_dir("registries-conf").join("registries.conf");
    std::fs::write(
        &conf,
        format!(
            "[[registry]]\nlocation = \"{down}\"\n[[registry.mirror]]\nlocation = \"{}\"\ninsecure = true\n",
            f.addr()
        ),
    )
    .unwrap();
    let tags = cli
        .run(&[
            "tags",
            "--registries-conf",
            s(&conf),
            &format!("{down}/fixtures/app"),
        ])
        .lines();
    assert!(tags.contains(&"v1".to_string()), "{tags:?}");
    // A mirror URL with a path is refused, as docker refuses it.
    cli.run(&[
        "tags",
        "--mirror",
        "http://127.0.0.1:1/v2/",
        &format!("{down}/fixtures/app"),
    ])
    .fails(USAGE, "INVALID_ARGUMENT");
    // daemon.json that cannot be parsed, named on the command line, is a usage error.
    let bad = temp_dir("daemon-json").join("daemon.json");
    std::fs::write(&bad, "{not json").unwrap();
    cli.run(&["tags", "--daemon-config", s(&bad), &f.image("fixtures/app")])
        .fails(USAGE, "INVALID_ARGUMENT");
}

// ---------------------------------------------------------------- artifacts

#[test]
fn artifacts_push_pull_and_referrers() {
    for mode in ["anon", "ferro"] {
        let f = fixture(mode);
        let cli = Cli::new();
        let repo = f.image(&unique("cli-artifacts/app"));
        cli.run(&["cp", &f.image("fixtures/app:v1"), &format!("{repo}:v1")])
            .ok();
        let dir = temp_dir("artifact-files");
        let sbom = dir.join("sbom.spdx.json");
        std::fs::write(&sbom, br#"{"spdxVersion":"SPDX-2.3"}"#).unwrap();
        let notes = dir.join("notes.txt");
        std::fs::write(&notes, b"hello").unwrap();
        let pushed = cli
            .run(&[
                "artifact",
                "push",
                &repo,
                &format!("{}:application/spdx+json", s(&sbom)),
                s(&notes),
                "--artifact-type",
                "application/spdx+json",
                "--subject",
                "v1",
                "--annotation",
                "org.example/kind=sbom",
            ])
            .lines();
        assert_eq!(pushed.len(), 1, "{mode}: {pushed:?}");
        let listed = cli.run(&["referrers", &format!("{repo}:v1")]).lines();
        assert_eq!(
            listed,
            vec![format!("{} application/spdx+json", pushed[0])],
            "{mode}"
        );
        let none = cli
            .run(&[
                "referrers",
                "--artifact-type",
                "application/x.other",
                &format!("{repo}:v1"),
            ])
            .lines();
        assert!(none.is_empty(), "{mode}: {none:?}");
        let doc = cli
            .run(&["referrers", "--json", &format!("{repo}:v1")])
            .json();
        assert_eq!(
            doc["manifests"][0]["annotations"]["org.example/kind"],
            "sbom"
        );
        let out = temp_dir("artifact-pull");
        let files = cli
            .run(&[
                "artifact",
                "pull",
                &format!("{repo}@{}", pushed[0]),
                s(&out),
            ])
            .lines();
        assert_eq!(files.len(), 2, "{mode}: {files:?}");
        assert_eq!(
            std::fs::read(out.join("sbom.spdx.json")).unwrap(),
            br#"{"spdxVersion":"SPDX-2.3"}"#
        );
        assert_eq!(std::fs::read(out.join("notes.txt")).unwrap(), b"hello");
        cli.run(&[
            "artifact",
            "push",
            &repo,
            s(&notes),
            "--artifact-type",
            "not-a-type",
        ])
        .fails(USAGE, "INVALID_ARGUMENT");
    }
}

#[test]
fn an_artifact_title_that_escapes_its_directory_writes_nothing() {
    let f = fixture("anon");
    let c = registry::Client::builder(&f.addr()).build().unwrap();
    let repo = unique("cli-artifacts/hostile");
    let layer = c.layer_put(&repo, &mut &b"owned"[..], None).unwrap();
    let empty = c.layer_put(&repo, &mut &b"{}"[..], None).unwrap();
    for title in ["../escaped.txt", "/tmp/abs.txt", "ok.txt"] {
        let manifest = serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "artifactType": "application/x.test",
            "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": empty.to_string(), "size": 2},
            "layers": [
                {"mediaType": "text/plain", "digest": layer.to_string(), "size": 5,
                 "annotations": {"org.opencontainers.image.title": "ok.txt"}},
                {"mediaType": "text/plain", "digest": layer.to_string(), "size": 5,
                 "annotations": {"org.opencontainers.image.title": title}},
            ],
        });
        let body = serde_json::to_vec(&manifest).unwrap();
        let tag = "hostile";
        c.manifest_put(
            &repo,
            tag,
            "application/vnd.oci.image.manifest.v1+json",
            &body,
        )
        .unwrap();
        let out = temp_dir("hostile-pull").join("into");
        let run = Cli::new().run(&[
            "artifact",
            "pull",
            &f.image(&format!("{repo}:{tag}")),
            s(&out),
        ]);
        if title == "ok.txt" {
            run.fails(USAGE, "INVALID_ARGUMENT"); // two layers, one title
        } else {
            run.fails(USAGE, "INVALID_ARGUMENT");
            assert!(!out.parent().unwrap().join("escaped.txt").exists());
        }
        assert!(!out.exists(), "{title}: nothing written, not even DIR");
    }
}

#[test]
fn anon_push_all_pushes_every_named_image_under_its_name() {
    let f = fixture("anon");
    let cli = Cli::new();
    let dir = temp_dir("push-all");
    let app = cli
        .run(&["pull", &f.image("fixtures/app:v1"), s(&dir)])
        .ok();
    let index = cli
        .run(&["pull", &f.image("fixtures/multi:latest"), s(&dir)])
        .ok();
    let repo = unique("all");
    let pushed = cli.run(&["push", "--all", s(&dir), &f.image(&repo)]);
    assert_eq!(
        pushed.lines(),
        [
            format!("v1 {}", app.trim()),
            format!("latest {}", index.trim())
        ],
        "TAG DIGEST per image, in index.json's order"
    );
    assert_eq!(
        format!(
            "{}\n",
            sha256(&skopeo_raw_anon(&f.image(&format!("{repo}:v1"))))
        ),
        app,
        "skopeo reads one back"
    );
    assert_eq!(
        sorted(cli.run(&["tags", &f.image(&repo)]).lines()),
        ["latest", "v1"]
    );
    let json = cli
        .run(&["--json", "push", "--all", s(&dir), &f.image(&repo)])
        .json();
    assert_eq!(json["repository"], repo.as_str());
    assert_eq!(json["images"][1]["tag"], "latest");
    assert_eq!(json["images"][1]["digest"], index.trim());
    // --all takes a repository, not a tag; and not --ref.
    cli.run(&["push", "--all", s(&dir), &f.image(&format!("{repo}:x"))])
        .fails(USAGE, "INVALID_ARGUMENT");
    let both = cli.run(&["push", "--all", "--ref", "v1", s(&dir), &f.image(&repo)]);
    assert_eq!(both.code, USAGE, "{}", both.stderr);
    // A layout with an unnamed entry is refused, nothing pushed.
    let path = dir.join("index.json");
    let mut doc: Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    doc["manifests"][0]
        .as_object_mut()
        .unwrap()
        .remove("annotations");
    std::fs::write(&path, doc.to_string()).unwrap();
    let other = unique("unnamed");
    cli.run(&["push", "--all", s(&dir), &f.image(&other)])
        .fails(USAGE, "INVALID_ARGUMENT");
    cli.run(&["tags", &f.image(&other)])
        .fails(NOT_FOUND, "NOT_FOUND");
}

#[test]
fn platform_lists_and_referrers_travel_with_pull_and_cp() {
    let (anon, ferro) = (fixture("anon"), fixture("ferro"));
    let cli = Cli::new();
    let dir = temp_dir("platform-list");
    let d = cli
        .run(&[
            "pull",
            "--platform",
            "linux/amd64,linux/arm64",
            &anon.image("fixtures/multi"),
            s(&dir),
        ])
        .lines();
    assert_ne!(d, vec![anon.fact("INDEX_DIGEST")], "a new index");
    let raw = skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        &format!("oci:{}:latest", s(&dir)),
    ]);
    assert_eq!(sha256(&raw), d[0], "skopeo reads the subset index");
    cli.run(&[
        "manifest",
        "--platform",
        "linux/amd64,linux/arm64",
        &anon.image("fixtures/multi"),
    ])
    .fails(USAGE, "INVALID_ARGUMENT");

    // A signed image copied with its signature, from distribution to ferro.
    let repo = anon.image(&unique("cli-carry/app"));
    cli.run(&["cp", &anon.image("fixtures/oci:v1"), &format!("{repo}:v1")])
        .ok();
    let file = temp_dir("cli-carry").join("sig");
    std::fs::write(&file, b"sig").unwrap();
    let sig = cli
        .run(&[
            "artifact",
            "push",
            &repo,
            s(&file),
            "--artifact-type",
            "application/x.sig",
            "--subject",
            "v1",
        ])
        .lines();
    let dst = ferro.image(&unique("cli-carry/copied"));
    cli.run(&[
        "cp",
        "--referrers",
        &format!("{repo}:v1"),
        &format!("{dst}:v1"),
    ])
    .ok();
    let listed = cli.run(&["referrers", &format!("{dst}:v1")]).lines();
    assert_eq!(listed, vec![format!("{} application/x.sig", sig[0])]);
    cli.run(&["push", "--referrers", s(&dir), &format!("{dst}:x")])
        .fails(USAGE, "INVALID_ARGUMENT");
}

// ---------------------------------------------------------------- rate limits

#[test]
fn ratelimit_prints_the_hub_headers_and_nothing_where_there_are_none() {
    let f = fixture("anon");
    let cli = Cli::new();
    // The fixtures' Hub-like server: HEADs are free, so remaining stays 76.
    let hub = format!("{}/library/alpine:latest", f.fact("HUB_ADDR"));
    assert_eq!(
        cli.run(&["ratelimit", &hub]).lines(),
        [
            "limit 100",
            "remaining 76",
            "window 21600",
            "source 127.0.0.1"
        ]
    );
    assert_eq!(
        cli.run(&["--json", "--rate-limit", "5", "ratelimit", &hub])
            .json(),
        serde_json::json!({"limit": 100, "remaining": 76, "window_seconds": 21600,
                           "source": "127.0.0.1"})
    );
    // distribution sends no such headers: nothing on stdout, or JSON null.
    let app = f.image("fixtures/app:v1");
    let plain = cli.run(&["ratelimit", &app]);
    assert_eq!(plain.ok(), "");
    assert!(
        plain.stderr.contains("sends no rate-limit headers"),
        "{}",
        plain.stderr
    );
    assert_eq!(cli.run(&["--json", "ratelimit", &app]).json(), Value::Null);
    cli.run(&["ratelimit", &f.image("fixtures/app:nope")])
        .fails(NOT_FOUND, "NOT_FOUND");
}
