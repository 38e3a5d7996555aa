//! OCI 1.1 artifacts and referrers against both real registries:
//! ferro-oci-server (the referrers API) and distribution 2.8 (no API: the
//! tag schema's fallback index), with skopeo reading what was pushed; and,
//! with httpmock, what neither shows: paging and a filter the registry
//! ignores.

#[macro_use]
mod common;

use std::collections::BTreeSet;

use common::{sha256, skopeo, temp_path, Fixture};
use httpmock::prelude::*;
use registry::{Artifact, Client, Digest, ImageOptions, TITLE_ANNOTATION};

const SIG: &str = "application/vnd.dev.cosign.artifact.sig.v1+json";
const SBOM: &str = "application/spdx+json";

/// A repository name no other test (or earlier run) uses.
fn unique(name: &str) -> String {
    common::unique_repo("referrers", name)
}

/// A file holding `bytes`.
fn file(name: &str, bytes: &[u8]) -> std::path::PathBuf {
    let dir = temp_path("artifact-files");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn digests(list: &[registry::Descriptor]) -> BTreeSet<String> {
    list.iter().map(|d| d.digest.to_string()).collect()
}

/// fixtures/oci:v1 copied into a new repository: a subject to refer to. (An
/// OCI manifest: skopeo 1.9 finds no Docker-typed entry of a layout by name.)
fn subject(c: &Client) -> (String, Digest) {
    let repo = unique("app");
    let d = c
        .image_copy(
            "fixtures/oci",
            "v1",
            c,
            &repo,
            Some("v1"),
            ImageOptions::default(),
        )
        .unwrap();
    (repo, d)
}

fn artifacts_and_their_referrers(f: &Fixture) {
    let c = f.client();
    let (repo, image) = subject(&c);
    assert!(c.referrers(&repo, &image, None).unwrap().is_empty());

    let sig_bytes = br#"{"critical":{"image":{"docker-manifest-digest":"x"}}}"#;
    let sig = c
        .artifact_push(
            &repo,
            None,
            &Artifact::new(SIG)
                .file(
                    file("signature.json", sig_bytes),
                    Some("application/vnd.dev.cosign.simplesigning.v1+json"),
                )
                .annotation("dev.cosignproject.cosign/signature", "MEUCIQ")
                .subject(image.clone()),
        )
        .unwrap();
    let sbom_bytes = br#"{"spdxVersion":"SPDX-2.3"}"#;
    let sbom = c
        .artifact_push(
            &repo,
            Some("sbom"),
            &Artifact::new(SBOM)
                .file(file("sbom.spdx.json", sbom_bytes), Some(SBOM))
                .subject(image.clone()),
        )
        .unwrap();
    let all = c.referrers(&repo, &image, None).unwrap();
    assert_eq!(
        digests(&all),
        BTreeSet::from([sig.to_string(), sbom.to_string()]),
        "{all:?}"
    );
    let s = all.iter().find(|d| d.digest == sig).unwrap();
    assert_eq!(s.artifact_type.as_deref(), Some(SIG));
    assert_eq!(
        s.annotations
            .as_ref()
            .and_then(|a| a.get("dev.cosignproject.cosign/signature"))
            .map(String::as_str),
        Some("MEUCIQ")
    );
    let only = c.referrers(&repo, &image, Some(SBOM)).unwrap();
    assert_eq!(digests(&only), BTreeSet::from([sbom.to_string()]));

    // A signature of the SBOM: a referrer of a referrer.
    let sbom_sig = c
        .artifact_push(
            &repo,
            None,
            &Artifact::new(SIG)
                .file(file("sbom.sig", b"sig of sbom"), None)
                .subject(sbom.clone()),
        )
        .unwrap();
    assert_eq!(
        digests(&c.referrers(&repo, &sbom, None).unwrap()),
        BTreeSet::from([sbom_sig.to_string()])
    );
    // An artifact without files or subject: one empty layer.
    let bare = c
        .artifact_push(&repo, Some("bare"), &Artifact::new("application/x.test"))
        .unwrap();

    // The manifests as pushed: skopeo reads them; the files come back by title.
    for (d, tag) in [(&sig, None), (&sbom, Some("sbom")), (&bare, Some("bare"))] {
        let image = match tag {
            Some(t) => format!("{}/{repo}:{t}", f.addr()),
            None => format!("{}/{repo}@{d}", f.addr()),
        };
        let raw = skopeo(&[
            "inspect",
            "--tls-verify=false",
            "--raw",
            &format!("docker://{image}"),
        ]);
        assert_eq!(sha256(&raw), d.to_string(), "skopeo reads {image}");
    }
    let m = c.manifest_get(&repo, sig.clone()).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&m.body).unwrap();
    assert_eq!(doc["artifactType"], SIG);
    assert_eq!(
        doc["config"]["mediaType"],
        "application/vnd.oci.empty.v1+json"
    );
    assert_eq!(doc["subject"]["digest"], image.to_string());
    let layer = &doc["layers"][0];
    assert_eq!(layer["annotations"][TITLE_ANNOTATION], "signature.json");
    let out = temp_path("sig-layer");
    c.layer_get_file(&repo, layer["digest"].as_str().unwrap(), &out)
        .unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), sig_bytes);

    // distribution keeps the fallback index under a tag; ferro indexes itself.
    let fallback = format!("sha256-{}", image.hex());
    let tags = c.tags(&repo).unwrap();
    assert_eq!(tags.contains(&fallback), f.mode == "anon", "{tags:?}");
}

/// Several writers add referrers to one subject at once: on a registry
/// without the API they all race for one fallback index; none is lost.
fn concurrent_referrers_are_all_kept(f: &Fixture) {
    let c = f.client();
    let (repo, image) = subject(&c);
    let pushed: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (c, repo, image) = (c.clone(), repo.clone(), image.clone());
                s.spawn(move || {
                    (0..3)
                        .map(|i| {
                            let a = Artifact::new(SIG)
                                .file(
                                    file(&format!("sig-{t}-{i}"), format!("{t}/{i}").as_bytes()),
                                    None,
                                )
                                .subject(image.clone());
                            c.artifact_push(&repo, None, &a).unwrap().to_string()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let listed = digests(&c.referrers(&repo, &image, None).unwrap());
    assert_eq!(listed, pushed.into_iter().collect::<BTreeSet<_>>());
}

in_modes!(anon: "anon", ferro: "ferro"; artifacts_and_their_referrers, concurrent_referrers_are_all_kept);

#[test]
fn referrers_follow_link_pages_and_filter_what_the_registry_did_not() {
    let s = MockServer::start();
    let subject = sha256(b"subject");
    let entry = |seed: &str, t: &str| {
        serde_json::json!({"mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": sha256(seed.as_bytes()), "size": 10, "artifactType": t})
    };
    let page = |entries: Vec<serde_json::Value>| {
        serde_json::to_vec(&serde_json::json!({"schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": entries}))
        .unwrap()
    };
    let path = format!("/v2/r/referrers/{subject}");
    let first = page(vec![entry("a", SIG), entry("b", SBOM)]);
    let second = page(vec![entry("c", SIG)]);
    let next = format!("{path}?last=b");
    s.mock(|w, t| {
        w.method(GET).path(path.as_str()).query_param("last", "b");
        t.status(200)
            .header("content-type", "application/vnd.oci.image.index.v1+json")
            .body(second.clone());
    });
    s.mock(|w, t| {
        w.method(GET).path(path.as_str());
        t.status(200)
            .header("content-type", "application/vnd.oci.image.index.v1+json")
            .header("Link", format!("<{next}>; rel=\"next\""))
            .body(first.clone());
    });
    let c = Client::builder(&s.url("")).build().unwrap();
    let all = c.referrers("r", subject.as_str(), None).unwrap();
    assert_eq!(all.len(), 3);
    let sigs = c.referrers("r", subject.as_str(), Some(SIG)).unwrap();
    assert_eq!(
        digests(&sigs),
        BTreeSet::from([sha256(b"a"), sha256(b"c")]),
        "filtered here: the registry ignored artifactType"
    );
    assert_eq!(
        c.referrers("r", subject.as_str(), Some("not a type"))
            .unwrap_err()
            .kind(),
        registry::ErrorKind::InvalidArgument
    );
}

/// An image with a signature, an SBOM and a signature of the SBOM, in a new
/// repository of `c`: (repo, image, [sig, sbom, sbom_sig]).
fn signed_image(c: &Client) -> (String, Digest, [Digest; 3]) {
    let (repo, image) = subject(c);
    let push = |t: &str, name: &str, subject: &Digest| {
        c.artifact_push(
            &repo,
            None,
            &Artifact::new(t)
                .file(file(name, name.as_bytes()), None)
                .subject(subject.clone()),
        )
        .unwrap()
    };
    let sig = push(SIG, "image.sig", &image);
    let sbom = push(SBOM, "sbom.json", &image);
    let sbom_sig = push(SIG, "sbom.sig", &sbom);
    (repo, image, [sig, sbom, sbom_sig])
}

/// `cp --referrers` between the two implementations, both ways: the API on
/// one side, the fallback tag on the other; and `pull --referrers`.
#[test]
#[ignore = "needs make test (real registry)"]
fn referrers_travel_with_their_image() {
    let (anon, ferro) = (common::fixture("anon"), common::fixture("ferro"));
    for (from, to) in [(&anon, &ferro), (&ferro, &anon)] {
        let (src, dst) = (from.client(), to.client());
        let (repo, image, [sig, sbom, sbom_sig]) = signed_image(&src);
        let dst_repo = unique("carried");
        let copied = src
            .image_copy(
                &repo,
                "v1",
                &dst,
                &dst_repo,
                None,
                ImageOptions::default().with_referrers(true),
            )
            .unwrap();
        assert_eq!(copied, image);
        assert_eq!(
            digests(&dst.referrers(&dst_repo, &image, None).unwrap()),
            BTreeSet::from([sig.to_string(), sbom.to_string()]),
            "{} -> {}",
            from.mode,
            to.mode
        );
        assert_eq!(
            digests(&dst.referrers(&dst_repo, &sbom, None).unwrap()),
            BTreeSet::from([sbom_sig.to_string()])
        );
        for d in [&sig, &sbom, &sbom_sig] {
            let raw = skopeo(&[
                "inspect",
                "--tls-verify=false",
                "--raw",
                &format!("docker://{}/{dst_repo}@{d}", to.addr()),
            ]);
            assert_eq!(sha256(&raw), d.to_string());
        }
        // Without --referrers, none.
        let bare = unique("bare");
        src.image_copy(&repo, "v1", &dst, &bare, None, ImageOptions::default())
            .unwrap();
        assert!(dst.referrers(&bare, &image, None).unwrap().is_empty());

        // Pulled into a layout: listed there without a name.
        let dir = temp_path("pull-referrers");
        src.image_pull(
            &repo,
            "v1",
            &dir,
            ImageOptions::default().with_referrers(true),
        )
        .unwrap();
        let index: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
        let listed: BTreeSet<String> = index["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e.get("artifactType").is_some())
            .map(|e| e["digest"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(
            listed,
            BTreeSet::from([sig.to_string(), sbom.to_string(), sbom_sig.to_string()])
        );
        for d in [&sig, &sbom_sig] {
            let raw = std::fs::read(dir.join("blobs/sha256").join(d.hex())).unwrap();
            assert_eq!(sha256(&raw), d.to_string());
        }
        // The layout still pushes as one image, and skopeo reads it.
        let raw = skopeo(&["inspect", "--raw", &format!("oci:{}:v1", dir.display())]);
        assert_eq!(sha256(&raw), image.to_string());
        dst.image_push(
            &dir,
            None,
            &unique("repushed"),
            "v1",
            ImageOptions::default(),
        )
        .unwrap();
    }
}

/// Two platforms of an index make a new index of just those entries.
#[test]
#[ignore = "needs make test (real registry)"]
fn a_platform_subset_is_a_new_index_with_the_same_children() {
    let (anon, ferro) = (common::fixture("anon"), common::fixture("ferro"));
    let (src, dst) = (anon.client(), ferro.client());
    let source: serde_json::Value =
        serde_json::from_slice(&src.manifest_get("fixtures/multi", "latest").unwrap().body)
            .unwrap();
    let platforms = vec![
        "linux/arm64".parse().unwrap(),
        "linux/amd64".parse().unwrap(),
    ];
    let repo = unique("subset");
    let d = src
        .image_copy(
            "fixtures/multi",
            "latest",
            &dst,
            &repo,
            None,
            ImageOptions::default().with_platforms(platforms.clone()),
        )
        .unwrap();
    let raw = skopeo(&[
        "inspect",
        "--tls-verify=false",
        "--raw",
        &format!("docker://{}/{repo}:latest", ferro.addr()),
    ]);
    assert_eq!(sha256(&raw), d.to_string());
    let copied: serde_json::Value = serde_json::from_slice(&raw).unwrap();
    assert_eq!(
        copied["manifests"], source["manifests"],
        "children and their order kept"
    );
    // One platform: that image alone.
    let one = src
        .image_copy(
            "fixtures/multi",
            "latest",
            &dst,
            &repo,
            Some("arm64"),
            ImageOptions::default().with_platforms(vec!["linux/arm64".parse().unwrap()]),
        )
        .unwrap();
    let arm64 = source["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["platform"]["architecture"] == "arm64")
        .unwrap();
    assert_eq!(one, arm64["digest"].as_str().unwrap());
    // A platform the index lacks.
    let e = src
        .image_copy(
            "fixtures/multi",
            "latest",
            &dst,
            &repo,
            None,
            ImageOptions::default().with_platforms(vec![
                "linux/amd64".parse().unwrap(),
                "linux/s390x".parse().unwrap(),
            ]),
        )
        .unwrap_err();
    assert_eq!(e.kind(), registry::ErrorKind::NotFound, "{e}");
}
