//! Whole images written as one tar archive: `docker-archive` (what `docker
//! save` writes and `docker load` reads) or `oci-archive` (a tar of an OCI
//! image layout).
//!
//! Nothing of the image touches the disk but the archive itself: each blob's
//! tar header is written from its descriptor's size, then its bytes go from
//! the HTTP body through the hasher into the tar; at the blob's end the
//! digest is checked, and a mismatch fails the whole archive. A blob that a
//! source (a mirror) failed part-way is cut from the file and read again
//! from the next source. The file appears at its path only once whole
//! (written beside it, synced, renamed); a failed or cancelled pull leaves
//! nothing there.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::sync::Mutex;

use serde_json::json;

use super::*;
use crate::layer::write_atomically;
use crate::oci::OCI_INDEX;
use crate::tar::{Kind, TarWriter};

/// What an image archive holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ArchiveFormat {
    /// `docker-archive`: what `docker save` writes and `docker load` (and
    /// containers/image, podman) reads: `manifest.json` (each image's
    /// `Config`, `RepoTags`, `Layers`), the config as `<hex>.json`, each layer
    /// as `<hex>.tar` (as the registry stores it, compressed or not: loaders
    /// detect compression), and the legacy `repositories` file. One platform
    /// per image; the manifest's own digest is not kept (the config's is).
    DockerArchive,
    /// `oci-archive`: a tar of an OCI image layout (`oci-layout`,
    /// `index.json`, `blobs/<alg>/<hex>`), as skopeo's `oci-archive:` reads
    /// it; manifests are kept byte for byte, so digests are kept.
    OciArchive,
}

impl ArchiveFormat {
    /// The format named `docker-archive` or `oci-archive`; INVALID_ARGUMENT
    /// for any other name.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for an
    /// unknown name.
    ///
    /// # Examples
    ///
    /// ```
    /// use registry::ArchiveFormat;
    /// assert_eq!(ArchiveFormat::parse("oci-archive")?, ArchiveFormat::OciArchive);
    /// assert!(ArchiveFormat::parse("tarball").is_err());
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn parse(name: &str) -> Result<ArchiveFormat> {
        match name {
            "docker-archive" => Ok(ArchiveFormat::DockerArchive),
            "oci-archive" => Ok(ArchiveFormat::OciArchive),
            other => Err(Error::invalid(format!(
                "unknown archive format {other:?}: docker-archive or oci-archive"
            ))),
        }
    }

    /// The format's name, as [`parse`](Self::parse) reads it.
    pub fn name(self) -> &'static str {
        match self {
            ArchiveFormat::DockerArchive => "docker-archive",
            ArchiveFormat::OciArchive => "oci-archive",
        }
    }
}

/// Where an archive goes: a file, which can be cut back to a mark when a
/// source fails part-way through a blob, or a stream, which cannot.
trait Sink: Write + Send {
    /// Drops every byte after `to`; false when the sink cannot.
    fn cut(&mut self, to: u64) -> io::Result<bool>;
}

impl Sink for BufWriter<&mut File> {
    fn cut(&mut self, to: u64) -> io::Result<bool> {
        self.flush()?;
        let file = self.get_mut();
        file.set_len(to)?;
        file.seek(SeekFrom::Start(to))?;
        Ok(true)
    }
}

/// A stream (stdout, a pipe): nothing written can be taken back.
struct Stream<W>(W);

impl<W: Write> Write for Stream<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write + Send> Sink for Stream<W> {
    fn cut(&mut self, _to: u64) -> io::Result<bool> {
        Ok(false)
    }
}

/// The archive being written, shared with the transfer's worker.
struct Archive<S: Sink> {
    tar: Mutex<TarWriter<S>>,
    /// The names of the entries written (a blob shared by images goes once).
    names: Mutex<HashSet<String>>,
}

/// An archive write error as the call's error.
fn tar_err(e: io::Error) -> Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        Some(inner) => inner.clone(),
        None => Error::new(ErrorKind::Io, format!("cannot write the archive: {e}")).with_source(e),
    }
}

impl<S: Sink> Archive<S> {
    fn new(out: S) -> Archive<S> {
        Archive {
            tar: Mutex::new(TarWriter::new(out)),
            names: Mutex::new(HashSet::new()),
        }
    }

    /// Whether `name` is still to be written (and from now on, written).
    fn claim(&self, name: &str) -> bool {
        crate::sync::lock(&self.names).insert(name.to_string())
    }

    /// A small file entry (once per name).
    fn file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        if self.claim(name) {
            crate::sync::lock(&self.tar)
                .file(name, bytes)
                .map_err(tar_err)?;
        }
        Ok(())
    }

    /// A directory entry (once per name).
    fn dir(&self, name: &str) -> Result<()> {
        if self.claim(name) {
            crate::sync::lock(&self.tar).dir(name).map_err(tar_err)?;
        }
        Ok(())
    }

    /// Streams the blob `job` of `repo` into the entry `name`: its header
    /// from the descriptor's size, then its bytes as they arrive, counted
    /// and hashed; a body shorter or longer than the size, or one that does
    /// not hash to the digest, fails. A source that fails part-way is cut
    /// from the archive and the next one tried (a stream cannot be cut: the
    /// call fails).
    fn blob(
        &self,
        client: &Client,
        repo: &str,
        job: &Job,
        name: &str,
        rep: &Reporter<'_>,
        served: &Served,
    ) -> Result<()> {
        if !self.claim(name) {
            return rep.moved(job.size);
        }
        let (digest, size) = (&job.digest, job.size);
        let mut tar = crate::sync::lock(&self.tar);
        let mark = tar.position();
        let mut spoilt: Option<Error> = None;
        let result = client.v2_read_from("pulling an image archive", |r| {
            if let Some(e) = &spoilt {
                return Err(e.clone());
            }
            let written = copy_blob(r, repo, digest, size, name, &mut tar, rep);
            if let Err(e) = &written {
                if tar.position() != mark {
                    match tar.get_mut().cut(mark) {
                        Ok(true) => tar.rewound_to(mark),
                        Ok(false) => spoilt = Some(e.clone()),
                        Err(io) => spoilt = Some(tar_err(io)),
                    }
                }
            }
            written
        });
        let ((), host) = result?;
        served.add(digest, host);
        Ok(())
    }
}

/// One try of [`Archive::blob`] from the source `r`.
fn copy_blob<S: Sink>(
    r: &Remote<'_>,
    repo: &str,
    digest: &Digest,
    size: u64,
    name: &str,
    tar: &mut TarWriter<S>,
    rep: &Reporter<'_>,
) -> Result<()> {
    let mut reader = v2::open_blob(r, repo, digest, Some(size))?;
    tar.header(name, size, Kind::File).map_err(tar_err)?;
    let mut buf = vec![0u8; CHUNK];
    let mut done = 0u64;
    while done < size {
        rep.check()?;
        let want = CHUNK.min((size - done) as usize);
        let n = reader.read(&mut buf[..want]).map_err(Error::from)?;
        if n == 0 {
            return Err(Error::protocol(format!(
                "the blob {digest} ended after {done} of its {size} bytes"
            )));
        }
        tar.body(&buf[..n]).map_err(tar_err)?;
        done += n as u64;
        rep.moved(done)?;
    }
    // The reader checks the digest when it reaches its end.
    let mut rest = [0u8; 1];
    if reader.read(&mut rest).map_err(Error::from)? != 0 {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!("the blob {digest} is longer than its {size} bytes"),
        ));
    }
    tar.end_entry(size).map_err(tar_err)
}

/// The file name of a blob in a docker-archive.
fn docker_name(digest: &Digest, ext: &str) -> String {
    match digest.algorithm() {
        crate::reference::Algorithm::Sha256 => format!("{}.{ext}", digest.hex()),
        other => format!("{}-{}.{ext}", other.name(), digest.hex()),
    }
}

/// The path of a blob in an OCI layout.
fn oci_name(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

/// How `docker save` names an image in `RepoTags`: the registry's host
/// before the repository, except Docker Hub's (`library/` dropped too).
fn repo_tag_name(host: &str, repo: &str) -> String {
    if host == "docker.io" || host == "registry-1.docker.io" || host == "index.docker.io" {
        repo.strip_prefix("library/").unwrap_or(repo).to_string()
    } else {
        format!("{host}/{repo}")
    }
}

impl Client {
    /// Pulls `repo:reference` (a tag or digest) into one archive file at
    /// `path`, in `format`, and returns the digest of the manifest (or, for
    /// an oci-archive of a whole index, the index) it holds. The blobs
    /// stream from the registry straight into the archive (no copy of the
    /// image is kept anywhere), each checked against its digest as it goes;
    /// a blob that fails its digest fails the whole call. The file is
    /// written beside `path` and renamed there only once whole: a failed or
    /// cancelled pull leaves nothing at `path` (an existing file there
    /// stays as it was). Blobs move one at a time (they are one stream).
    ///
    /// `options` as for [`image_pull`](Self::image_pull): a docker-archive
    /// holds one image, so an index is resolved to one platform (the one
    /// given, else `linux/amd64`); an oci-archive keeps an index whole, or
    /// the platforms given, and the referrers when asked. The image is named
    /// by the reference: in `RepoTags` (`host/repo:tag`, as `docker save`
    /// names it; none for a pull by digest), or in `index.json`
    /// (`org.opencontainers.image.ref.name`: the tag or digest). Foreign
    /// layers are left out of an oci-archive as a layout pull leaves them
    /// out; a docker-archive cannot do without them (UNSUPPORTED).
    /// C: `registry_image_pull_archive`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `reference`, several platforms or referrers asked of a
    ///   docker-archive, or an empty `path`;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `reference` names no
    ///   manifest, or an index has no image for the platform;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when a blob or
    ///   manifest does not hash to its digest;
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry, for a
    ///   schema 1 manifest, or foreign layers in a docker-archive;
    /// - [`ErrorKind::Io`](crate::ErrorKind::Io) when the archive cannot be written;
    ///   [`ErrorKind::Aborted`](crate::ErrorKind::Aborted) when the progress callback
    ///   returns false;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use registry::ArchiveFormat;
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.image_pull_archive(
    ///     "team/app", "v1", "/tmp/app.tar", ArchiveFormat::DockerArchive, Default::default())?;
    /// println!("{digest}");
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_pull_archive(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        path: impl AsRef<Path>,
        format: ArchiveFormat,
        options: ImageOptions<'_>,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        let images = [(repo, reference)];
        let digests = self.archive_to_file(&images, path.as_ref(), format, options)?;
        Ok(digests.into_iter().next().expect("one image"))
    }

    /// [`image_pull_archive`](Self::image_pull_archive) into `out` (standard
    /// output, a pipe) instead of a file. Not atomic: a failed call leaves
    /// what it wrote so far in `out`, and a blob that a source fails
    /// part-way fails the call (no other source is tried, since the bytes
    /// already written cannot be taken back). The caller owns `out`, which
    /// is flushed at the end.
    ///
    /// # Errors
    ///
    /// As [`image_pull_archive`](Self::image_pull_archive); IO when `out` fails.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use registry::ArchiveFormat;
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// client.image_pull_archive_to(
    ///     "team/app", "v1", std::io::stdout(), ArchiveFormat::OciArchive, Default::default())?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_pull_archive_to(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        out: impl Write + Send,
        format: ArchiveFormat,
        options: ImageOptions<'_>,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        let images = [(repo, reference)];
        let archive = Archive::new(Stream(out));
        let digests = self.run(|| self.fill_archive(&images, format, &archive, options))?;
        let tar = archive.tar.into_inner().unwrap_or_else(|e| e.into_inner());
        tar.finish().map_err(tar_err)?;
        Ok(digests.into_iter().next().expect("one image"))
    }

    /// Saves several images into one docker-archive at `path`, as `docker
    /// save IMAGE...` does: each `(repo, reference)` pulled as
    /// [`image_pull_archive`](Self::image_pull_archive) pulls one, each its
    /// own entry of `manifest.json` with its `RepoTags`, a blob the images
    /// share written once; the same reference twice is one image. Returns
    /// the manifest digest of each, in order. Written atomically as
    /// `image_pull_archive` writes.
    ///
    /// # Errors
    ///
    /// As [`image_pull_archive`](Self::image_pull_archive); INVALID_ARGUMENT for
    /// an empty list.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digests = client.image_save(
    ///     &[("team/app", "v1"), ("team/db", "v2")], "/tmp/both.tar", Default::default())?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_save(
        &self,
        images: &[(&str, &str)],
        path: impl AsRef<Path>,
        options: ImageOptions<'_>,
    ) -> Result<Vec<Digest>> {
        if images.is_empty() {
            return Err(Error::invalid("image_save: no image to save"));
        }
        let images = images
            .iter()
            .map(|(repo, reference)| Ok((self.repo(repo)?, ManifestRef::parse(reference)?)))
            .collect::<Result<Vec<_>>>()?;
        self.archive_to_file(
            &images,
            path.as_ref(),
            ArchiveFormat::DockerArchive,
            options,
        )
    }

    fn archive_to_file(
        &self,
        images: &[(String, ManifestRef)],
        path: &Path,
        format: ArchiveFormat,
        options: ImageOptions<'_>,
    ) -> Result<Vec<Digest>> {
        if path.as_os_str().is_empty() {
            return Err(Error::invalid("the archive path is empty"));
        }
        self.run(|| {
            let mut digests = vec![];
            write_atomically(path, |file| {
                let archive = Archive::new(BufWriter::with_capacity(CHUNK, file));
                digests = self.fill_archive(images, format, &archive, options)?;
                let tar = archive.tar.into_inner().unwrap_or_else(|e| e.into_inner());
                let len = tar.position();
                tar.finish()
                    .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
                    .map_err(tar_err)?;
                Ok(len)
            })?;
            Ok(digests)
        })
    }

    /// Writes `images` into `archive` (all but its end).
    fn fill_archive<S: Sink>(
        &self,
        images: &[(String, ManifestRef)],
        format: ArchiveFormat,
        archive: &Archive<S>,
        mut options: ImageOptions<'_>,
    ) -> Result<Vec<Digest>> {
        options.keeping_layers("an archive pull")?;
        if format == ArchiveFormat::DockerArchive {
            if options.platforms.len() > 1 {
                return Err(Error::invalid(
                    "a docker-archive holds one platform of an image; pull several into an \
                     oci-archive",
                ));
            }
            if options.referrers {
                return Err(Error::invalid(
                    "a docker-archive cannot hold referrers; pull them into an oci-archive",
                ));
            }
        }
        let served = Served::default();
        let result = (|| {
            let mut digests = vec![];
            let mut entries = vec![];
            let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
            for (repo, reference) in images {
                let read_manifest = |reference: &ManifestRef| {
                    let (m, host) = self.v2_read_from("pulling an image archive", |r| {
                        v2::get_manifest(r, repo, reference)
                    })?;
                    served.add(&m.digest, host);
                    Ok(m)
                };
                let root = read_manifest(reference)?;
                let fetch = |d: &Digest, _: &str| read_manifest(&ManifestRef::Digest(d.clone()));
                match format {
                    ArchiveFormat::DockerArchive => {
                        let platform = options
                            .platforms
                            .first()
                            .or(options.platform.as_ref())
                            .cloned()
                            .unwrap_or_default();
                        let (manifest, _) = oci::descend(root, &platform, fetch)?;
                        let (entry, top) =
                            self.docker_image(repo, &manifest, archive, &served, &mut options)?;
                        let mut entry = entry;
                        if let ManifestRef::Tag(tag) = reference {
                            let name = repo_tag_name(self.registry_host(), repo);
                            entry["RepoTags"] = json!([format!("{name}:{tag}")]);
                            if let Some(top) = top {
                                repositories
                                    .entry(name)
                                    .or_default()
                                    .insert(tag.clone(), top);
                            }
                        }
                        entries.push(entry);
                        digests.push(manifest.digest);
                    }
                    ArchiveFormat::OciArchive => {
                        let tree = options.walk(root, fetch)?;
                        self.oci_tree(repo, &tree, archive, &served, &mut options.progress)?;
                        let referrers = match options.referrers {
                            true => self.carry_referrers(repo, &tree, &read_manifest, |t, _| {
                                self.oci_tree(repo, t, archive, &served, &mut options.progress)
                            })?,
                            false => vec![],
                        };
                        let mut entry = Value::Object(entry_for(tree.root()));
                        entry["annotations"] = json!({ layout_ref_name(): reference.to_string() });
                        entries.push(entry);
                        for d in referrers {
                            let mut listed =
                                Descriptor::new(d.media_type.clone(), d.digest.clone(), d.size);
                            listed.artifact_type = d.artifact_type.clone();
                            entries.push(serde_json::to_value(listed).map_err(json_err)?);
                        }
                        digests.push(tree.root().manifest.digest.clone());
                    }
                }
            }
            match format {
                ArchiveFormat::DockerArchive => {
                    archive.file("manifest.json", &to_json(&entries)?)?;
                    if !repositories.is_empty() {
                        archive.file("repositories", &to_json(&repositories)?)?;
                    }
                }
                ArchiveFormat::OciArchive => {
                    let index = json!({
                        "schemaVersion": 2,
                        "mediaType": OCI_INDEX,
                        "manifests": entries,
                    });
                    archive.file("index.json", &to_json(&index)?)?;
                }
            }
            Ok(digests)
        })();
        served.report(&mut options.served_by);
        result
    }

    /// Streams a docker-archive's image: config and layers of `manifest`;
    /// returns its `manifest.json` entry (without `RepoTags`) and the name
    /// of its top layer for `repositories`.
    fn docker_image<S: Sink>(
        &self,
        repo: &str,
        manifest: &Manifest,
        archive: &Archive<S>,
        served: &Served,
        options: &mut ImageOptions<'_>,
    ) -> Result<(Value, Option<String>)> {
        let what = format!("image {}", manifest.digest);
        let doc = ManifestDoc::parse(&manifest.body, &what)?;
        if doc.schema_version == Some(1) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{what}: schema 1 manifests cannot be archived"),
            ));
        }
        let config = doc
            .config
            .as_ref()
            .ok_or_else(|| Error::protocol(format!("{what}: the manifest names no config")))?;
        if doc.layers.iter().any(Descriptor::is_foreign) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{what} has foreign layers, which a docker-archive cannot leave out; \
                     pull it as an oci-archive"
                ),
            ));
        }
        let config_name = docker_name(&config.digest, "json");
        let layer_names: Vec<String> = doc
            .layers
            .iter()
            .map(|l| docker_name(&l.digest, "tar"))
            .collect();
        let mut jobs = vec![Job {
            digest: config.digest.clone(),
            size: config.size,
        }];
        let mut names: HashMap<Digest, String> = HashMap::new();
        names.insert(config.digest.clone(), config_name.clone());
        for (l, name) in doc.layers.iter().zip(&layer_names) {
            if names.insert(l.digest.clone(), name.clone()).is_none() {
                jobs.push(Job {
                    digest: l.digest.clone(),
                    size: l.size,
                });
            }
        }
        transfer::run(1, jobs, &mut options.progress, |job, rep| {
            archive.blob(self, repo, job, &names[&job.digest], rep, served)
        })?;
        let top = layer_names
            .last()
            .map(|n| n.trim_end_matches(".tar").to_string());
        Ok((
            json!({ "Config": config_name, "RepoTags": [], "Layers": layer_names }),
            top,
        ))
    }

    /// Streams an OCI layout's part of `tree` into the archive: its blobs,
    /// then its manifests (children first), each once.
    fn oci_tree<S: Sink>(
        &self,
        repo: &str,
        tree: &Tree,
        archive: &Archive<S>,
        served: &Served,
        progress: &mut Option<&mut Progress<'_>>,
    ) -> Result<()> {
        archive.file("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#)?;
        archive.dir("blobs/")?;
        for d in tree
            .blobs
            .iter()
            .map(|b| &b.digest)
            .chain(tree.manifests.iter().map(|n| &n.manifest.digest))
        {
            archive.dir(&format!("blobs/{}/", d.algorithm().name()))?;
        }
        transfer::run(1, tree.jobs()?, progress, |job, rep| {
            archive.blob(self, repo, job, &oci_name(&job.digest), rep, served)
        })?;
        for node in &tree.manifests {
            let m = &node.manifest;
            report_manifest(progress, m, || archive.file(&oci_name(&m.digest), &m.body))?;
        }
        Ok(())
    }
}

/// The annotation an OCI layout names its images by.
fn layout_ref_name() -> &'static str {
    "org.opencontainers.image.ref.name"
}

fn json_err(e: serde_json::Error) -> Error {
    Error::protocol(e.to_string())
}

fn to_json(v: &impl serde::Serialize) -> Result<Vec<u8>> {
    serde_json::to_vec(v).map_err(json_err)
}

use std::collections::HashMap;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_parse_by_name_and_back() {
        for f in [ArchiveFormat::DockerArchive, ArchiveFormat::OciArchive] {
            assert_eq!(ArchiveFormat::parse(f.name()).unwrap(), f);
        }
        let e = ArchiveFormat::parse("tarball").unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
    }

    #[test]
    fn repo_tags_name_the_registry_except_docker_hub() {
        assert_eq!(
            repo_tag_name("localhost:5000", "team/app"),
            "localhost:5000/team/app"
        );
        assert_eq!(repo_tag_name("docker.io", "library/alpine"), "alpine");
        assert_eq!(repo_tag_name("docker.io", "team/app"), "team/app");
    }
}
