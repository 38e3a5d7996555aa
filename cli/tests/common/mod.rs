//! Running the built `regcli` against the real registries of
//! `ffi-tests/fixtures/registry.py`.
//!
//! Under `registry.py run` (as `make test` does) the `REGISTRY_TEST_*`
//! variables are set; otherwise the first test that needs a mode starts
//! `registry.py serve` for it, and the fixture stops by itself when this test
//! process exits.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Mutex, OnceLock};

use sha2::Digest as _;

/// One running registry.
#[derive(Debug, Clone)]
pub struct Fixture {
    pub mode: &'static str,
    vars: HashMap<String, String>,
}

impl Fixture {
    /// `REGISTRY_TEST_<MODE>_<suffix>`.
    pub fn var(&self, suffix: &str) -> String {
        let key = format!("REGISTRY_TEST_{}_{suffix}", self.mode.to_uppercase());
        self.vars
            .get(&key)
            .cloned()
            .unwrap_or_else(|| panic!("{key} is not set"))
    }

    pub fn addr(&self) -> String {
        self.var("ADDR")
    }

    /// `REGISTRY_TEST_<name>`: the image facts, the same in every mode.
    pub fn fact(&self, name: &str) -> String {
        self.vars
            .get(&format!("REGISTRY_TEST_{name}"))
            .cloned()
            .unwrap_or_else(|| panic!("fixture fact {name} missing"))
    }

    /// `addr/path`.
    pub fn image(&self, path: &str) -> String {
        format!("{}/{path}", self.addr())
    }

    /// The registry's storage directory (the filesystem driver's root).
    pub fn storage(&self) -> PathBuf {
        Path::new(&self.var("LOG"))
            .parent()
            .expect("the log is in the fixture's directory")
            .join("data")
    }
}

static STARTED: OnceLock<Mutex<HashMap<&'static str, Fixture>>> = OnceLock::new();

/// The fixture for `mode` (anon, basic, token, v1, …), started on first use.
pub fn fixture(mode: &'static str) -> Fixture {
    let env: HashMap<String, String> = std::env::vars()
        .filter(|(k, _)| k.starts_with("REGISTRY_TEST_"))
        .collect();
    if env.contains_key(&format!("REGISTRY_TEST_{}_ADDR", mode.to_uppercase())) {
        return Fixture { mode, vars: env };
    }
    let mut started = STARTED
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if let Some(f) = started.get(mode) {
        return f.clone();
    }
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../ffi-tests/fixtures/registry.py"
    );
    let dir = std::env::temp_dir().join(format!("regcli-fixture-{}-{mode}", std::process::id()));
    let mut child = Command::new("python3")
        .arg(script)
        .args(["serve", "--mode", mode, "--dir"])
        .arg(&dir)
        .args(["--owner", &std::process::id().to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 starts the fixture (is it installed?)");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("fixture prints its settings");
    assert!(
        !line.trim().is_empty(),
        "the {mode} fixture did not start; is docker-registry installed? (make deps)"
    );
    let vars: HashMap<String, String> = serde_json::from_str(&line).expect("settings are JSON");
    // The child keeps running; it stops when this process exits.
    std::mem::forget(child);
    let f = Fixture { mode, vars };
    started.insert(mode, f.clone());
    f
}

/// A fresh temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "regcli-test-{}-{}-{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// What one run of the binary did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
    pub args: Vec<String>,
}

impl Run {
    /// Asserts success; returns stdout as text.
    pub fn ok(&self) -> String {
        assert_eq!(
            self.code, 0,
            "regcli {:?} failed: {}",
            self.args, self.stderr
        );
        String::from_utf8(self.stdout.clone()).expect("stdout is UTF-8")
    }

    /// Asserts success; returns stdout's lines.
    pub fn lines(&self) -> Vec<String> {
        self.ok().lines().map(str::to_string).collect()
    }

    /// Asserts success; returns stdout parsed as one JSON document.
    pub fn json(&self) -> serde_json::Value {
        let text = self.ok();
        assert_eq!(text.lines().count(), 1, "one JSON line: {text}");
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
    }

    /// Asserts the failure the CLI promises: exit `code`, nothing on stdout,
    /// one line `regcli: STATUS: …` on stderr.
    pub fn fails(&self, code: i32, status: &str) {
        assert_eq!(
            self.code, code,
            "regcli {:?}: expected exit {code}, stderr: {}",
            self.args, self.stderr
        );
        assert!(
            self.stdout.is_empty(),
            "regcli {:?} printed on stdout: {:?}",
            self.args,
            String::from_utf8_lossy(&self.stdout)
        );
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(lines.len(), 1, "one line on stderr: {:?}", self.stderr);
        let prefix = format!("regcli: {status}: ");
        assert!(
            lines[0].starts_with(&prefix),
            "expected {prefix:?}, got {:?}",
            lines[0]
        );
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_regcli")
}

/// A run with its own empty docker config directory unless `args` names one.
pub struct Cli {
    pub docker_config: PathBuf,
    pub env: Vec<(String, String)>,
}

impl Cli {
    /// A CLI whose docker config is a fresh, empty directory.
    pub fn new() -> Cli {
        Cli {
            docker_config: temp_dir("docker"),
            env: vec![],
        }
    }

    pub fn env(mut self, key: &str, value: &str) -> Cli {
        self.env.push((key.into(), value.into()));
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Run {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("DOCKER_CONFIG", &self.docker_config)
            // Uploads are recorded here, not under the real home.
            .env("XDG_STATE_HOME", self.docker_config.join("state"))
            .env_remove("HTTPS_PROXY")
            .env_remove("HTTP_PROXY")
            .env_remove("https_proxy")
            .env_remove("http_proxy")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("regcli starts");
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().expect("stdin is piped");
            // regcli may end without reading it all (a usage error).
            if let Err(e) = pipe.write_all(input) {
                assert_eq!(e.kind(), std::io::ErrorKind::BrokenPipe, "stdin: {e}");
            }
        }
        let out = child.wait_with_output().expect("regcli ends");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: out.stdout,
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// `DOCKER_CONFIG/config.json`, parsed.
    pub fn config_json(&self) -> serde_json::Value {
        let text = std::fs::read(self.docker_config.join("config.json")).expect("config.json");
        serde_json::from_slice(&text).expect("config.json is JSON")
    }
}

pub fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// Runs skopeo; returns stdout, asserting success.
pub fn skopeo(args: &[&str]) -> Vec<u8> {
    let out = Command::new("skopeo")
        .args(args)
        .output()
        .expect("skopeo runs (make deps installs it)");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// A unique repository name for one test.
pub fn unique(name: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "cli-{}-{}/{name}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}
