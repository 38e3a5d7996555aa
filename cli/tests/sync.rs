//! `regcli sync` against the real registries: regex filters and a dry run,
//! the JSON report, a second run that skips, shards whose union is the
//! whole, a config file with two entries (one into a layout directory), the
//! directory pushed back, and --keep-going; skopeo reads what sync wrote.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{fixture, sha256, skopeo, temp_dir, unique, Cli, Fixture};
use serde_json::Value;

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// A new repository in anon with these tags, copies of fixture images.
fn source(f: &Fixture, cli: &Cli, tags: &[&str]) -> String {
    let repo = unique("sync-src");
    let images = [
        "fixtures/app:v1",
        "fixtures/app:v2",
        "fixtures/oci:v1",
        "fixtures/layers:v1",
    ];
    for (i, t) in tags.iter().enumerate() {
        cli.run(&[
            "cp",
            &f.image(images[i % images.len()]),
            &f.image(&format!("{repo}:{t}")),
        ])
        .ok();
    }
    repo
}

/// The tags of one entry's list (`copied`, `skipped`, `failed`) in a report.
fn tags(report: &Value, entry: usize, list: &str) -> BTreeSet<String> {
    report["syncs"][entry][list]
        .as_array()
        .unwrap_or_else(|| panic!("no {list} in {report}"))
        .iter()
        .map(|t| t["tag"].as_str().unwrap().to_string())
        .collect()
}

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

#[test]
fn filters_dry_run_json_and_a_second_run_to_ferro() {
    let (anon, ferro) = (fixture("anon"), fixture("ferro"));
    let cli = Cli::new();
    let repo = source(&anon, &cli, &["v1.0", "v1.1", "v1.2-rc", "v2.0", "latest"]);
    let (src, dst) = (anon.image(&repo), ferro.image(&unique("sync-dst")));
    let filters = ["--tags", r"v1\..*", "--exclude", ".*-rc"];

    let dry = cli
        .run(
            &[
                &["sync", "--json", "--dry-run"],
                &filters[..],
                &[&src, &dst],
            ]
            .concat(),
        )
        .json();
    assert_eq!(tags(&dry, 0, "copied"), set(&["v1.0", "v1.1"]));
    assert_eq!(dry["syncs"][0]["dry_run"], true);
    // Nothing was copied (ferro lists no tag for a repository it lacks).
    let none = cli.run(&["tags", &dst]);
    assert!(none.code != 0 || none.stdout.is_empty(), "{none:?}");

    let first = cli
        .run(&[&["sync", "--json"], &filters[..], &[&src, &dst]].concat())
        .json();
    assert_eq!(tags(&first, 0, "copied"), set(&["v1.0", "v1.1"]));
    assert!(tags(&first, 0, "failed").is_empty());
    assert_eq!(cli.run(&["tags", &dst]).lines(), ["v1.0", "v1.1"]);
    for t in &first["syncs"][0]["copied"].as_array().unwrap()[..] {
        let raw = skopeo(&[
            "--insecure-policy",
            "inspect",
            "--raw",
            "--tls-verify=false",
            &format!("docker://{dst}:{}", t["tag"].as_str().unwrap()),
        ]);
        assert_eq!(sha256(&raw), t["digest"].as_str().unwrap());
    }
    // Again, every tag: the two skipped, the other three copied; text output.
    let lines = cli.run(&["sync", &src, &dst]).lines();
    let skipped: BTreeSet<&str> = lines
        .iter()
        .filter_map(|l| l.strip_prefix("skipped "))
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(skipped, ["v1.0", "v1.1"].into_iter().collect());
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("copied ")).count(),
        3,
        "{lines:?}"
    );
    // A bad expression is a usage error.
    cli.run(&["sync", "--tags", "(", &src, &dst])
        .fails(2, "INVALID_ARGUMENT");
}

#[test]
fn three_shards_are_disjoint_and_together_the_whole() {
    let anon = fixture("anon");
    let cli = Cli::new();
    let all: Vec<String> = (0..12).map(|i| format!("t{i}")).collect();
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let repo = source(&anon, &cli, &refs);
    let src = anon.image(&repo);
    let dst = anon.image(&unique("sync-shards"));
    let mut union = BTreeSet::new();
    for i in 0..3 {
        let shard = format!("{i}/3");
        let r = cli
            .run(&["sync", "--json", "--shard", &shard, &src, &dst])
            .json();
        let copied = tags(&r, 0, "copied");
        assert!(
            copied.is_disjoint(&union),
            "shard {shard} overlaps: {copied:?}"
        );
        // The same shard again: the same tags, now skipped (stable).
        let again = cli
            .run(&["sync", "--json", "--shard", &shard, &src, &dst])
            .json();
        assert_eq!(tags(&again, 0, "skipped"), copied);
        union.extend(copied);
    }
    assert_eq!(union, all.iter().cloned().collect());
    // One unsharded run finds everything there.
    let whole = cli.run(&["sync", "--json", &src, &dst]).json();
    assert_eq!(tags(&whole, 0, "skipped"), union);
    assert!(tags(&whole, 0, "copied").is_empty());
    cli.run(&["sync", "--shard", "3/3", &src, &dst])
        .fails(2, "INVALID_ARGUMENT");
}

#[test]
fn a_config_with_two_entries_a_directory_round_trip_and_keep_going() {
    let (anon, ferro) = (fixture("anon"), fixture("ferro"));
    let cli = Cli::new();
    let repo = source(&anon, &cli, &["a1", "a2", "b1"]);
    let dir = temp_dir("sync-layout");
    let to_ferro = ferro.image(&unique("sync-config"));
    let config = temp_dir("sync-config").join("mirror.yaml");
    std::fs::write(
        &config,
        format!(
            "- source: {src}\n  destination: {to_ferro}\n  tags: 'a.*'\n\
             - source: {src}\n  destination: {dir}\n  exclude: a2\n",
            src = anon.image(&repo),
            dir = s(&dir),
        ),
    )
    .unwrap();
    let r = cli.run(&["sync", "--json", "--config", s(&config)]).json();
    assert_eq!(tags(&r, 0, "copied"), set(&["a1", "a2"]));
    assert_eq!(tags(&r, 1, "copied"), set(&["a1", "b1"]));
    // skopeo reads the layout sync wrote (b1 is an OCI image: skopeo 1.9
    // finds no Docker-typed entry of a layout by name); a1 is named there.
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let named: BTreeSet<String> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["org.opencontainers.image.ref.name"].as_str())
        .map(str::to_string)
        .collect();
    assert_eq!(named, set(&["a1", "b1"]));
    let raw = skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        &format!("oci:{}:b1", s(&dir)),
    ]);
    let b1 = r["syncs"][1]["copied"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tag"] == "b1")
        .unwrap()["digest"]
        .clone();
    assert_eq!(sha256(&raw), b1.as_str().unwrap());
    // Again: the layout names both with the same digests: skipped.
    let again = cli.run(&["sync", "--json", "--config", s(&config)]).json();
    assert_eq!(tags(&again, 1, "skipped"), set(&["a1", "b1"]));
    assert!(tags(&again, 1, "copied").is_empty());
    // The directory back to a registry.
    let back = anon.image(&unique("sync-back"));
    let pushed = cli.run(&["sync", "--json", s(&dir), &back]).json();
    assert_eq!(tags(&pushed, 0, "copied"), set(&["a1", "b1"]));
    let raw = skopeo(&[
        "--insecure-policy",
        "inspect",
        "--raw",
        "--tls-verify=false",
        &format!("docker://{back}:b1"),
    ]);
    assert_eq!(
        sha256(&raw),
        pushed["syncs"][0]["copied"][1]["digest"].as_str().unwrap()
    );
    let twice = cli.run(&["sync", "--json", s(&dir), &back]).json();
    assert_eq!(tags(&twice, 0, "skipped"), set(&["a1", "b1"]));

    // A first entry that fails: without --keep-going the second never runs.
    let missing = anon.image(&unique("sync-missing"));
    let broken = temp_dir("sync-broken").join("broken.yaml");
    let fresh = ferro.image(&unique("sync-after"));
    std::fs::write(
        &broken,
        format!(
            "- source: {missing}\n  destination: {to_ferro}\n\
             - source: {src}\n  destination: {fresh}\n",
            src = anon.image(&repo)
        ),
    )
    .unwrap();
    let stopped = cli.run(&["sync", "--config", s(&broken)]);
    assert_eq!(stopped.code, 3, "NOT_FOUND: {}", stopped.stderr);
    let none = cli.run(&["tags", &fresh]);
    assert!(
        none.code != 0 || none.stdout.is_empty(),
        "the second entry did not run: {none:?}"
    );
    let kept = cli.run(&["sync", "--json", "--keep-going", "--config", s(&broken)]);
    assert_eq!(kept.code, 3, "{}", kept.stderr);
    let report: Value = serde_json::from_slice(&kept.stdout).unwrap();
    assert_eq!(report["syncs"][0]["failed"][0]["status"], "NOT_FOUND");
    assert_eq!(tags(&report, 1, "copied"), set(&["a1", "a2", "b1"]));
}
