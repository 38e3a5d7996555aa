//! Image archives against what no real registry here shows: a blob whose
//! bytes do not hash to its digest, one cut short, one too long.

use httpmock::prelude::*;
use registry::{ArchiveFormat, Client, ErrorKind, ImageOptions};
use serde_json::json;

mod common;
use common::temp_path;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";

fn digest_of(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

/// Serves `r:v1`: a config and one layer whose descriptor says `layer` but
/// whose GET answers `served`.
fn serve(s: &MockServer, layer: &[u8], served: &[u8]) {
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(&config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest_of(layer), "size": layer.len()}],
    }))
    .unwrap();
    let d = digest_of(&manifest);
    s.mock(move |w, t| {
        w.method(GET).path("/v2/r/manifests/v1");
        t.status(200)
            .header("Content-Type", OCI_MANIFEST)
            .header("Docker-Content-Digest", d)
            .body(manifest);
    });
    let cd = digest_of(&config);
    s.mock(move |w, t| {
        w.method(GET).path(format!("/v2/r/blobs/{cd}"));
        t.status(200).body(config);
    });
    let (ld, served) = (digest_of(layer), served.to_vec());
    s.mock(move |w, t| {
        w.method(GET).path(format!("/v2/r/blobs/{ld}"));
        t.status(200).body(served);
    });
}

#[test]
fn a_blob_that_fails_its_digest_or_size_fails_the_whole_archive_and_leaves_no_file() {
    let layer = b"the real layer bytes".to_vec();
    let cases: [(&[u8], &[ErrorKind]); 3] = [
        (
            b"other bytes, same size",
            &[ErrorKind::DigestMismatch, ErrorKind::TooLarge],
        ),
        (
            b"short",
            &[
                ErrorKind::Protocol,
                ErrorKind::Network,
                ErrorKind::DigestMismatch,
            ],
        ),
        (
            b"the real layer bytes and then some",
            &[ErrorKind::TooLarge, ErrorKind::DigestMismatch],
        ),
    ];
    for (served, kinds) in cases {
        for format in [ArchiveFormat::DockerArchive, ArchiveFormat::OciArchive] {
            let s = MockServer::start();
            serve(&s, &layer, served);
            let dir = temp_path("wrong-bytes");
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("x.tar");
            let c = Client::builder(&s.url("")).build().unwrap();
            let e = c
                .image_pull_archive("r", "v1", &path, format, ImageOptions::default())
                .unwrap_err();
            assert!(kinds.contains(&e.kind()), "{format:?} {served:?}: {e}");
            let left: Vec<_> = std::fs::read_dir(&dir).unwrap().collect();
            assert!(left.is_empty(), "{format:?}: nothing left: {left:?}");
        }
    }
    // The same image served right is archived.
    let s = MockServer::start();
    serve(&s, &layer, &layer);
    let path = temp_path("right-bytes.tar");
    let c = Client::builder(&s.url("")).build().unwrap();
    c.image_pull_archive(
        "r",
        "v1",
        &path,
        ArchiveFormat::DockerArchive,
        ImageOptions::default(),
    )
    .unwrap();
    assert!(std::fs::metadata(&path).unwrap().len() > 0);
}
