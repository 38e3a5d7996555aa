//! `Client::sync` against the real registries: twenty tags of a few images
//! from distribution (anon) to another distribution (token), run twice, the
//! second proven by both access logs to send no GET at all; ferro as source
//! and destination, with skopeo reading what arrived; a tag that fails is
//! reported and the others copied.

#[macro_use]
mod common;

use common::{sha256, skopeo, Fixture};
use registry::{Client, ErrorKind, ImageOptions, Platform};

/// A repository name no other test (or earlier run) uses.
fn unique(name: &str) -> String {
    common::unique_repo("sync", name)
}

/// The request lines (`METHOD /path`) of the registry's access log sent
/// with User-Agent `ua`, but for those answered 401.
fn requests(f: &Fixture, ua: &str) -> Vec<String> {
    let log = std::fs::read_to_string(f.var("LOG").expect("the fixture has a log")).unwrap();
    log.lines()
        .filter(|l| l.ends_with(&format!("\"{ua}\"")) && !l.contains("\" 401 "))
        .filter_map(|l| l.split('"').nth(1))
        .map(|r| r.rsplit_once(' ').map_or(r, |(m, _)| m).to_string())
        .collect()
}

/// A new repository on `c` with `n` tags t00…, over four fixture images
/// (tags 4 apart share one), by copies within the registry.
fn twenty_tags(c: &Client, n: usize) -> (String, Vec<String>) {
    let repo = unique("src");
    let images = [
        ("fixtures/app", "v1"),
        ("fixtures/oci", "v1"),
        ("fixtures/layers", "v1"),
        ("fixtures/multi", "latest"),
    ];
    let mut tags = vec![];
    for i in 0..n {
        let (from, tag) = images[i % images.len()];
        let t = format!("t{i:02}");
        c.image_copy(from, tag, c, &repo, Some(&t), ImageOptions::default())
            .unwrap();
        tags.push(t);
    }
    (repo, tags)
}

#[test]
#[ignore = "needs make test (real registry)"]
fn twenty_tags_copied_then_skipped_with_no_get_at_either_end() {
    let (from, to) = (common::fixture("anon"), common::fixture("token"));
    let (repo, tags) = twenty_tags(&from.client(), 20);
    let ua = format!("sync-twenty-{}", std::process::id());
    let src = from.builder().user_agent(&ua).build().unwrap();
    let dst = to.builder().user_agent(&ua).build().unwrap();
    let dst_repo = unique("dst");

    let first = src
        .sync(&repo, &dst, &dst_repo, None, ImageOptions::default())
        .unwrap();
    assert!(first.failed.is_empty(), "{:?}", first.failed);
    assert!(first.skipped.is_empty());
    let mut copied: Vec<&str> = first.copied.iter().map(|t| t.tag.as_str()).collect();
    copied.sort();
    assert_eq!(copied, tags);
    for t in &first.copied {
        assert_eq!(
            dst.manifest_head(&dst_repo, t.tag.as_str()).unwrap().digest,
            t.digest
        );
        assert_eq!(
            src.manifest_head(&repo, t.tag.as_str()).unwrap().digest,
            t.digest
        );
    }
    // Four images: each blob crossed once, whatever the number of tags.
    let uploads = requests(&to, &ua)
        .into_iter()
        .filter(|r| r.starts_with("PUT ") && r.contains("/blobs/uploads/"))
        .count();
    let blob_gets = requests(&from, &ua)
        .into_iter()
        .filter(|r| r.starts_with("GET ") && r.contains("/blobs/"))
        .count();
    assert_eq!(uploads, blob_gets, "every blob read was uploaded once");
    assert!(
        blob_gets > 0 && blob_gets <= 12,
        "{blob_gets} blob GETs for 4 images"
    );

    // The second run: twenty skips, HEADs only at both ends.
    let before = (requests(&from, &ua).len(), requests(&to, &ua).len());
    let second = src
        .sync(&repo, &dst, &dst_repo, None, ImageOptions::default())
        .unwrap();
    assert!(
        second.copied.is_empty() && second.failed.is_empty(),
        "{second:?}"
    );
    assert_eq!(second.skipped.len(), 20);
    let src_reqs = requests(&from, &ua).split_off(before.0);
    let dst_reqs = requests(&to, &ua).split_off(before.1);
    let gets = |reqs: &[String]| {
        reqs.iter()
            .filter(|r| {
                r.starts_with("GET ") && (r.contains("/manifests/") || r.contains("/blobs/"))
            })
            .count()
    };
    assert_eq!(gets(&src_reqs), 0, "{src_reqs:?}");
    assert_eq!(gets(&dst_reqs), 0, "{dst_reqs:?}");
    let heads = |reqs: &[String]| reqs.iter().filter(|r| r.starts_with("HEAD ")).count();
    assert_eq!((heads(&src_reqs), heads(&dst_reqs)), (20, 20));
    assert!(dst_reqs
        .iter()
        .all(|r| !r.starts_with("PUT ") && !r.starts_with("POST ")));
    // The report as JSON.
    let json: serde_json::Value = serde_json::from_str(&second.to_json()).unwrap();
    assert_eq!(json["skipped"].as_array().unwrap().len(), 20);
    assert_eq!(json["copied"], serde_json::json!([]));

    // A tag that moved at the source is copied again, the others skipped.
    src.image_copy(
        "fixtures/app",
        "v2",
        &src,
        &repo,
        Some("t01"),
        ImageOptions::default(),
    )
    .unwrap();
    let third = src
        .sync(&repo, &dst, &dst_repo, None, ImageOptions::default())
        .unwrap();
    let copied: Vec<&str> = third.copied.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(copied, ["t01"]);
    assert_eq!(third.skipped.len(), 19);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_failed_tag_is_reported_and_the_others_copied_to_ferro_which_skopeo_reads() {
    let (from, to) = (common::fixture("anon"), common::fixture("ferro"));
    let (repo, _) = twenty_tags(&from.client(), 3);
    let (src, dst) = (from.client(), to.client());
    let dst_repo = unique("dst");
    let report = src
        .sync(
            &repo,
            &dst,
            &dst_repo,
            Some(&["t00", "gone", "t02"]),
            ImageOptions::default(),
        )
        .unwrap();
    let copied: Vec<&str> = report.copied.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(copied, ["t00", "t02"]);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].tag, "gone");
    assert_eq!(report.failed[0].status, ErrorKind::NotFound);
    let json: serde_json::Value = serde_json::from_str(&report.to_json()).unwrap();
    assert_eq!(json["failed"][0]["status"], "NOT_FOUND");
    for t in &report.copied {
        let raw = skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{}/{dst_repo}:{}", to.addr(), t.tag),
        ]);
        assert_eq!(sha256(&raw), t.digest.to_string(), "skopeo reads {}", t.tag);
    }
    // A bad tag name is refused before anything is sent.
    let e = src
        .sync(
            &repo,
            &dst,
            &dst_repo,
            Some(&["no:good"]),
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn from_ferro_with_a_platform_subset_the_second_run_skips() {
    let (from, to) = (common::fixture("ferro"), common::fixture("anon"));
    let (src, dst) = (from.client(), to.client());
    let repo = unique("multi");
    src.image_copy(
        "fixtures/multi",
        "latest",
        &src,
        &repo,
        Some("m1"),
        ImageOptions::default(),
    )
    .unwrap();
    src.image_copy(
        "fixtures/app",
        "v1",
        &src,
        &repo,
        Some("a1"),
        ImageOptions::default(),
    )
    .unwrap();
    let dst_repo = unique("dst");
    let amd64: Platform = "linux/amd64".parse().unwrap();
    let options = || ImageOptions::default().with_platforms(vec![amd64.clone()]);
    let first = src
        .sync(&repo, &dst, &dst_repo, Some(&["m1"]), options())
        .unwrap();
    assert_eq!(first.copied.len(), 1, "{first:?}");
    // One platform: its manifest, not the index.
    assert_ne!(
        first.copied[0].digest.to_string(),
        from.fact("INDEX_DIGEST")
    );
    let head = dst.manifest_head(&dst_repo, "m1").unwrap();
    assert_eq!(head.digest, first.copied[0].digest);
    assert!(
        !head.media_type.contains("index") && !head.media_type.contains("list"),
        "{head:?}"
    );
    let second = src
        .sync(&repo, &dst, &dst_repo, Some(&["m1"]), options())
        .unwrap();
    assert_eq!(second.skipped, first.copied, "{second:?}");
    // Every tag, no subset: from ferro's tag list.
    let all = src
        .sync(&repo, &dst, &unique("all"), None, ImageOptions::default())
        .unwrap();
    let mut tags: Vec<&str> = all.copied.iter().map(|t| t.tag.as_str()).collect();
    tags.sort();
    assert_eq!(tags, ["a1", "m1"]);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_tag_whose_blob_cannot_be_read_fails_alone_and_the_others_are_copied() {
    let (from, to) = (common::fixture("anon"), common::fixture("ferro"));
    let (src, dst) = (from.client(), to.client());
    let repo = unique("broken");
    src.image_copy(
        "fixtures/app",
        "v1",
        &src,
        &repo,
        Some("good"),
        ImageOptions::default(),
    )
    .unwrap();
    // An artifact whose one layer no other image has; then its bytes go
    // missing from the registry's storage (the blob's link stays).
    let bytes = format!("only in {repo}");
    let path = common::temp_path("unique.txt");
    std::fs::write(&path, &bytes).unwrap();
    src.artifact_push(
        &repo,
        Some("broken"),
        &registry::Artifact::new("application/x.sync-test").file(&path, None),
    )
    .unwrap();
    let hex = sha256(bytes.as_bytes())[7..].to_string();
    let data = std::path::Path::new(&from.var("LOG").unwrap())
        .parent()
        .unwrap()
        .join("data/docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(&hex)
        .join("data");
    std::fs::remove_file(&data).unwrap();
    src.image_copy(
        "fixtures/oci",
        "v1",
        &src,
        &repo,
        Some("also-good"),
        ImageOptions::default(),
    )
    .unwrap();

    let dst_repo = unique("dst");
    let report = src
        .sync(
            &repo,
            &dst,
            &dst_repo,
            Some(&["good", "broken", "also-good"]),
            ImageOptions::default(),
        )
        .unwrap();
    let copied: Vec<&str> = report.copied.iter().map(|t| t.tag.as_str()).collect();
    assert_eq!(copied, ["good", "also-good"], "{report:?}");
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].tag, "broken");
    assert!(
        report.failed[0].message.starts_with("broken: "),
        "{report:?}"
    );
    let e = dst.manifest_head(&dst_repo, "broken").unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::NotFound,
        "no manifest without its blobs"
    );
    for t in &report.copied {
        assert_eq!(
            dst.manifest_head(&dst_repo, t.tag.as_str()).unwrap().digest,
            t.digest
        );
    }
}
