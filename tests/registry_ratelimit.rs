//! Rate limits against real servers: distribution (which sends no
//! `RateLimit-*` headers, in every mode, token auth included), the
//! fixtures' Hub-like server (which sends Docker Hub's), and a client whose
//! requests are paced pulling a whole image.

#[macro_use]
mod common;

use std::time::{Duration, Instant};

use common::{fixture, temp_path, Fixture};
use registry::{Client, ErrorKind, ImageOptions};

/// distribution sends no rate-limit headers: the check says none, and so
/// does the status; a missing manifest is NOT_FOUND.
fn no_headers_from_distribution(f: &Fixture) {
    let c = f.client();
    assert_eq!(
        c.rate_limit_check("fixtures/app", "v1").unwrap(),
        None,
        "{}",
        f.mode
    );
    assert_eq!(c.rate_limit_status(), None);
    let e = c.rate_limit_check("fixtures/app", "nope").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

in_every_mode!(no_headers_from_distribution);

#[test]
#[ignore = "needs make test (real registry)"]
fn the_hub_like_server_states_its_limit_on_a_head_which_is_free() {
    let f = fixture("anon");
    let c = Client::builder(&format!("http://{}", f.fact("HUB_ADDR")))
        .build()
        .unwrap();
    let first = c
        .rate_limit_check("library/alpine", "latest")
        .unwrap()
        .expect("the headers are sent");
    assert_eq!(
        (first.limit, first.window_seconds, first.source.as_deref()),
        (100, Some(21600), Some("127.0.0.1"))
    );
    let again = c
        .rate_limit_check("library/alpine", "latest")
        .unwrap()
        .unwrap();
    assert_eq!(again.remaining, first.remaining, "a HEAD costs nothing");
    assert_eq!(c.rate_limit_status(), Some(again));
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_paced_pull_of_a_real_image_succeeds_and_keeps_its_pace() {
    let f = fixture("anon");
    let c = f.builder().rate_limit(10).build().unwrap();
    let started = Instant::now();
    // fixtures/layers:v1: the manifest, its config and three layers, at least
    // five requests; at 10 a second, four intervals of 100 ms at least (a
    // lower bound on a deliberate wait, not a speed test).
    c.image_pull(
        "fixtures/layers",
        "v1",
        temp_path("paced"),
        ImageOptions::default(),
    )
    .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}
