//! regcli reads REGCLI_REGISTRY_* credentials (imgpkg's variables under its
//! own prefix) and --auth-key, against the htpasswd registry.

mod common;
use common::{fixture, Cli};

#[test]
fn regcli_registry_variables_log_in_to_the_hosts_they_name() {
    let f = fixture("basic");
    let certs = f.var("CERTS_DIR");
    let addr = f.addr();
    let port = addr.rsplit(':').next().unwrap().to_string();
    let image = f.image("fixtures/app");
    let tags = |cli: &Cli| cli.run(&["--certs-dir", &certs, "tags", &image]);

    // Nothing in config.json, nothing in the environment: refused.
    tags(&Cli::new()).fails(4, "UNAUTHORIZED");

    // A glob for this host:port, with a suffix.
    let cli = Cli::new()
        .env("REGCLI_REGISTRY_HOSTNAME_0", &format!("127.0.0.*:{port}"))
        .env("REGCLI_REGISTRY_USERNAME_0", &f.var("USER"))
        .env("REGCLI_REGISTRY_PASSWORD_0", &f.var("PASS"));
    assert_eq!(tags(&cli).lines(), ["v1", "v2"]);

    // Another port: not sent. The password is never printed.
    let other = format!("127.0.0.*:{}", port.parse::<u32>().unwrap() + 1);
    let cli = Cli::new()
        .env("REGCLI_REGISTRY_HOSTNAME", &other)
        .env("REGCLI_REGISTRY_USERNAME", &f.var("USER"))
        .env("REGCLI_REGISTRY_PASSWORD", &f.var("PASS"));
    let run = tags(&cli);
    run.fails(4, "UNAUTHORIZED");
    assert!(!run.stderr.contains(&f.var("PASS")), "{}", run.stderr);

    // imgpkg's own prefix is not regcli's.
    let cli = Cli::new()
        .env("IMGPKG_REGISTRY_HOSTNAME", &addr)
        .env("IMGPKG_REGISTRY_USERNAME", &f.var("USER"))
        .env("IMGPKG_REGISTRY_PASSWORD", &f.var("PASS"));
    tags(&cli).fails(4, "UNAUTHORIZED");

    // The environment beats config.json; -u beats the environment.
    let cli = Cli::new()
        .env("REGCLI_REGISTRY_HOSTNAME", &addr)
        .env("REGCLI_REGISTRY_USERNAME", &f.var("USER"))
        .env("REGCLI_REGISTRY_PASSWORD", "wrong-pw");
    write_config(&cli, &addr, &f.var("USER"), &f.var("PASS"));
    let run = tags(&cli);
    run.fails(4, "UNAUTHORIZED");
    assert!(!run.stderr.contains("wrong-pw"), "{}", run.stderr);
    let stdin = format!("{}\n", f.var("PASS"));
    let run = cli.run_with_stdin(
        &[
            "--certs-dir",
            &certs,
            "-u",
            &f.var("USER"),
            "--password-stdin",
            "tags",
            &image,
        ],
        Some(stdin.as_bytes()),
    );
    assert_eq!(run.lines(), ["v1", "v2"]);

    // A malformed HOSTNAME is a usage error naming the variable.
    let cli = Cli::new()
        .env("REGCLI_REGISTRY_HOSTNAME", "user@host")
        .env("REGCLI_REGISTRY_PASSWORD", "s3cret-cli");
    let run = tags(&cli);
    run.fails(2, "INVALID_ARGUMENT");
    assert!(
        run.stderr.contains("REGCLI_REGISTRY_HOSTNAME"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("s3cret-cli"), "{}", run.stderr);
}

/// Writes `{"auths": {key: {username, password}}}` as the CLI's config.json.
fn write_config(cli: &Cli, key: &str, user: &str, pass: &str) {
    let doc = serde_json::json!({"auths": {key: {"username": user, "password": pass}}});
    std::fs::write(cli.docker_config.join("config.json"), doc.to_string()).unwrap();
}

#[test]
fn auth_key_picks_the_config_entry_under_it() {
    let f = fixture("basic");
    let certs = f.var("CERTS_DIR");
    let image = f.image("fixtures/app");
    let cli = Cli::new();
    write_config(
        &cli,
        "https://build.example/v1/",
        &f.var("USER"),
        &f.var("PASS"),
    );
    cli.run(&["--certs-dir", &certs, "tags", &image])
        .fails(4, "UNAUTHORIZED");
    let run = cli.run(&[
        "--certs-dir",
        &certs,
        "--auth-key",
        "https://build.example/v1/",
        "tags",
        &image,
    ]);
    assert_eq!(run.lines(), ["v1", "v2"]);
    // Between two registries the key would serve both: refused.
    let anon = fixture("anon");
    cli.run(&[
        "--auth-key",
        "https://build.example/v1/",
        "cp",
        &format!("{image}:v1"),
        &anon.image("fixtures/copied:v1"),
    ])
    .fails(2, "INVALID_ARGUMENT");
}
