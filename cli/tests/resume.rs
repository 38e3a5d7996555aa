//! Uploads that survive a crash: `regcli push --upload-state DIR` killed with
//! SIGKILL mid-layer, then run again, sends only what the registry does not
//! hold. regcli talks to the registry through a throttling proxy of this
//! test (loopback), which slows the PATCH bodies so that the kill lands
//! mid-layer, sees every request head (the registry's access log does not
//! show Content-Range) and counts the body bytes each PATCH carried.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{bin, fixture, sha256, skopeo, temp_dir, Fixture};

const MIB: u64 = 1024 * 1024;
const LAYER: u64 = 64 * MIB;
const CHUNK: u64 = 8 * MIB;

fn s(p: &Path) -> &str {
    p.to_str().expect("temp paths are UTF-8")
}

/// Incompressible-looking bytes (xorshift), the same for every run.
fn layer_bytes() -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut out = Vec::with_capacity(LAYER as usize);
    while out.len() < LAYER as usize {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

/// An OCI layout holding one image with the 64 MiB layer, tagged v1.
fn layout(dir: &Path) -> String {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        std::fs::write(blobs.join(d.trim_start_matches("sha256:")), bytes).unwrap();
        d
    };
    let layer = layer_bytes();
    let layer_digest = put(&layer);
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]}
    }))
    .unwrap();
    let config_digest = put(&config);
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config_digest, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": layer_digest, "size": layer.len()}]
    }))
    .unwrap();
    let manifest_digest = put(&manifest);
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": manifest_digest, "size": manifest.len(),
                       "annotations": {"org.opencontainers.image.ref.name": "v1"}}]
    });
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
    layer_digest
}

/// When the proxy kills regcli.
#[derive(Clone, Copy)]
enum KillAt {
    /// When this PATCH (1-based) arrives, before any of it goes on.
    Patch(usize),
    /// When this many PATCH body bytes went on (mid-chunk).
    Bytes(u64),
}

#[derive(Default)]
struct Stats {
    /// Content-Range of each PATCH forwarded, in order.
    ranges: Mutex<Vec<String>>,
    /// PATCH body bytes forwarded.
    body: AtomicU64,
    patches: Mutex<usize>,
}

struct Proxy {
    port: u16,
    stats: Arc<Stats>,
    /// The regcli to kill, and when.
    victim: Arc<Mutex<Option<(Child, KillAt)>>>,
    throttle: Arc<AtomicBool>,
}

/// 32 MiB/s while throttled: a 64 MiB layer takes 2 s.
const RATE: u64 = 32 * MIB;

impl Proxy {
    fn start(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stats = Arc::new(Stats::default());
        let victim: Arc<Mutex<Option<(Child, KillAt)>>> = Arc::new(Mutex::new(None));
        let throttle = Arc::new(AtomicBool::new(true));
        let (st, vi, th) = (stats.clone(), victim.clone(), throttle.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(client) = conn else { return };
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                let (st, vi, th) = (st.clone(), vi.clone(), th.clone());
                std::thread::spawn(move || forward(client, server, &st, &vi, &th));
            }
        });
        Proxy {
            port,
            stats,
            victim,
            throttle,
        }
    }

    fn reset(&self) -> (Vec<String>, u64) {
        let ranges = std::mem::take(&mut *self.stats.ranges.lock().unwrap());
        *self.stats.patches.lock().unwrap() = 0;
        (ranges, self.stats.body.swap(0, Ordering::SeqCst))
    }
}

/// Kills the victim if `now` says so; true when it did.
fn maybe_kill(victim: &Mutex<Option<(Child, KillAt)>>, now: impl Fn(KillAt) -> bool) -> bool {
    let mut v = victim.lock().unwrap();
    if let Some((child, at)) = v.as_mut() {
        if now(*at) {
            child.kill().unwrap();
            child.wait().unwrap();
            *v = None;
            return true;
        }
    }
    false
}

/// Client to server request by request (heads parsed, bodies by
/// Content-Length, PATCH bodies throttled and counted); server to client as
/// is.
fn forward(
    client: TcpStream,
    server: TcpStream,
    stats: &Stats,
    victim: &Mutex<Option<(Child, KillAt)>>,
    throttle: &AtomicBool,
) {
    let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut s2, &mut c2);
        let _ = c2.shutdown(Shutdown::Both);
    });
    let mut from = BufReader::new(client);
    let mut to = server;
    // A TLS probe (the registry is plain HTTP, and says so): as is.
    if from.fill_buf().map_or(true, |b| b.first() == Some(&0x16)) {
        let _ = std::io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
        return;
    }
    loop {
        let mut head = Vec::new();
        loop {
            let mut line = Vec::new();
            match from.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
                Ok(_) => {}
            }
            head.extend_from_slice(&line);
            if line == b"\r\n" {
                break;
            }
        }
        let text = String::from_utf8_lossy(&head).into_owned();
        let header = |name: &str| {
            text.lines().find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.trim()
                    .eq_ignore_ascii_case(name)
                    .then(|| v.trim().to_string())
            })
        };
        let len: u64 = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let patch = text.starts_with("PATCH ");
        if patch {
            let n = {
                let mut p = stats.patches.lock().unwrap();
                *p += 1;
                *p
            };
            if maybe_kill(victim, |at| matches!(at, KillAt::Patch(k) if k == n)) {
                let _ = to.shutdown(Shutdown::Both);
                return;
            }
            stats
                .ranges
                .lock()
                .unwrap()
                .push(header("content-range").unwrap_or_default());
        }
        if to.write_all(&head).is_err() {
            return;
        }
        let mut left = len;
        let mut buf = vec![0u8; 256 * 1024];
        let started = Instant::now();
        let mut sent = 0u64;
        while left > 0 {
            let want = buf.len().min(left as usize);
            let got = match from.read(&mut buf[..want]) {
                Ok(0) | Err(_) => {
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
                Ok(n) => n,
            };
            if to.write_all(&buf[..got]).is_err() {
                return;
            }
            left -= got as u64;
            if patch {
                sent += got as u64;
                let total = stats.body.fetch_add(got as u64, Ordering::SeqCst) + got as u64;
                if maybe_kill(victim, |at| matches!(at, KillAt::Bytes(b) if total >= b)) {
                    // regcli is gone: the registry sees this PATCH cut here.
                    let _ = to.shutdown(Shutdown::Both);
                    return;
                }
                if throttle.load(Ordering::SeqCst) {
                    let due = Duration::from_secs_f64(sent as f64 / RATE as f64);
                    if let Some(wait) = due.checked_sub(started.elapsed()) {
                        std::thread::sleep(wait);
                    }
                }
            }
        }
    }
}

fn push_command(proxy: &Proxy, state: &Path, dir: &Path, repo: &str) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args([
        "push",
        "-q",
        "--parallel",
        "1",
        "--upload-state",
        s(state),
        s(dir),
        &format!("127.0.0.1:{}/{repo}:v1", proxy.port),
    ])
    .env("DOCKER_CONFIG", s(&state.join("docker")))
    .env_remove("HTTP_PROXY")
    .env_remove("http_proxy")
    .stdout(Stdio::null())
    .stderr(Stdio::piped());
    cmd
}

/// Pushes once killed at `at`, then again; returns (the second run's PATCH
/// ranges, the bytes the second run sent, the bytes both sent).
fn killed_then_again(f: &Fixture, repo: &str, at: KillAt) -> (Vec<String>, u64, u64) {
    let dir = temp_dir("resume-layout");
    let layer_digest = layout(&dir);
    let state = temp_dir("resume-state");
    let proxy = Proxy::start(f.addr());
    let child = push_command(&proxy, &state, &dir, repo).spawn().unwrap();
    *proxy.victim.lock().unwrap() = Some((child, at));
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        {
            let mut v = proxy.victim.lock().unwrap();
            let Some((child, _)) = v.as_mut() else { break };
            if child.try_wait().unwrap().is_some() {
                let mut err = String::new();
                child
                    .stderr
                    .take()
                    .unwrap()
                    .read_to_string(&mut err)
                    .unwrap();
                panic!("regcli ended before the kill point: {err}");
            }
        }
        assert!(Instant::now() < deadline, "the kill point never came");
        std::thread::sleep(Duration::from_millis(20));
    }
    let (first_ranges, first) = proxy.reset();
    assert!(
        first > 0 && first < LAYER,
        "killed mid-layer: {first} bytes"
    );
    let recorded: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".upload.json"))
        .collect();
    assert_eq!(recorded.len(), 1, "{recorded:?} after {first_ranges:?}");
    let text = std::fs::read_to_string(state.join(&recorded[0])).unwrap();
    assert!(
        text.contains(layer_digest.trim_start_matches("sha256:"))
            || recorded[0].contains(layer_digest.trim_start_matches("sha256:"))
    );

    proxy.throttle.store(false, Ordering::SeqCst);
    let out = push_command(&proxy, &state, &dir, repo).output().unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (ranges, second) = proxy.reset();
    let left: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".upload.json"))
        .collect();
    assert!(
        left.is_empty(),
        "the state is removed once committed: {left:?}"
    );
    // skopeo reads the image and checks every blob.
    let read = temp_dir("resume-read");
    skopeo(&[
        "--insecure-policy",
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        &format!("docker://{}/{repo}:v1", f.addr()),
        &format!("dir:{}", s(&read)),
    ]);
    let got = std::fs::read(read.join(layer_digest.trim_start_matches("sha256:"))).unwrap();
    assert_eq!(sha256(&got), layer_digest);
    eprintln!(
        "{}: killed after {first} PATCH bytes ({:.2} of the layer); the second run sent {second} \
         ({:.2}), first PATCH {:?}; both {:.2}",
        f.mode,
        first as f64 / LAYER as f64,
        second as f64 / LAYER as f64,
        ranges.first(),
        (first + second) as f64 / LAYER as f64
    );
    (ranges, second, first + second)
}

fn start_of(range: &str) -> u64 {
    range.split('-').next().unwrap().parse().unwrap()
}

/// distribution: regcli killed between chunks (as the fifth PATCH comes,
/// at 50 %) resumes from the fifth chunk.
#[test]
#[ignore = "needs the fixture registries (make test-cli)"]
fn a_push_killed_between_chunks_resumes_on_distribution() {
    let f = fixture("anon");
    let (ranges, second, both) = killed_then_again(&f, "resume/between", KillAt::Patch(5));
    assert_eq!(start_of(&ranges[0]), 4 * CHUNK, "{ranges:?}");
    assert!(second as f64 <= 0.55 * LAYER as f64, "{second}");
    assert!(both as f64 <= 1.2 * LAYER as f64, "{both}");
}

/// ferro-oci-server keeps a session whose PATCH was cut mid-body at its last
/// whole chunk: killed mid-chunk at ~53 %, the second run sends the rest
/// from there.
#[test]
#[ignore = "needs the fixture registries (make test-cli)"]
fn a_push_killed_mid_chunk_resumes_on_ferro() {
    let f = fixture("ferro");
    let (ranges, second, both) =
        killed_then_again(&f, "resume/mid", KillAt::Bytes(4 * CHUNK + 2 * MIB));
    assert_eq!(start_of(&ranges[0]), 4 * CHUNK, "{ranges:?}");
    assert!(second as f64 <= 0.55 * LAYER as f64, "{second}");
    assert!(both as f64 <= 1.2 * LAYER as f64, "{both}");
}

/// distribution 2.8 drops a session whose PATCH was cut mid-body (the next
/// request on it answers 404): killed mid-chunk, the second run starts over
/// cleanly and still pushes the image.
#[test]
#[ignore = "needs the fixture registries (make test-cli)"]
fn a_push_killed_mid_chunk_starts_over_on_distribution() {
    let f = fixture("anon");
    let (ranges, second, _) =
        killed_then_again(&f, "resume/cut", KillAt::Bytes(4 * CHUNK + 2 * MIB));
    assert_eq!(start_of(&ranges[0]), 0, "{ranges:?}");
    // The whole layer again, and the config.
    assert!((LAYER..LAYER + 4096).contains(&second), "{second}");
}
