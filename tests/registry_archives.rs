//! Image archives against real registries (anon: plain HTTP; token: HTTPS
//! with token auth), read back by a reader no one here wrote: skopeo's
//! `docker-archive:` (containers/image, what `podman load` uses) and
//! `oci-archive:` transports.

#[macro_use]
mod common;

use std::path::Path;

use common::{skopeo, temp_path, Fixture};
use registry::{ArchiveFormat, Client, Compression, Digest, ErrorKind, ImageOptions, Platform};
use serde_json::Value;

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{:x}", sha2::Sha256::digest(bytes))
}

/// The names of a tar's entries, as GNU tar lists them.
fn tar_names(archive: &Path) -> Vec<String> {
    let out = std::process::Command::new("tar")
        .arg("-tf")
        .arg(archive)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tar reads {}: {:?}",
        archive.display(),
        out
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(String::from)
        .collect()
}

/// One entry of a tar, as GNU tar extracts it.
fn tar_entry(archive: &Path, name: &str) -> Vec<u8> {
    let out = std::process::Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(name)
        .output()
        .unwrap();
    assert!(out.status.success(), "{name} in {}", archive.display());
    out.stdout
}

/// `skopeo copy <src> dir:<dir>` (a single image, its manifest kept as
/// skopeo reads it, not converted); returns the digest of that manifest and
/// the config digest it names.
fn skopeo_to_dir(src: &str, dir: &Path) -> (String, Option<String>) {
    skopeo(&[
        "copy".to_string(),
        "--quiet".to_string(),
        src.to_string(),
        format!("dir:{}", dir.display()),
    ]);
    let raw = std::fs::read(dir.join("manifest.json")).unwrap();
    let doc: Value = serde_json::from_slice(&raw).unwrap();
    let config = doc["config"]["digest"].as_str().map(String::from);
    (sha256(&raw), config)
}

/// `skopeo copy --all <src> oci:<dir>:x` (every platform, digests kept);
/// returns the digest skopeo reads back from there.
fn skopeo_all_to_layout(src: &str, dir: &Path) -> String {
    skopeo(&[
        "copy".to_string(),
        "--quiet".to_string(),
        "--all".to_string(),
        "--preserve-digests".to_string(),
        src.to_string(),
        format!("oci:{}:x", dir.display()),
    ]);
    let raw = skopeo(&[
        "inspect".into(),
        "--raw".into(),
        format!("oci:{}:x", dir.display()),
    ]);
    sha256(&raw)
}

fn no_temp_files_beside(path: &Path) {
    let dir = path.parent().unwrap();
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        left.is_empty(),
        "nothing left in {}: {left:?}",
        dir.display()
    );
}

fn archive_path(name: &str) -> std::path::PathBuf {
    let dir = temp_path(name);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("image.tar")
}

fn docker_manifest(archive: &Path) -> Value {
    serde_json::from_slice(&tar_entry(archive, "manifest.json")).unwrap()
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_docker_archive_is_read_by_skopeo_with_its_config_digest_and_repo_tags() {
    for mode in ["anon", "token"] {
        let f: Fixture = common::fixture(mode);
        let c = f.client();
        let path = archive_path(&format!("docker-{mode}"));
        let mut reports: Vec<(String, u64, u64)> = vec![];
        let mut cb = |d: &Digest, done: u64, total: u64| {
            reports.push((d.to_string(), done, total));
            true
        };
        let digest = c
            .image_pull_archive(
                "fixtures/app",
                "v1",
                &path,
                ArchiveFormat::DockerArchive,
                ImageOptions::default().with_progress(&mut cb),
            )
            .unwrap();
        let manifest = docker_manifest(&path);
        let image_id = f.fact("IMAGE_ID");
        let hex = image_id.strip_prefix("sha256:").unwrap();
        assert_eq!(manifest[0]["Config"], format!("{hex}.json"), "{manifest}");
        assert_eq!(
            manifest[0]["RepoTags"][0],
            format!("{}/fixtures/app:v1", f.addr())
        );
        let layer = f.fact("LAYER_DIGEST");
        assert_eq!(
            manifest[0]["Layers"][0],
            format!("{}.tar", &layer[7..]),
            "{manifest}"
        );
        // The layer's bytes are the blob's, and the config is the config.
        assert_eq!(
            sha256(&tar_entry(&path, &format!("{}.tar", &layer[7..]))),
            layer
        );
        assert_eq!(sha256(&tar_entry(&path, &format!("{hex}.json"))), image_id);
        let repositories: Value =
            serde_json::from_slice(&tar_entry(&path, "repositories")).unwrap();
        assert!(
            repositories[format!("{}/fixtures/app", f.addr())]["v1"].is_string(),
            "{repositories}"
        );
        // Progress: the config and the layer, each ending at its size.
        let layer_size: u64 = f.fact("LAYER_SIZE").parse().unwrap();
        assert!(
            reports.contains(&(layer.clone(), layer_size, layer_size)),
            "{reports:?}"
        );
        assert!(
            reports.iter().any(|(d, _, _)| *d == image_id),
            "{reports:?}"
        );
        // skopeo reads it; the config digest is what the format keeps.
        let out = temp_path(&format!("docker-read-{mode}"));
        let src = format!("docker-archive:{}", path.display());
        let (_, config) = skopeo_to_dir(&src, &out);
        assert_eq!(config.as_deref(), Some(image_id.as_str()));
        // A docker-archive holds one platform of an index.
        let arm = archive_path(&format!("docker-arm-{mode}"));
        let d = c
            .image_pull_archive(
                "fixtures/multi",
                "latest",
                &arm,
                ArchiveFormat::DockerArchive,
                ImageOptions::default().with_platform(Platform::parse("linux/arm64").unwrap()),
            )
            .unwrap();
        assert_ne!(d.to_string(), f.fact("INDEX_DIGEST"));
        let out = temp_path(&format!("docker-arm-read-{mode}"));
        let (_, config) = skopeo_to_dir(&format!("docker-archive:{}", arm.display()), &out);
        assert_eq!(config, Some(f.fact("ARM64_IMAGE_ID")));
        assert_ne!(digest, d);
    }
}

#[test]
#[ignore = "needs make test (real registry)"]
fn an_oci_archive_keeps_every_digest_and_skopeo_reads_it() {
    for mode in ["anon", "token"] {
        let f = common::fixture(mode);
        let c = f.client();
        let path = archive_path(&format!("oci-{mode}"));
        let d = c
            .image_pull_archive(
                "fixtures/multi",
                "latest",
                &path,
                ArchiveFormat::OciArchive,
                ImageOptions::default(),
            )
            .unwrap();
        assert_eq!(d.to_string(), f.fact("INDEX_DIGEST"));
        let names = tar_names(&path);
        assert!(names.contains(&"oci-layout".to_string()), "{names:?}");
        assert!(names.contains(&"index.json".to_string()), "{names:?}");
        let index: Value = serde_json::from_slice(&tar_entry(&path, "index.json")).unwrap();
        assert_eq!(index["manifests"][0]["digest"], d.to_string());
        assert_eq!(
            index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"],
            "latest"
        );
        // Every blob file hashes to its name.
        for n in names
            .iter()
            .filter(|n| n.starts_with("blobs/sha256/") && n.len() > 13)
        {
            assert_eq!(sha256(&tar_entry(&path, n)), format!("sha256:{}", &n[13..]));
        }
        let out = temp_path(&format!("oci-read-{mode}"));
        let raw = skopeo_all_to_layout(&format!("oci-archive:{}", path.display()), &out);
        assert_eq!(raw, d.to_string(), "skopeo reads the index with its digest");
        // One image by digest, named by its digest.
        let one = archive_path(&format!("oci-one-{mode}"));
        let image = c
            .image_pull_archive(
                "fixtures/oci",
                "v1",
                &one,
                ArchiveFormat::OciArchive,
                ImageOptions::default(),
            )
            .unwrap();
        let out = temp_path(&format!("oci-one-read-{mode}"));
        let (raw, _) = skopeo_to_dir(&format!("oci-archive:{}", one.display()), &out);
        assert_eq!(raw, image.to_string());
    }
}

#[test]
#[ignore = "needs make test (real registry)"]
fn several_images_go_into_one_docker_archive_each_with_its_tags() {
    let f = common::fixture("anon");
    let c = f.client();
    let path = archive_path("save");
    let digests = c
        .image_save(
            &[
                ("fixtures/app", "v1"),
                ("fixtures/multi", "latest"),
                ("fixtures/app", "v2"),
            ],
            &path,
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(digests.len(), 3);
    let manifest = docker_manifest(&path);
    let tags: Vec<&str> = manifest
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["RepoTags"][0].as_str().unwrap())
        .collect();
    let addr = f.addr();
    assert_eq!(
        tags,
        [
            format!("{addr}/fixtures/app:v1"),
            format!("{addr}/fixtures/multi:latest"),
            format!("{addr}/fixtures/app:v2")
        ]
    );
    // Each blob once, though the images share some.
    let names = tar_names(&path);
    let mut unique = names.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), names.len(), "{names:?}");
    // skopeo finds each image by its tag.
    for (i, tag) in tags.iter().enumerate() {
        let out = temp_path(&format!("save-read-{i}"));
        let (_, config) = skopeo_to_dir(&format!("docker-archive:{}:{tag}", path.display()), &out);
        assert_eq!(
            config.as_deref(),
            manifest[i]["Config"]
                .as_str()
                .map(|c| format!("sha256:{}", c.trim_end_matches(".json")))
                .as_deref()
        );
    }
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_failed_or_cancelled_pull_leaves_no_file() {
    let f = common::fixture("anon");
    let c = f.client();
    let path = archive_path("fail");
    let e = c
        .image_pull_archive(
            "fixtures/app",
            "nope",
            &path,
            ArchiveFormat::DockerArchive,
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");
    no_temp_files_beside(&path);
    // Cancelled once the big layer is under way.
    let mut cb = |_: &Digest, done: u64, _: u64| done < (1 << 20);
    let e = c
        .image_pull_archive(
            "fixtures/big",
            "v1",
            &path,
            ArchiveFormat::OciArchive,
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
    no_temp_files_beside(&path);
    // A file already at the path stays as it was.
    std::fs::write(&path, b"before").unwrap();
    let e = c
        .image_pull_archive(
            "fixtures/app",
            "nope",
            &path,
            ArchiveFormat::OciArchive,
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    assert_eq!(std::fs::read(&path).unwrap(), b"before");
    // Asking a docker-archive for two platforms is refused before any request.
    let two = vec![
        Platform::parse("linux/amd64").unwrap(),
        Platform::parse("linux/arm64").unwrap(),
    ];
    let e = c
        .image_pull_archive(
            "fixtures/multi",
            "latest",
            &path,
            ArchiveFormat::DockerArchive,
            ImageOptions::default().with_platforms(two),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert_eq!(std::fs::read(&path).unwrap(), b"before");
}

#[test]
#[ignore = "needs make test (real registry)"]
fn an_archive_streams_to_a_writer() {
    let f = common::fixture("anon");
    let c = f.client();
    let path = archive_path("stream");
    let file = std::fs::File::create(&path).unwrap();
    let d = c
        .image_pull_archive_to(
            "fixtures/app",
            "v1",
            file,
            ArchiveFormat::OciArchive,
            ImageOptions::default(),
        )
        .unwrap();
    let out = temp_path("stream-read");
    let (raw, _) = skopeo_to_dir(&format!("oci-archive:{}", path.display()), &out);
    assert_eq!(raw, d.to_string());
}

/// `skopeo copy docker://<anon>/<image> <dst>` (an archive skopeo writes).
fn skopeo_from_registry(f: &Fixture, image: &str, dst: &str) {
    skopeo(&[
        "copy".to_string(),
        "--quiet".to_string(),
        "--src-tls-verify=false".to_string(),
        format!("docker://{}/{image}", f.addr()),
        dst.to_string(),
    ]);
}

/// skopeo's raw manifest of `image` on the anonymous registry, and its digest.
fn registry_manifest(f: &Fixture, image: &str) -> (Value, String) {
    let raw = skopeo(&[
        "inspect".to_string(),
        "--raw".to_string(),
        "--tls-verify=false".to_string(),
        format!("docker://{}/{image}", f.addr()),
    ]);
    (serde_json::from_slice(&raw).unwrap(), sha256(&raw))
}

#[test]
#[ignore = "needs make test (real registry)"]
fn archives_skopeo_wrote_are_pushed_and_read_back() {
    let f = common::fixture("anon");
    let c = f.client();
    // docker-archive: skopeo stores layers uncompressed, named by diff id.
    let docker = archive_path("skopeo-docker");
    skopeo_from_registry(
        &f,
        "fixtures/app:v1",
        &format!("docker-archive:{}:x/app:v1", docker.display()),
    );
    let mut reports = 0;
    let mut cb = |_: &Digest, _: u64, _: u64| {
        reports += 1;
        true
    };
    let d = c
        .image_push_archive(
            &docker,
            None,
            "archives/from-docker",
            "v1",
            ImageOptions::default().with_progress(&mut cb),
        )
        .unwrap();
    assert!(reports >= 3, "{reports} reports");
    let (m, digest) = registry_manifest(&f, "archives/from-docker:v1");
    assert_eq!(digest, d.to_string());
    assert_eq!(m["config"]["digest"], f.fact("IMAGE_ID"), "the config kept");
    assert_eq!(
        m["layers"][0]["mediaType"],
        "application/vnd.oci.image.layer.v1.tar"
    );
    let out = temp_path("skopeo-docker-back");
    skopeo_from_registry(
        &f,
        "archives/from-docker:v1",
        &format!("dir:{}", out.display()),
    );
    let back: Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let config = back["config"]["digest"].as_str().map(String::from);
    assert_eq!(config, Some(f.fact("IMAGE_ID")));
    // By its RepoTag, or @0; an unknown one is NOT_FOUND.
    c.image_push_archive(
        &docker,
        Some("x/app:v1"),
        "archives/from-docker",
        "v2",
        ImageOptions::default(),
    )
    .unwrap();
    c.image_push_archive(
        &docker,
        Some("@0"),
        "archives/from-docker",
        "v3",
        ImageOptions::default(),
    )
    .unwrap();
    let e = c
        .image_push_archive(
            &docker,
            Some("x/app:v9"),
            "archives/from-docker",
            "v4",
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "{e}");

    // oci-archive: digests kept.
    let oci = archive_path("skopeo-oci");
    skopeo_from_registry(
        &f,
        "fixtures/oci:v1",
        &format!("oci-archive:{}:v1", oci.display()),
    );
    let raw = skopeo(&[
        "inspect".into(),
        "--raw".into(),
        format!("oci-archive:{}", oci.display()),
    ]);
    let d = c
        .image_push_archive(
            &oci,
            Some("v1"),
            "archives/from-oci",
            "v1",
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(d.to_string(), sha256(&raw));
    assert_eq!(
        registry_manifest(&f, "archives/from-oci:v1").1,
        sha256(&raw)
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn our_archives_round_trip() {
    let f = common::fixture("anon");
    let c = f.client();
    let oci = archive_path("round-oci");
    let index = c
        .image_pull_archive(
            "fixtures/multi",
            "latest",
            &oci,
            ArchiveFormat::OciArchive,
            ImageOptions::default(),
        )
        .unwrap();
    let d = c
        .image_push_archive(
            &oci,
            None,
            "archives/round",
            "multi",
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(d, index);
    let docker = archive_path("round-docker");
    c.image_save(
        &[("fixtures/app", "v1"), ("fixtures/multi", "latest")],
        &docker,
        ImageOptions::default(),
    )
    .unwrap();
    let e = c
        .image_push_archive(
            &docker,
            None,
            "archives/round",
            "x",
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(
        e.kind(),
        ErrorKind::InvalidArgument,
        "two images, none named: {e}"
    );
    c.image_push_archive(
        &docker,
        Some(&format!("{}/fixtures/app:v1", f.addr())),
        "archives/round",
        "app",
        ImageOptions::default(),
    )
    .unwrap();
    let (m, _) = registry_manifest(&f, "archives/round:app");
    assert_eq!(m["config"]["digest"], f.fact("IMAGE_ID"));
    assert_eq!(
        m["layers"][0]["mediaType"], "application/vnd.oci.image.layer.v1.tar+gzip",
        "the registry's gzip layer, as stored"
    );
    assert_eq!(m["layers"][0]["digest"], f.fact("LAYER_DIGEST"));
}

/// A tar made by Python's tarfile from `script` (which gets `t`, the open
/// TarFile, and `add(name, bytes)`).
fn python_tar(path: &Path, script: &str) {
    let program = format!(
        "import io, sys, tarfile\n\
         t = tarfile.open(sys.argv[1], 'w', format=tarfile.USTAR_FORMAT)\n\
         def add(name, data, kind=tarfile.REGTYPE, link=''):\n\
         \x20   i = tarfile.TarInfo(name); i.size = len(data) if kind == tarfile.REGTYPE else 0\n\
         \x20   i.type = kind; i.linkname = link\n\
         \x20   t.addfile(i, io.BytesIO(data) if kind == tarfile.REGTYPE else None)\n\
         {script}\n\
         t.close()\n"
    );
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(program)
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
#[ignore = "needs make test (real registry)"]
fn hostile_archives_are_refused_before_anything_is_sent() {
    let f = common::fixture("anon");
    let c = f.client();
    let config = r#"{"rootfs":{"type":"layers","diff_ids":[]}}"#;
    let manifest = r#"[{"Config":"c.json","RepoTags":["x:1"],"Layers":["l.tar"]}]"#;
    let cases: [(&str, String, ErrorKind); 5] = [
        (
            "a layer that is a symbolic link",
            format!("add('manifest.json', b'{manifest}')\nadd('c.json', b'{config}')\nadd('l.tar', b'', tarfile.SYMTYPE, '/etc/passwd')"),
            ErrorKind::InvalidArgument,
        ),
        (
            "a path that climbs",
            format!("add('manifest.json', b'{manifest}')\nadd('../c.json', b'{config}')"),
            ErrorKind::InvalidArgument,
        ),
        (
            "a layer that is missing",
            format!("add('manifest.json', b'{manifest}')\nadd('c.json', b'{config}')"),
            ErrorKind::NotFound,
        ),
        (
            "a device",
            format!("add('manifest.json', b'{manifest}')\nadd('c.json', b'{config}')\nadd('l.tar', b'', tarfile.CHRTYPE)"),
            ErrorKind::InvalidArgument,
        ),
        (
            "an uncompressed layer that is not the config's diff id",
            format!(
                "add('manifest.json', b'{manifest}')\nadd('c.json', b'{}')\nadd('l.tar', b'not this')",
                r#"{"rootfs":{"type":"layers","diff_ids":["sha256:0000000000000000000000000000000000000000000000000000000000000000"]}}"#
            ),
            ErrorKind::DigestMismatch,
        ),
    ];
    for (i, (what, script, kind)) in cases.iter().enumerate() {
        let path = archive_path(&format!("hostile-{i}"));
        python_tar(&path, script);
        let e = c
            .image_push_archive(
                &path,
                None,
                "archives/hostile",
                "x",
                ImageOptions::default(),
            )
            .unwrap_err();
        assert_eq!(e.kind(), *kind, "{what}: {e}");
    }
    // A size that lies: the archive cut short.
    let path = archive_path("hostile-short");
    python_tar(&path, &format!("add('manifest.json', b'{manifest}')\nadd('c.json', b'{config}')\nadd('l.tar', b'x' * 5000)"));
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..3000]).unwrap();
    let e = c
        .image_push_archive(
            &path,
            None,
            "archives/hostile",
            "x",
            ImageOptions::default(),
        )
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("past the archive's end"), "{e}");
    // An oci-archive whose blob is not the size its descriptor says.
    let ours = archive_path("hostile-oci-src");
    c.image_pull_archive(
        "fixtures/oci",
        "v1",
        &ours,
        ArchiveFormat::OciArchive,
        ImageOptions::default(),
    )
    .unwrap();
    let dir = temp_path("hostile-oci-tree");
    std::fs::create_dir_all(&dir).unwrap();
    let st = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&ours)
        .arg("-C")
        .arg(&dir)
        .status()
        .unwrap();
    assert!(st.success());
    let blobs = dir.join("blobs/sha256");
    let layer_name = std::fs::read_dir(&blobs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| std::fs::metadata(p).unwrap().len() > 10_000)
        .expect("a layer");
    std::fs::write(&layer_name, b"shorter").unwrap();
    let bad = archive_path("hostile-oci");
    let st = std::process::Command::new("tar")
        .arg("-cf")
        .arg(&bad)
        .arg("-C")
        .arg(&dir)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success());
    let e = c
        .image_push_archive(&bad, None, "archives/hostile", "x", ImageOptions::default())
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
    assert!(e.message().contains("but the manifest says"), "{e}");
    // Nothing was tagged.
    assert_eq!(
        c.tags("archives/hostile").map(|t| t.len()).unwrap_or(0),
        0,
        "nothing pushed"
    );
}

/// The only image of the docker-archive `archive` pushed gzip-compressed to
/// `repo:tag` through `c`: its digest, and every progress report.
fn push_gzip_reporting(
    c: &Client,
    archive: &Path,
    repo: &str,
    tag: &str,
) -> (Digest, Vec<(Digest, u64, u64)>) {
    let mut reports = vec![];
    let digest = {
        let mut cb = |d: &Digest, done: u64, total: u64| {
            reports.push((d.clone(), done, total));
            true
        };
        let options = ImageOptions::default()
            .with_compress(Compression::Gzip)
            .with_progress(&mut cb);
        c.image_push_archive(archive, None, repo, tag, options)
            .unwrap()
    };
    (digest, reports)
}

/// The manifest and config of `image` on `f`'s registry as skopeo reads
/// them (plain HTTP), and each layer's bytes: from `skopeo copy … dir:`.
fn skopeo_dir_of(f: &Fixture, image: &str) -> (Value, Value, Vec<Vec<u8>>) {
    let out = temp_path("compressed-back");
    skopeo(&[
        "copy".to_string(),
        "--quiet".to_string(),
        "--src-tls-verify=false".to_string(),
        format!("docker://{}/{image}", f.addr()),
        format!("dir:{}", out.display()),
    ]);
    let read = |name: &str| std::fs::read(out.join(name)).unwrap();
    let m: Value = serde_json::from_slice(&read("manifest.json")).unwrap();
    let hex = |d: &Value| d["digest"].as_str().unwrap()[7..].to_string();
    let config = serde_json::from_slice(&read(&hex(&m["config"]))).unwrap();
    let layers = m["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| read(&hex(l)))
        .collect();
    (m, config, layers)
}

#[test]
#[ignore = "needs make test (real registry)"]
fn a_docker_archive_is_pushed_gzip_compressed_when_asked() {
    use std::io::Read;
    fn gzip<'a>() -> ImageOptions<'a> {
        ImageOptions::default().with_compress(Compression::Gzip)
    }
    let anon = common::fixture("anon");
    // skopeo's docker-archive holds the layers uncompressed, as docker save's.
    let docker = archive_path("skopeo-docker-gzip");
    skopeo_from_registry(
        &anon,
        "fixtures/app:v1",
        &format!("docker-archive:{}:x/app:v1", docker.display()),
    );
    for (i, f) in [&anon, &common::fixture("ferro")].into_iter().enumerate() {
        let c = f.client();
        let cancelled = format!("archives/gzip-cancelled-{i}");
        // Compressing is part of the transfer: cancelled at its first
        // report, the push sends nothing.
        let e = {
            let mut cancel = |_: &Digest, _: u64, _: u64| false;
            c.image_push_archive(
                &docker,
                None,
                &cancelled,
                "v1",
                gzip().with_progress(&mut cancel),
            )
            .unwrap_err()
        };
        assert_eq!(e.kind(), ErrorKind::Aborted, "{e}");
        let log = std::fs::read_to_string(anon.var("LOG").unwrap()).unwrap();
        assert!(!log.contains(&cancelled), "a request was sent");
        assert!(c.tags(&cancelled).map_or(true, |t| t.is_empty()));
        let (d, reports) = push_gzip_reporting(&c, &docker, "archives/gzip", "v1");
        let (m, config, layers) = skopeo_dir_of(f, "archives/gzip:v1");
        // Each layer is heard of first under its diff id, as it is compressed.
        for id in config["rootfs"]["diff_ids"].as_array().unwrap() {
            let id: Digest = id.as_str().unwrap().parse().unwrap();
            let heard: Vec<_> = reports.iter().filter(|r| r.0 == id).collect();
            assert!(heard.len() >= 2, "{id}: {heard:?}");
            assert_eq!(
                heard.last().unwrap().1,
                heard.last().unwrap().2,
                "{id}: whole"
            );
        }
        assert_eq!(
            m["config"]["digest"],
            anon.fact("IMAGE_ID"),
            "the config kept"
        );
        let diff_ids = config["rootfs"]["diff_ids"].as_array().unwrap();
        assert_eq!(layers.len(), diff_ids.len());
        for ((l, bytes), id) in m["layers"]
            .as_array()
            .unwrap()
            .iter()
            .zip(&layers)
            .zip(diff_ids)
        {
            assert_eq!(
                l["mediaType"],
                "application/vnd.oci.image.layer.v1.tar+gzip"
            );
            assert_eq!(l["size"], bytes.len() as u64);
            assert_eq!(l["digest"].as_str().unwrap(), sha256(bytes));
            let mut tar = vec![];
            flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut tar)
                .unwrap();
            assert_eq!(
                id.as_str().unwrap(),
                sha256(&tar),
                "a layer unzips to its diff id"
            );
        }
        // Again: the same bytes, so the same manifest, and no layer is sent
        // twice (each is there already: one report per blob, whole at once).
        let (again, reports) = push_gzip_reporting(&c, &docker, "archives/gzip", "v2");
        assert_eq!(again, d);
        // The layers were compressed into files beside the archive, unlinked
        // at once: none is left.
        let dir = docker.parent().unwrap();
        let left: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".registry-gzip"))
            .collect();
        assert!(left.is_empty(), "{left:?}");
        for l in m["layers"].as_array().unwrap() {
            let moved: Vec<_> = reports
                .iter()
                .filter(|(d, _, _)| *d == Digest::parse(l["digest"].as_str().unwrap()).unwrap())
                .map(|(_, done, total)| (*done, *total))
                .collect();
            let size = l["size"].as_u64().unwrap();
            assert_eq!(moved, [(0, size), (size, size)], "{}: skipped", l["digest"]);
        }
        // What keeps its manifests cannot compress: refused, nothing sent.
        let oci = archive_path("ours-for-gzip");
        c.image_pull_archive(
            "archives/gzip",
            "v1",
            &oci,
            ArchiveFormat::OciArchive,
            Default::default(),
        )
        .unwrap();
        let e = c
            .image_push_archive(&oci, None, "archives/gzip-oci", "v1", gzip())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        let e = c
            .image_pull("archives/gzip", "v1", temp_path("gzip-pull"), gzip())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(c.tags("archives/gzip-oci").map_or(true, |t| t.is_empty()));
    }
}

/// Runs `umoci <args>`; its stdout, or a panic with its stderr. umoci is one
/// of the Debian packages `make deps` installs: missing, the test fails.
fn umoci<S: AsRef<std::ffi::OsStr> + std::fmt::Debug>(args: &[S]) -> Vec<u8> {
    let out = std::process::Command::new("umoci")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("umoci {args:?} does not run ({e}): `make deps` installs it"));
    assert!(
        out.status.success(),
        "umoci {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// An uncompressed tar of what is in `dir`, as GNU tar writes it (root
/// owned, names without `./`).
fn tar_of(dir: &Path) -> Vec<u8> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    names.sort();
    let out = std::process::Command::new("tar")
        .args([
            "--create",
            "--file=-",
            "--sort=name",
            "--owner=0",
            "--group=0",
        ])
        .args(["--numeric-owner", "--mtime=@0", "-C"])
        .arg(dir)
        .args(&names)
        .output()
        .unwrap();
    assert!(out.status.success(), "tar: {out:?}");
    out.stdout
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write as _;
    let mut child = std::process::Command::new("gzip")
        .args(["-n", "-c"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = bytes.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input).unwrap());
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// An OCI layout at `dir` with one image, named `v1`, of two real layers:
/// the first gzipped, the second a plain tar that replaces a file of the
/// first, deletes one (an OCI whiteout) and adds a file and a symlink.
/// Returns (the manifest's digest, the layers' digests, their diff ids, the
/// noise file's bytes).
fn umoci_layout(dir: &Path) -> (String, Vec<String>, Vec<String>, Vec<u8>) {
    use std::os::unix::fs::PermissionsExt as _;
    let stage = |name: &str, files: &[(&str, &[u8])]| {
        let root = temp_path(name);
        for (path, data) in files {
            let p = root.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        root
    };
    let noise = common::bytes("umoci noise", 300_000);
    let one = stage(
        "umoci-layer-one",
        &[
            ("etc/greeting", b"hello from layer one\n"),
            ("etc/motd", b"kept from layer one\n"),
            ("bin/tool", b"#!/bin/sh\necho tool\n"),
            ("data/old.txt", b"whited out by layer two\n"),
            ("data/noise.bin", &noise),
        ],
    );
    std::fs::set_permissions(one.join("bin/tool"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let two = stage(
        "umoci-layer-two",
        &[
            ("etc/greeting", b"hello from layer two\n"),
            ("data/.wh.old.txt", b""),
            ("data/new.txt", b"added by layer two\n"),
        ],
    );
    std::os::unix::fs::symlink("etc/greeting", two.join("greeting")).unwrap();
    let (tar_one, tar_two) = (tar_of(&one), tar_of(&two));
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).unwrap();
    let put = |bytes: &[u8]| {
        let d = sha256(bytes);
        std::fs::write(blobs.join(&d[7..]), bytes).unwrap();
        d
    };
    let zipped = gzip(&tar_one);
    let layers = vec![put(&zipped), put(&tar_two)];
    let diff_ids = vec![sha256(&tar_one), sha256(&tar_two)];
    let config = serde_json::to_vec(&serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Cmd": ["/bin/tool"], "Env": ["PATH=/bin", "GREETING=umoci"],
                   "WorkingDir": "/data"},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": "layer one"}, {"created_by": "layer two"}]
    }))
    .unwrap();
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": put(&config), "size": config.len()},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
             "digest": layers[0], "size": zipped.len()},
            {"mediaType": "application/vnd.oci.image.layer.v1.tar",
             "digest": layers[1], "size": tar_two.len()}
        ]
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
    (manifest_digest, layers, diff_ids, noise)
}

/// umoci (openSUSE's OCI image tool, nothing of ours) unpacks the
/// oci-archive we wrote once it is extracted: the image is found by the
/// name our index.json gives it, every blob passes umoci's digest checks,
/// the layers apply in order (a replaced file, a whiteout, a symlink, an
/// executable), the runtime config comes from the image config, and the
/// manifest, config and layer digests umoci reports are the registry's.
#[test]
#[ignore = "needs make test (real registry)"]
fn umoci_unpacks_an_extracted_oci_archive_with_the_registrys_digests() {
    use std::os::unix::fs::PermissionsExt as _;
    let f = common::fixture("anon");
    let c = f.client();
    let layout = temp_path("umoci-layout");
    let (manifest_digest, layers, diff_ids, noise) = umoci_layout(&layout);
    let repo = common::unique_repo("archives", "umoci");
    let pushed = c
        .image_push(&layout, Some("v1"), &repo, "v1", ImageOptions::default())
        .unwrap();
    assert_eq!(pushed.to_string(), manifest_digest);
    let (registry_manifest, registry_digest) = registry_manifest(&f, &format!("{repo}:v1"));
    assert_eq!(registry_digest, manifest_digest);

    let path = archive_path("umoci");
    let pulled = c
        .image_pull_archive(
            &repo,
            "v1",
            &path,
            ArchiveFormat::OciArchive,
            ImageOptions::default(),
        )
        .unwrap();
    assert_eq!(pulled.to_string(), registry_digest);
    let dir = temp_path("umoci-extracted");
    std::fs::create_dir_all(&dir).unwrap();
    let out = std::process::Command::new("tar")
        .arg("-xf")
        .arg(&path)
        .arg("-C")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success(), "tar -x: {out:?}");
    // The name our archive gives the image is its tag.
    let index: Value =
        serde_json::from_slice(&std::fs::read(dir.join("index.json")).unwrap()).unwrap();
    let name = index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"]
        .as_str()
        .unwrap_or_else(|| panic!("no ref.name in {index}"))
        .to_string();
    assert_eq!(name, "v1");
    let listed = String::from_utf8(umoci(&["ls", "--layout", &dir.display().to_string()])).unwrap();
    assert_eq!(listed.lines().collect::<Vec<_>>(), [name.as_str()]);

    let image = format!("{}:{name}", dir.display());
    let bundle = temp_path("umoci-bundle");
    umoci(&[
        "unpack",
        "--rootless",
        "--image",
        &image,
        &bundle.display().to_string(),
    ]);
    let rootfs = bundle.join("rootfs");
    let read = |p: &str| {
        std::fs::read(rootfs.join(p)).unwrap_or_else(|e| panic!("{p} in the rootfs: {e}"))
    };
    assert_eq!(read("etc/greeting"), b"hello from layer two\n");
    assert_eq!(read("etc/motd"), b"kept from layer one\n");
    assert_eq!(read("data/new.txt"), b"added by layer two\n");
    assert!(read("data/noise.bin") == noise, "noise.bin's bytes");
    assert_eq!(read("bin/tool"), b"#!/bin/sh\necho tool\n");
    let mode = std::fs::metadata(rootfs.join("bin/tool"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755, "bin/tool is executable");
    assert!(
        !rootfs.join("data/old.txt").exists() && !rootfs.join("data/.wh.old.txt").exists(),
        "the whiteout removed data/old.txt"
    );
    assert_eq!(
        std::fs::read_link(rootfs.join("greeting")).unwrap(),
        Path::new("etc/greeting")
    );
    // The runtime config umoci made from the image config.
    let runtime: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("config.json")).unwrap()).unwrap();
    assert_eq!(runtime["process"]["args"], serde_json::json!(["/bin/tool"]));
    assert_eq!(runtime["process"]["cwd"], "/data");
    assert!(
        runtime["process"]["env"]
            .as_array()
            .unwrap()
            .contains(&Value::from("GREETING=umoci")),
        "{}",
        runtime["process"]
    );

    // The digests umoci saw: the manifest it unpacked (umoci.json, its
    // record of the descriptor path from index.json), and each layer with
    // its diff id (umoci stat).
    let meta: Value =
        serde_json::from_slice(&std::fs::read(bundle.join("umoci.json")).unwrap()).unwrap();
    let walk = meta["from_descriptor_path"]["descriptor_walk"]
        .as_array()
        .unwrap_or_else(|| panic!("{meta}"));
    assert_eq!(walk.len(), 1, "index.json names the manifest: {meta}");
    assert_eq!(walk[0]["digest"], registry_digest.as_str(), "{meta}");
    assert_eq!(
        walk[0]["mediaType"],
        "application/vnd.oci.image.manifest.v1+json"
    );
    assert_eq!(
        walk[0]["annotations"]["org.opencontainers.image.ref.name"],
        name.as_str()
    );
    let stat: Value =
        serde_json::from_slice(&umoci(&["stat", "--image", &image, "--json"])).unwrap();
    let history = stat["history"]
        .as_array()
        .unwrap_or_else(|| panic!("{stat}"));
    let seen: Vec<(&str, &str)> = history
        .iter()
        .map(|h| {
            (
                h["layer"]["digest"].as_str().unwrap_or_default(),
                h["diff_id"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    let want: Vec<(&str, &str)> = layers
        .iter()
        .map(String::as_str)
        .zip(diff_ids.iter().map(String::as_str))
        .collect();
    assert_eq!(seen, want, "{stat}");
    let registry_layers: Vec<&str> = registry_manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap())
        .collect();
    assert_eq!(registry_layers, layers);
    // The config the registry holds is in the archive byte for byte (umoci
    // made config.json above from it).
    let config_digest = registry_manifest["config"]["digest"].as_str().unwrap();
    assert_eq!(
        std::fs::read(dir.join("blobs/sha256").join(&config_digest[7..])).unwrap(),
        std::fs::read(layout.join("blobs/sha256").join(&config_digest[7..])).unwrap()
    );
}
