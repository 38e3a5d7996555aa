//! docker config.json and credential helpers against the real registry.
//!
//! One test per scenario. They change PATH, DOCKER_CONFIG and the current
//! directory of this process (a test binary of its own), so each holds
//! [`Scene`]'s lock while it runs and puts them back when it ends, also when
//! it fails.

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::{temp_path, Fixture};
use registry::{Client, ErrorKind};

const APP: &str = "fixtures/app";

/// Writes an executable `docker-credential-<name>` into `dir`.
fn helper(dir: &Path, name: &str, script: &str) {
    let p = dir.join(format!("docker-credential-{name}"));
    std::fs::write(&p, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn write_config(dir: &Path, json: serde_json::Value) -> PathBuf {
    let p = dir.join("config.json");
    std::fs::write(&p, json.to_string()).unwrap();
    p
}

/// The certificates of the basic and token fixtures (each its own CA).
fn fixture_certs() -> Vec<u8> {
    let mut pem = std::fs::read(common::fixture("basic").ca().unwrap()).unwrap();
    pem.extend(std::fs::read(common::fixture("token").ca().unwrap()).unwrap());
    pem
}

fn tags_with(config: &Path, addr: &str) -> registry::Result<Vec<String>> {
    Client::builder(addr)
        .ca_pem(&fixture_certs())
        .docker_config(Some(config))
        .timeout(Duration::from_millis(1500))
        .build()?
        .tags(APP)
}

/// What every scenario starts from: the fixtures, the lock on this
/// process's PATH, DOCKER_CONFIG and current directory, the helper
/// directory (first on PATH) and a fresh directory for `config.json`.
struct Scene {
    basic: Fixture,
    token: Fixture,
    user: String,
    pass: String,
    bin: PathBuf,
    dir: PathBuf,
    path: String,
    cwd: PathBuf,
    _lock: MutexGuard<'static, ()>,
}

/// The helper directory, put first on PATH once for the whole process.
fn helper_bin() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = temp_path("bin").with_file_name("bin");
        std::fs::create_dir_all(&bin).unwrap();
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        std::env::set_var("PATH", path);
        bin
    })
}

fn scene() -> Scene {
    static LOCK: Mutex<()> = Mutex::new(());
    // A scenario that failed has put everything back (Scene's Drop).
    let lock = LOCK.lock().unwrap_or_else(|p| p.into_inner());
    let basic = common::fixture("basic");
    let token = common::fixture("token");
    let (user, pass) = basic.user().unwrap();
    let bin = helper_bin().clone();
    let dir = temp_path("config").parent().unwrap().to_path_buf();
    Scene {
        basic,
        token,
        user,
        pass,
        bin,
        dir,
        path: std::env::var("PATH").unwrap(),
        cwd: std::env::current_dir().unwrap(),
        _lock: lock,
    }
}

impl Drop for Scene {
    fn drop(&mut self) {
        std::env::set_var("PATH", &self.path);
        let _ = std::env::set_current_dir(&self.cwd);
        std::env::remove_var("DOCKER_CONFIG");
    }
}

impl Scene {
    fn config(&self, json: serde_json::Value) -> PathBuf {
        write_config(&self.dir, json)
    }

    /// `docker-credential-regtest`: answers `get` with the read-write user,
    /// keeping what it was asked on stdin in the file it returns.
    fn regtest_helper(&self) -> PathBuf {
        let seen = self.dir.join("stdin-seen");
        helper(
            &self.bin,
            "regtest",
            &format!(
                "[ \"$1\" = get ] || exit 3\ncat > {}\necho '{{\"ServerURL\":\"x\",\"Username\":\"{}\",\"Secret\":\"{}\"}}'",
                seen.display(),
                self.user,
                self.pass
            ),
        );
        seen
    }

    /// A helper that fails the way `script` does: the call against the basic
    /// registry is `kind`, names the helper and leaks nothing it printed.
    fn broken_helper(&self, name: &str, script: &str, kind: ErrorKind) {
        helper(&self.bin, name, script);
        let cfg = self.config(serde_json::json!({ "credsStore": name }));
        let e = tags_with(&cfg, &self.basic.addr()).unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
        assert!(
            e.message().contains(&format!("docker-credential-{name}")),
            "{e}"
        );
        assert!(!e.message().contains("hunter2-leak"), "{e}");
    }

    /// Empty and relative PATH entries (the current directory) are not
    /// searched: a helper only there is not on PATH, whatever `path`
    /// makes of the old PATH.
    fn cwd_is_not_searched(&self, path: impl Fn(&str) -> String) {
        let cwd = temp_path("cwd").with_file_name("cwd");
        std::fs::create_dir_all(&cwd).unwrap();
        helper(
            &cwd,
            "incwd",
            "cat >/dev/null\necho '{\"Username\":\"u\",\"Secret\":\"s\"}'",
        );
        std::env::set_current_dir(&cwd).unwrap();
        let cfg = self.config(serde_json::json!({"credsStore": "incwd"}));
        let path = path(&self.path);
        std::env::set_var("PATH", &path);
        let e = tags_with(&cfg, &self.basic.addr()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "PATH={path}: {e}");
        assert!(e.message().contains("not on PATH"), "{e}");
    }

    /// DOCKER_CONFIG names a directory whose config.json sends the basic
    /// registry to the regtest helper.
    fn docker_config_env(&self) {
        self.regtest_helper();
        let cfg = self.config(serde_json::json!({"credsStore": "regtest"}));
        std::env::set_var("DOCKER_CONFIG", cfg.parent().unwrap());
    }
}

// A helper named by credsStore answers for every registry.

#[test]
#[ignore = "needs make test (real registry)"]
fn creds_store_helper_answers_for_htpasswd_and_gets_the_registry_as_its_key() {
    let s = scene();
    let seen = s.regtest_helper();
    let cfg = s.config(serde_json::json!({"credsStore": "regtest"}));
    assert_eq!(
        tags_with(&cfg, &s.basic.addr()).unwrap(),
        ["v1", "v2"],
        "htpasswd via helper"
    );
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        s.basic.addr(),
        "helper got the key"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn creds_store_helper_answers_for_a_token_registry() {
    let s = scene();
    s.regtest_helper();
    let cfg = s.config(serde_json::json!({"credsStore": "regtest"}));
    assert_eq!(
        tags_with(&cfg, &s.token.addr()).unwrap(),
        ["v1", "v2"],
        "token via helper"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn cred_helpers_beat_creds_store_and_a_token_username_means_an_identity_token() {
    let s = scene();
    helper(
        &s.bin,
        "idtok",
        &format!(
            "cat >/dev/null\necho '{{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"{}\"}}'",
            s.token.fact("TOKEN_REFRESH")
        ),
    );
    let cfg = s.config(
        serde_json::json!({"credsStore": "missing-store", "credHelpers": {s.token.addr(): "idtok"}}),
    );
    assert_eq!(
        tags_with(&cfg, &s.token.addr()).unwrap(),
        ["v1", "v2"],
        "identity token via helper"
    );
}

// identitytoken and auth in plain auths entries.

#[test]
#[ignore = "needs make test (real registry)"]
fn an_identitytoken_in_auths() {
    let s = scene();
    let cfg = s.config(serde_json::json!({"auths": {
        s.token.addr(): {"identitytoken": s.token.fact("TOKEN_REFRESH")},
    }}));
    assert_eq!(
        tags_with(&cfg, &s.token.addr()).unwrap(),
        ["v1", "v2"],
        "identitytoken"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn auth_in_auths_under_a_url_key() {
    let s = scene();
    let cfg = s.config(serde_json::json!({"auths": {
        format!("http://{}/v1/", s.basic.addr()): {"auth":
            base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", s.user, s.pass))},
    }}));
    assert_eq!(
        tags_with(&cfg, &s.basic.addr()).unwrap(),
        ["v1", "v2"],
        "URL key form"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_wrong_identitytoken_is_unauthorized() {
    let s = scene();
    let bad = s.config(serde_json::json!({"auths": {s.token.addr(): {"identitytoken": "nope"}}}));
    assert_eq!(
        tags_with(&bad, &s.token.addr()).unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
}

// Helpers that are missing, fail, hang, garble, or know nothing.

#[test]
#[ignore = "needs make test (real registry)"]
fn a_missing_helper_is_an_invalid_argument_that_names_it() {
    let s = scene();
    let cfg = s.config(serde_json::json!({"credsStore": "missing-store"}));
    let e = tags_with(&cfg, &s.basic.addr()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(
        e.message().contains("docker-credential-missing-store"),
        "{e}"
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_failing_helper_is_io() {
    scene().broken_helper(
        "fails",
        "echo 'boom: keychain locked'; exit 1",
        ErrorKind::Io,
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_hanging_helper_is_a_timeout() {
    scene().broken_helper("hangs", "exec sleep 10", ErrorKind::Timeout);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_garbling_helper_is_protocol_and_leaks_nothing() {
    scene().broken_helper(
        "garbles",
        "echo 'Secret=hunter2-leak not json'",
        ErrorKind::Protocol,
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_helper_without_credentials_means_anonymous() {
    let s = scene();
    helper(
        &s.bin,
        "empty",
        "echo 'credentials not found in native keychain'; exit 1",
    );
    let cfg = s.config(serde_json::json!({"credsStore": "empty"}));
    assert_eq!(
        tags_with(&cfg, &s.basic.addr()).unwrap_err().kind(),
        ErrorKind::Unauthorized,
        "anonymous"
    );
}

/// A helper that leaves a child holding its output open cannot hold the
/// call past the client's timeout (1.5 s): the process group is killed.
#[test]
#[ignore = "needs make test (real registry)"]
fn a_helper_leaving_a_child_behind_cannot_outlast_the_timeout() {
    let s = scene();
    helper(
        &s.bin,
        "lingers",
        &format!(
            "cat >/dev/null\necho '{{\"ServerURL\":\"x\",\"Username\":\"{}\",\"Secret\":\"{}\"}}'\nsleep 30 &",
            s.user, s.pass
        ),
    );
    let cfg = s.config(serde_json::json!({"credsStore": "lingers"}));
    let start = Instant::now();
    let e = tags_with(&cfg, &s.basic.addr()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );
}

// Empty and relative PATH entries (the current directory) are not searched.

#[test]
#[ignore = "needs make test (real registry)"]
fn a_leading_empty_path_entry_is_not_searched() {
    scene().cwd_is_not_searched(|old| format!(":{old}"));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_dot_path_entry_is_not_searched() {
    scene().cwd_is_not_searched(|old| format!(".:{old}"));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_trailing_empty_path_entry_is_not_searched() {
    scene().cwd_is_not_searched(|old| format!("{old}::"));
}

// The default location ($DOCKER_CONFIG).

#[test]
#[ignore = "needs make test (real registry)"]
fn docker_config_serves_a_client_built_from_the_address_alone() {
    let s = scene();
    s.docker_config_env();
    let c = Client::builder(&s.basic.addr())
        .ca_pem(&fixture_certs())
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn explicit_credentials_win_over_docker_config() {
    let s = scene();
    s.docker_config_env();
    let wrong = Client::builder(&s.basic.addr())
        .ca_pem(&fixture_certs())
        .basic_auth(&s.user, "wrong-pa55")
        .build()
        .unwrap();
    assert_eq!(wrong.tags(APP).unwrap_err().kind(), ErrorKind::Unauthorized);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn an_empty_docker_config_path_turns_the_file_off() {
    let s = scene();
    s.docker_config_env();
    let off = Client::builder(&s.basic.addr())
        .ca_pem(&fixture_certs())
        .docker_config(Some(Path::new("")))
        .build()
        .unwrap();
    assert_eq!(off.tags(APP).unwrap_err().kind(), ErrorKind::Unauthorized);
}
