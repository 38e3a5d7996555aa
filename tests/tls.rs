//! TLS trust and the plain-HTTP fallback.
//!
//! The basic and token fixtures serve the certificate Docker's documentation
//! makes (`openssl req -x509`: self-signed, so `CA:TRUE`), which a client
//! trusts through the CA file or certs.d: `basic::…` and `token::…` (real
//! registries: ignored by a plain `cargo test`, run by `make test`). Small
//! servers on 127.0.0.1 show what the real registry cannot: a certificate for
//! another name, one that has expired or is not valid yet, a server that
//! resets the handshake, a plain HTTP server answering the TLS ClientHello,
//! and a cleartext challenge naming an HTTPS realm.

#[macro_use]
mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{read_head, temp_path, Fixture};
use registry::{ApiVersion, Client, ClientBuilder, Credentials, ErrorKind};

const APP: &str = "fixtures/app";

/// A builder for `addr` with the fixture's credentials and no CA.
fn with_user(f: &Fixture, addr: &str) -> ClientBuilder {
    let (u, p) = f.user().expect("basic and token have a user");
    Client::builder(addr).basic_auth(&u, &p).max_retries(0)
}

// Docker's certificate, in the basic and the token fixture.
in_modes!(
    basic: "basic",
    token: "token";
    docker_certificate_trusted_as_the_ca_file_by_each_name,
    docker_certificate_trusted_as_ca_pem,
    docker_certificate_trusted_through_certs_d,
    docker_certificate_untrusted_is_refused,
    docker_certificate_refused_when_another_one_is_trusted,
    docker_certificate_trusted_beside_another_one,
);

fn docker_certificate_trusted_as_the_ca_file_by_each_name(f: &Fixture) {
    let mode = f.mode;
    let ca = f.ca().expect("the fixture publishes its certificate");
    let port = f.addr().rsplit(':').next().unwrap().to_string();
    for addr in [
        f.addr(),
        format!("localhost:{port}"),
        format!("https://127.0.0.1:{port}"),
    ] {
        let c = with_user(f, &addr).ca_file(&ca).build().unwrap();
        assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"], "{mode} {addr}");
    }
}

fn docker_certificate_trusted_as_ca_pem(f: &Fixture) {
    let pem = std::fs::read(f.ca().expect("the fixture publishes its certificate")).unwrap();
    let c = with_user(f, &f.addr()).ca_pem(&pem).build().unwrap();
    assert_eq!(
        c.image_id(APP, "v1").unwrap(),
        f.fact("IMAGE_ID"),
        "{}",
        f.mode
    );
}

fn docker_certificate_trusted_through_certs_d(f: &Fixture) {
    let dir = f.fact(&format!("{}_CERTS_DIR", f.mode.to_uppercase()));
    let c = with_user(f, &f.addr())
        .certs_dir(Some(Path::new(&dir)))
        .build()
        .unwrap();
    assert_eq!(c.tags(APP).unwrap(), ["v1", "v2"], "{}", f.mode);
}

fn docker_certificate_untrusted_is_refused(f: &Fixture) {
    let e = with_user(f, &f.addr()).build().unwrap().ping().unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{}, web PKI roots: {e}", f.mode);
}

/// Another certificate for the same names, made the same way.
fn other_docker_cert() -> PathBuf {
    let dir = temp_path("other").parent().unwrap().to_path_buf();
    docker_cert(&dir, "other", "IP:127.0.0.1,DNS:localhost").0
}

fn docker_certificate_refused_when_another_one_is_trusted(f: &Fixture) {
    let other = other_docker_cert();
    let e = with_user(f, &f.addr())
        .ca_file(&other)
        .build()
        .unwrap()
        .ping()
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::Tls,
        "{}, another certificate: {e}",
        f.mode
    );
}

/// Trusted beside another one, the registry's own certificate still counts.
fn docker_certificate_trusted_beside_another_one(f: &Fixture) {
    let mut both = std::fs::read(other_docker_cert()).unwrap();
    both.extend(std::fs::read(f.ca().unwrap()).unwrap());
    let c = with_user(f, &f.addr()).ca_pem(&both).build().unwrap();
    assert_eq!(c.ping().unwrap(), ApiVersion::V2, "{}", f.mode);
}

/// A server presenting a certificate made for localhost only, and that
/// certificate: trusted, but not for 127.0.0.1.
fn localhost_only_server() -> (u16, Vec<u8>) {
    let dir = temp_path("name").parent().unwrap().to_path_buf();
    let (cert, key) = docker_cert(&dir, "name", "DNS:localhost");
    let port = tls_server(&cert, &key);
    (port, std::fs::read(&cert).unwrap())
}

#[test]
fn a_trusted_certificate_for_another_name_is_refused() {
    let (port, pem) = localhost_only_server();
    // The certificate names localhost, not 127.0.0.1.
    let e = client(&format!("127.0.0.1:{port}"), &pem)
        .ping()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(e.message().contains("not valid for name"), "{e}");
}

#[test]
fn a_trusted_certificate_is_taken_for_the_name_it_was_made_for() {
    let (port, pem) = localhost_only_server();
    let c = client(&format!("localhost:{port}"), &pem);
    assert_eq!(
        c.ping().unwrap(),
        ApiVersion::V2,
        "the same server by its name"
    );
}

/// A client of a TLS server whose certificate, trusted, is valid from
/// `start` to `end` (`YYYYMMDDHHMMSSZ`).
fn dated_client(name: &str, start: &str, end: &str) -> Client {
    let dir = temp_path("dated").parent().unwrap().to_path_buf();
    let (cert, key) = dated_cert(&dir, name, start, end);
    let port = tls_server(&cert, &key);
    let pem = std::fs::read(&cert).unwrap();
    client(&format!("127.0.0.1:{port}"), &pem)
}

#[test]
fn a_trusted_certificate_that_expired_is_refused() {
    let e = dated_client("expired", "20200101000000Z", "20210101000000Z")
        .ping()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "expired: {e}");
    assert!(e.message().contains("expired"), "expired: {e}");
}

#[test]
fn a_trusted_certificate_not_valid_yet_is_refused() {
    let e = dated_client("future", "20900101000000Z", "20910101000000Z")
        .ping()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "future: {e}");
    assert!(e.message().contains("not valid yet"), "future: {e}");
}

#[test]
fn a_trusted_certificate_within_its_validity_period_is_taken() {
    let c = dated_client("current", "20200101000000Z", "20900101000000Z");
    assert_eq!(c.ping().unwrap(), ApiVersion::V2, "current");
}

/// A server that resets the handshake, pinged by a client that is
/// `insecure` or not: an error, and nothing but TLS handshakes sent.
fn reset_handshake(insecure: bool) {
    let (port, seen) = serve(|mut conn| {
        // Read what the client sends, then hang up without a word.
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = vec![0; 8192];
        let n = conn.read(&mut buf).unwrap_or(0);
        buf[..n].to_vec()
    });
    let c = Client::builder(&format!("127.0.0.1:{port}"))
        .insecure(insecure)
        .max_retries(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let e = c.ping().unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Tls | ErrorKind::Network),
        "{e:?}"
    );
    let seen = recorded(&seen, 1);
    assert!(!seen.is_empty(), "the client connected");
    for first in seen.iter() {
        assert_eq!(first.first(), Some(&0x16), "only TLS handshakes: {first:?}");
    }
}

#[test]
fn a_reset_handshake_never_falls_back_to_plain_http() {
    reset_handshake(false);
}

#[test]
fn a_reset_handshake_never_falls_back_to_plain_http_even_when_insecure() {
    reset_handshake(true);
}

#[test]
fn a_plain_http_server_gets_plain_http() {
    let (port, seen) = serve(plain_http);
    let addr = format!("127.0.0.1:{port}");
    let c = Client::builder(&addr).max_retries(0).build().unwrap();
    assert_eq!(c.ping().unwrap(), ApiVersion::V2);
    let seen = recorded(&seen, 2);
    assert_eq!(seen[0].first(), Some(&0x16), "a TLS handshake first");
    assert!(seen.len() > 1);
    for later in &seen[1..] {
        assert!(later.starts_with(b"GET /v2/ HTTP/1.1"), "then plain HTTP");
    }
}

/// An https:// address means TLS: the answer is an error that says why.
#[test]
fn a_plain_http_server_at_an_https_address_is_a_tls_error_that_says_why() {
    let (port, _) = serve(plain_http);
    let e = Client::builder(&format!("https://127.0.0.1:{port}"))
        .max_retries(0)
        .build()
        .unwrap()
        .ping()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Tls, "{e}");
    assert!(e.message().contains("plain HTTP (HTTP/1.1 400"), "{e}");
}

/// The world of the cleartext-challenge tests: a token server on loopback
/// (TLS, trusted through `pem`) that grants anyone the token "t" and keeps
/// the request heads it gets in `asked`, and a proxy through which every
/// plain-HTTP registry challenges with that realm and takes the token "t"
/// (their request heads go to `registry_saw`); CONNECTs reach the token
/// server.
struct World {
    pem: Vec<u8>,
    asked: Arc<Mutex<Vec<String>>>,
    registry_saw: Arc<Mutex<Vec<String>>>,
    proxy: String,
}

impl World {
    fn new() -> World {
        let dir = temp_path("realm").parent().unwrap().to_path_buf();
        let (cert, key) = docker_cert(&dir, "realm", "IP:127.0.0.1");
        let pem = std::fs::read(&cert).unwrap();
        let asked = Arc::new(Mutex::new(Vec::<String>::new()));
        let log = asked.clone();
        let realm = tls_server_with(&cert, &key, move |head| {
            log.lock().unwrap().push(head.to_ascii_lowercase());
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\
              Connection: close\r\n\r\n{\"token\":\"t\"}"
                .to_vec()
        });
        let registry_saw = Arc::new(Mutex::new(Vec::<String>::new()));
        let proxy = world_proxy(realm, registry_saw.clone());
        World {
            pem,
            asked,
            registry_saw,
            proxy,
        }
    }

    fn client(&self, address: &str, credentials: Credentials) -> Client {
        Client::builder(address)
            .credentials(credentials)
            .ca_pem(&self.pem)
            .proxy(&self.proxy)
            .max_retries(0)
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap()
    }

    /// The request heads the token server got since the last call.
    fn heads(&self) -> Vec<String> {
        std::mem::take(&mut *self.asked.lock().unwrap())
    }

    /// From a host that is not loopback, a cleartext challenge could be
    /// anyone's: its realm gets an anonymous request, never a secret.
    fn realm_gets_no_secret(&self, credentials: Credentials) {
        let c = self.client("http://reg.example", credentials);
        assert_eq!(
            c.ping().unwrap(),
            ApiVersion::V2,
            "an anonymous token works"
        );
        let seen = self.heads();
        assert!(!seen.is_empty(), "the realm was asked");
        for h in &seen {
            assert!(h.starts_with("get "), "no refresh-token POST: {h}");
            assert!(!h.contains("authorization"), "{h}");
            assert!(!h.contains("alice"), "no account either: {h}");
        }
    }
}

fn alice() -> Credentials {
    Credentials::Basic {
        username: "alice".into(),
        password: "pw".into(),
    }
}

/// On loopback the challenge is trusted: the password goes to the realm.
#[test]
fn a_cleartext_challenge_on_loopback_gets_the_password_at_its_https_realm() {
    let world = World::new();
    assert_eq!(
        world.client("http://127.0.0.1:9", alice()).ping().unwrap(),
        ApiVersion::V2
    );
    let seen = world.heads();
    assert!(
        seen.iter().any(|h| h.contains("authorization: basic")),
        "{seen:?}"
    );
}

#[test]
fn a_cleartext_challenge_from_another_host_cannot_send_the_password_to_its_realm() {
    World::new().realm_gets_no_secret(alice());
}

#[test]
fn a_cleartext_challenge_from_another_host_cannot_send_an_identity_token_to_its_realm() {
    World::new().realm_gets_no_secret(Credentials::IdentityToken("refresh-secret".into()));
}

/// A static token is a secret too: not sent, and the error says why.
#[test]
fn a_static_token_never_goes_to_a_cleartext_registry_on_another_host() {
    let world = World::new();
    let e = world
        .client(
            "http://reg.example",
            Credentials::Bearer("static-secret".into()),
        )
        .ping()
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unauthorized, "{e}");
    assert!(e.message().contains("cleartext"), "{e}");
    let saw = world.registry_saw.lock().unwrap();
    assert!(!saw.iter().any(|h| h.contains("static-secret")), "{saw:?}");
}

/// An HTTP proxy on loopback that plays the world: a `CONNECT` to the
/// token server at `127.0.0.1:realm` is tunnelled there; any other tunnel
/// is answered by the proxy itself as a plain-HTTP v2 registry whose
/// challenge names `https://127.0.0.1:realm/token` and which takes the
/// token "t" (its request heads, lower-cased, go to `saw`). Returns its URL.
fn world_proxy(realm: u16, saw: Arc<Mutex<Vec<String>>>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            let saw = saw.clone();
            std::thread::spawn(move || {
                let connect = read_head(&mut conn).to_ascii_lowercase();
                let Some(target) = connect.strip_prefix("connect ") else {
                    return;
                };
                let target = target.split(' ').next().unwrap_or("").to_string();
                let _ = conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n");
                if target == format!("127.0.0.1:{realm}") {
                    let upstream = TcpStream::connect(&target).unwrap();
                    let (mut back, mut from) =
                        (conn.try_clone().unwrap(), upstream.try_clone().unwrap());
                    std::thread::spawn(move || std::io::copy(&mut from, &mut back));
                    let mut upstream = upstream;
                    let _ = std::io::copy(&mut conn, &mut upstream);
                    return;
                }
                let head = read_head(&mut conn).to_ascii_lowercase();
                let answer = if head.contains("authorization: bearer t\r\n") {
                    "200 OK\r\nDocker-Distribution-API-Version: registry/2.0".to_string()
                } else {
                    format!(
                        "401 Unauthorized\r\nWWW-Authenticate: Bearer \
                         realm=\"https://127.0.0.1:{realm}/token\",service=\"s\""
                    )
                };
                saw.lock().unwrap().push(head);
                let _ = conn.write_all(
                    format!(
                        "HTTP/1.1 {answer}\r\nContent-Type: application/json\r\n\
                         Content-Length: 2\r\nConnection: close\r\n\r\n{{}}"
                    )
                    .as_bytes(),
                );
            });
        }
    });
    format!("http://127.0.0.1:{port}")
}

/// What `serve` recorded, once it holds `n` connections or 5 s went by: the
/// server records a connection after answering it, so the client may be done
/// first (a busy machine is slow to write the record).
fn recorded(seen: &Arc<Mutex<Vec<Vec<u8>>>>, n: usize) -> std::sync::MutexGuard<'_, Vec<Vec<u8>>> {
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while seen.lock().unwrap().len() < n && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    seen.lock().unwrap()
}

/// Listens on a loopback port and hands each connection to `answer`, which
/// returns the first bytes the client sent; those are kept, in order.
fn serve(answer: fn(TcpStream) -> Vec<u8>) -> (u16, Arc<Mutex<Vec<Vec<u8>>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = seen.clone();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let first = answer(conn);
            log.lock().unwrap().push(first);
        }
    });
    (port, seen)
}

/// Answers one connection the way a plain HTTP registry does: `GET /v2/`
/// gets 200, anything else (a TLS ClientHello) 400. Returns the first bytes
/// the client sent.
fn plain_http(mut conn: TcpStream) -> Vec<u8> {
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = Vec::new();
    let mut buf = [0; 4096];
    loop {
        let n = conn.read(&mut buf).unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        let http = got.starts_with(b"GET ");
        if n == 0 || !http || got.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    let answer: &[u8] = if got.starts_with(b"GET /v2/ ") {
        b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\n\
          Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
    } else {
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n\
          Connection: close\r\n\r\n400 Bad Request"
    };
    let _ = conn.write_all(answer);
    got
}

/// A client of the server at `addr` trusting `pem`, with no retries.
fn client(addr: &str, pem: &[u8]) -> Client {
    Client::builder(addr)
        .ca_pem(pem)
        .max_retries(0)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A certificate made as Docker's documentation makes one (self-signed, so
/// `CA:TRUE`; a 2048-bit key to keep the test quick), for `san`.
fn docker_cert(dir: &Path, name: &str, san: &str) -> (PathBuf, PathBuf) {
    std::fs::create_dir_all(dir).unwrap();
    let (crt, key) = (format!("{name}.crt"), format!("{name}.key"));
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-keyout",
            &key,
            "-x509",
            "-days",
            "365",
            "-out",
            &crt,
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            &format!("subjectAltName = {san}"),
        ],
    );
    (dir.join(crt), dir.join(key))
}

/// The same kind of certificate (for 127.0.0.1 and localhost) valid from
/// `start` to `end` (`YYYYMMDDHHMMSSZ`), which only `openssl ca` can set.
fn dated_cert(dir: &Path, name: &str, start: &str, end: &str) -> (PathBuf, PathBuf) {
    let ca = dir.join(format!("{name}-ca"));
    std::fs::create_dir_all(&ca).unwrap();
    std::fs::write(ca.join("index.txt"), b"").unwrap();
    std::fs::write(ca.join("serial"), b"01\n").unwrap();
    std::fs::write(
        ca.join("ca.cnf"),
        "[ca]\ndefault_ca = d\n[d]\ndatabase = index.txt\nnew_certs_dir = .\nserial = serial\n\
         default_md = sha256\npolicy = p\ncopy_extensions = copy\n[p]\ncommonName = supplied\n",
    )
    .unwrap();
    openssl(
        &ca,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "k.pem",
            "-out",
            "csr.pem",
            "-subj",
            &format!("/CN={name}"),
            "-addext",
            "subjectAltName = IP:127.0.0.1,DNS:localhost",
            "-addext",
            "basicConstraints = critical,CA:TRUE",
        ],
    );
    openssl(
        &ca,
        &[
            "ca",
            "-batch",
            "-config",
            "ca.cnf",
            "-selfsign",
            "-keyfile",
            "k.pem",
            "-in",
            "csr.pem",
            "-out",
            "c.pem",
            "-startdate",
            start,
            "-enddate",
            end,
            "-notext",
        ],
    );
    (ca.join("c.pem"), ca.join("k.pem"))
}

/// A TLS server on 127.0.0.1 presenting `cert` that answers every request
/// with a v2 `200 {}`, for as long as the test process runs. Returns its port.
fn tls_server(cert: &Path, key: &Path) -> u16 {
    tls_server_with(cert, key, |_| {
        b"HTTP/1.1 200 OK\r\nDocker-Distribution-API-Version: registry/2.0\r\n\
          Content-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"
            .to_vec()
    })
}

/// A TLS server on 127.0.0.1 presenting `cert` that reads each request's
/// head and writes what `answer` makes of it. Returns its port.
fn tls_server_with(
    cert: &Path,
    key: &Path,
    answer: impl Fn(&str) -> Vec<u8> + Send + 'static,
) -> u16 {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = vec![CertificateDer::from_pem_file(cert).unwrap()];
    let key = PrivateKeyDer::from_pem_file(key).unwrap();
    let config = Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for conn in listener.incoming().flatten() {
            let tls = rustls::ServerConnection::new(config.clone()).unwrap();
            let mut stream = rustls::StreamOwned::new(tls, conn);
            let mut got = Vec::new();
            let mut buf = [0; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(n) if n > 0 => got.extend_from_slice(&buf[..n]),
                    _ => break,
                }
            }
            let _ = stream.write_all(&answer(&String::from_utf8_lossy(&got)));
            let _ = stream.flush();
        }
    });
    port
}
