//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz), one per family
//! of parsers that read what a registry, a token server, the environment or a
//! docker `config.json` hands the client. Each calls the library's own parser
//! and throws the result away: a panic, an arithmetic overflow (fuzz builds
//! keep debug assertions), a hang or runaway memory is the finding.
//!
//! This is the stable interface the fuzz crate builds on while the parsers
//! move between files; it is not part of the supported API.

#![forbid(unsafe_code)]

use ureq::http::Response;
use ureq::Body;

use crate::address::Address;
use crate::auth::config::credentials_in;
use crate::challenge::parse_all;
use crate::error::Error;
use crate::image::read_untrusted_archive;
use crate::oci::ManifestDoc;
use crate::reference::{
    validate_domain, validate_image_id, validate_repository, validate_tag, ContentId,
};
use crate::transport::{decode_json, parse_http_date, parse_retry_after, CookieJar};
use crate::url::{add_query, describe, is_loopback_host, next_link, origin_of, path_of, resolve};
use crate::{Credentials, Digest, ManifestRef, Platform, Reference};

/// The URL a fuzzed `Link` or `Location` is resolved against.
const BASE: &str = "https://registry.example:5000/v2/team/app/tags/list?n=100";

/// `WWW-Authenticate` (`challenge.rs`): one header value per line, as
/// `parse_all` gets them from a response; then every challenge's realm and
/// scopes.
pub fn www_authenticate(input: &str) {
    for c in parse_all(input.split('\n')) {
        let _ = c.param("realm");
        let _ = c.scopes();
    }
}

/// `Link` pagination (`url::next_link`): the `rel="next"` target, then
/// resolved against a tags URL the way the pager follows it, and its origin.
pub fn link(input: &str) {
    if let Some(next) = next_link(input) {
        let url = resolve(BASE, &next);
        let _ = origin_of(&url);
    }
}

/// Names (`reference.rs`, `client.rs`): the input as a full image reference
/// (which must print and parse back to itself), a digest, a manifest
/// reference, a tag, a repository, a domain, a layer or image id, a platform
/// and a registry address.
pub fn reference(input: &str) {
    if let Ok(r) = Reference::parse(input) {
        let printed = r.to_string();
        let again = Reference::parse(&printed);
        assert_eq!(
            again.as_ref().ok(),
            Some(&r),
            "{input:?} printed as {printed:?}"
        );
        let _ = r.manifest_ref().to_string();
    }
    if let Ok(d) = Digest::parse(input) {
        assert_eq!(Digest::parse(&d.to_string()).ok(), Some(d));
    }
    if let Ok(p) = Platform::parse(input) {
        assert!(p.matches(&p.os, &p.architecture, p.variant.as_deref()));
    }
    let _ = ManifestRef::parse(input);
    let _ = validate_tag(input);
    let _ = validate_repository(input);
    let _ = validate_domain(input);
    let _ = ContentId::parse(input);
    let _ = validate_image_id(input);
    let _ = Address::parse(input);
}

/// Token server answers (`auth/token.rs`): the token picked (`access_token`,
/// else `token`) and the lifetime its `expires_in` gives, whatever its shape.
pub fn token_response(body: &[u8]) {
    let _ = crate::auth::parse_token_answer(body);
}

/// Manifests and indexes (`oci.rs`): the entry of an index for linux/amd64
/// and for linux/arm64/v8, the config digest, the layers; and catalog and
/// tag list pages (`v2`).
pub fn manifest(body: &[u8]) {
    if let Ok(doc) = ManifestDoc::parse(body, "manifest") {
        let arm = Platform::parse("linux/arm64/v8").expect("a valid platform");
        for p in [Platform::default(), arm] {
            if let Ok(child) = doc.child_for(&p, "manifest") {
                let _ = child.digest.to_string();
            }
        }
        let _ = doc.media_type_or("");
        for d in doc.config.iter().chain(&doc.layers) {
            let _ = d.is_foreign();
        }
    }
    let _ = decode_json::<crate::v2::CatalogPage>(body, "page");
    let _ = decode_json::<crate::v2::TagsPage>(body, "page");
}

/// v1 JSON bodies (`v1/mod.rs`): search pages, tag maps and lists, the image
/// id a tag names (a JSON string, then checked) and ancestry lists.
pub fn v1_json(body: &[u8]) {
    let _ = decode_json::<crate::v1::SearchPage>(body, "search");
    let _ = decode_json::<crate::v1::TagList>(body, "tags");
    if let Ok(id) = decode_json::<String>(body, "image id") {
        let _ = validate_image_id(&id);
    }
    let _ = decode_json::<Vec<String>>(body, "ancestry");
}

/// v1 headers (`v1/index.rs`, `v1/image.rs`, `transport.rs`), one header
/// value per line: `X-Docker-Token` (prefix stripped, values joined),
/// `X-Docker-Endpoints` (the first endpoint), `X-Docker-Checksum-Payload` (a
/// digest), and `Set-Cookie` kept in a jar, sent back and listed.
pub fn v1_headers(input: &str) {
    let values: Vec<String> = input.split('\n').map(|v| v.trim().to_string()).collect();
    let _ = crate::v1::parse_token(&values);
    let _ = crate::v1::parse_endpoints(&values);
    let _ = crate::v1::parse_checksum(&values[0], "checksum");
    let mut resp = Response::builder().status(200);
    for v in &values {
        resp = resp.header("set-cookie", v.as_str());
    }
    let Ok(resp) = resp.body(Body::builder().data(Vec::new())) else {
        return; // a value no HTTP parser would have handed over
    };
    let jar = CookieJar::default();
    jar.keep(BASE, &resp);
    let _ = jar.header_for(BASE);
    let _ = jar.values();
}

/// docker `config.json` (`auth/config.rs`): the credentials it holds for a
/// registry with a port, for a plain host and for Docker Hub, every key form
/// (`auth`, `username`/`password`, `identitytoken`, `registrytoken`); a
/// credential helper it names is answered "anonymous" without running it.
pub fn docker_config(body: &[u8]) {
    for (host, hub) in [
        ("localhost:5000", false),
        ("quay.io", false),
        ("registry-1.docker.io", true),
    ] {
        let _ = credentials_in(body, "config.json", host, hub, |_, _| {
            Ok(Credentials::Anonymous)
        });
    }
}

/// Proxy choice (`proxy.rs`): the first line is the registry's `host[:port]`,
/// each further line a `NAME=value` variable (`HTTPS_PROXY`, `no_proxy`, …);
/// the proxy for https and http, and how it is shown in messages.
pub fn proxy_env(input: &[u8]) {
    let text = String::from_utf8_lossy(input);
    let mut lines = text.split('\n');
    let host = lines.next().unwrap_or("");
    let vars: Vec<(&str, &str)> = lines.filter_map(|l| l.split_once('=')).collect();
    let var = |name: &str| {
        vars.iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.to_string())
    };
    for scheme in ["https", "http"] {
        if let Some(proxy) = crate::proxy::from_env(scheme, host, var) {
            let _ = crate::proxy::describe(&proxy);
        }
    }
}

/// `Retry-After` (`transport.rs`): delta seconds or an HTTP date.
pub fn http_date(input: &str) {
    let _ = parse_http_date(input);
    let _ = parse_retry_after(input);
}

/// Error answers (`error::Error::from_status`): the first two bytes pick the
/// HTTP status (100–599; the top bit of the first says the challenge was
/// `insufficient_scope`), the rest is the body: v2 `{"errors":[…]}`, v1
/// `{"error":…}` or text.
pub fn error_body(input: &[u8]) {
    let (head, body) = input.split_at(input.len().min(2));
    let mut head = head.to_vec();
    head.resize(2, 0);
    let status = 100 + u16::from_be_bytes([head[0] & 0x7f, head[1]]) % 500;
    let e = Error::from_status(
        status,
        body,
        head[0] & 0x80 != 0,
        "GET /v2/team/app/manifests/v1",
    );
    let _ = e.message();
}

/// URLs (`url.rs`): the first line is a request URL, the second a `Location`
/// or `Link` target resolved against it; origins, paths, loopback checks and
/// query building on both.
pub fn url(input: &str) {
    let (base, reference) = input.split_once('\n').unwrap_or((input, ""));
    let resolved = resolve(base, reference);
    for u in [base, resolved.as_str()] {
        let _ = origin_of(u);
        let _ = path_of(u);
        let _ = describe(u);
        let _ = is_loopback_host(u);
        let _ = add_query(u, "scope", reference);
    }
}

/// Image archives (`image/archive_push.rs` on `tar.rs`): the bytes are an
/// archive file, read as `image_push_archive` reads one before it sends
/// anything: indexed, told apart (docker-archive or oci-archive), its
/// manifests and config read and checked, its layers hashed; gzip-compressed
/// too when the file's last byte is odd (the end-of-archive blocks are
/// zeros, so a real archive is read plain).
pub fn archive(data: &[u8]) {
    let path = std::env::temp_dir().join(format!(
        "registry-fuzz-archive-{}-{:?}.tar",
        std::process::id(),
        std::thread::current().id()
    ));
    if std::fs::write(&path, data).is_ok() {
        let gzip = data.last().is_some_and(|b| b & 1 == 1);
        let _ = read_untrusted_archive(&path, gzip);
    }
    let _ = std::fs::remove_file(&path);
}
