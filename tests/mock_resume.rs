//! Uploads that survive the process (`ClientBuilder::upload_state_dir`),
//! where a real registry cannot show the exact requests: the state file
//! after a failed chunk, the resume sequence (GET the session → PATCH with
//! Content-Range from where it stopped → PUT), and an expired session.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use httpmock::prelude::*;
use registry::{Client, ErrorKind};

mod common;
use common::temp_path;

/// The chunk size of a recorded upload (8 MiB).
const CHUNK: usize = 8 * 1024 * 1024;

fn digest_of(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

/// A blob of one chunk and a bit: two PATCHes.
fn blob() -> Vec<u8> {
    (0..CHUNK + 1000).map(|i| (i % 251) as u8).collect()
}

fn client(server: &MockServer, dir: &std::path::Path) -> Client {
    Client::builder(&server.url(""))
        .basic_auth("user", "s3cret-pass")
        .upload_state_dir(Some(dir))
        .max_retries(0)
        .build()
        .unwrap()
}

fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(d) => d.map(|e| e.unwrap().path()).collect(),
        Err(_) => vec![],
    }
}

#[test]
fn chunks_are_recorded_then_resumed_from_where_the_registry_stopped() {
    let s = MockServer::start();
    let dir = temp_path("state");
    let blob = blob();
    let digest = digest_of(&blob);
    let end = blob.len() - 1;
    s.mock(|w, t| {
        w.method("HEAD").path(format!("/v2/a/blobs/{digest}"));
        t.status(404);
    });
    let post = s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202).header("Location", "/up/1?_state=one");
    });
    let first = s.mock(|w, t| {
        w.method(PATCH)
            .path("/up/1")
            .header("content-range", format!("0-{}", CHUNK - 1))
            .header("content-length", CHUNK.to_string());
        t.status(202).header("Location", "/up/2?_state=two");
    });
    let mut failing = s.mock(|w, t| {
        w.method(PATCH).path("/up/2");
        t.status(500);
    });
    let expected = digest.parse().unwrap();
    let e = client(&s, &dir)
        .layer_put("a", &mut &blob[..], Some(&expected))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Server, "{e}");
    post.assert_calls(1);
    first.assert_calls(1);
    // The state: one private file, the latest session and the confirmed
    // bytes, no credentials.
    let files = files_in(&dir);
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0].file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.starts_with(&digest.replace(':', "-")), "{name}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(state["offset"], CHUNK as u64);
    assert!(state["location"]
        .as_str()
        .unwrap()
        .ends_with("/up/2?_state=two"));
    assert_eq!(state["prefix"], digest_of(&blob[..CHUNK]));
    assert!(
        !text.contains("s3cret") && !text.contains(&B64.encode("user:s3cret-pass")),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&files[0]).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // The next run asks the session, sends only the rest, and commits.
    failing.delete();
    let status = s.mock(|w, t| {
        w.method(GET).path("/up/2").query_param("_state", "two");
        t.status(204)
            .header("Range", format!("0-{}", CHUNK - 1))
            .header("Location", "/up/3?_state=three");
    });
    let rest = s.mock(|w, t| {
        w.method(PATCH)
            .path("/up/3")
            .header("content-range", format!("{CHUNK}-{end}"))
            .header("content-length", (blob.len() - CHUNK).to_string());
        t.status(202).header("Location", "/up/4?_state=four");
    });
    let put = s.mock(|w, t| {
        w.method(PUT)
            .path("/up/4")
            .query_param("digest", digest.as_str());
        t.status(201)
            .header("Docker-Content-Digest", digest.as_str());
    });
    let got = client(&s, &dir)
        .layer_put("a", &mut &blob[..], Some(&expected))
        .unwrap();
    assert_eq!(got.to_string(), digest);
    status.assert_calls(1);
    rest.assert_calls(1);
    put.assert_calls(1);
    post.assert_calls(1); // no new session
    first.assert_calls(1); // the first chunk was not sent again
    assert!(
        files_in(&dir).is_empty(),
        "the state is removed once committed"
    );
}

#[test]
fn an_expired_session_starts_over_and_is_cancelled() {
    let s = MockServer::start();
    let dir = temp_path("state");
    let blob = b"small blob".to_vec();
    let digest = digest_of(&blob);
    s.mock(|w, t| {
        w.method("HEAD").path(format!("/v2/a/blobs/{digest}"));
        t.status(404);
    });
    // A first run recorded nothing (one chunk, which failed): make one by
    // hand, as a killed run leaves it, pointing to a session now gone.
    let c = client(&s, &dir);
    let mut post = s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202).header("Location", "/new/1");
    });
    let mut fail = s.mock(|w, t| {
        w.method(PATCH).path("/new/1");
        t.status(500);
    });
    let expected = digest.parse().unwrap();
    assert!(c.layer_put("a", &mut &blob[..], Some(&expected)).is_err());
    assert!(
        files_in(&dir).is_empty(),
        "nothing confirmed, nothing recorded"
    );
    fail.delete();
    // A state file as a killed run leaves it.
    let name = {
        // Any previous run's file for this blob has this shape; write one by
        // making the first chunk succeed and the commit fail.
        let ok = s.mock(|w, t| {
            w.method(PATCH).path("/new/1");
            t.status(202).header("Location", "/old/2");
        });
        let mut bad_put = s.mock(|w, t| {
            w.method(PUT).path("/old/2");
            t.status(500);
        });
        assert!(c.layer_put("a", &mut &blob[..], Some(&expected)).is_err());
        ok.assert_calls(1);
        bad_put.delete();
        let files = files_in(&dir);
        assert_eq!(files.len(), 1, "{files:?}");
        files[0].clone()
    };
    let gone = s.mock(|w, t| {
        w.method(GET).path("/old/2");
        t.status(404);
    });
    let cancel = s.mock(|w, t| {
        w.method(DELETE).path("/old/2");
        t.status(404);
    });
    let post2 = s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202).header("Location", "/fresh/1");
    });
    let from_zero = s.mock(|w, t| {
        w.method(PATCH)
            .path("/fresh/1")
            .header("content-range", format!("0-{}", blob.len() - 1))
            .body(String::from_utf8(blob.clone()).unwrap());
        t.status(202);
    });
    let put = s.mock(|w, t| {
        w.method(PUT)
            .path("/fresh/1")
            .query_param("digest", digest.as_str());
        t.status(201)
            .header("Docker-Content-Digest", digest.as_str());
    });
    post.delete();
    assert_eq!(
        c.layer_put("a", &mut &blob[..], Some(&expected))
            .unwrap()
            .to_string(),
        digest
    );
    gone.assert_calls(1);
    cancel.assert_calls(1);
    post2.assert_calls(1);
    from_zero.assert_calls(1);
    put.assert_calls(1);
    assert!(!name.exists());
}

#[test]
fn a_source_that_does_not_start_with_the_recorded_bytes_is_a_mismatch() {
    let s = MockServer::start();
    let dir = temp_path("state");
    let blob = blob();
    let digest = digest_of(&blob);
    s.mock(|w, t| {
        w.method("HEAD").path(format!("/v2/a/blobs/{digest}"));
        t.status(404);
    });
    s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202).header("Location", "/up/1");
    });
    s.mock(|w, t| {
        w.method(PATCH).path("/up/1");
        t.status(202).header("Location", "/up/2");
    });
    let mut fail = s.mock(|w, t| {
        w.method(PATCH).path("/up/2");
        t.status(500);
    });
    let expected = digest.parse().unwrap();
    let c = client(&s, &dir);
    assert!(c.layer_put("a", &mut &blob[..], Some(&expected)).is_err());
    fail.delete();
    s.mock(|w, t| {
        w.method(GET).path("/up/2");
        t.status(204).header("Range", format!("0-{}", CHUNK - 1));
    });
    let cancel = s.mock(|w, t| {
        w.method(DELETE).path("/up/2");
        t.status(204);
    });
    let mut other = blob.clone();
    other[10] ^= 1;
    let e = c
        .layer_put("a", &mut &other[..], Some(&expected))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch, "{e}");
    cancel.assert_calls(1);
    assert!(files_in(&dir).is_empty(), "the record is dropped");
}

#[test]
fn without_a_state_dir_one_patch_and_nothing_recorded() {
    let s = MockServer::start();
    let blob = blob();
    let digest = digest_of(&blob);
    s.mock(|w, t| {
        w.method("HEAD").path(format!("/v2/a/blobs/{digest}"));
        t.status(404);
    });
    s.mock(|w, t| {
        w.method(POST).path("/v2/a/blobs/uploads/");
        t.status(202).header("Location", "/up/1");
    });
    let patch = s.mock(|w, t| {
        w.method(PATCH).path("/up/1");
        t.status(202);
    });
    s.mock(|w, t| {
        w.method(PUT).path("/up/1");
        t.status(201)
            .header("Docker-Content-Digest", digest.as_str());
    });
    let c = Client::builder(&s.url(""))
        .upload_state_dir(Some(std::path::Path::new("")))
        .build()
        .unwrap();
    c.layer_put("a", &mut &blob[..], Some(&digest.parse().unwrap()))
        .unwrap();
    patch.assert_calls(1);
}
