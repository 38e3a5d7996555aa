//! Environment credentials (carvel imgpkg's variables), the config.json key
//! (binderhub's `auth_config_url`) and restricted clients: against the real
//! htpasswd and token registries, and httpmock servers on loopback playing
//! "another host" (another port) and counting requests.
//!
//! The environment is injected with `env_credentials_from`, never set on the
//! process, so these tests run in parallel with each other and the rest.

use std::time::Duration;

use httpmock::prelude::*;
use registry::{Access, Client, ErrorKind};

mod common;
use common::{fixture, temp_path};

const APP: &str = "fixtures/app";

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `127.0.0.*:<port>` for a fixture's `127.0.0.1:<port>`.
fn glob_for(addr: &str) -> String {
    let port = addr.rsplit(':').next().unwrap();
    format!("127.0.0.*:{port}")
}

#[test]
fn entries_for_other_hosts_never_reach_this_one() {
    // A registry that asks for Basic on every request: a mock for requests
    // that carry an Authorization header, one for those that do not.
    let server = MockServer::start();
    let with = server.mock(|w, t| {
        w.header_exists("authorization");
        t.status(401)
            .header("WWW-Authenticate", "Basic realm=\"x\"");
    });
    let without = server.mock(|w, t| {
        w.header_missing("authorization");
        t.status(401)
            .header("WWW-Authenticate", "Basic realm=\"x\"");
    });
    let addr = server.address().to_string(); // 127.0.0.1:<port>
    let other_port = format!("127.0.0.1:{}", server.address().port() + 1);
    let other_ip = format!("127.0.0.2:{}", server.address().port());
    let env = vars(&[
        ("MOCK_HOSTNAME_0", &other_port),
        ("MOCK_USERNAME_0", "u0"),
        ("MOCK_PASSWORD_0", "pw-other-port"),
        ("MOCK_HOSTNAME_1", &other_ip),
        ("MOCK_USERNAME_1", "u1"),
        ("MOCK_PASSWORD_1", "pw-other-ip"),
        ("MOCK_HOSTNAME_2", "*.example.com"),
        ("MOCK_REGISTRY_TOKEN_2", "tok-example"),
        ("MOCK_HOSTNAME_3", "127.0.0.1"),
        ("MOCK_IDENTITY_TOKEN_3", "refresh-no-port"),
        ("MOCK_HOSTNAME_4", &format!("{addr}/team")),
        ("MOCK_USERNAME_4", "u4"),
        ("MOCK_PASSWORD_4", "pw-path"),
    ]);
    let c = Client::builder(&format!("http://{addr}"))
        .docker_config(Some(std::path::Path::new("")))
        .env_credentials_from(Some("MOCK"), env.clone())
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.tags("team/app").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    for secret in ["pw-other", "tok-example", "refresh-no-port", "pw-path"] {
        assert!(!e.message().contains(secret), "{e}");
    }
    with.assert_calls(0);
    assert!(without.calls() >= 1);

    // The control: an entry whose glob matches this host:port is sent.
    let mut matching = env;
    matching.extend(vars(&[
        ("MOCK_HOSTNAME_5", &glob_for(&addr)),
        ("MOCK_USERNAME_5", "u5"),
        ("MOCK_PASSWORD_5", "pw-this-host"),
    ]));
    let c = Client::builder(&format!("http://{addr}"))
        .docker_config(Some(std::path::Path::new("")))
        .env_credentials_from(Some("MOCK"), matching)
        .max_retries(0)
        .build()
        .unwrap();
    let e = c.tags("team/app").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.message().contains("pw-this-host"), "{e}");
    assert!(with.calls() >= 1, "the matching entry's password was sent");
}

#[test]
fn a_restricted_client_refuses_other_repositories_before_any_request() {
    let server = MockServer::start();
    let any = server.mock(|_, t| {
        t.status(200)
            .json_body(serde_json::json!({"name": "team/app", "tags": ["v1"]}));
    });
    let c = Client::builder(&server.url(""))
        .docker_config(Some(std::path::Path::new("")))
        .build()
        .unwrap();
    let app = c.restrict("team/app").unwrap();
    any.assert_calls(0);
    let digest = format!("sha256:{}", "0".repeat(64));
    let refusals: Vec<(&str, registry::Error)> = vec![
        ("tags", app.tags("team/other").unwrap_err()),
        (
            "layer_exists",
            app.layer_exists("team/other", digest.as_str()).unwrap_err(),
        ),
        (
            "manifest_head",
            app.manifest_head("team/other", "v1").unwrap_err(),
        ),
        (
            "delete_tag",
            app.delete_tag("team/other", "v1").unwrap_err(),
        ),
        ("token", app.token("team/other", Access::Read).unwrap_err()),
        (
            "mount",
            app.blob_mount("team/app", digest.as_str(), "team/other")
                .unwrap_err(),
        ),
        ("catalog", app.catalog().unwrap_err()),
        ("search", app.search("team", 10).unwrap_err()),
        ("search_page", app.search_page("team", 1, 10).unwrap_err()),
        (
            "v1_repository_images",
            app.v1_repository_images("team/other").unwrap_err(),
        ),
        (
            "referrers",
            app.referrers("team/other", digest.as_str(), None)
                .unwrap_err(),
        ),
        (
            "copy to it",
            c.image_copy(
                "team/app",
                "v1",
                &app,
                "team/other",
                None,
                Default::default(),
            )
            .unwrap_err(),
        ),
        (
            "copy from it",
            app.image_copy("team/other", "v1", &c, "team/app", None, Default::default())
                .unwrap_err(),
        ),
        ("restrict", app.restrict("team/other").unwrap_err()),
    ];
    for (what, e) in refusals {
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{what}: {e}");
        assert!(e.message().contains("restricted"), "{what}: {e}");
    }
    any.assert_calls(0);
    // Its own repository goes out, on the parent's connections, also after
    // the parent is gone.
    drop(c);
    assert_eq!(app.tags("team/app").unwrap(), vec!["v1".to_string()]);
    assert!(any.calls() >= 1);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn env_credentials_log_in_to_the_htpasswd_registry() {
    let f = fixture("basic");
    let (user, pass) = f.user().unwrap();
    let off = std::path::Path::new("");
    let env = vars(&[
        (
            "IMGPKG_REGISTRY_HOSTNAME_0",
            &format!("https://{}", glob_for(&f.addr())),
        ),
        ("IMGPKG_REGISTRY_USERNAME_0", &user),
        ("IMGPKG_REGISTRY_PASSWORD_0", &pass),
    ]);
    let c = f
        .anonymous()
        .docker_config(Some(off))
        .env_credentials_from(Some("IMGPKG_REGISTRY"), env.clone())
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    // Another prefix reads nothing.
    let c = f
        .anonymous()
        .docker_config(Some(off))
        .env_credentials_from(Some("REGISTRY"), env)
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap_err().kind(), ErrorKind::Unauthorized);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn env_credentials_for_the_token_registry_basic_identity_and_registry_tokens() {
    let f = fixture("token");
    let (user, pass) = f.user().unwrap();
    let off = std::path::Path::new("");
    let build = |list: &[(&str, &str)]| {
        f.anonymous()
            .docker_config(Some(off))
            .env_credentials_from(None, vars(list))
            .build()
            .unwrap()
    };
    let addr = f.addr();
    let c = build(&[
        ("REGISTRY_HOSTNAME", &addr),
        ("REGISTRY_USERNAME", &user),
        ("REGISTRY_PASSWORD", &pass),
    ]);
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    let bearer = c.token(APP, Access::Read).unwrap();
    // An identity token (refresh token) is exchanged at the token server.
    let refresh = f.fact("TOKEN_REFRESH");
    let c = build(&[
        ("REGISTRY_HOSTNAME_ID", &addr),
        ("REGISTRY_IDENTITY_TOKEN_ID", &refresh),
    ]);
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    // A registry token is sent as is (and beats the wrong password beside it).
    let c = build(&[
        ("REGISTRY_HOSTNAME_RT", &addr),
        ("REGISTRY_REGISTRY_TOKEN_RT", &bearer),
        ("REGISTRY_USERNAME_RT", &user),
        ("REGISTRY_PASSWORD_RT", "wrong-password"),
    ]);
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    // A wrong password is refused, and never quoted.
    let c = build(&[
        ("REGISTRY_HOSTNAME", &addr),
        ("REGISTRY_USERNAME", &user),
        ("REGISTRY_PASSWORD", "wrong-password"),
    ]);
    let e = c.tags(APP).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(!e.message().contains("wrong-password"), "{e}");
}

/// A config.json in a fresh directory.
fn config(json: serde_json::Value) -> std::path::PathBuf {
    let p = temp_path("config.json");
    std::fs::write(&p, json.to_string()).unwrap();
    p
}

#[test]
#[ignore = "needs make test (real registry)"]
fn the_environment_beats_config_json_and_given_credentials_beat_both() {
    let f = fixture("basic");
    let (user, pass) = f.user().unwrap();
    let addr = f.addr();
    let entry = |p: &str| serde_json::json!({"username": user, "password": p});
    let right = config(serde_json::json!({"auths": {&addr: entry(&pass)}}));
    let wrong = config(serde_json::json!({"auths": {&addr: entry("wrong-pw")}}));
    let env = |p: &str| {
        vars(&[
            ("REGISTRY_HOSTNAME", &addr),
            ("REGISTRY_USERNAME", &user),
            ("REGISTRY_PASSWORD", p),
        ])
    };
    let tags = |b: registry::ClientBuilder| {
        b.timeout(Duration::from_secs(10))
            .build()
            .unwrap()
            .tags(APP)
            .map_err(|e| e.kind())
    };
    // config.json alone works; wrong env credentials then win and fail.
    assert!(tags(f.anonymous().docker_config(Some(&right))).is_ok());
    assert_eq!(
        tags(
            f.anonymous()
                .docker_config(Some(&right))
                .env_credentials_from(None, env("wrong-pw"))
        ),
        Err(ErrorKind::Unauthorized)
    );
    // Right env credentials beat a wrong config.json.
    assert!(tags(
        f.anonymous()
            .docker_config(Some(&wrong))
            .env_credentials_from(None, env(&pass))
    )
    .is_ok());
    // Given credentials beat both.
    assert!(tags(
        f.anonymous()
            .docker_config(Some(&wrong))
            .env_credentials_from(None, env("wrong-pw"))
            .basic_auth(&user, &pass)
    )
    .is_ok());
}

#[test]
#[ignore = "needs make test (real registry)"]
fn auth_key_picks_the_config_entry_under_its_key() {
    let f = fixture("basic");
    let (user, pass) = f.user().unwrap();
    let p = config(serde_json::json!({"auths": {
        "https://build.example/v1/": {"username": user, "password": pass},
        f.addr(): {"username": user, "password": "wrong-pw"},
    }}));
    let by_host = f.anonymous().docker_config(Some(&p)).build().unwrap();
    assert_eq!(
        by_host.tags(APP).unwrap_err().kind(),
        ErrorKind::Unauthorized
    );
    let by_key = f
        .anonymous()
        .docker_config(Some(&p))
        .auth_key("https://build.example/v1/")
        .build()
        .unwrap();
    assert_eq!(by_key.tags(APP).unwrap(), ["v1", "v2"]);
    // No entry under the key: anonymous, refused.
    let none = f
        .anonymous()
        .docker_config(Some(&p))
        .auth_key("https://elsewhere.example/v1/")
        .build()
        .unwrap();
    assert_eq!(none.tags(APP).unwrap_err().kind(), ErrorKind::Unauthorized);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_restricted_client_shares_the_token_cache() {
    let f = fixture("token");
    let ua = "registry-restrict-test";
    let c = f.builder().user_agent(ua).build().unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"]);
    let issued = f.tokens_issued(ua);
    let app = c.restrict(APP).unwrap();
    assert_eq!(app.tags(APP).unwrap(), ["v1", "v2"]);
    assert_eq!(f.tokens_issued(ua), issued, "the cached token was reused");
    assert_eq!(
        app.tags("fixtures/oci").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );
}
