//! Whole images against what no real registry here shows: a registry that
//! ignores `Range`, one that sends a blob's bytes wrong, foreign layers.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use registry::{Client, ErrorKind, ImageOptions, Platform};
use serde_json::json;

mod common;
use common::temp_path;

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";

fn digest_of(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

/// A registry serving `repo:v1`, an image of `config` and `layers`
/// (`(bytes, served)`: what the descriptor says, what a GET answers), plus
/// `extra` layer descriptors (foreign ones). Returns the manifest's digest.
fn serve_image(
    s: &MockServer,
    config: &[u8],
    layers: &[(&[u8], &[u8])],
    extra: Vec<serde_json::Value>,
) -> String {
    let mut descriptors: Vec<serde_json::Value> = layers
        .iter()
        .map(|(b, _)| {
            json!({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                   "digest": digest_of(b), "size": b.len()})
        })
        .collect();
    descriptors.extend(extra);
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(config), "size": config.len()},
        "layers": descriptors,
    }))
    .unwrap();
    let digest = serve_manifest(s, "v1", OCI_MANIFEST, manifest);
    let config = config.to_vec();
    s.mock(move |w, t| {
        w.method(GET)
            .path(format!("/v2/r/blobs/{}", digest_of(&config)));
        t.status(200).body(config.clone());
    });
    for (bytes, served) in layers {
        let (d, served) = (digest_of(bytes), served.to_vec());
        s.mock(move |w, t| {
            w.method(GET).path(format!("/v2/r/blobs/{d}"));
            t.status(200).body(served);
        });
    }
    digest
}

/// An OCI layout at `dir` with no image yet, as a pull that stopped early
/// leaves it: `oci-layout` and `blobs/sha256/`.
fn start_layout(dir: &std::path::Path) {
    std::fs::create_dir_all(dir.join("blobs/sha256")).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
}

fn partials(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("blobs/sha256"))
        .map(|r| {
            r.map(|e| e.unwrap().path())
                .filter(|p| p.to_string_lossy().ends_with(".partial"))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_registry_that_ignores_range_gets_the_whole_blob_again() {
    let s = MockServer::start();
    let layer: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    let d = serve_image(&s, b"{}", &[(&layer, &layer)], vec![]);
    let dir = temp_path("no-range");
    // A partial download from an earlier run: the first 40,000 bytes.
    let hex = digest_of(&layer)[7..].to_string();
    start_layout(&dir);
    let partial = dir.join(format!("blobs/sha256/.{hex}.partial"));
    std::fs::File::create(&partial)
        .unwrap()
        .write_all(&layer[..40_000])
        .unwrap();
    let c = Client::builder(&s.url("")).build().unwrap();
    let got = c
        .image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
    assert_eq!(got.to_string(), d);
    assert_eq!(
        std::fs::read(dir.join("blobs/sha256").join(&hex)).unwrap(),
        layer
    );
    assert!(partials(&dir).is_empty());
}

#[test]
fn a_kept_prefix_that_does_not_match_is_caught_and_dropped() {
    let s = MockServer::start();
    let layer = vec![7u8; 50_000];
    let hex = digest_of(&layer)[7..].to_string();
    // The registry honours Range: it answers the rest after a wrong prefix.
    let rest = layer[10_000..].to_vec();
    let blob_path = format!("/v2/r/blobs/{}", digest_of(&layer));
    s.mock(move |w, t| {
        w.method(GET)
            .path(blob_path)
            .header("range", "bytes=10000-");
        t.status(206)
            .header("Content-Range", "bytes 10000-49999/50000")
            .body(rest.clone());
    });
    serve_image(&s, b"{}", &[(&layer, &layer)], vec![]);
    let dir = temp_path("bad-prefix");
    start_layout(&dir);
    std::fs::write(
        dir.join(format!("blobs/sha256/.{hex}.partial")),
        vec![9u8; 10_000],
    )
    .unwrap();
    let c = Client::builder(&s.url("")).build().unwrap();
    let e = c
        .image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    // (The config's partial may stay: its download was stopped, not wrong.)
    let bad = dir.join(format!("blobs/sha256/.{hex}.partial"));
    assert!(!bad.exists(), "a partial that proved wrong goes");
    assert!(!dir.join("index.json").exists());
    // The next run starts over and succeeds.
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
}

#[test]
fn a_blob_served_wrong_is_not_kept_and_nothing_is_named() {
    let s = MockServer::start();
    let layer = b"the real layer bytes".to_vec();
    serve_image(&s, b"{}", &[(&layer, b"other bytes, same size")], vec![]);
    let dir = temp_path("wrong-bytes");
    let c = Client::builder(&s.url("")).build().unwrap();
    let e = c
        .image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::DigestMismatch | ErrorKind::TooLarge),
        "{e}"
    );
    let hex = &digest_of(&layer)[7..];
    assert!(!dir.join(format!("blobs/sha256/.{hex}.partial")).exists());
    assert!(!dir.join("index.json").exists(), "nothing named");
    assert!(!dir.join("blobs/sha256").join(hex).exists());
}

/// Serves an OCI index of `entries` (`(digest, mediaType, platform)`) by
/// its digest and under `tag`; returns the digest.
fn serve_index(s: &MockServer, tag: &str, entries: &[(&str, &str, &str)]) -> String {
    let manifests: Vec<serde_json::Value> = entries
        .iter()
        .map(|(digest, media_type, platform)| {
            let p: Vec<&str> = platform.split('/').collect();
            json!({"mediaType": media_type, "digest": digest, "size": 1,
                   "platform": {"os": p[0], "architecture": p[1], "variant": p.get(2)}})
        })
        .collect();
    let body = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests,
    }))
    .unwrap();
    serve_manifest(s, tag, OCI_INDEX, body)
}

/// Serves `body` as a manifest of `media_type` in `r` under `tag` and by
/// its digest; returns the digest.
fn serve_manifest(s: &MockServer, tag: &str, media_type: &str, body: Vec<u8>) -> String {
    let digest = digest_of(&body);
    for path in [
        format!("/v2/r/manifests/{tag}"),
        format!("/v2/r/manifests/{digest}"),
    ] {
        let (body, d, media_type) = (body.clone(), digest.clone(), media_type.to_string());
        s.mock(move |w, t| {
            w.method(GET).path(path);
            t.status(200)
                .header("Content-Type", media_type)
                .header("Docker-Content-Digest", d)
                .body(body);
        });
    }
    digest
}

#[test]
fn nested_indexes_lead_to_the_platforms_image_and_no_deeper_than_four() {
    let s = MockServer::start();
    let config = br#"{"architecture":"arm","variant":"v7"}"#;
    let image = serve_image(&s, config, &[(b"layer", b"layer")], vec![]);
    // arm/v5 comes first, as in debian's index, and is not served: plain
    // linux/arm must pick arm/v7.
    let v5 = digest_of(b"an arm/v5 image nobody serves");
    let inner = serve_index(
        &s,
        "inner",
        &[
            (&v5, OCI_MANIFEST, "linux/arm/v5"),
            (&image, OCI_MANIFEST, "linux/arm/v7"),
        ],
    );
    serve_index(&s, "outer", &[(&inner, OCI_INDEX, "linux/arm/v7")]);
    let c = Client::builder(&s.url("")).build().unwrap();
    let arm = Platform::parse("linux/arm").unwrap();
    assert_eq!(c.image_config("r", "outer", Some(&arm)).unwrap(), config);
    let m = c.manifest_get_for_platform("r", "outer", &arm).unwrap();
    assert_eq!(m.digest.to_string(), image);
    assert_eq!(m.media_type, OCI_MANIFEST);
    let e = c
        .manifest_get_for_platform("r", "outer", &Platform::parse("linux/arm/v6").unwrap())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let dir = temp_path("nested");
    let got = c
        .image_pull(
            "r",
            "outer",
            &dir,
            ImageOptions::default().with_platform(arm.clone()),
        )
        .unwrap();
    assert_eq!(got.to_string(), image);

    // Five indexes above the image: the platform is never dropped on the way.
    let mut top = serve_index(
        &s,
        "deep0",
        &[
            (&v5, OCI_MANIFEST, "linux/arm/v5"),
            (&image, OCI_MANIFEST, "linux/arm/v7"),
        ],
    );
    for level in 1..5 {
        top = serve_index(
            &s,
            &format!("deep{level}"),
            &[(&top, OCI_INDEX, "linux/arm/v7")],
        );
    }
    let e = c.image_config("r", "deep4", Some(&arm)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    let e = c.manifest_get_for_platform("r", "deep4", &arm).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    let e = c
        .image_pull(
            "r",
            "deep4",
            temp_path("deep"),
            ImageOptions::default().with_platform(arm),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
    // Four are taken.
    let config_of_deep3 =
        c.image_config("r", "deep3", Some(&Platform::parse("linux/arm").unwrap()));
    assert_eq!(config_of_deep3.unwrap(), config);
}

#[test]
fn foreign_layers_are_not_fetched() {
    let s = MockServer::start();
    let layer = b"a layer in the registry".to_vec();
    let foreign = json!({
        "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
        "digest": digest_of(b"windows base layer"), "size": 18,
        "urls": ["https://mcr.example/base.tar.gz"],
    });
    let d = serve_image(&s, b"{}", &[(&layer, &layer)], vec![foreign]);
    let fetched = s.mock(|w, t| {
        w.path(format!("/v2/r/blobs/{}", digest_of(b"windows base layer")));
        t.status(500);
    });
    let dir = temp_path("foreign");
    let c = Client::builder(&s.url("")).build().unwrap();
    let mut seen = Vec::new();
    let mut cb = |d: &registry::Digest, _: u64, _: u64| {
        seen.push(d.to_string());
        true
    };
    let got = c
        .image_pull(
            "r",
            "v1",
            &dir,
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap();
    assert_eq!(got.to_string(), d);
    fetched.assert_calls(0);
    assert!(!seen.contains(&digest_of(b"windows base layer")));
    assert!(seen.contains(&digest_of(&layer)));
}

/// A destination that checks nothing: every upload whose bodies arrive whole
/// (its PATCHes and its PUT) is committed under the digest its PUT names.
/// Returns its URL and the commits: (digest named, digest of the bytes
/// received).
/// Commits a lenient destination made: (digest named, digest of the bytes).
type Commits = Arc<Mutex<Vec<(String, String)>>>;

fn lenient_destination() -> (String, Commits) {
    let commits = Arc::new(Mutex::new(Vec::new()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let kept = commits.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(conn) = conn else { return };
            let commits = kept.clone();
            std::thread::spawn(move || serve_lenient(conn, &commits));
        }
    });
    (url, commits)
}

fn serve_lenient(conn: TcpStream, commits: &Mutex<Vec<(String, String)>>) {
    let mut r = BufReader::new(conn.try_clone().unwrap());
    let mut w = conn;
    loop {
        let mut line = String::new();
        if r.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or(""),
            parts.next().unwrap_or("").to_string(),
        );
        let (mut chunked, mut length) = (false, 0usize);
        loop {
            let mut h = String::new();
            if r.read_line(&mut h).unwrap_or(0) == 0 {
                return;
            }
            let h = h.trim_end().to_ascii_lowercase();
            if h.is_empty() {
                break;
            }
            chunked |= h == "transfer-encoding: chunked";
            if let Some(n) = h.strip_prefix("content-length: ") {
                length = n.parse().unwrap_or(0);
            }
        }
        let body = if chunked {
            read_chunked(&mut r)
        } else {
            read_exact(&mut r, length)
        };
        let Some(body) = body else { return }; // the body did not arrive whole

        // Upload sessions: the bytes their PATCHes brought so far.
        static SESSIONS: Mutex<Vec<(String, Vec<u8>)>> = Mutex::new(Vec::new());
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        let session = target.split('?').next().unwrap_or("").to_string();
        let answer = match method {
            "HEAD" => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_string(),
            "POST" => {
                let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                format!(
                    "HTTP/1.1 202 Accepted\r\nLocation: /up/{n}?_state=x\r\nContent-Length: 0\r\n\r\n"
                )
            }
            "PATCH" if target.starts_with("/up/") => {
                SESSIONS.lock().unwrap().push((session, body));
                "HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n".to_string()
            }
            "PUT" if target.starts_with("/up/") => {
                let named = target
                    .split("digest=")
                    .nth(1)
                    .unwrap_or("")
                    .replace("%3A", ":");
                let mut bytes = Vec::new();
                SESSIONS.lock().unwrap().retain(|(s, patched)| {
                    if *s == session {
                        bytes.extend_from_slice(patched);
                    }
                    *s != session
                });
                bytes.extend_from_slice(&body);
                commits.lock().unwrap().push((named, digest_of(&bytes)));
                "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".to_string()
            }
            _ => "HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n".to_string(),
        };
        if w.write_all(answer.as_bytes()).is_err() {
            return;
        }
    }
}

fn read_exact(r: &mut impl Read, n: usize) -> Option<Vec<u8>> {
    let mut body = vec![0u8; n];
    r.read_exact(&mut body).ok()?;
    Some(body)
}

/// A chunked body, or `None` when it breaks off before its last chunk.
fn read_chunked(r: &mut impl BufRead) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        r.read_line(&mut size).ok()?;
        let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let chunk = read_exact(r, n + 2)?;
        if n == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..n]);
    }
}

#[test]
fn a_copy_never_commits_bytes_that_do_not_match_even_to_a_registry_that_checks_nothing() {
    let src = MockServer::start();
    let layer = b"the real layer bytes".to_vec();
    // The source lies: same length, other bytes.
    serve_image(&src, b"{}", &[(&layer, b"THE REAL LAYER BYTES")], vec![]);
    let (dst, commits) = lenient_destination();
    let (a, b) = (
        Client::builder(&src.url("")).build().unwrap(),
        Client::builder(&dst).max_retries(0).build().unwrap(),
    );
    let e = a
        .image_copy("r", "v1", &b, "d", Some("v1"), ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    for (named, got) in commits.lock().unwrap().iter() {
        assert_eq!(named, got, "committed bytes that do not match their digest");
    }
}

#[test]
fn a_push_never_commits_a_layout_blob_that_does_not_match() {
    let src = MockServer::start();
    let layer = b"the real layer bytes".to_vec();
    serve_image(&src, b"{}", &[(&layer, &layer)], vec![]);
    let dir = temp_path("corrupt");
    let c = Client::builder(&src.url("")).build().unwrap();
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
    // The layout's copy of the layer rots (same length, other bytes).
    let hex = &digest_of(&layer)[7..];
    std::fs::write(dir.join("blobs/sha256").join(hex), b"THE REAL LAYER BYTES").unwrap();
    let (dst, commits) = lenient_destination();
    let b = Client::builder(&dst).max_retries(0).build().unwrap();
    let e = b
        .image_push(&dir, Some("v1"), "d", "v1", ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    for (named, got) in commits.lock().unwrap().iter() {
        assert_eq!(named, got, "committed bytes that do not match their digest");
    }
}

#[test]
fn a_partial_blob_that_is_already_whole_is_checked_not_fetched() {
    let s = MockServer::start();
    let layer: Vec<u8> = (0..30_000u32).map(|i| (i % 13) as u8).collect();
    let d = digest_of(&layer);
    // Any GET of the layer fails: a whole, right partial needs none.
    let fetched = s.mock(|w, t| {
        w.method(GET).path(format!("/v2/r/blobs/{d}"));
        t.status(500);
    });
    serve_image(&s, b"{}", &[(&layer, &layer)], vec![]);
    let dir = temp_path("whole-partial");
    start_layout(&dir);
    let partial = dir.join(format!("blobs/sha256/.{}.partial", &d[7..]));
    std::fs::write(&partial, &layer).unwrap();
    let c = Client::builder(&s.url("")).max_retries(0).build().unwrap();
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
    fetched.assert_calls(0);
    assert_eq!(
        std::fs::read(dir.join("blobs/sha256").join(&d[7..])).unwrap(),
        layer
    );

    // A whole-size partial with other bytes is dropped and fetched again.
    let s = MockServer::start();
    serve_image(&s, b"{}", &[(&layer, &layer)], vec![]);
    let dir = temp_path("whole-wrong-partial");
    start_layout(&dir);
    let partial = dir.join(format!("blobs/sha256/.{}.partial", &d[7..]));
    std::fs::write(&partial, vec![1u8; layer.len()]).unwrap();
    let c = Client::builder(&s.url("")).build().unwrap();
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
    assert_eq!(
        std::fs::read(dir.join("blobs/sha256").join(&d[7..])).unwrap(),
        layer
    );
}

/// A registry on a raw socket: each connection gets one request, whose head
/// `answer` turns into the bytes sent back before the connection closes.
fn raw_registry(answer: impl Fn(&str) -> Vec<u8> + Send + Sync + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let answer = Arc::new(answer);
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let answer = answer.clone();
            std::thread::spawn(move || {
                let head = common::read_head(&mut conn);
                let _ = conn.write_all(&answer(&head));
            });
        }
    });
    url
}

fn http(status: &str, headers: &[(&str, String)], body: &[u8], length: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\nConnection: close\r\n");
    for (name, value) in headers {
        out.push_str(&format!("{name}: {value}\r\n"));
    }
    if length {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    let mut out = out.into_bytes();
    out.extend_from_slice(body);
    out
}

/// An OCI manifest of `config` and one uncompressed layer, `layer`.
fn one_layer_manifest(config: &[u8], layer: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": digest_of(config), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest_of(layer), "size": layer.len()}],
    }))
    .unwrap()
}

/// What a layer's GETs were: the `Range` headers, and how many had none.
type Seen = Arc<Mutex<(Vec<String>, usize)>>;

/// A registry serving `r:v1`, one layer whose first plain GET breaks off
/// after 40,000 bytes (no length, then the connection closes) and whose
/// later ones send it whole; a `Range` GET gets 206 with the rest, for the
/// span `bytes 40000-49999/100000` when `wrong_span`. Returns the URL, the
/// layer, and the `Range` headers and plain GETs the layer saw.
fn cut_short_registry(wrong_span: bool) -> (String, Vec<u8>, Seen) {
    let layer: Vec<u8> = (0..100_000u32).map(|i| (i % 253) as u8).collect();
    let (config, layer_digest) = (b"{}".to_vec(), digest_of(&layer));
    let manifest = one_layer_manifest(&config, &layer);
    let seen = Arc::new(Mutex::new((Vec::<String>::new(), 0usize)));
    let (log, served) = (seen.clone(), layer.clone());
    let (blob, config_path) = (
        format!("/v2/r/blobs/{layer_digest}"),
        format!("/v2/r/blobs/{}", digest_of(&config)),
    );
    let url = raw_registry(move |head| {
        let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
        let range = head.lines().find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("range: ")
                .map(str::to_string)
        });
        if path == "/v2/" {
            http("200 OK", &[], b"", true)
        } else if path == "/v2/r/manifests/v1" {
            let headers = [
                ("Content-Type", OCI_MANIFEST.to_string()),
                ("Docker-Content-Digest", digest_of(&manifest)),
            ];
            http("200 OK", &headers, &manifest, true)
        } else if path == config_path {
            http("200 OK", &[], &config, true)
        } else if path == blob {
            let mut log = log.lock().unwrap();
            let Some(range) = range else {
                log.1 += 1;
                return match log.1 {
                    1 => http("200 OK", &[], &served[..40_000], false),
                    _ => http("200 OK", &[], &served, true),
                };
            };
            log.0.push(range);
            let span = match wrong_span {
                true => "bytes 40000-49999/100000",
                false => "bytes 40000-99999/100000",
            };
            let headers = [("Content-Range", span.to_string())];
            http("206 Partial Content", &headers, &served[40_000..], true)
        } else {
            http("404 Not Found", &[], b"", true)
        }
    });
    (url, layer, seen)
}

#[test]
fn a_body_cut_short_is_kept_and_resumed_and_a_wrong_span_starts_over() {
    for wrong_span in [false, true] {
        let (url, layer, seen) = cut_short_registry(wrong_span);
        let c = Client::builder(&url).build().unwrap();
        let dir = temp_path("cut-short");
        let hex = &digest_of(&layer)[7..];
        let partial = dir.join(format!("blobs/sha256/.{hex}.partial"));

        let e = c
            .image_pull("r", "v1", &dir, ImageOptions::default())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Network, "{e}");
        assert_eq!(std::fs::metadata(&partial).unwrap().len(), 40_000, "kept");
        assert!(!dir.join("index.json").exists());

        c.image_pull("r", "v1", &dir, ImageOptions::default())
            .unwrap();
        let blob = std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap();
        assert!(blob == layer, "wrong span: {wrong_span}");
        assert!(!partial.exists());
        let (ranges, plain_gets) = seen.lock().unwrap().clone();
        assert_eq!(ranges, ["bytes=40000-"], "one resume");
        // A wrong span is not taken: the whole blob again, by a plain GET.
        assert_eq!(plain_gets, if wrong_span { 2 } else { 1 });
    }
}

#[test]
fn a_pull_reports_a_blob_or_manifest_done_once_it_is_in_the_layout() {
    let s = MockServer::start();
    let layer = vec![3u8; 70_000];
    let manifest = serve_image(&s, b"{}", &[(&layer, &layer)], vec![]);
    let dir = temp_path("done-means-there");
    let c = Client::builder(&s.url("")).build().unwrap();
    let (mut done, mut missing) = (Vec::new(), Vec::new());
    let mut cb = |d: &registry::Digest, n: u64, total: u64| {
        if n == total {
            let path = dir.join("blobs/sha256").join(&d.to_string()[7..]);
            done.push(d.to_string());
            if !path.exists() {
                missing.push(d.to_string());
            }
        }
        true
    };
    c.image_pull(
        "r",
        "v1",
        &dir,
        ImageOptions::default().with_progress(&mut cb),
    )
    .unwrap();
    assert_eq!(done.len(), 3, "config, layer and manifest: {done:?}");
    assert!(done.contains(&manifest));
    assert!(
        missing.is_empty(),
        "reported done before it was there: {missing:?}"
    );
}

// ---- Layouts on disk are untrusted input ----

#[cfg(unix)]
#[test]
fn a_planted_partial_link_or_hard_link_is_never_written_through() {
    let s = MockServer::start();
    let layer: Vec<u8> = (0..60_000u32).map(|i| (i % 241) as u8).collect();
    serve_image(&s, b"{}", &[(&layer, &layer)], vec![]);
    let c = Client::builder(&s.url("")).build().unwrap();
    let hex = digest_of(&layer)[7..].to_string();
    for hard in [false, true] {
        let dir = temp_path("planted");
        let victim = temp_path("victim");
        std::fs::write(&victim, b"precious").unwrap();
        start_layout(&dir);
        let partial = dir.join(format!("blobs/sha256/.{hex}.partial"));
        match hard {
            false => std::os::unix::fs::symlink(&victim, &partial).unwrap(),
            true => std::fs::hard_link(&victim, &partial).unwrap(),
        }
        c.image_pull("r", "v1", &dir, ImageOptions::default())
            .unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious", "hard: {hard}");
        let blob = dir.join("blobs/sha256").join(&hex);
        let meta = std::fs::symlink_metadata(&blob).unwrap();
        assert!(meta.is_file(), "a regular file, not a link");
        assert_eq!(std::fs::read(&blob).unwrap(), layer);
    }
}

#[test]
fn an_index_json_that_is_no_index_is_refused_before_anything_moves() {
    let s = MockServer::start();
    serve_image(&s, b"{}", &[(b"layer", b"layer")], vec![]);
    let c = Client::builder(&s.url("")).build().unwrap();
    let dir = temp_path("bad-index");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    std::fs::write(dir.join("index.json"), b"[1,2,3]").unwrap();
    let e = c
        .image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(!dir.join("blobs").exists(), "nothing moved");
    // A directory with other things in it is no layout: refused, untouched.
    let other = temp_path("not-a-layout");
    std::fs::create_dir_all(&other).unwrap();
    std::fs::write(other.join("index.json"), br#"{"something":"else"}"#).unwrap();
    let e = c
        .image_pull("r", "v1", &other, ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let names: Vec<_> = std::fs::read_dir(&other).unwrap().collect();
    assert_eq!(names.len(), 1, "untouched");
}

/// Pushes `dir`'s `v1` to a destination that takes anything, on another
/// thread; `None` if it had not ended after 30 s (a FIFO hangs a push).
fn push_within(dir: &std::path::Path) -> Option<registry::Result<registry::Digest>> {
    let (dst, _) = lenient_destination();
    let dir = dir.to_path_buf();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let b = Client::builder(&dst).max_retries(0).build().unwrap();
        let _ = tx.send(b.image_push(&dir, Some("v1"), "d", "v1", ImageOptions::default()));
    });
    rx.recv_timeout(std::time::Duration::from_secs(30)).ok()
}

#[cfg(unix)]
#[test]
fn a_push_refuses_layout_files_that_are_links_or_fifos() {
    let src = MockServer::start();
    let layer = b"the layer, in a layout".to_vec();
    serve_image(&src, b"{}", &[(&layer, &layer)], vec![]);
    let c = Client::builder(&src.url("")).build().unwrap();
    let hex = &digest_of(&layer)[7..];
    let mkfifo = |p: &std::path::Path| {
        assert!(std::process::Command::new("mkfifo")
            .arg(p)
            .status()
            .unwrap()
            .success());
    };
    // A blob that is a link to a file outside the layout, with the right bytes.
    let dir = temp_path("link-blob");
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
    assert!(
        push_within(&dir).unwrap().is_ok(),
        "the layout pushes as pulled"
    );
    let outside = temp_path("outside");
    std::fs::write(&outside, &layer).unwrap();
    let blob = dir.join("blobs/sha256").join(hex);
    std::fs::remove_file(&blob).unwrap();
    std::os::unix::fs::symlink(&outside, &blob).unwrap();
    let e = push_within(&dir).expect("ends").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // A blob that is a FIFO, and an oci-layout that is one.
    std::fs::remove_file(&blob).unwrap();
    mkfifo(&blob);
    let e = push_within(&dir)
        .expect("a FIFO must not hang a push")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    let dir = temp_path("fifo-marker");
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
    std::fs::remove_file(dir.join("oci-layout")).unwrap();
    mkfifo(&dir.join("oci-layout"));
    let e = push_within(&dir)
        .expect("a FIFO must not hang a push")
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}

#[cfg(unix)]
#[test]
fn a_layout_whose_blobs_directory_is_a_link_is_refused_both_ways() {
    let src = MockServer::start();
    let layer = b"a private layer".to_vec();
    serve_image(&src, b"{}", &[(&layer, &layer)], vec![]);
    let c = Client::builder(&src.url("")).build().unwrap();
    // Push: blobs/ points at a content store elsewhere.
    let dir = temp_path("linked-blobs");
    c.image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap();
    let store = temp_path("store");
    std::fs::rename(dir.join("blobs"), &store).unwrap();
    std::os::unix::fs::symlink(&store, dir.join("blobs")).unwrap();
    let e = push_within(&dir).expect("ends").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    // Pull: nothing is created where blobs/ points.
    let victim = temp_path("victim-dir");
    std::fs::create_dir_all(&victim).unwrap();
    let dir = temp_path("linked-blobs-pull");
    start_layout(&dir);
    std::fs::remove_dir_all(dir.join("blobs")).unwrap();
    std::os::unix::fs::symlink(&victim, dir.join("blobs")).unwrap();
    let e = c
        .image_pull("r", "v1", &dir, ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(std::fs::read_dir(&victim).unwrap().count(), 0, "untouched");
}

/// The registry of `two_processes_pulling_into_one_layout_commit_only_verified_blobs`:
/// `r:v1` with one 1 MiB layer. The first GET of the layer sends half of it,
/// then holds the rest until a second GET of it came (or 3 s passed); a later
/// GET ignores `Range` and answers 200, one byte, then nothing for a minute.
fn racing_registry() -> (String, Vec<u8>) {
    let layer: Vec<u8> = (0..(1u32 << 20)).map(|i| (i % 239) as u8).collect();
    let config = b"{}".to_vec();
    let manifest = one_layer_manifest(&config, &layer);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let gets = Arc::new(Mutex::new(0u32));
    let served = layer.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let (gets, layer, manifest, config) = (
                gets.clone(),
                served.clone(),
                manifest.clone(),
                config.clone(),
            );
            let blob = format!("/v2/r/blobs/{}", digest_of(&layer));
            let config_path = format!("/v2/r/blobs/{}", digest_of(&config));
            std::thread::spawn(move || {
                let head = common::read_head(&mut conn);
                let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
                let out = if path == "/v2/" {
                    http("200 OK", &[], b"", true)
                } else if path == "/v2/r/manifests/v1" {
                    let h = [("Content-Type", OCI_MANIFEST.to_string())];
                    http("200 OK", &h, &manifest, true)
                } else if path == config_path {
                    http("200 OK", &[], &config, true)
                } else if path == blob {
                    let n = {
                        let mut g = gets.lock().unwrap();
                        *g += 1;
                        *g
                    };
                    let mut all = http("200 OK", &[], &layer, true);
                    let head_len = all.len() - layer.len();
                    if n == 1 {
                        let half: Vec<u8> = all.drain(..head_len + layer.len() / 2).collect();
                        let _ = conn.write_all(&half);
                        let until = std::time::Instant::now() + std::time::Duration::from_secs(3);
                        while *gets.lock().unwrap() < 2 && std::time::Instant::now() < until {
                            std::thread::sleep(std::time::Duration::from_millis(20));
                        }
                        // Let the second reader start over on the shared file.
                        std::thread::sleep(std::time::Duration::from_millis(300));
                        all
                    } else {
                        let _ = conn.write_all(&all[..head_len + 1]);
                        std::thread::sleep(std::time::Duration::from_secs(60));
                        return;
                    }
                } else {
                    http("404 Not Found", &[], b"", true)
                };
                let _ = conn.write_all(&out);
            });
        }
    });
    (url, layer)
}

/// Two real processes (this test binary again, told by the environment to
/// pull) pull one image into one layout at once: the blob committed must be
/// the one whose digest was checked, whatever the other process does to its
/// partial file.
#[test]
fn two_processes_pulling_into_one_layout_commit_only_verified_blobs() {
    const CHILD: &str = "REGISTRY_TEST_CHILD_PULL";
    if let Ok(job) = std::env::var(CHILD) {
        let (url, dir) = job.split_once('|').unwrap();
        let c = Client::builder(url).build().unwrap();
        match c.image_pull("r", "v1", dir, ImageOptions::default()) {
            Ok(_) => std::process::exit(0),
            Err(e) => {
                eprintln!("child pull: {e}");
                std::process::exit(1)
            }
        }
    }
    let (url, layer) = racing_registry();
    let dir = temp_path("two-processes");
    let hex = &digest_of(&layer)[7..];
    let spawn = || {
        std::process::Command::new(std::env::current_exe().unwrap())
            .args([
                "two_processes_pulling_into_one_layout_commit_only_verified_blobs",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD, format!("{url}|{}", dir.display()))
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut a = spawn();
    // The first process has half the layer in its partial file.
    let partial = dir.join(format!("blobs/sha256/.{hex}.partial"));
    let until = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while std::fs::metadata(&partial).map_or(0, |m| m.len()) < layer.len() as u64 / 2 {
        assert!(
            std::time::Instant::now() < until,
            "the first pull never got half"
        );
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let mut b = spawn();
    let a_status = a.wait().unwrap();
    let committed = std::fs::read(dir.join("blobs/sha256").join(hex));
    // The second process may still be waiting for its lock: give it time
    // (the old code left it reading a registry that sends nothing).
    let until = std::time::Instant::now() + std::time::Duration::from_secs(15);
    let b_status = loop {
        match b.try_wait().unwrap() {
            Some(s) => break Some(s),
            None if std::time::Instant::now() < until => {
                std::thread::sleep(std::time::Duration::from_millis(50))
            }
            None => {
                let _ = b.kill();
                let _ = b.wait();
                break None;
            }
        }
    };
    assert!(a_status.success(), "the first pull succeeds");
    let committed = committed.expect("the blob is committed");
    assert!(
        committed == layer,
        "the committed blob does not hash to its digest ({} zero bytes)",
        committed.iter().filter(|b| **b == 0).count()
    );
    assert!(
        b_status.is_some_and(|s| s.success()),
        "the second pull finds the blob and succeeds: {b_status:?}"
    );
}

// ---- Cancel means stop ----

/// `ffi-tests/fixtures/stall.py`: a registry whose one layer is never
/// answered; its address, and the process (killed when dropped).
struct Stall {
    addr: String,
    child: std::process::Child,
}

impl Drop for Stall {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Stall {
    fn start() -> Stall {
        let mut child = std::process::Command::new("python3")
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/ffi-tests/fixtures/stall.py"
            ))
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("python3 runs stall.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let addr = line.split_whitespace().next().unwrap().to_string();
        Stall { addr, child }
    }

    /// How many GETs the silent layer had.
    fn stalled(&self) -> u64 {
        let mut conn = TcpStream::connect(&self.addr).unwrap();
        write!(conn, "GET /count HTTP/1.0\r\n\r\n").unwrap();
        let mut out = String::new();
        conn.read_to_string(&mut out).unwrap();
        let body = out.split("\r\n\r\n").nth(1).unwrap();
        serde_json::from_str::<serde_json::Value>(body).unwrap()["stalled"]
            .as_u64()
            .unwrap()
    }

    fn client(&self) -> Client {
        Client::builder(&format!("http://{}", self.addr))
            .timeout(std::time::Duration::from_secs(20))
            .build()
            .unwrap()
    }
}

#[test]
fn a_cancel_abandons_a_request_in_flight_and_retries_nothing() {
    let stall = Stall::start();
    let c = stall.client();
    let dir = temp_path("cancel-in-flight");
    let mut cancelled_at = None;
    let mut fast_done = false;
    // Cancelled once the fast layer is in and the silent one's request has
    // reached the server (on a busy machine it may not have when the fast
    // one ends; the silent layer's report comes again every 250 ms).
    let mut cb = |_: &registry::Digest, done: u64, total: u64| {
        fast_done |= done == total && total > 1000;
        if fast_done && stall.stalled() >= 1 {
            cancelled_at = Some(std::time::Instant::now());
            return false;
        }
        true
    };
    let e = c
        .image_pull(
            "r",
            "v1",
            &dir,
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap_err();
    let took = cancelled_at.expect("the fast layer finished").elapsed();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    assert!(
        took < std::time::Duration::from_secs(5),
        "returned {took:?} after the cancel (the timeout is 20 s)"
    );
    assert_eq!(stall.stalled(), 1, "no retry after the cancel");
    assert!(!dir.join("index.json").exists());
}

#[test]
fn a_call_that_stalls_hears_its_last_report_again_so_it_can_cancel() {
    let stall = Stall::start();
    let c = stall.client();
    let started = std::time::Instant::now();
    let mut repeats = 0;
    let mut cb = |_: &registry::Digest, done: u64, total: u64| {
        if done == 0 && total == 10 {
            repeats += 1; // the silent layer: 10 bytes, none moved
        }
        started.elapsed() < std::time::Duration::from_secs(2)
    };
    let e = c
        .image_pull(
            "r",
            "v1",
            temp_path("heartbeat"),
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    assert!(repeats >= 2, "heard {repeats} reports of the silent layer");
    assert!(started.elapsed() < std::time::Duration::from_secs(8));
}

#[test]
fn the_first_failing_blob_ends_the_call_without_waiting_for_the_slowest() {
    let stall = Stall::start();
    let c = stall.client();
    let started = std::time::Instant::now();
    let e = c
        .image_pull(
            "r",
            "fail",
            temp_path("first-failure"),
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(6),
        "took {:?} (the timeout is 20 s)",
        started.elapsed()
    );
}

/// An OCI layout at `dir` holding `r:v1`: one image of `config` and `layer`.
fn write_layout(dir: &std::path::Path, config: &[u8], layer: &[u8]) {
    start_layout(dir);
    let manifest = one_layer_manifest(config, layer);
    for blob in [config, layer, &manifest] {
        let path = dir.join("blobs/sha256").join(&digest_of(blob)[7..]);
        std::fs::write(path, blob).unwrap();
    }
    let index = json!({"schemaVersion": 2, "manifests": [{
        "mediaType": OCI_MANIFEST, "digest": digest_of(&manifest), "size": manifest.len(),
        "annotations": {"org.opencontainers.image.ref.name": "v1"}}]});
    std::fs::write(dir.join("index.json"), index.to_string()).unwrap();
}

#[test]
fn a_cancel_abandons_an_upload_the_registry_stopped_reading_and_cancels_its_session() {
    let (config, layer) = (b"{}".to_vec(), vec![5u8; 64 << 20]);
    let dir = temp_path("stalled-upload");
    write_layout(&dir, &config, &layer);
    // The registry has the config; the layer's upload it opens, then reads
    // nothing of its body (and keeps the connection open); DELETEs it counts.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let deletes = Arc::new(Mutex::new(0u32));
    let (config_head, counted) = (
        format!("HEAD /v2/d/blobs/{}", digest_of(&config)),
        deletes.clone(),
    );
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { return };
            let (config_head, counted) = (config_head.clone(), counted.clone());
            std::thread::spawn(move || {
                let head = common::read_head(&mut conn);
                let out = if head.starts_with("GET /v2/ ") || head.starts_with(&config_head) {
                    http("200 OK", &[], b"", true)
                } else if head.starts_with("HEAD ") {
                    http("404 Not Found", &[], b"", true)
                } else if head.starts_with("POST /v2/d/blobs/uploads/") {
                    let loc = [("Location", "/v2/d/blobs/uploads/u1".to_string())];
                    http("202 Accepted", &loc, b"", true)
                } else if head.starts_with("DELETE ") {
                    *counted.lock().unwrap() += 1;
                    http("204 No Content", &[], b"", true)
                } else {
                    std::thread::sleep(std::time::Duration::from_secs(60));
                    return;
                };
                let _ = conn.write_all(&out);
            });
        }
    });
    let c = Client::builder(&url)
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let started = std::time::Instant::now();
    let mut cancelled_at = None;
    let mut cb = |_: &registry::Digest, _: u64, _: u64| {
        if started.elapsed() < std::time::Duration::from_secs(2) {
            return true;
        }
        cancelled_at.get_or_insert_with(std::time::Instant::now);
        false
    };
    let e = c
        .image_push(
            &dir,
            Some("v1"),
            "d",
            "v1",
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap_err();
    let took = cancelled_at.expect("cancelled").elapsed();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    assert!(
        took < std::time::Duration::from_secs(5),
        "returned {took:?} after the cancel (the timeout is 20 s)"
    );
    assert_eq!(
        *deletes.lock().unwrap(),
        1,
        "the upload session is cancelled"
    );
}

#[test]
fn a_mirror_whose_bytes_fail_their_digest_is_skipped_for_the_registry() {
    let (mirror, registry) = (MockServer::start(), MockServer::start());
    let layer: Vec<u8> = (0..70_000u32).map(|i| (i % 241) as u8).collect();
    let mut wrong = layer.clone();
    wrong[5] ^= 1;
    serve_image(&mirror, b"{}", &[(&layer, &wrong)], vec![]);
    let d = serve_image(&registry, b"{}", &[(&layer, &layer)], vec![]);
    let c = Client::builder(&registry.url(""))
        .mirror(&mirror.url(""))
        .build()
        .unwrap();
    let dir = temp_path("mirror-wrong-bytes");
    let mut served = vec![];
    let got = c
        .image_pull(
            "r",
            "v1",
            &dir,
            ImageOptions::default().with_served_by(&mut served),
        )
        .unwrap();
    assert_eq!(got.to_string(), d);
    let hex = &digest_of(&layer)[7..];
    assert_eq!(
        std::fs::read(dir.join("blobs/sha256").join(hex)).unwrap(),
        layer
    );
    assert!(partials(&dir).is_empty());
    let by = |digest: &str| {
        served
            .iter()
            .find(|(d, _)| *d == digest)
            .map(|(_, h)| h.clone())
            .unwrap_or_else(|| panic!("{digest} not in {served:?}"))
    };
    let (m, r) = (mirror.address().to_string(), registry.address().to_string());
    assert_eq!(by(&d), m, "the manifest came from the mirror");
    assert_eq!(by(&digest_of(b"{}")), m, "so did the config");
    assert_eq!(by(&digest_of(&layer)), r, "the layer, from the registry");
    // One blob to a file: the same.
    let file = temp_path("mirror-wrong-layer");
    c.layer_get_file("r", digest_of(&layer).as_str(), &file)
        .unwrap();
    assert_eq!(std::fs::read(&file).unwrap(), layer);
    // Without the registry's good copy the mirror's bytes are an error.
    let alone = Client::builder(&mirror.url("")).build().unwrap();
    let e = alone
        .layer_get_file("r", digest_of(&layer).as_str(), &temp_path("mirror-alone"))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
}

#[test]
fn a_mirror_that_is_down_or_has_nothing_is_skipped_and_the_registry_error_says_so() {
    let registry = MockServer::start();
    let empty = MockServer::start();
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap()
    };
    let layer = vec![1u8; 1000];
    let d = serve_image(&registry, b"{}", &[(&layer, &layer)], vec![]);
    let c = Client::builder(&registry.url(""))
        .mirror(&format!("http://{closed}"))
        .mirror(&empty.url(""))
        .build()
        .unwrap();
    assert_eq!(c.manifest_get("r", "v1").unwrap().digest, d);
    // A read the registry fails too names what the mirrors said in its source.
    let e = c.manifest_get("r", "nope").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let source = std::error::Error::source(&e)
        .expect("the mirrors' errors")
        .to_string();
    assert!(
        source.contains(&format!("mirror {}", empty.address())),
        "{source}"
    );
    // The mirror that was down is passed over for a while: not in the chain.
    assert!(!source.contains(&closed.to_string()), "{source}");
    for bad in ["ftp://m", "http://m/path", "http://u:p@m"] {
        let e = Client::builder(&registry.url(""))
            .mirror(bad)
            .build()
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
    }
}

#[test]
fn a_platform_subset_keeps_only_those_entries_and_every_other_field() {
    let s = MockServer::start();
    let mut entries = vec![];
    for (arch, seed) in [("amd64", "a"), ("arm64", "b"), ("s390x", "c")] {
        let config = format!("{{\"architecture\":\"{arch}\"}}");
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2, "mediaType": OCI_MANIFEST,
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": digest_of(config.as_bytes()), "size": config.len()},
            "layers": [],
        }))
        .unwrap();
        let d = serve_manifest(&s, &digest_of(&manifest), OCI_MANIFEST, manifest.clone());
        let body = config.into_bytes();
        let path = format!("/v2/r/blobs/{}", digest_of(&body));
        s.mock(move |w, t| {
            w.method(GET).path(path);
            t.status(200).body(body.clone());
        });
        entries.push(
            json!({"mediaType": OCI_MANIFEST, "digest": d, "size": manifest.len(),
            "platform": {"os": "linux", "architecture": arch},
            "annotations": {"seed": seed}}),
        );
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries.clone(),
        "annotations": {"org.example": "kept"},
    }))
    .unwrap();
    serve_manifest(&s, "v1", OCI_INDEX, index.clone());
    let c = Client::builder(&s.url("")).build().unwrap();
    let dir = temp_path("subset");
    let platforms: Vec<Platform> = vec![
        "linux/s390x".parse().unwrap(),
        "linux/amd64".parse().unwrap(),
    ];
    let d = c
        .image_pull(
            "r",
            "v1",
            &dir,
            ImageOptions::default().with_platforms(platforms),
        )
        .unwrap();
    let body = std::fs::read(dir.join("blobs/sha256").join(d.hex())).unwrap();
    assert_eq!(digest_of(&body), d.to_string());
    let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(
        doc["manifests"],
        json!([entries[0], entries[2]]),
        "in the index's order"
    );
    assert_eq!(doc["annotations"]["org.example"], "kept");
    assert_eq!(doc["mediaType"], OCI_INDEX);
    assert_ne!(d.to_string(), digest_of(&index), "a new index");
    // The arm64 image was not pulled.
    let arm = entries[1]["digest"].as_str().unwrap();
    assert!(!dir.join("blobs/sha256").join(&arm[7..]).exists());
    // Two platforms of a single image: no index to cut.
    let e = c
        .image_pull(
            "r",
            entries[0]["digest"].as_str().unwrap(),
            temp_path("subset-single"),
            ImageOptions::default().with_platforms(vec![
                "linux/amd64".parse().unwrap(),
                "linux/arm64".parse().unwrap(),
            ]),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
}
