//! docker config.json and credential helpers against the real registry.
//!
//! One #[test]: it changes PATH and DOCKER_CONFIG for this process (a test
//! binary of its own), so nothing may run beside it.

#[macro_use]
mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use base64::Engine as _;
use common::temp_path;
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

#[test]
fn docker_config_and_credential_helpers() {
    let basic = fixture!("basic");
    let token = fixture!("token");
    let (user, pass) = basic.user().unwrap();
    let bin = temp_path("bin").with_file_name("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let seen = bin.join("stdin-seen");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    std::env::set_var("PATH", path);
    let dir = bin.parent().unwrap().to_path_buf();

    // A helper named by credsStore answers for every registry.
    helper(
        &bin,
        "regtest",
        &format!(
            "[ \"$1\" = get ] || exit 3\ncat > {}\necho '{{\"ServerURL\":\"x\",\"Username\":\"{user}\",\"Secret\":\"{pass}\"}}'",
            seen.display()
        ),
    );
    let cfg = write_config(&dir, serde_json::json!({"credsStore": "regtest"}));
    assert_eq!(
        tags_with(&cfg, &basic.addr()).unwrap(),
        ["v1", "v2"],
        "htpasswd via helper"
    );
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        basic.addr(),
        "helper got the key"
    );
    assert_eq!(
        tags_with(&cfg, &token.addr()).unwrap(),
        ["v1", "v2"],
        "token via helper"
    );

    // credHelpers beats credsStore; "<token>" means an identity token.
    helper(
        &bin,
        "idtok",
        &format!(
            "cat >/dev/null\necho '{{\"ServerURL\":\"x\",\"Username\":\"<token>\",\"Secret\":\"{}\"}}'",
            token.fact("TOKEN_REFRESH")
        ),
    );
    let cfg = write_config(
        &dir,
        serde_json::json!({"credsStore": "missing-store", "credHelpers": {token.addr(): "idtok"}}),
    );
    assert_eq!(
        tags_with(&cfg, &token.addr()).unwrap(),
        ["v1", "v2"],
        "identity token via helper"
    );

    // identitytoken and auth in plain auths entries.
    let cfg = write_config(
        &dir,
        serde_json::json!({"auths": {
            token.addr(): {"identitytoken": token.fact("TOKEN_REFRESH")},
            format!("http://{}/v1/", basic.addr()): {"auth":
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{pass}"))},
        }}),
    );
    assert_eq!(
        tags_with(&cfg, &token.addr()).unwrap(),
        ["v1", "v2"],
        "identitytoken"
    );
    assert_eq!(
        tags_with(&cfg, &basic.addr()).unwrap(),
        ["v1", "v2"],
        "URL key form"
    );
    let bad = write_config(
        &dir,
        serde_json::json!({"auths": {token.addr(): {"identitytoken": "nope"}}}),
    );
    assert_eq!(
        tags_with(&bad, &token.addr()).unwrap_err().kind(),
        ErrorKind::Unauthorized
    );

    // Helpers that are missing, fail, hang, garble, or know nothing.
    let cfg = write_config(&dir, serde_json::json!({"credsStore": "missing-store"}));
    let e = tags_with(&cfg, &basic.addr()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(
        e.message().contains("docker-credential-missing-store"),
        "{e}"
    );
    for (name, script, kind) in [
        (
            "fails",
            "echo 'boom: keychain locked'; exit 1",
            ErrorKind::Io,
        ),
        ("hangs", "exec sleep 10", ErrorKind::Timeout),
        (
            "garbles",
            "echo 'Secret=hunter2-leak not json'",
            ErrorKind::Protocol,
        ),
    ] {
        helper(&bin, name, script);
        let cfg = write_config(&dir, serde_json::json!({"credsStore": name}));
        let e = tags_with(&cfg, &basic.addr()).unwrap_err();
        assert_eq!(e.kind(), kind, "{name}: {e}");
        assert!(
            e.message().contains(&format!("docker-credential-{name}")),
            "{e}"
        );
        assert!(!e.message().contains("hunter2-leak"), "{e}");
    }
    helper(
        &bin,
        "empty",
        "echo 'credentials not found in native keychain'; exit 1",
    );
    let cfg = write_config(&dir, serde_json::json!({"credsStore": "empty"}));
    assert_eq!(
        tags_with(&cfg, &basic.addr()).unwrap_err().kind(),
        ErrorKind::Unauthorized,
        "anonymous"
    );

    // A helper that leaves a child holding its output open cannot hold the
    // call past the client's timeout (1.5 s): the process group is killed.
    helper(
        &bin,
        "lingers",
        &format!(
            "cat >/dev/null\necho '{{\"ServerURL\":\"x\",\"Username\":\"{user}\",\"Secret\":\"{pass}\"}}'\nsleep 30 &"
        ),
    );
    let cfg = write_config(&dir, serde_json::json!({"credsStore": "lingers"}));
    let start = Instant::now();
    let e = tags_with(&cfg, &basic.addr()).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Timeout, "{e}");
    assert!(
        start.elapsed() < Duration::from_secs(6),
        "{:?}",
        start.elapsed()
    );

    // Empty and relative PATH entries (the current directory) are not searched.
    let cwd = temp_path("cwd").with_file_name("cwd");
    std::fs::create_dir_all(&cwd).unwrap();
    helper(
        &cwd,
        "incwd",
        "cat >/dev/null\necho '{\"Username\":\"u\",\"Secret\":\"s\"}'",
    );
    let (old_dir, old_path) = (
        std::env::current_dir().unwrap(),
        std::env::var("PATH").unwrap(),
    );
    std::env::set_current_dir(&cwd).unwrap();
    let cfg = write_config(&dir, serde_json::json!({"credsStore": "incwd"}));
    for path in [
        format!(":{old_path}"),
        format!(".:{old_path}"),
        format!("{old_path}::"),
    ] {
        std::env::set_var("PATH", &path);
        let e = tags_with(&cfg, &basic.addr()).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "PATH={path}: {e}");
        assert!(e.message().contains("not on PATH"), "{e}");
    }
    std::env::set_var("PATH", &old_path);
    std::env::set_current_dir(old_dir).unwrap();

    // The default location ($DOCKER_CONFIG) serves a client built from the address alone.
    let cfg = write_config(&dir, serde_json::json!({"credsStore": "regtest"}));
    std::env::set_var("DOCKER_CONFIG", cfg.parent().unwrap());
    let c = Client::builder(&basic.addr())
        .ca_pem(&fixture_certs())
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    // Explicit credentials win over the file; an empty path turns it off.
    let wrong = Client::builder(&basic.addr())
        .ca_pem(&fixture_certs())
        .basic_auth(&user, "wrong-pa55")
        .build()
        .unwrap();
    assert_eq!(wrong.tags(APP).unwrap_err().kind(), ErrorKind::Unauthorized);
    let off = Client::builder(&basic.addr())
        .ca_pem(&fixture_certs())
        .docker_config(Some(Path::new("")))
        .build()
        .unwrap();
    assert_eq!(off.tags(APP).unwrap_err().kind(), ErrorKind::Unauthorized);
    std::env::remove_var("DOCKER_CONFIG");
}
