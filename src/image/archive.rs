//! Whole images written as one tar archive: `docker-archive` (what `docker
//! save` writes and `docker load` reads) or `oci-archive` (a tar of an OCI
//! image layout).
//!
//! Nothing of the image touches the disk but the archive itself: each blob's
//! tar header is written from its descriptor's size, then its bytes go from
//! the HTTP body through the hasher into the tar; at the blob's end the
//! digest is checked, and a mismatch fails the whole archive.
//!
//! Into a file (on unix), an image's blobs are laid out first: every header
//! and padding is written up front, in the order a stream would hold them,
//! leaving each body's room; then the blobs download in parallel (the
//! client's [`parallel`](crate::ClientBuilder::parallel) budget), each
//! written at its own offset (positioned writes). The file holds the same
//! bytes as a stream of the same image. A blob that a source (a mirror)
//! failed part-way is read again from the next source into the same room.
//! A thread syncs the data written behind the downloads (every
//! [`WRITEBACK`] bytes), so the final sync has little left to do.
//!
//! Into a stream (stdout, a pipe), and into a file where positioned writes
//! are not available, blobs go one after the other; a blob that a source
//! failed part-way is then cut from the file and read again, or, on a
//! stream, fails the call.
//!
//! The file appears at its path only once whole (written beside it, synced,
//! renamed); a failed or cancelled pull leaves nothing there.

#![forbid(unsafe_code)]

use std::cmp::Reverse;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom};
use std::sync::{Condvar, Mutex};

use serde_json::json;

use super::*;
use crate::layer::write_atomically;
use crate::oci::OCI_INDEX;
use crate::tar::{self, Kind, Placed, Skip, TarWriter};

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
/// Only a [`Placed`] file can leave room for a body ([`Skip`]).
trait Sink: Write + Send + Skip {
    /// Drops every byte after `to`; false when the sink cannot.
    fn cut(&mut self, to: u64) -> io::Result<bool>;
}

/// What a sequential sink answers when asked to leave room: a bug.
fn cannot_skip() -> io::Error {
    io::Error::new(
        io::ErrorKind::Unsupported,
        "an archive written in order cannot leave room for a blob",
    )
}

impl Skip for BufWriter<&mut File> {
    fn skip(&mut self, _n: u64) -> io::Result<()> {
        Err(cannot_skip())
    }
}

impl<W> Skip for Stream<W> {
    fn skip(&mut self, _n: u64) -> io::Result<()> {
        Err(cannot_skip())
    }
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

/// A file written by offset: a blob's room is laid out before its bytes
/// come, and a source that fails part-way is followed by the next one into
/// the same room, so nothing is ever cut.
impl Sink for Placed<'_> {
    fn cut(&mut self, _to: u64) -> io::Result<bool> {
        Ok(false)
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

/// The archive being written, shared with the transfer's workers. Borrows
/// the file it is written into (when it is one); owns nothing else.
struct Archive<'f, S: Sink> {
    tar: Mutex<TarWriter<S>>,
    /// The names of the entries written (a blob shared by images goes once).
    names: Mutex<HashSet<String>>,
    /// The file under `tar` when blobs are laid out first and written in
    /// place, several at once; `None`: one after the other into `tar`.
    placed: Option<&'f File>,
    /// The early writeback of a placed file.
    writeback: Writeback,
}

/// A placed archive's data is synced (fdatasync) by a thread of its own
/// each time this many more bytes were written, while the blobs still
/// download, so that the sync before the rename finds little left to write.
const WRITEBACK: u64 = 32 << 20;

/// The early writeback of a placed archive: the workers count the bytes they
/// write, a thread of the call syncs the file's data behind them
/// ([`run`](Self::run)) until [`end`](Self::end). Only the sync before the
/// rename makes the archive durable; one here that fails is left for that
/// one to report.
#[derive(Default)]
struct Writeback {
    /// (bytes written since the last sync began, over)
    state: Mutex<(u64, bool)>,
    wake: Condvar,
}

impl Writeback {
    /// `n` more bytes written.
    fn wrote(&self, n: u64) {
        let mut state = crate::sync::lock(&self.state);
        state.0 += n;
        if state.0 >= WRITEBACK {
            self.wake.notify_one();
        }
    }

    /// Syncs `file`'s data each time [`WRITEBACK`] more bytes were written,
    /// until [`end`](Self::end).
    fn run(&self, file: &File) {
        loop {
            let mut state = crate::sync::lock(&self.state);
            while state.0 < WRITEBACK && !state.1 {
                state = self.wake.wait(state).unwrap_or_else(|e| e.into_inner());
            }
            if state.1 {
                return;
            }
            state.0 = 0;
            drop(state);
            let _ = file.sync_data();
        }
    }

    /// Stops [`run`](Self::run) (after the sync under way, if any).
    fn end(&self) {
        crate::sync::lock(&self.state).1 = true;
        self.wake.notify_one();
    }
}

/// Ends a writeback when dropped: also when the archive's filling panics,
/// so that the scope waiting for the writeback thread ends.
struct EndWriteback<'w>(&'w Writeback);

impl Drop for EndWriteback<'_> {
    fn drop(&mut self) {
        self.0.end();
    }
}

/// An archive write error as the call's error.
fn tar_err(e: io::Error) -> Error {
    match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
        Some(inner) => inner.clone(),
        None => Error::new(ErrorKind::Io, format!("cannot write the archive: {e}")).with_source(e),
    }
}

impl<'f> Archive<'f, Placed<'f>> {
    /// An archive written into `file` by offset, blobs laid out first.
    fn placed(file: &'f File) -> Archive<'f, Placed<'f>> {
        Archive {
            tar: Mutex::new(TarWriter::new(Placed::new(file))),
            names: Mutex::new(HashSet::new()),
            placed: Some(file),
            writeback: Writeback::default(),
        }
    }
}

impl<S: Sink> Archive<'_, S> {
    /// An archive written into `out` one entry after the other.
    fn new(out: S) -> Self {
        Archive {
            tar: Mutex::new(TarWriter::new(out)),
            names: Mutex::new(HashSet::new()),
            placed: None,
            writeback: Writeback::default(),
        }
    }

    /// The tar writer, once no worker holds it.
    fn into_tar(self) -> TarWriter<S> {
        self.tar.into_inner().unwrap_or_else(|e| e.into_inner())
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

    /// Moves the blobs `jobs` of `repo` into their entries (`name` of each
    /// job), reporting to `progress`. Laid out first and moved in parallel
    /// (up to the client's budget) into a file; one after the other, largest
    /// first, into a stream. Both give the same bytes: the entries come in
    /// the same order (largest first, then as listed), each once.
    fn blobs(
        &self,
        client: &Client,
        repo: &str,
        mut jobs: Vec<Job>,
        name: impl Fn(&Digest) -> String + Sync,
        progress: &mut Option<&mut Progress<'_>>,
        served: &Served,
    ) -> Result<()> {
        // The order transfer::run starts them in, and so a stream's order.
        jobs.sort_by_key(|j| Reverse(j.size));
        let Some(file) = self.placed else {
            return transfer::run(1, jobs, progress, |job, rep| {
                self.blob(client, repo, job, &name(&job.digest), rep, served)
            });
        };
        let mut rooms: HashMap<Digest, u64> = HashMap::new();
        {
            let mut tar = crate::sync::lock(&self.tar);
            for job in &jobs {
                let entry = name(&job.digest);
                if !rooms.contains_key(&job.digest) && self.claim(&entry) {
                    let at = tar.reserve(&entry, job.size).map_err(tar_err)?;
                    rooms.insert(job.digest.clone(), at);
                }
            }
        }
        transfer::run(client.parallel(), jobs, progress, |job, rep| {
            match rooms.get(&job.digest) {
                Some(&at) => self.placed_blob(client, repo, job, file, at, rep, served),
                // Written already, for an image before this one.
                None => rep.moved(job.size),
            }
        })
    }

    /// Downloads the blob `job` of `repo` into its room at `at` in `file`,
    /// counted and hashed as it comes; a source that fails part-way is
    /// followed by the next, from the room's start.
    #[allow(clippy::too_many_arguments)]
    fn placed_blob(
        &self,
        client: &Client,
        repo: &str,
        job: &Job,
        file: &File,
        at: u64,
        rep: &Reporter<'_>,
        served: &Served,
    ) -> Result<()> {
        let (digest, size) = (&job.digest, job.size);
        let ((), host) = client.v2_read_from("pulling an image archive", |r| {
            let reader = v2::open_blob(r, repo, digest, Some(size))?;
            copy_blob(reader, digest, size, rep, |done, bytes| {
                tar::write_at(file, bytes, at + done).map_err(tar_err)?;
                self.writeback.wrote(bytes.len() as u64);
                Ok(())
            })
        })?;
        served.add(digest, host);
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
            let written = v2::open_blob(r, repo, digest, Some(size)).and_then(|reader| {
                tar.header(name, size, Kind::File).map_err(tar_err)?;
                copy_blob(reader, digest, size, rep, |_, bytes| {
                    tar.body(bytes).map_err(tar_err)
                })?;
                tar.end_entry(size).map_err(tar_err)
            });
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

/// One try of a blob from one source: the `size` bytes of `reader` (which
/// checks `digest` at its end) handed to `put` with their offset in the
/// blob; a body shorter or longer than `size` fails.
fn copy_blob(
    mut reader: impl Read,
    digest: &Digest,
    size: u64,
    rep: &Reporter<'_>,
    mut put: impl FnMut(u64, &[u8]) -> Result<()>,
) -> Result<()> {
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
        put(done, &buf[..n])?;
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
    Ok(())
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
    /// stays as it was). The archive is laid out first and up to the
    /// client's [`parallel`](crate::ClientBuilder::parallel) blobs download
    /// at once, each written at its own offset (on unix; elsewhere one at a
    /// time); the file holds the same bytes as
    /// [`image_pull_archive_to`](Self::image_pull_archive_to) writes.
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
    /// is flushed at the end. Blobs move one at a time (they are one
    /// stream).
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
        archive.into_tar().finish().map_err(tar_err)?;
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
                if tar::POSITIONED_WRITES {
                    let archive = Archive::placed(file);
                    std::thread::scope(|s| {
                        let _end = EndWriteback(&archive.writeback);
                        s.spawn(|| archive.writeback.run(file));
                        self.fill_archive(images, format, &archive, options)
                            .map(|d| digests = d)
                    })?;
                    let tar = archive.into_tar();
                    let len = tar.position();
                    tar.finish().map_err(tar_err)?;
                    return Ok(len);
                }
                let archive = Archive::new(BufWriter::with_capacity(CHUNK, file));
                digests = self.fill_archive(images, format, &archive, options)?;
                let tar = archive.into_tar();
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
        archive: &Archive<'_, S>,
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
        archive: &Archive<'_, S>,
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
        let name = |d: &Digest| names[d].clone();
        archive.blobs(self, repo, jobs, name, &mut options.progress, served)?;
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
        archive: &Archive<'_, S>,
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
        archive.blobs(self, repo, tree.jobs()?, oci_name, progress, served)?;
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
