//! The v2 write flows against a real distribution 2.8 registry in every mode,
//! with skopeo (a real peer client) reading back what the library pushed.

#[macro_use]
mod common;

use std::io::{self, Read};
use std::process::Command;

use common::{bytes, temp_path, Fixture};
use registry::{Access, Client, Error, ErrorKind};

const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
const DOCKER_V2: &str = "application/vnd.docker.distribution.manifest.v2+json";

fn sha256(b: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(b))
}

/// A pushed image: manifest, config and layer digests.
struct Pushed {
    manifest: String,
    config: String,
    layer: String,
}

/// Reads a blob of the fixture image through the library.
fn fixture_blob(c: &Client, digest: &str) -> Vec<u8> {
    let mut out = Vec::new();
    c.layer_open("fixtures/app", digest)
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

/// Pushes a one-layer image (layer, config, manifest) under `tag`: the real
/// gzipped layer and config of the fixture image, uploaded again, and a
/// manifest written here.
fn push_image(c: &Client, f: &Fixture, repo: &str, tag: &str, media_type: &str) -> Pushed {
    let layer_bytes = fixture_blob(c, &f.fact("LAYER_DIGEST"));
    let layer = c
        .layer_put(repo, &mut &layer_bytes[..], None)
        .unwrap()
        .to_string();
    assert_eq!(layer, f.fact("LAYER_DIGEST"));
    let config_bytes = fixture_blob(c, &f.fact("IMAGE_ID"));
    let config = c
        .layer_put(
            repo,
            &mut &config_bytes[..],
            Some(&f.fact("IMAGE_ID").parse().unwrap()),
        )
        .unwrap()
        .to_string();
    let (config_type, layer_type) = if media_type == DOCKER_V2 {
        (
            "application/vnd.docker.container.image.v1+json",
            "application/vnd.docker.image.rootfs.diff.tar.gzip",
        )
    } else {
        (
            "application/vnd.oci.image.config.v1+json",
            "application/vnd.oci.image.layer.v1.tar+gzip",
        )
    };
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": media_type,
        "config": {"mediaType": config_type, "digest": config, "size": config_bytes.len()},
        "layers": [{"mediaType": layer_type, "digest": layer, "size": layer_bytes.len()}],
    }))
    .unwrap();
    let digest = c.manifest_put(repo, tag, media_type, &manifest).unwrap();
    assert_eq!(digest.to_string(), sha256(&manifest));
    Pushed {
        manifest: digest.to_string(),
        config,
        layer,
    }
}

/// skopeo arguments that reach the fixture (credentials, CA).
fn skopeo(f: &Fixture, args: &[&str]) -> Vec<u8> {
    let mut cmd = Command::new("skopeo");
    cmd.arg("--insecure-policy").args(&args[..1]);
    let tls_flag = if args[0] == "copy" { "--src-" } else { "--" };
    match f.ca() {
        Some(ca) => {
            let certs = std::path::Path::new(&ca).parent().unwrap().join("certs");
            cmd.arg(format!("{tls_flag}cert-dir={}", certs.display()));
        }
        None => {
            cmd.arg(format!("{tls_flag}tls-verify=false"));
        }
    }
    if let Some((u, p)) = f.user() {
        cmd.arg(format!("{tls_flag}creds={u}:{p}"));
    }
    let out = cmd.args(&args[1..]).output().expect("skopeo runs");
    assert!(
        out.status.success(),
        "skopeo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn uploads(f: &Fixture) {
    let c = f.client();
    let repo = "write/uploads";
    let data = bytes(&format!("{} uploads", f.mode), 1_500_000);
    let d = c.layer_put(repo, &mut &data[..], None).unwrap().to_string();
    assert_eq!(d, sha256(&data));
    let mut back = Vec::new();
    c.layer_open(repo, &d)
        .unwrap()
        .read_to_end(&mut back)
        .unwrap();
    assert_eq!(back, data);

    // With the digest known and the blob there, the reader is not touched.
    let mut untouched = FailingReader {
        after: 0,
        kind: ErrorKind::Io,
    };
    assert_eq!(
        c.layer_put(repo, &mut untouched, Some(&d.parse().unwrap()))
            .unwrap()
            .to_string(),
        d
    );

    // A digest mismatch commits nothing, under either digest.
    let other = bytes("other bytes", 5000);
    let wrong = sha256(b"not what is sent");
    let e2 = c
        .layer_put(repo, &mut &other[..], Some(&wrong.parse().unwrap()))
        .unwrap_err();
    assert_eq!(e2.kind(), ErrorKind::DigestMismatch, "{e2}");
    assert!(!c.layer_exists(repo, &wrong).unwrap());
    assert!(!c.layer_exists(repo, sha256(&other)).unwrap());

    // A reader that aborts half way: ABORTED, nothing committed.
    let mut aborting = FailingReader {
        after: 3,
        kind: ErrorKind::Aborted,
    };
    let e = c.layer_put(repo, &mut aborting, None).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");

    // From a file.
    let path = temp_path("upload.bin");
    std::fs::write(&path, &data[..1000]).unwrap();
    let d = c.layer_put_file(repo, &path, None).unwrap().to_string();
    assert_eq!(d, sha256(&data[..1000]));
    let e = c
        .layer_put_file(repo, temp_path("missing.bin"), None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Io);
}

/// Yields `after` chunks of bytes, then fails with `kind`.
struct FailingReader {
    after: usize,
    kind: ErrorKind,
}

impl Read for FailingReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.after == 0 {
            return Err(io::Error::other(Error::new(
                self.kind,
                "the reader gave up",
            )));
        }
        self.after -= 1;
        let n = buf.len().min(1000);
        buf[..n].fill(b'x');
        Ok(n)
    }
}

fn push_and_skopeo_reads_it(f: &Fixture) {
    let c = f.client();
    let repo = "write/image";
    for (tag, media_type) in [("oci", OCI_MANIFEST), ("docker", DOCKER_V2)] {
        let p = push_image(&c, f, repo, tag, media_type);
        let image = format!("docker://{}/{repo}:{tag}", f.addr());
        let inspect: serde_json::Value =
            serde_json::from_slice(&skopeo(f, &["inspect", &image])).unwrap();
        assert_eq!(
            inspect["Digest"],
            p.manifest.as_str(),
            "skopeo sees our digest"
        );
        assert_eq!(inspect["Layers"][0], p.layer.as_str());
        let raw = skopeo(f, &["inspect", "--raw", &image]);
        assert_eq!(sha256(&raw), p.manifest, "skopeo reads our bytes");

        // The dir: transport keeps the manifest and blobs byte for byte.
        let dir = temp_path("skopeo-copy");
        skopeo(f, &["copy", &image, &format!("dir:{}", dir.display())]);
        let manifest = std::fs::read(dir.join("manifest.json")).unwrap();
        assert_eq!(sha256(&manifest), p.manifest, "skopeo copied our manifest");
        for d in [&p.layer, &p.config] {
            let file = dir.join(d.trim_start_matches("sha256:"));
            let copied = std::fs::read(&file).unwrap_or_else(|e| panic!("{d}: {e}"));
            assert_eq!(sha256(&copied), *d, "skopeo copied {d}");
        }
        assert_eq!(c.image_id(repo, tag).unwrap(), p.config);
    }
}

fn tags_set_and_delete(f: &Fixture) {
    let c = f.client();
    let repo = "write/tags";
    let p = push_image(&c, f, repo, "v1", OCI_MANIFEST);
    assert_eq!(c.set_tag(repo, "v1", "v2").unwrap().to_string(), p.manifest);
    assert_eq!(
        c.set_tag(repo, &p.manifest, "v3").unwrap().to_string(),
        p.manifest
    );
    assert_eq!(c.tags(repo).unwrap(), ["v1", "v2", "v3"]);
    assert_eq!(
        c.manifest_get(repo, "v3").unwrap().digest.to_string(),
        p.manifest
    );

    c.delete_tag(repo, "v2").unwrap();
    assert_eq!(c.tags(repo).unwrap(), ["v1", "v3"], "only v2 is gone");
    assert_eq!(c.image_id(repo, "v1").unwrap(), p.config);
    assert_eq!(
        c.manifest_get(repo, &p.manifest)
            .unwrap()
            .digest
            .to_string(),
        p.manifest
    );

    let e = c.delete_tag(repo, "v2").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    let e = c.set_tag(repo, "missing", "v4").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(
        c.set_tag(repo, "v1", "bad tag!").unwrap_err().kind(),
        ErrorKind::InvalidArgument
    );

    // Deleting the manifest by digest removes every tag on it.
    c.manifest_delete(repo, &p.manifest).unwrap();
    assert!(c.tags(repo).unwrap().is_empty());
    let e = c.manifest_delete(repo, &p.manifest).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
}

fn manifest_put_checks(f: &Fixture) {
    let c = f.client();
    let repo = "write/manifests";
    let p = push_image(&c, f, repo, "base", OCI_MANIFEST);
    let body = c.manifest_get(repo, "base").unwrap().body;
    // By digest: stored under its digest, no tag.
    assert_eq!(
        c.manifest_put(repo, &p.manifest, OCI_MANIFEST, &body)
            .unwrap()
            .to_string(),
        p.manifest
    );
    // A digest reference that is not the body's own.
    let e = c
        .manifest_put(repo, sha256(b"x"), OCI_MANIFEST, &body)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::DigestMismatch);
    // A manifest naming a blob the repository lacks.
    let dangling = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": sha256(b"absent"), "size": 6},
        "layers": [],
    }))
    .unwrap();
    let e = c
        .manifest_put(repo, "dangling", OCI_MANIFEST, &dangling)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    assert_eq!(e.code(), Some("MANIFEST_BLOB_UNKNOWN"));
}

fn mounts(f: &Fixture) {
    let c = f.client();
    let layer = f.fact("LAYER_DIGEST");
    assert!(c
        .blob_mount("write/mounted", &layer, "fixtures/app")
        .unwrap());
    assert!(c.layer_exists("write/mounted", &layer).unwrap());
    assert!(!c
        .blob_mount("write/mounted2", sha256(b"nowhere"), "fixtures/app")
        .unwrap());
    assert!(!c
        .layer_exists("write/mounted2", sha256(b"nowhere"))
        .unwrap());
}

in_every_mode!(
    uploads,
    push_and_skopeo_reads_it,
    tags_set_and_delete,
    manifest_put_checks,
    mounts
);

#[test]
#[ignore = "needs make test (real registry)"]
fn token_pull_only_user_cannot_push_or_delete() {
    let f = common::fixture("token");
    let (u, p) = f.ro_user().unwrap();
    let c = f.anonymous().basic_auth(&u, &p).build().unwrap();
    let e = c
        .layer_put("write/denied", &mut &b"data"[..], None)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden, "{e}");
    let e = c.delete_tag("fixtures/app", "v1").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Forbidden, "{e}");
    assert_eq!(f.client().tags("fixtures/app").unwrap(), ["v1", "v2"]);
}

#[test]
#[ignore = "needs make test (real registry)"]
fn hub_tokens_for_each_access() {
    let f = common::fixture("token");
    let c = f.client();
    for access in [Access::Read, Access::Write, Access::Delete] {
        let tok = c.token("fixtures/app", access).unwrap();
        assert_eq!(tok.split('.').count(), 3, "a JWT");
        let claims: serde_json::Value =
            serde_json::from_slice(&base64_url(tok.split('.').nth(1).unwrap())).unwrap();
        let want: &[&str] = match access {
            Access::Read => &["pull"],
            Access::Write => &["pull", "push"],
            Access::Delete => &["delete"],
        };
        assert_eq!(
            claims["access"][0]["actions"],
            serde_json::json!(want),
            "{access:?}"
        );
    }
    for mode in ["anon", "basic"] {
        let e = common::fixture(mode)
            .client()
            .token("fixtures/app", Access::Read)
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Unsupported, "{mode}: {e}");
    }
}

fn base64_url(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}
