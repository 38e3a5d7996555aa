//! The v1 flows end to end against the fixture v1 server
//! (`ffi-tests/fixtures/v1registry.py`): Hub style, with an index handing out
//! tokens for a registry on another port, and standalone with basic auth.

#[macro_use]
mod common;

use std::io::Read;

use common::{temp_path, Fixture};
use registry::{Access, Api, ApiVersion, Client, ErrorKind, V1ImageEntry};
use sha2::Digest as _;

in_modes!(
    index: "v1",
    standalone: "v1sa";
    detects_v1_and_reads_ping,
    read_flow,
    one_word_repositories_are_library,
    search,
    index_tokens,
    push_tag_and_untag,
    failed_upload_completes_nothing,
    wrong_password_is_unauthorized_and_never_echoed,
    repository_image_lists,
    push_with_image_lists_then_delete_the_repository,
    search_pages
);

const APP: &str = "fixtures/v1app";

fn sha256_hex(b: &[u8]) -> String {
    format!("{:x}", sha2::Sha256::digest(b))
}

fn standalone(f: &Fixture) -> bool {
    f.mode == "v1sa"
}

fn detects_v1_and_reads_ping(f: &Fixture) {
    let c = f
        .anonymous()
        .docker_config(Some("".as_ref()))
        .build()
        .unwrap();
    let info = c.ping_info().unwrap();
    assert_eq!(info.api, ApiVersion::V1);
    assert_eq!(info.standalone, Some(standalone(f)));
    assert_eq!(info.registry_version.as_deref(), Some("0.9.1-fixture"));
    assert_eq!(c.api_version().unwrap(), ApiVersion::V1);
    let e = c.manifest_get(APP, "latest").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported, "{e}");
}

fn read_flow(f: &Fixture) {
    let c = f.client();
    let id = f.fact("V1_IMAGE_ID");
    let parent = f.fact("V1_PARENT_ID");
    assert_eq!(c.tags(APP).unwrap(), ["base", "latest"]);
    assert_eq!(c.v1_tags(APP).unwrap()["base"], parent);
    assert_eq!(c.image_id(APP, "latest").unwrap(), id);
    assert_eq!(
        c.v1_ancestry(None, &id).unwrap(),
        [id.clone(), parent.clone()]
    );
    let json: serde_json::Value =
        serde_json::from_slice(&c.v1_image_json(None, &id).unwrap()).unwrap();
    assert_eq!(json["id"], id.as_str());
    assert_eq!(json["parent"], parent.as_str());
    assert!(c.layer_exists(APP, &id).unwrap());
    assert!(!c.layer_exists(APP, "0".repeat(64)).unwrap());

    let mut r = c.layer_open(APP, &id).unwrap();
    assert_eq!(
        r.digest().map(|d| d.to_string()),
        Some(f.fact("V1_CHECKSUM"))
    );
    let mut bytes = Vec::new();
    r.read_to_end(&mut bytes).unwrap();
    assert_eq!(bytes.len().to_string(), f.fact("V1_LAYER_SIZE"));
    assert_eq!(sha256_hex(&bytes), f.fact("V1_LAYER_SHA256"));

    let path = temp_path("v1-layer");
    let n = c.layer_get_file(APP, &id, &path).unwrap();
    assert_eq!(n.to_string(), f.fact("V1_LAYER_SIZE"));
    assert_eq!(
        sha256_hex(&std::fs::read(&path).unwrap()),
        f.fact("V1_LAYER_SHA256")
    );
    std::fs::remove_file(&path).unwrap();

    let e = c.image_id(APP, "nope").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("Tag not found"), "{e}");
    let e = c.tags("fixtures/missing").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // Anonymous: the index gives read tokens to anyone; a standalone
    // registry wants credentials.
    let anon = f
        .anonymous()
        .docker_config(Some("".as_ref()))
        .build()
        .unwrap();
    match anon.tags(APP) {
        Ok(tags) => {
            assert!(!standalone(f));
            assert_eq!(tags, ["base", "latest"]);
        }
        Err(e) => {
            assert!(standalone(f), "{e}");
            assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
        }
    }
}

fn one_word_repositories_are_library(f: &Fixture) {
    let c = f.builder().api(Api::V1).build().unwrap();
    assert_eq!(c.tags("busybox").unwrap(), ["latest"]);
    assert_eq!(
        c.image_id("busybox", "latest").unwrap(),
        f.fact("V1_PARENT_ID")
    );
    assert_eq!(c.tags("library/busybox").unwrap(), ["latest"]);
}

fn search(f: &Fixture) {
    let c = f.client();
    let got = c.search("v1app", 0).unwrap();
    assert_eq!(got.num_results, 1);
    assert_eq!(got.results[0].name, APP);
    assert_eq!(got.results[0].description, "the v1 fixture image");
    let all = c.search("", 1).unwrap();
    assert_eq!(all.results.len(), 1);
    let all = c.search("", 0).unwrap();
    assert!(all
        .results
        .iter()
        .any(|r| r.name == "busybox" && r.is_official));
}

fn index_tokens(f: &Fixture) {
    let c = f.client();
    for (access, word) in [
        (Access::Read, "read"),
        (Access::Write, "write"),
        (Access::Delete, "delete"),
    ] {
        let tok = c.token(APP, access).unwrap();
        assert!(tok.starts_with("signature="), "{tok}");
        assert!(tok.contains(&format!("access={word}")), "{tok}");
        assert!(tok.contains("repository=\"fixtures/v1app\""), "{tok}");
    }
    // A fresh token every time, as the index hands them out.
    assert_ne!(
        c.token(APP, Access::Read).unwrap(),
        c.token(APP, Access::Read).unwrap()
    );
    if !standalone(f) {
        let anon = f
            .anonymous()
            .docker_config(Some("".as_ref()))
            .build()
            .unwrap();
        assert!(anon.token(APP, Access::Read).is_ok());
        let e = anon.token(APP, Access::Write).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    }
}

/// A new image on the fixture's base image: (id, json, layer).
fn new_image(f: &Fixture, seed: &str) -> (String, Vec<u8>, Vec<u8>) {
    let layer: Vec<u8> = seed.bytes().cycle().take(70_000).collect();
    let id = sha256_hex(format!("{seed}-{}", std::process::id()).as_bytes());
    let json = serde_json::to_vec(&serde_json::json!({
        "id": id, "parent": f.fact("V1_PARENT_ID"), "os": "linux", "Size": layer.len()
    }))
    .unwrap();
    (id, json, layer)
}

fn push_tag_and_untag(f: &Fixture) {
    let c = f.client();
    let repo = format!("rust/push-{}", std::process::id());
    let (id, json, layer) = new_image(f, &format!("push-{}", f.mode));
    c.token(&repo, Access::Write).unwrap();
    c.v1_image_json_put(None, &id, &json).unwrap();
    let sum = c
        .layer_put(&repo, &mut &layer[..], Some(&id.parse().unwrap()))
        .unwrap();
    let mut whole = json.clone();
    whole.push(b'\n');
    whole.extend(&layer);
    assert_eq!(sum.to_string(), format!("sha256:{}", sha256_hex(&whole)));
    assert_eq!(c.set_tag(&repo, &id, "v1").unwrap(), id);
    c.set_tag(&repo, &id, "v2").unwrap();
    assert_eq!(c.tags(&repo).unwrap(), ["v1", "v2"]);
    assert_eq!(c.image_id(&repo, "v2").unwrap(), id);
    assert_eq!(
        c.v1_ancestry(None, &id).unwrap(),
        [id.clone(), f.fact("V1_PARENT_ID")]
    );
    assert_eq!(c.v1_image_json(None, &id).unwrap(), json);
    let mut back = Vec::new();
    c.layer_open(&repo, &id)
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, layer);

    // The same image again: the registry says it exists.
    let e = c.v1_image_json_put(None, &id, &json).unwrap_err();
    assert_eq!(e.http_status(), Some(409), "{e}");
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");

    c.delete_tag(&repo, "v1").unwrap();
    assert_eq!(c.tags(&repo).unwrap(), ["v2"]);
    let e = c.delete_tag(&repo, "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.set_tag(&repo, "0".repeat(64), "v3").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(e.message().contains("Image not found"), "{e}");
}

fn failed_upload_completes_nothing(f: &Fixture) {
    let c = f.client();
    let repo = format!("rust/abort-{}", std::process::id());
    let (id, json, layer) = new_image(f, &format!("abort-{}", f.mode));
    c.token(&repo, Access::Write).unwrap();
    c.v1_image_json_put(None, &id, &json).unwrap();
    let mut failing = (&layer[..1000]).chain(FailingReader);
    let e = c
        .layer_put(&repo, &mut failing, Some(&id.parse().unwrap()))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    // No checksum went out, so the image is incomplete and cannot be tagged.
    let e = c.set_tag(&repo, &id, "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // Put again in full, it completes.
    c.layer_put(&repo, &mut &layer[..], Some(&id.parse().unwrap()))
        .unwrap();
    c.set_tag(&repo, &id, "v1").unwrap();
}

struct FailingReader;

impl Read for FailingReader {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        Err(std::io::Error::other(registry::Error::new(
            ErrorKind::Aborted,
            "the test stops the upload",
        )))
    }
}

fn wrong_password_is_unauthorized_and_never_echoed(f: &Fixture) {
    let c = Client::builder(&f.addr())
        .basic_auth("alice", "wrong-pass-xyz")
        .build()
        .unwrap();
    let e = c.token(APP, Access::Write).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.message().contains("wrong-pass-xyz"), "{e}");
}

fn repository_image_lists(f: &Fixture) {
    let c = f.client();
    let id = f.fact("V1_IMAGE_ID");
    let parent = f.fact("V1_PARENT_ID");
    let mut list = c.v1_repository_images(APP).unwrap();
    list.sort_by(|a, b| a.id.cmp(&b.id));
    let mut ids: Vec<&str> = list.iter().map(|e| e.id.as_str()).collect();
    ids.sort();
    let mut want = [id.as_str(), parent.as_str()];
    want.sort();
    assert_eq!(ids, want);
    let child = list.iter().find(|e| e.id == id).unwrap();
    assert_eq!(
        child.checksum.as_deref(),
        Some(f.fact("V1_CHECKSUM").as_str())
    );
    // The read token that came with the list serves the registry calls after it.
    assert_eq!(c.tags(APP).unwrap(), ["base", "latest"]);
    let e = c.v1_repository_images("rust/no-such-repo").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.v1_repository_images("Bad/Name").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

fn push_with_image_lists_then_delete_the_repository(f: &Fixture) {
    let c = f.client();
    let repo = format!("rust/repo-{}", std::process::id());
    let (id, json, layer) = new_image(f, &format!("repo-{}", f.mode));
    let parent = f.fact("V1_PARENT_ID");
    // moby's order: the image list (creates the repository, hands out the
    // write token), the images, the tags, then the list with checksums.
    c.v1_repository_put(&repo, &[V1ImageEntry::new(id.clone(), None)])
        .unwrap();
    c.v1_image_json_put(Some(&repo), &id, &json).unwrap();
    let sum = c
        .layer_put(&repo, &mut &layer[..], Some(&id.parse().unwrap()))
        .unwrap();
    c.set_tag(&repo, &id, "v1").unwrap();
    let pushed = V1ImageEntry::new(id.clone(), Some(sum.to_string()));
    c.v1_repository_images_put(&repo, &[pushed.clone(), V1ImageEntry::new(parent, None)])
        .unwrap();
    // As moby, only the entries with a checksum were sent.
    assert_eq!(c.v1_repository_images(&repo).unwrap(), [pushed]);

    let e = c.v1_image_json_put(Some(&repo), &id, &json).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists, "{e}");
    assert_eq!(e.http_status(), Some(409), "{e}");

    c.v1_repository_delete(&repo).unwrap();
    let e = c.tags(&repo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.v1_repository_delete(&repo).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    // The fixture's own repository is still there.
    assert_eq!(c.tags(APP).unwrap(), ["base", "latest"]);
}

fn search_pages(f: &Fixture) {
    let c = f.client();
    // The fixture has fixtures/v1app and library/busybox; other tests add rust/….
    let all = c.search("", 0).unwrap();
    let total = all.num_results;
    assert!(total >= 2);
    let first = c.search_page("", 1, 1).unwrap();
    assert_eq!(first.page, 1);
    assert_eq!(first.page_size, 1);
    assert!(first.num_results >= 2, "{first:?}");
    assert_eq!(first.num_pages, first.num_results);
    assert_eq!(first.results.len(), 1);
    let second = c.search_page("", 2, 1).unwrap();
    assert_eq!(second.page, 2);
    assert_eq!(second.results.len(), 1);
    assert_ne!(first.results[0].name, second.results[0].name);
    let hit = c.search_page("busybox", 1, 0).unwrap();
    assert_eq!(hit.page_size, 25);
    assert_eq!((hit.num_results, hit.num_pages), (1, 1));
    assert!(hit.results[0].is_official && !hit.results[0].is_trusted);
    assert_eq!(hit.results[0].star_count, "library/busybox".len() as u64);
    let e = c.search_page("", 0, 10).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}
