//! Uploads that survive the process against the real distribution 2.8: an
//! upload whose reader fails mid-layer leaves its session recorded (and no
//! credentials in the record); the next upload of the same blob asks the
//! session, sends only the rest, and commits. The registry's access log
//! shows every PATCH with its session state, whose offset says where each
//! one started.

mod common;

use std::io::{self, Read};

use base64::Engine as _;
use common::{bytes, fixture, temp_path};
use registry::ErrorKind;

const CHUNK: usize = 8 * 1024 * 1024;

fn sha256(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

/// The bytes of `data` up to `fail_at`, then an error.
struct Failing<'a> {
    data: &'a [u8],
    pos: usize,
    fail_at: usize,
}

impl Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.fail_at {
            return Err(io::Error::other("the source broke"));
        }
        let n = buf.len().min(self.fail_at - self.pos);
        buf[..n].copy_from_slice(&self.data[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The offsets distribution's `_state` carried on each PATCH to `repo`, in
/// the order of the access log (the state is an HMAC, then JSON).
fn patch_offsets(log: &str, repo: &str) -> Vec<u64> {
    let text = std::fs::read_to_string(log).unwrap();
    let needle = format!("\"PATCH /v2/{repo}/blobs/uploads/");
    text.lines()
        .filter(|l| l.contains(&needle) && l.contains("\" 202 "))
        .map(|l| {
            let state = l
                .split("_state=")
                .nth(1)
                .unwrap()
                .split([' ', '&'])
                .next()
                .unwrap();
            let state = state.replace("%3D", "=");
            let raw = base64::engine::general_purpose::URL_SAFE
                .decode(state.as_bytes())
                .unwrap();
            let json: serde_json::Value = serde_json::from_slice(&raw[32..]).unwrap();
            json["Offset"].as_u64().unwrap()
        })
        .collect()
}

fn resumes_in(mode: &'static str) {
    let f = fixture(mode);
    let dir = temp_path("state");
    let repo = format!("rust/resume-{mode}-{}", std::process::id());
    let data = bytes(mode, 2 * CHUNK + 12345);
    let digest = sha256(&data);
    let expected = digest.parse().unwrap();
    let c = f.builder().upload_state_dir(Some(&dir)).build().unwrap();

    // Broken mid-way through the second chunk: the first is in, and recorded.
    let mut broken = Failing {
        data: &data,
        pos: 0,
        fail_at: CHUNK + CHUNK / 2,
    };
    let e = c
        .layer_put(&repo, &mut broken, Some(&expected))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io, "{e}");
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let text = std::fs::read_to_string(&files[0]).unwrap();
    let state: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(state["offset"], CHUNK as u64);
    if let Some(pass) = f.var("PASS") {
        assert!(!text.contains(pass.as_str()), "no password in {text}");
    }
    assert!(
        !text.to_lowercase().contains("bearer") && !text.contains("eyJ0eX"),
        "no token: {text}"
    );
    assert!(!c.layer_exists(&repo, &digest).unwrap());

    // Again, whole: only the rest goes up.
    assert_eq!(
        c.layer_put(&repo, &mut &data[..], Some(&expected))
            .unwrap()
            .to_string(),
        digest
    );
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        0,
        "the record is removed"
    );
    let offsets = patch_offsets(&f.var("LOG").unwrap(), &repo);
    assert_eq!(
        offsets,
        [0, CHUNK as u64, 2 * CHUNK as u64],
        "three chunks, none twice"
    );
    let mut back = Vec::new();
    c.layer_open(&repo, &digest)
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert!(back == data, "the registry holds the very bytes");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_broken_upload_resumes_anon() {
    resumes_in("anon");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_broken_upload_resumes_token() {
    resumes_in("token");
}
