//! One client shared by 8 threads × 100 mixed operations against the real
//! registry in token mode: reads, uploads, tag writes and deletes, token
//! refreshes. Every operation must succeed.
//!
//! Reads share `fixtures/app`; each thread writes into a repository of its
//! own, because distribution 2.8's filesystem driver rewrites tag links in
//! place and concurrent writers of one tag can read them half-written (a
//! registry race, fixed upstream in distribution #4624).

#[macro_use]
mod common;

use std::io::Read;

use registry::{Access, Client};

const APP: &str = "fixtures/app";
const THREADS: usize = 8;
const OPS: usize = 100;

#[test]
#[ignore = "needs make test (real registry)"]
fn one_client_many_threads() {
    let f = common::fixture("token");
    let c: Client = f.builder().user_agent("registry-threads").build().unwrap();
    let layer = f.fact("LAYER_DIGEST");
    let image = f.fact("IMAGE_ID");
    let failures = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for t in 0..THREADS {
            let (c, layer, image, failures) = (&c, &layer, &image, &failures);
            scope.spawn(move || {
                let own = format!("threads/t{t}");
                for i in 0..OPS {
                    let result = match (t + i) % 8 {
                        0 => c.tags(APP).map(|tags| assert_eq!(tags, ["v1", "v2"])),
                        1 => c.image_id(APP, "v1").map(|id| assert_eq!(&id, image)),
                        2 => c
                            .manifest_get(APP, "v2")
                            .map(|m| assert!(!m.body.is_empty())),
                        3 => c.layer_exists(APP, layer).map(|e| assert!(e)),
                        4 => c.layer_open(APP, layer).and_then(|mut r| {
                            let mut n = Vec::new();
                            r.read_to_end(&mut n).map_err(registry::Error::from)?;
                            assert!(r.verified());
                            Ok(())
                        }),
                        5 => {
                            let bytes = format!("thread {t} op {i}");
                            c.layer_put(&own, &mut bytes.as_bytes(), None).map(|_| ())
                        }
                        6 => c
                            .blob_mount(&own, layer, APP)
                            .and_then(|_| c.token(&own, Access::Write))
                            .map(|tok| assert!(!tok.is_empty())),
                        _ => {
                            let tag = format!("op{i}");
                            c.manifest_get(APP, "v1")
                                .and_then(|m| {
                                    c.blob_mount(&own, image, APP)?;
                                    c.blob_mount(&own, layer, APP)?;
                                    c.manifest_put(&own, &tag, &m.media_type, &m.body)
                                })
                                .and_then(|_| c.set_tag(&own, &tag, "current"))
                                .and_then(|_| c.delete_tag(&own, &tag))
                        }
                    };
                    if let Err(e) = result {
                        failures.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        eprintln!("thread {t} op {i}: {e}");
                    }
                }
            });
        }
    });
    assert_eq!(failures.into_inner(), 0);
}
