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
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#;
    serve_image(s, config, &[layer.to_vec()], |b| match b == layer {
        true => served.to_vec(),
        false => b.to_vec(),
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

/// An image of a config and `layers`, as a manifest's bytes.
fn manifest_of(config: &[u8], layers: &[Vec<u8>]) -> Vec<u8> {
    let layers: Vec<_> = layers
        .iter()
        .map(|l| {
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar",
                   "digest": digest_of(l), "size": l.len()})
        })
        .collect();
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(config), "size": config.len()},
        "layers": layers,
    }))
    .unwrap()
}

/// Serves `r:v1` of `config` and `layers`, each blob answered with
/// `body(blob)` (the blob itself, or other bytes).
fn serve_image(s: &MockServer, config: &[u8], layers: &[Vec<u8>], body: impl Fn(&[u8]) -> Vec<u8>) {
    let manifest = manifest_of(config, layers);
    let d = digest_of(&manifest);
    s.mock(move |w, t| {
        w.method(GET).path("/v2/r/manifests/v1");
        t.status(200)
            .header("Content-Type", OCI_MANIFEST)
            .header("Docker-Content-Digest", d)
            .body(manifest);
    });
    for blob in std::iter::once(config).chain(layers.iter().map(|l| &l[..])) {
        let (path, served) = (format!("/v2/r/blobs/{}", digest_of(blob)), body(blob));
        s.mock(move |w, t| {
            w.method(GET).path(path);
            t.status(200).body(served);
        });
    }
}

/// A file archive is laid out first and its blobs written in place, as they
/// come: it holds the same bytes as a stream of the same image (entries in
/// the same order), also when a mirror served a layer's bytes wrong and the
/// registry's right ones went into the same room.
#[test]
fn a_file_archive_holds_a_streams_bytes_even_after_a_mirror_served_a_blob_wrong() {
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    // Sizes that are not whole blocks, two of them equal (their order then
    // follows the manifest's).
    let layers: Vec<Vec<u8>> = [(3, 300_001), (1, 700_000), (2, 1_000), (4, 300_001)]
        .iter()
        .map(|&(seed, len)| common::bytes(&format!("layer {seed}"), len))
        .collect();
    let registry = MockServer::start();
    serve_image(&registry, &config, &layers, <[u8]>::to_vec);
    // The mirror answers every layer with other bytes of the same length.
    let mirror = MockServer::start();
    serve_image(&mirror, &config, &layers, |b| {
        b.iter().map(|x| x.wrapping_add(1)).collect()
    });
    for format in [ArchiveFormat::DockerArchive, ArchiveFormat::OciArchive] {
        let direct = Client::builder(&registry.url("")).build().unwrap();
        let mut streamed = Vec::new();
        direct
            .image_pull_archive_to("r", "v1", &mut streamed, format, ImageOptions::default())
            .unwrap();
        let c = Client::builder(&registry.url(""))
            .mirror(&mirror.url(""))
            .parallel(4)
            .build()
            .unwrap();
        let path = temp_path("placed.tar");
        c.image_pull_archive("r", "v1", &path, format, ImageOptions::default())
            .unwrap();
        let placed = std::fs::read(&path).unwrap();
        assert_eq!(placed.len(), streamed.len(), "{format:?}");
        assert!(placed == streamed, "{format:?}: the same bytes");
        for l in &layers {
            let at = placed.windows(l.len()).position(|w| w == &l[..]);
            assert!(
                at.is_some(),
                "{format:?}: the registry's bytes are in the file"
            );
        }
    }
}

/// A small registry of one image whose layer GETs each wait (up to 10 s)
/// until another layer GET is in flight too; returns its URL and the most
/// layer GETs seen in flight at once.
fn serve_waiting_for_company(
    config: Vec<u8>,
    layers: Vec<Vec<u8>>,
) -> (String, std::sync::Arc<std::sync::Mutex<(usize, usize)>>) {
    use std::io::Write as _;
    use std::sync::{Arc, Condvar, Mutex};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    // (in flight now, most at once)
    let seen = Arc::new(Mutex::new((0usize, 0usize)));
    let company = Arc::new(Condvar::new());
    let manifest = Arc::new(manifest_of(&config, &layers));
    let (config, layers) = (Arc::new(config), Arc::new(layers));
    let shared = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let (seen, company) = (shared.clone(), company.clone());
            let (manifest, config, layers) = (manifest.clone(), config.clone(), layers.clone());
            std::thread::spawn(move || loop {
                let head = common::read_head(&mut conn);
                let Some(path) = head.split_whitespace().nth(1).map(str::to_string) else {
                    return;
                };
                let (ctype, body): (&str, &[u8]) = if path == "/v2/r/manifests/v1" {
                    (OCI_MANIFEST, &manifest)
                } else if path == format!("/v2/r/blobs/{}", digest_of(&config)) {
                    ("application/octet-stream", &config)
                } else if let Some(l) = layers
                    .iter()
                    .find(|l| path == format!("/v2/r/blobs/{}", digest_of(l)))
                {
                    let mut g = seen.lock().unwrap();
                    g.0 += 1;
                    g.1 = g.1.max(g.0);
                    company.notify_all();
                    let until = std::time::Instant::now() + std::time::Duration::from_secs(10);
                    while g.0 < 2 && g.1 < 2 && std::time::Instant::now() < until {
                        g = company
                            .wait_timeout(g, std::time::Duration::from_millis(100))
                            .unwrap()
                            .0;
                    }
                    g.0 -= 1;
                    ("application/octet-stream", l)
                } else {
                    ("text/plain", b"")
                };
                let status = if body.is_empty() {
                    "404 Not Found"
                } else {
                    "200 OK"
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\n\r\n",
                    body.len()
                );
                if conn
                    .write_all(head.as_bytes())
                    .and_then(|_| conn.write_all(body))
                    .is_err()
                {
                    return;
                }
            });
        }
    });
    (url, seen)
}

/// Into a file, an archive's layers download at once (the client's parallel
/// budget): the server sees two layer GETs in flight together. (Written one
/// after the other, each GET would wait alone.)
#[test]
fn a_file_archive_downloads_its_layers_at_once() {
    let config = br#"{"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let layers: Vec<Vec<u8>> = (0..3)
        .map(|i| common::bytes(&format!("parallel {i}"), 200_000 + i))
        .collect();
    for format in [ArchiveFormat::DockerArchive, ArchiveFormat::OciArchive] {
        let (url, seen) = serve_waiting_for_company(config.clone(), layers.clone());
        let c = Client::builder(&url).parallel(3).build().unwrap();
        let path = temp_path("at-once.tar");
        c.image_pull_archive("r", "v1", &path, format, ImageOptions::default())
            .unwrap();
        let most = seen.lock().unwrap().1;
        assert!(most >= 2, "{format:?}: at most {most} layer GET in flight");
        let file = std::fs::read(&path).unwrap();
        for l in &layers {
            assert!(file.windows(l.len()).any(|w| w == &l[..]), "{format:?}");
        }
    }
}
