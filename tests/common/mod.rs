//! Access to the real-registry fixtures of `ffi-tests/fixtures/registry.py`.
//!
//! Every test that needs a real registry is
//! `#[ignore = "needs make test (real registry)"]`, so a plain `cargo test`
//! lists it as ignored rather than passing it unrun. `make test` runs them all
//! with `--include-ignored` under `registry.py run`, which sets the
//! `REGISTRY_TEST_*` variables (shared with the C, Ruby and Go suites); run
//! outside it, such a test fails, saying what it needs.

#![allow(dead_code)]

use std::collections::HashMap;

use registry::{Client, ClientBuilder};

/// Generates one test per fixture mode for each flow: `mod anon { fn flow() }`, …
/// Each flow is a `fn(&Fixture)` in the calling file.
#[allow(unused_macros)] // mock_v2.rs shares this module but has no modes
macro_rules! in_every_mode {
    ($($flow:ident),* $(,)?) => {
        in_modes!(anon: "anon", basic: "basic", token: "token", tls: "tls"; $($flow),*);
    };
}

/// `in_modes!(index: "v1", standalone: "v1sa"; flow, …)`: a module per mode,
/// each holding one test per flow (a `fn(&Fixture)` in the calling file),
/// ignored by a plain `cargo test` as every real-registry test is.
#[allow(unused_macros)]
macro_rules! in_modes {
    ($module:ident: $mode:literal; $($flow:ident),* $(,)?) => {
        mod $module {
            $(
                #[test]
                #[ignore = "needs make test (real registry)"]
                fn $flow() {
                    super::$flow(&super::common::fixture($mode));
                }
            )*
        }
    };
    ($module:ident: $mode:literal, $($more:ident: $more_mode:literal),+; $($flow:ident),* $(,)?) => {
        in_modes!($module: $mode; $($flow),*);
        in_modes!($($more: $more_mode),+; $($flow),*);
    };
}

/// One running registry.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub mode: &'static str,
    vars: HashMap<String, String>,
}

impl Fixture {
    /// `REGISTRY_TEST_<MODE>_<suffix>`, if set.
    pub fn var(&self, suffix: &str) -> Option<String> {
        let key = format!("REGISTRY_TEST_{}_{suffix}", self.mode.to_uppercase());
        self.vars.get(&key).cloned()
    }

    pub fn addr(&self) -> String {
        self.var("ADDR").expect("fixture has an address")
    }

    /// The read-write user, for modes with auth.
    pub fn user(&self) -> Option<(String, String)> {
        Some((self.var("USER")?, self.var("PASS")?))
    }

    /// The pull-only user (token mode).
    pub fn ro_user(&self) -> Option<(String, String)> {
        Some((self.var("RO_USER")?, self.var("RO_PASS")?))
    }

    pub fn ca(&self) -> Option<String> {
        self.var("CA")
    }

    pub fn fact(&self, name: &str) -> String {
        self.vars
            .get(&format!("REGISTRY_TEST_{name}"))
            .cloned()
            .unwrap_or_else(|| panic!("fixture fact {name} missing"))
    }

    /// A builder with the CA (tls) already set, but no credentials.
    pub fn anonymous(&self) -> ClientBuilder {
        let b = Client::builder(&self.addr());
        match self.ca() {
            Some(ca) => b.ca_file(ca),
            None => b,
        }
    }

    /// A builder with the CA and the read-write user's credentials.
    pub fn builder(&self) -> ClientBuilder {
        let b = self.anonymous();
        match self.user() {
            Some((u, p)) => b.basic_auth(&u, &p),
            None => b,
        }
    }

    pub fn client(&self) -> Client {
        self.builder().build().expect("client builds")
    }

    /// How many tokens the token server has issued to clients with this
    /// User-Agent (token mode).
    pub fn tokens_issued(&self, user_agent: &str) -> u64 {
        let url = format!("{}?ua={user_agent}", self.fact("TOKEN_COUNT_URL"));
        let body = ureq_get(&url);
        let v: serde_json::Value = serde_json::from_str(&body).expect("count is JSON");
        v["issued"].as_u64().expect("issued is a number")
    }
}

/// A plain GET for fixture side channels.
fn ureq_get(url: &str) -> String {
    ureq::get(url)
        .call()
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .body_mut()
        .read_to_string()
        .expect("body is text")
}

/// The fixture for `mode` (anon, basic, token, tls, mtls, v1, v1sa, ferro)
/// when `registry.py run` set its variables; `None` otherwise.
pub fn try_fixture(mode: &'static str) -> Option<Fixture> {
    let vars: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("REGISTRY_TEST_"))
        .collect();
    let key = format!("REGISTRY_TEST_{}_ADDR", mode.to_uppercase());
    vars.contains_key(&key).then_some(Fixture { mode, vars })
}

/// The fixture for `mode`; without it, the test fails and says how to run
/// it. Only tests marked `#[ignore = "needs make test (real registry)"]` call
/// this, so only `--include-ignored` outside the fixtures gets here.
#[track_caller]
pub fn fixture(mode: &'static str) -> Fixture {
    let Some(f) = try_fixture(mode) else {
        panic!(
            "REGISTRY_TEST_{}_ADDR is not set: this test needs the real registries \
             of ffi-tests/fixtures/registry.py; run it with `make test`, or with \
             `python3 ffi-tests/fixtures/registry.py run -- cargo test --features capi \
             -- --include-ignored`",
            mode.to_uppercase()
        );
    };
    f
}

/// A path in a fresh temporary directory.
pub fn temp_path(name: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "registry-rs-out-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Reads an HTTP request's head from `conn`, up to the blank line (for the
/// small servers the tests play).
pub fn read_head(conn: &mut std::net::TcpStream) -> String {
    use std::io::Read;
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => head.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// Deterministic bytes that differ per `seed`, `len` long.
pub fn bytes(seed: &str, len: usize) -> Vec<u8> {
    use sha2::Digest as _;
    let mut out = Vec::with_capacity(len + 32);
    let mut block = sha2::Sha256::digest(seed.as_bytes()).to_vec();
    while out.len() < len {
        out.extend_from_slice(&block);
        block = sha2::Sha256::digest(&block).to_vec();
    }
    out.truncate(len);
    out
}

/// Runs `skopeo --insecure-policy <args>`; its stdout, or a panic with stderr.
pub fn skopeo<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> Vec<u8> {
    let out = std::process::Command::new("skopeo")
        .arg("--insecure-policy")
        .args(args)
        .output()
        .expect("skopeo runs");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `sha256:<hex>` of `bytes`.
pub fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// A repository name under `prefix/` that no other test (or earlier run) uses.
pub fn unique_repo(prefix: &str, name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{prefix}/{name}-{}-{nanos}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
