//! Whole images: pull one into an OCI layout, push one from a layout, copy
//! one between repositories or registries; and an image's config.
//!
//! An image is a tree: an index (or manifest list), perhaps nested, whose
//! leaves are manifests, which name a config and layers (blobs). The tree is
//! read first, on the calling thread; then its blobs move in parallel (see
//! `transfer`), each verified against its digest; manifests move last,
//! byte for byte (their digests never change), children before the index
//! that names them; a layout's `index.json` is written at the very end.
//!
//! Foreign layers (descriptors that carry `urls`, as Windows base layers do)
//! live outside the registry: like docker, the client neither fetches nor
//! pushes them; the manifests still name them.

#![forbid(unsafe_code)]

use std::collections::HashSet;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde_json::{Map, Value};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::gzip::Compression;
use crate::layout::{Layout, Partial};
use crate::oci::{self, Descriptor, ManifestDoc};
use crate::reference::{typed, validate_tag, Digest, Hasher, ManifestRef, Platform};
use crate::remote::Remote;
use crate::transfer::{self, Job, Progress, Reporter};
use crate::types::Manifest;
use crate::v2;

mod archive;
mod archive_push;
pub use archive::ArchiveFormat;
pub(crate) use archive_push::read_untrusted as read_untrusted_archive;

/// An image tree holds at most this many manifests…
const MAX_MANIFESTS: usize = 1000;
/// …of at most this many bytes in all (each is capped on its own too)…
pub(crate) const MAX_MANIFEST_BYTES: u64 = 64 << 20;
/// …naming at most this many blobs…
pub(crate) const MAX_BLOBS: usize = 100_000;
/// …and indexes nest at most this deep.
const MAX_DEPTH: usize = oci::MAX_INDEX_DEPTH;
/// A config is read up to this size.
const CONFIG_CAP: u64 = 16 << 20;
/// Bytes move through buffers of this size.
const CHUNK: usize = 256 * 1024;

/// How a whole-image transfer runs.
#[derive(Default)]
#[non_exhaustive]
pub struct ImageOptions<'a> {
    /// Pick this platform's image of an index; `None` keeps what the
    /// reference names (an index with every platform).
    pub platform: Option<Platform>,
    /// Hears of every blob and manifest the call moves, on the calling
    /// thread and never concurrently: `(digest, done, total)`, first with
    /// `done == 0`, then as bytes move, last with `done == total`, once, when
    /// it is done (its digest checked; also for a blob skipped because it was
    /// there, or mounted). While no byte moves, the last report of a blob
    /// under way comes again every 250 ms. Returning false cancels the call,
    /// which then fails with ABORTED: no new request or retry is sent, and a
    /// request waiting on the server is abandoned at once (its connection
    /// is shut down).
    pub progress: Option<&'a mut Progress<'a>>,
    /// Hears which registry served each manifest and blob a pull or copy
    /// read (`host[:port]`: a mirror's, see
    /// [`ClientBuilder::mirror`](crate::ClientBuilder::mirror), or the
    /// registry's), in no particular order; blobs the destination already
    /// held were read from nowhere and are not listed. Filled as the call
    /// goes, complete when it succeeds.
    pub served_by: Option<&'a mut Vec<(Digest, String)>>,
    /// Carry only these platforms' images of an index (pull and copy). One:
    /// that platform's manifest, as [`platform`](Self::platform) does. Two or
    /// more: a new index holding only their entries (annotations and every
    /// other field kept; its digest differs from the source index's, the
    /// children keep theirs); NOT_FOUND when the index lacks one of them.
    /// When not empty it wins over `platform`.
    pub platforms: Vec<Platform>,
    /// Also carry every referrer (OCI 1.1: signatures, SBOMs, attestations,
    /// manifests whose subject is a carried manifest), recursively (a
    /// signature of an SBOM of an image), found through the referrers API or
    /// the fallback tag (see [`Client::referrers`]). A pull lists them in
    /// `index.json` without a name (with their `artifactType`); a copy
    /// pushes them by digest, and on a registry without the referrers API
    /// adds them to their subject's fallback tag. The referrers of an index
    /// remade for a platform subset are not carried (their subject is not).
    pub referrers: bool,
    /// Compress the uncompressed layers on the way, where the push makes
    /// their manifest: [`Client::image_push_archive`] of a docker-archive
    /// (`docker save`'s layers are plain tars). Each such layer is
    /// compressed once, before anything is sent, into a spool file beside
    /// the archive (else in the temporary directory; unlinked at once), which
    /// gives its digest and size for the manifest, lets a blob the registry
    /// has be skipped, and is what uploads; its diff id (the config) is
    /// unchanged. The compressing is part of the transfer: `progress` hears
    /// of each such layer first under its diff id (its uncompressed digest
    /// and size) as its bytes are read, and can cancel it, before the
    /// upload under the compressed digest. Every call that keeps
    /// manifests byte for byte (pulls, copies, sync, pushes of a layout or
    /// an oci-archive) fails with INVALID_ARGUMENT when it is set, rather
    /// than ignore it.
    pub compress: Option<Compression>,
}

impl<'a> ImageOptions<'a> {
    /// These options with `progress` hearing of the transfer.
    #[must_use]
    pub fn with_progress(mut self, progress: &'a mut Progress<'a>) -> ImageOptions<'a> {
        self.progress = Some(progress);
        self
    }

    /// These options listing who served each read in `served_by`.
    #[must_use]
    pub fn with_served_by(mut self, served_by: &'a mut Vec<(Digest, String)>) -> ImageOptions<'a> {
        self.served_by = Some(served_by);
        self
    }

    /// These options carrying only `platforms` of an index (see
    /// [`platforms`](Self::platforms)).
    #[must_use]
    pub fn with_platforms(mut self, platforms: Vec<Platform>) -> ImageOptions<'a> {
        self.platforms = platforms;
        self
    }

    /// These options carrying every referrer too (see [`referrers`](Self::referrers)).
    #[must_use]
    pub fn with_referrers(mut self, on: bool) -> ImageOptions<'a> {
        self.referrers = on;
        self
    }

    /// The tree these options carry under `root` (a verified manifest),
    /// with `fetch` for its children: a subset of an index's platforms, one
    /// platform's image, or all of it.
    pub(crate) fn walk(
        &self,
        root: Manifest,
        fetch: impl FnMut(&Digest, &str) -> Result<Manifest>,
    ) -> Result<Tree> {
        match self.platforms.as_slice() {
            [] => Tree::walk(root, self.platform.as_ref(), fetch),
            [one] => Tree::walk(root, Some(one), fetch),
            many => Tree::walk(oci::index_subset(root, many)?, None, fetch),
        }
    }

    /// These options picking `platform` from an index.
    #[must_use]
    pub fn with_platform(mut self, platform: Platform) -> ImageOptions<'a> {
        self.platform = Some(platform);
        self
    }

    /// These options compressing uncompressed layers with `compression`
    /// (see [`compress`](Self::compress)).
    #[must_use]
    pub fn with_compress(mut self, compression: Compression) -> ImageOptions<'a> {
        self.compress = Some(compression);
        self
    }

    /// INVALID_ARGUMENT when [`compress`](Self::compress) is set: `call`
    /// keeps manifests, and so layers, byte for byte.
    pub(crate) fn keeping_layers(&self, call: &str) -> Result<()> {
        match self.compress {
            Some(c) => Err(Error::invalid(format!(
                "{call} keeps every layer as it is: it cannot compress ({}); only a push \
                 of a docker-archive makes its manifest",
                c.name()
            ))),
            None => Ok(()),
        }
    }
}

/// A manifest of the tree.
pub(crate) struct Node {
    pub(crate) manifest: Manifest,
    /// For the root picked from an index: its entry's platform.
    platform: Option<Value>,
}

/// The digests a walk met: manifests and blobs apart, since one digest may
/// be both (a manifest's bytes listed as another's layer), and each must
/// then be walked as a manifest and moved as a blob.
#[derive(Default)]
struct Seen {
    manifests: HashSet<Digest>,
    blobs: HashSet<Digest>,
}

/// What an image is made of: manifests (children before their index) and
/// the blobs they name (each once; foreign layers left out).
pub(crate) struct Tree {
    pub(crate) manifests: Vec<Node>,
    pub(crate) blobs: Vec<Descriptor>,
    /// The manifests' bytes, held until they are written.
    pub(crate) bytes: u64,
}

impl Tree {
    /// The image a transfer names: the last manifest.
    pub(crate) fn root(&self) -> &Node {
        self.manifests.last().expect("a tree has a root")
    }

    /// Builds the tree under `root` with `fetch` (which returns a verified
    /// manifest for a child digest), picking `platform` from an index.
    pub(crate) fn walk(
        root: Manifest,
        platform: Option<&Platform>,
        mut fetch: impl FnMut(&Digest, &str) -> Result<Manifest>,
    ) -> Result<Tree> {
        let mut tree = Tree {
            manifests: vec![],
            blobs: vec![],
            bytes: 0,
        };
        let root = match platform {
            // Descend to the platform's manifest through nested indexes.
            Some(p) => {
                let (manifest, from) = oci::descend(root, p, &mut fetch)?;
                Node {
                    manifest,
                    platform: from.and_then(|p| serde_json::to_value(p).ok()),
                }
            }
            None => Node {
                manifest: root,
                platform: None,
            },
        };
        let mut seen = Seen::default();
        tree.add(root, 0, &mut fetch, &mut seen)?;
        Ok(tree)
    }

    fn add(
        &mut self,
        node: Node,
        depth: usize,
        fetch: &mut impl FnMut(&Digest, &str) -> Result<Manifest>,
        seen: &mut Seen,
    ) -> Result<()> {
        let what = format!("image {}", node.manifest.digest);
        self.bytes += node.manifest.body.len() as u64;
        if depth > MAX_DEPTH
            || self.manifests.len() >= MAX_MANIFESTS
            || self.bytes > MAX_MANIFEST_BYTES
        {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "{what}: indexes nest deeper than {MAX_DEPTH}, or name more than \
                     {MAX_MANIFESTS} manifests or {} MiB of them",
                    MAX_MANIFEST_BYTES >> 20
                ),
            ));
        }
        let doc = ManifestDoc::parse(&node.manifest.body, &what)?;
        if doc.schema_version == Some(1) {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!("{what}: schema 1 manifests cannot be moved as images"),
            ));
        }
        for child in doc.manifests.iter().flatten() {
            let digest = child.digest.clone();
            if seen.manifests.insert(digest.clone()) {
                let manifest = fetch(&digest, &child.media_type)?;
                self.add(
                    Node {
                        manifest,
                        platform: None,
                    },
                    depth + 1,
                    fetch,
                    seen,
                )?;
            }
        }
        for blob in doc.config.iter().chain(&doc.layers) {
            if !blob.is_foreign() && seen.blobs.insert(blob.digest.clone()) {
                if self.blobs.len() >= MAX_BLOBS {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        format!("{what}: the image names more than {MAX_BLOBS} blobs"),
                    ));
                }
                self.blobs.push(blob.clone());
            }
        }
        self.manifests.push(node);
        Ok(())
    }

    /// The blobs as transfer jobs.
    pub(crate) fn jobs(&self) -> Result<Vec<Job>> {
        self.blobs
            .iter()
            .map(|b| {
                Ok(Job {
                    digest: b.digest.clone(),
                    size: b.size,
                })
            })
            .collect()
    }
}

/// Reports one manifest's move to the caller: 0, then its size.
pub(crate) fn report_manifest(
    progress: &mut Option<&mut Progress<'_>>,
    m: &Manifest,
    moved: impl FnOnce() -> Result<()>,
) -> Result<()> {
    let total = m.body.len() as u64;
    let mut say = |done| {
        let go_on = progress.as_mut().is_none_or(|p| p(&m.digest, done, total));
        if go_on {
            Ok(())
        } else {
            Err(transfer::aborted())
        }
    };
    say(0)?;
    moved()?;
    say(total)
}

/// A reader that reports what passes through it (and stops on a cancel).
struct Counting<'a, R> {
    inner: R,
    done: u64,
    reporter: &'a Reporter<'a>,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.reporter.check().map_err(Error::into_io)?;
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        self.reporter.moved(self.done).map_err(Error::into_io)?;
        Ok(n)
    }
}

/// Downloads one blob into the layout: skipped when a verified copy is
/// there (`None`); else resumed from its partial file (whose prefix is
/// hashed again, and asked for the rest with `Range`), from each source in
/// turn (see [`Client::v2_read_from`]), checked against its digest over
/// all its bytes, then renamed into place; returns the host that served
/// it. One writer at a time holds a partial file (threads and processes
/// alike; see [`Layout::partial`]), so what is renamed is what was hashed.
/// A failed download keeps its partial file for the next source or run,
/// unless its bytes proved wrong.
fn download(
    client: &Client,
    repo: &str,
    layout: &Layout,
    job: &Job,
    reporter: &Reporter<'_>,
) -> Result<Option<String>> {
    let (digest, size) = (&job.digest, job.size);
    let Some(partial) = layout.partial(digest, size, || reporter.check())? else {
        reporter.moved(size)?;
        return Ok(None);
    };
    let Partial { mut file, path } = partial;
    let proved_wrong =
        |e: &Error| matches!(e.kind(), ErrorKind::DigestMismatch | ErrorKind::TooLarge);
    let served = client.v2_read_from("pulling an image", |r| {
        resume(r, repo, digest, size, &mut file, &path, reporter).inspect_err(|e| {
            // Bytes that proved wrong are no prefix for the next source.
            if proved_wrong(e) {
                let _ = file.set_len(0);
            }
        })
    });
    match served {
        Ok(((), host)) => {
            let blob = layout.blob_path(digest);
            std::fs::rename(&path, &blob).map_err(|e| Error::io("cannot rename into", &blob, e))?;
            Ok(Some(host.to_string()))
        }
        Err(e) => {
            // Nor for the next run.
            if proved_wrong(&e) {
                let _ = std::fs::remove_file(&path);
            }
            Err(e)
        }
    }
}

/// Brings the partial file `file` (at `partial`) to the whole blob, verified.
fn resume(
    remote: &Remote<'_>,
    repo: &str,
    digest: &Digest,
    size: u64,
    file: &mut std::fs::File,
    partial: &Path,
    reporter: &Reporter<'_>,
) -> Result<()> {
    // Hash what an earlier run kept (all of it, or nothing if it is too long).
    let mut prefix = Hasher::new(digest.algorithm());
    let mut have = file
        .metadata()
        .map_err(|e| Error::io("cannot read", partial, e))?
        .len();
    if have > size {
        file.set_len(0)
            .map_err(|e| Error::io("cannot write", partial, e))?;
        have = 0;
    }
    let mut buf = vec![0u8; CHUNK];
    let mut hashed = 0;
    while hashed < have {
        let n = file
            .read(&mut buf[..CHUNK.min((have - hashed) as usize)])
            .map_err(|e| Error::io("cannot read", partial, e))?;
        if n == 0 {
            break;
        }
        prefix.update(&buf[..n]);
        hashed += n as u64;
    }
    have = hashed;
    if have == size {
        // An earlier run got every byte but stopped before the rename (and
        // perhaps before they reached the disk).
        if prefix.finish() == *digest {
            return file
                .sync_all()
                .map_err(|e| Error::io("cannot write", partial, e));
        }
        file.set_len(0)
            .map_err(|e| Error::io("cannot write", partial, e))?;
        have = 0;
        prefix = Hasher::new(digest.algorithm());
    }
    if have > 0 {
        reporter.moved(have)?;
    }
    let (mut reader, from) = v2::open_blob_from(remote, repo, digest, size, have, prefix)?;
    if from != have {
        // The registry ignored the Range: start over.
        file.set_len(0)
            .map_err(|e| Error::io("cannot write", partial, e))?;
        have = 0;
    }
    file.seek(SeekFrom::Start(have))
        .map_err(|e| Error::io("cannot write", partial, e))?;
    loop {
        reporter.check()?;
        let n = reader.read(&mut buf).map_err(Error::from)?;
        if n == 0 {
            break;
        }
        file.write_all(&buf[..n])
            .map_err(|e| Error::io("cannot write", partial, e))?;
        have += n as u64;
        reporter.moved(have)?;
    }
    // On the disk before the rename names it, as index.json will be.
    file.flush()
        .and_then(|_| file.sync_all())
        .map_err(|e| Error::io("cannot write", partial, e))
}

/// Who served each read of a transfer, gathered from its threads.
#[derive(Default)]
pub(crate) struct Served(pub(crate) std::sync::Mutex<Vec<(Digest, String)>>);

impl Served {
    pub(crate) fn add(&self, digest: &Digest, host: &str) {
        crate::sync::lock(&self.0).push((digest.clone(), host.to_string()));
    }

    /// Hands what was gathered to the caller who asked for it.
    pub(crate) fn report(self, to: &mut Option<&mut Vec<(Digest, String)>>) {
        if let Some(to) = to {
            to.extend(self.0.into_inner().unwrap_or_else(|e| e.into_inner()));
        }
    }
}

/// The descriptor `index.json` names an image by.
fn entry_for(node: &Node) -> Map<String, Value> {
    let m = &node.manifest;
    let mut entry = Map::new();
    entry.insert("mediaType".into(), Value::String(m.media_type.clone()));
    entry.insert("digest".into(), Value::String(m.digest.to_string()));
    entry.insert("size".into(), Value::from(m.body.len() as u64));
    if let Some(p) = &node.platform {
        entry.insert("platform".into(), p.clone());
    }
    entry
}

impl Client {
    /// Pulls `repo:reference` (a tag or digest) into the OCI image layout at
    /// `layout_dir` (created if missing; an existing layout gains the image,
    /// blobs shared; a directory holding anything else, a layout whose
    /// `index.json` is no index, and an empty path are INVALID_ARGUMENT, left
    /// untouched) and returns the digest of the manifest or index it names
    /// there. With a platform, only that image of an index; without, every
    /// platform. The image is named by its tag in `index.json`
    /// (`org.opencontainers.image.ref.name`); a pull by digest is named by
    /// the digest (`sha256:…`). Blobs move in parallel (see
    /// [`ClientBuilder::parallel`](crate::ClientBuilder::parallel)), each
    /// verified; blobs the layout already holds (verified) are skipped.
    /// `index.json` is written last, so an interrupted or cancelled pull
    /// names nothing new; it keeps the blobs it verified, and its partial
    /// blobs, which a later pull resumes with `Range` requests. The layout's
    /// files are opened without following links and must be regular files;
    /// processes pulling into one layout at once each commit only blobs they
    /// verified. C: `registry_image_pull`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `reference` names no
    ///   manifest, or no image of an index matches the platform;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when a blob or
    ///   manifest does not hash to its digest;
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) for an image tree over its
    ///   bounds;
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) for a schema 1
    ///   manifest;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `reference`, or an unusable `layout_dir` (above);
    /// - [`ErrorKind::Io`](crate::ErrorKind::Io) when the layout cannot be written;
    ///   [`ErrorKind::Aborted`](crate::ErrorKind::Aborted) when the progress callback
    ///   returns false;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.image_pull("team/app", "v1", "/tmp/app-layout", Default::default())?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_pull(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        layout_dir: impl AsRef<Path>,
        mut options: ImageOptions<'_>,
    ) -> Result<Digest> {
        options.keeping_layers("image_pull")?;
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        let name = reference.to_string();
        let layout_dir = layout_dir.as_ref();
        let parallel = self.parallel();
        let what = "pulling an image";
        let served = Served::default();
        let result = self.run(|| {
            let read_manifest = |reference: &ManifestRef| {
                let (m, host) =
                    self.v2_read_from(what, |r| v2::get_manifest(r, &repo, reference))?;
                served.add(&m.digest, host);
                Ok(m)
            };
            // The root first: a v1 registry (UNSUPPORTED) leaves no directory behind.
            let root = read_manifest(&reference)?;
            let layout = Layout::create(layout_dir)?;
            let tree = options.walk(root, |d, _| read_manifest(&ManifestRef::Digest(d.clone())))?;
            let progress = &mut options.progress;
            let mut pull_tree = |tree: &Tree| {
                transfer::run(parallel, tree.jobs()?, progress, |job, rep| {
                    if let Some(host) = download(self, &repo, &layout, job, rep)? {
                        served.add(&job.digest, &host);
                    }
                    Ok(())
                })?;
                // A manifest is done once it is in the layout, after its blobs.
                for node in &tree.manifests {
                    let m = &node.manifest;
                    report_manifest(progress, m, || layout.put_blob(&m.digest, &m.body))?;
                }
                Ok(())
            };
            pull_tree(&tree)?;
            let referrers = match options.referrers {
                true => self.carry_referrers(&repo, &tree, &read_manifest, |r, _| pull_tree(r))?,
                false => vec![],
            };
            layout.name(&name, entry_for(tree.root()))?;
            layout.list_referrers(&referrers)?;
            Ok(tree.root().manifest.digest.clone())
        });
        served.report(&mut options.served_by);
        result
    }

    /// Pushes the image named `layout_ref` in the OCI layout at `layout_dir`
    /// (`None`: the layout's only image) to `repo:tag`, and returns the digest
    /// of its manifest or index. The layout is untrusted input: a file that
    /// is a link or no regular file is INVALID_ARGUMENT. Blobs the registry
    /// has are skipped (HEAD);
    /// the others stream from their files in parallel, each in one PUT that
    /// the registry checks against its digest; manifests go last, byte for
    /// byte, children (by digest) before their index (under `tag`). A
    /// cancelled push cancels its open upload sessions. C: `registry_image_push`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the layout has no image
    ///   named `layout_ref` (or none at all), or lacks a blob;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `tag`, a layout that holds several images and no
    ///   `layout_ref`, or an unsafe file in it;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when a blob in
    ///   the layout does not hash to its digest;
    /// - [`ErrorKind::Io`](crate::ErrorKind::Io) when the layout cannot be read;
    ///   [`ErrorKind::Aborted`](crate::ErrorKind::Aborted) when the progress callback
    ///   returns false;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.image_push("/tmp/app-layout", None, "team/app", "v1", Default::default())?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_push(
        &self,
        layout_dir: impl AsRef<Path>,
        layout_ref: Option<&str>,
        repo: &str,
        tag: &str,
        mut options: ImageOptions<'_>,
    ) -> Result<Digest> {
        options.keeping_layers("image_push")?;
        let repo = self.repo(repo)?;
        validate_tag(tag)?;
        let layout = Layout::open(layout_dir.as_ref())?;
        let parallel = self.parallel();
        self.v2_only("pushing an image", |r| {
            let entry = layout.find(layout_ref)?;
            let pushed = push_images(r, &repo, &layout, &[(entry, tag)], parallel, &mut options)?;
            Ok(pushed.into_iter().next().expect("one image pushed"))
        })
    }

    /// Pushes every image named in the OCI layout at `layout_dir` to `repo`,
    /// each under its name (its entry's `org.opencontainers.image.ref.name`
    /// in `index.json`) as the tag, as one transfer (imgpkg's `MultiWrite`):
    /// one parallel budget for the blobs of all the images, a blob that
    /// several images share moved once, one progress stream; then each
    /// image's manifests, children before their index, image after image in
    /// `index.json`'s order. Returns `(tag, digest)` for each image, in that
    /// order. Blobs the registry has are skipped (HEAD).
    ///
    /// Every entry must be named, and its name must be a valid tag, unique in
    /// the layout; a layout that breaks this is INVALID_ARGUMENT before
    /// anything is sent, naming the entry. An unnamed entry is refused, not
    /// skipped: a push of "every image" that silently leaves one behind would
    /// be a surprise found too late, and an image pushed by digest alone is
    /// one the registry's garbage collector may take. (A pull by digest names
    /// its image by the digest, `sha256:…`, which is no tag either: push such
    /// an image with [`image_push`](Self::image_push) and a tag.) The layout
    /// is untrusted input as for [`image_push`](Self::image_push).
    /// C: `registry_image_push_all`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the layout holds no
    ///   image, or lacks a blob;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`, an entry without a name, a name that is no valid tag or
    ///   that two entries share, or an unsafe file in the layout;
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) when the images together
    ///   exceed the bounds of one image tree;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when a blob in
    ///   the layout does not hash to its digest;
    /// - [`ErrorKind::Io`](crate::ErrorKind::Io) when the layout cannot be read;
    ///   [`ErrorKind::Aborted`](crate::ErrorKind::Aborted) when the progress callback
    ///   returns false;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// for (tag, digest) in client.image_push_all("/tmp/bundle", "team/app", Default::default())? {
    ///     println!("{tag} {digest}");
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_push_all(
        &self,
        layout_dir: impl AsRef<Path>,
        repo: &str,
        mut options: ImageOptions<'_>,
    ) -> Result<Vec<(String, Digest)>> {
        options.keeping_layers("image_push_all")?;
        let repo = self.repo(repo)?;
        let layout = Layout::open(layout_dir.as_ref())?;
        let parallel = self.parallel();
        self.v2_only("pushing images", |r| {
            let images = named_images(&layout, layout_dir.as_ref())?;
            let tagged: Vec<(Descriptor, &str)> = images
                .iter()
                .map(|(t, d)| (d.clone(), t.as_str()))
                .collect();
            let digests = push_images(r, &repo, &layout, &tagged, parallel, &mut options)?;
            Ok(images.into_iter().map(|(t, _)| t).zip(digests).collect())
        })
    }

    /// Copies `src_repo:src_reference` from this client's registry to
    /// `dst_repo:dst_tag` on `dst` (which may be this client), and returns
    /// the digest of the manifest or index copied. `dst_tag` `None` keeps the
    /// tag, or copies by digest only when `src_reference` is a digest. On one
    /// registry, blobs are mounted across repositories, never moved; between
    /// registries their bytes stream from the GET to the upload without
    /// touching the disk, verified on the way (the upload is refused unless
    /// they hash to their digest). Manifests are copied byte for byte. C: `registry_image_copy`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) when either registry
    ///   speaks v1;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `src_reference` names
    ///   no manifest;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when a blob or
    ///   manifest does not hash to its digest;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed repository, reference or tag;
    /// - [`ErrorKind::Aborted`](crate::ErrorKind::Aborted) when the progress callback
    ///   returns false;
    /// - and those of every call (see [`Client`](crate::Client#errors)), on either
    ///   registry.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let mirror = registry::Client::builder("mirror.example:5000").build()?;
    /// client.image_copy("team/app", "v1", &mirror, "team/app", None, Default::default())?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_copy(
        &self,
        src_repo: &str,
        src_reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        dst: &Client,
        dst_repo: &str,
        dst_tag: Option<&str>,
        mut options: ImageOptions<'_>,
    ) -> Result<Digest> {
        options.keeping_layers("image_copy")?;
        let src_repo = self.repo(src_repo)?;
        let reference = typed(src_reference)?;
        let dst_repo = dst.repo(dst_repo)?;
        let tag = match (dst_tag, &reference) {
            (Some(t), _) => {
                validate_tag(t)?;
                Some(t.to_string())
            }
            (None, ManifestRef::Tag(t)) => Some(t.clone()),
            (None, ManifestRef::Digest(_)) => None,
        };
        let parallel = self.parallel();
        let what = "copying an image";
        let same_registry = self.registry_host() == dst.registry_host();
        let served = Served::default();
        let result = dst.v2_only(what, |to| {
            let read_manifest = |reference: &ManifestRef| {
                let (m, host) =
                    self.v2_read_from(what, |src| v2::get_manifest(src, &src_repo, reference))?;
                served.add(&m.digest, host);
                Ok(m)
            };
            let root = read_manifest(&reference)?;
            let tree = options.walk(root, |d, _| read_manifest(&ManifestRef::Digest(d.clone())))?;
            let progress = &mut options.progress;
            let move_blobs = |tree: &Tree, progress: &mut Option<&mut Progress<'_>>| {
                transfer::run(parallel, tree.jobs()?, progress, |job, rep| {
                    self.copy_blob(&src_repo, to, &dst_repo, same_registry, job, rep, &served)
                })
            };
            move_blobs(&tree, progress)?;
            let digest = put_manifests(to, &dst_repo, &tree, tag.as_deref(), progress)?;
            if options.referrers {
                self.carry_referrers(&src_repo, &tree, &read_manifest, |r, listed| {
                    move_blobs(r, progress)?;
                    put_referrer(to, &dst_repo, r, listed, progress)
                })?;
            }
            Ok(digest)
        });
        served.report(&mut options.served_by);
        result
    }

    /// The config JSON of the image `reference` names (for an index, its
    /// `platform` entry; `None`: linux/amd64), read from its blob and checked
    /// against its digest. v2 only. C: `registry_image_config`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `reference` names no
    ///   manifest, or an index has no entry for the platform;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when the config
    ///   does not hash to its digest; [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge)
    ///   for a config over its cap;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `reference`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let config = client.image_config("team/app", "v1", None)?;
    /// println!("{}", String::from_utf8_lossy(&config));
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_config(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
        platform: Option<&Platform>,
    ) -> Result<Vec<u8>> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        let platform = platform.cloned().unwrap_or_default();
        self.v2_read("an image config", |r| {
            let digest = v2::image_config_digest(r, &repo, &reference, &platform)?;
            let mut reader = v2::open_blob(r, &repo, &digest, None)?;
            let mut body = Vec::new();
            (&mut reader)
                .take(CONFIG_CAP + 1)
                .read_to_end(&mut body)
                .map_err(Error::from)?;
            if body.len() as u64 > CONFIG_CAP {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!("the config {digest} is larger than {CONFIG_CAP} bytes"),
                ));
            }
            // The digest is checked when the reader reaches its end.
            let mut rest = [0u8; 1];
            reader.read(&mut rest).map_err(Error::from)?;
            Ok(body)
        })
    }
}

impl Client {
    /// Copies one blob from `src_repo` here to `dst_repo` on `to`: nothing
    /// when it is there (HEAD), a mount on one registry, else its bytes
    /// streamed from the GET (mirrors first) to the upload, verified on the
    /// way; `served` hears who served it.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn copy_blob(
        &self,
        src_repo: &str,
        to: &Remote<'_>,
        dst_repo: &str,
        same_registry: bool,
        job: &Job,
        rep: &Reporter<'_>,
        served: &Served,
    ) -> Result<()> {
        let d = &job.digest;
        if v2::blob_exists(to, dst_repo, d)? {
            return rep.moved(job.size);
        }
        if same_registry && v2::mount_blob(to, dst_repo, d, src_repo)? {
            return rep.moved(job.size);
        }
        // Bytes from a source that fail their digest are refused by the
        // upload; the next source is asked.
        let ((), host) = self.v2_read_from("copying an image", |src| {
            let reader = v2::open_blob(src, src_repo, d, Some(job.size))?;
            let mut body = Counting {
                inner: reader,
                done: 0,
                reporter: rep,
            };
            // The reader checks the digest; no second hash on the way out.
            v2::upload_blob(to, dst_repo, &mut body, d, Some(job.size), true).map(|_| ())
        })?;
        served.add(d, host);
        Ok(())
    }
}

/// At most this many referrers are carried with one image, all depths.
const MAX_REFERRERS: usize = 10_000;

impl Client {
    /// Every referrer of the manifests of `tree` in `repo`, and theirs in
    /// turn (breadth first, each once): each one's tree, read with
    /// `read_manifest`, handed to `carry` with the descriptor it was listed
    /// by, after its subject's. Returns those descriptors.
    pub(crate) fn carry_referrers(
        &self,
        repo: &str,
        tree: &Tree,
        read_manifest: &dyn Fn(&ManifestRef) -> Result<Manifest>,
        mut carry: impl FnMut(&Tree, &Descriptor) -> Result<()>,
    ) -> Result<Vec<Descriptor>> {
        let mut queue: std::collections::VecDeque<Digest> = tree
            .manifests
            .iter()
            .map(|n| n.manifest.digest.clone())
            .collect();
        let mut seen: HashSet<Digest> = queue.iter().cloned().collect();
        let mut carried = vec![];
        while let Some(subject) = queue.pop_front() {
            let listed = self.v2_read("listing referrers", |r| {
                v2::referrers(r, repo, &subject, None)
            })?;
            for d in listed {
                if !seen.insert(d.digest.clone()) {
                    continue;
                }
                if carried.len() >= MAX_REFERRERS {
                    return Err(Error::new(
                        ErrorKind::TooLarge,
                        format!("{repo}: more than {MAX_REFERRERS} referrers to carry"),
                    ));
                }
                let root = read_manifest(&ManifestRef::Digest(d.digest.clone()))?;
                let referrer = Tree::walk(root, None, |c, _| {
                    read_manifest(&ManifestRef::Digest(c.clone()))
                })?;
                carry(&referrer, &d)?;
                for n in &referrer.manifests {
                    seen.insert(n.manifest.digest.clone());
                    queue.push_back(n.manifest.digest.clone());
                }
                carried.push(d);
            }
        }
        Ok(carried)
    }
}

/// Stores a referrer's tree (its blobs already there) by digest; where the
/// registry does not index the subject itself, the referrer goes into the
/// subject's fallback index too, as `listed` describes it.
pub(crate) fn put_referrer(
    remote: &Remote<'_>,
    repo: &str,
    tree: &Tree,
    listed: &Descriptor,
    progress: &mut Option<&mut Progress<'_>>,
) -> Result<()> {
    let (children, root) = tree.manifests.split_at(tree.manifests.len() - 1);
    for node in children {
        let m = &node.manifest;
        report_manifest(progress, m, || {
            let at = ManifestRef::Digest(m.digest.clone());
            v2::put_manifest(remote, repo, &at, &m.media_type, &m.body).map(|_| ())
        })?;
    }
    let m = &root[0].manifest;
    report_manifest(progress, m, || {
        let at = ManifestRef::Digest(m.digest.clone());
        let (_, indexed) = v2::put_manifest_answer(remote, repo, &at, &m.media_type, &m.body)?;
        match (indexed, oci::subject_of(&m.body)) {
            (false, Some(subject)) => v2::add_to_fallback(remote, repo, &subject, listed),
            _ => Ok(()),
        }
    })
}

/// The images of a layout for `image_push_all`: every entry of `index.json`
/// with its name, which must be a tag, unique; at least one entry.
fn named_images(layout: &Layout, dir: &Path) -> Result<Vec<(String, Descriptor)>> {
    let entries = layout.images()?;
    if entries.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            format!("{} holds no image", dir.display()),
        ));
    }
    let mut names = HashSet::new();
    entries
        .into_iter()
        .enumerate()
        .map(|(i, (name, d))| {
            let what = format!("{}/index.json: entry {i} ({})", dir.display(), d.digest);
            let name = name.ok_or_else(|| {
                Error::invalid(format!(
                    "{what} has no name (org.opencontainers.image.ref.name): name it, \
                     or push it alone with a tag"
                ))
            })?;
            validate_tag(&name)
                .map_err(|e| Error::invalid(format!("{what}: its name {name:?} is no tag: {e}")))?;
            if !names.insert(name.clone()) {
                return Err(Error::invalid(format!(
                    "{what}: the name {name:?} names an earlier entry too"
                )));
            }
            Ok((name, d))
        })
        .collect()
}

/// Pushes images of `layout` to `repo`, each root descriptor under its tag,
/// as one transfer: the blobs of all of them (each once) in parallel, then
/// each image's manifests in turn. Returns the digests pushed, in order.
fn push_images(
    r: &Remote<'_>,
    repo: &str,
    layout: &Layout,
    images: &[(Descriptor, &str)],
    parallel: usize,
    options: &mut ImageOptions<'_>,
) -> Result<Vec<Digest>> {
    let read = |d: &Digest, media_type: &str| -> Result<Manifest> {
        let body = layout.read_blob(d, v2::MANIFEST_CAP)?;
        let doc = ManifestDoc::parse(&body, &format!("manifest {d}"))?;
        Ok(Manifest {
            media_type: doc.media_type_or(media_type),
            digest: d.clone(),
            body,
        })
    };
    let mut trees = Vec::with_capacity(images.len());
    let mut jobs = Vec::new();
    let (mut seen, mut bytes) = (HashSet::new(), 0u64);
    for (entry, _) in images {
        let root = read(&entry.digest, &entry.media_type)?;
        let tree = Tree::walk(root, options.platform.as_ref(), read)?;
        // The bounds of one tree hold for the whole batch.
        bytes += tree.bytes;
        if bytes > MAX_MANIFEST_BYTES {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!(
                    "the images' manifests add up to more than {} MiB",
                    MAX_MANIFEST_BYTES >> 20
                ),
            ));
        }
        for job in tree.jobs()? {
            if seen.insert(job.digest.clone()) {
                jobs.push(job);
            }
        }
        if jobs.len() > MAX_BLOBS {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("the images name more than {MAX_BLOBS} blobs"),
            ));
        }
        trees.push(tree);
    }
    transfer::run(parallel, jobs, &mut options.progress, |job, rep| {
        if v2::blob_exists(r, repo, &job.digest)? {
            return rep.moved(job.size);
        }
        let (file, len) = layout.open_blob(&job.digest)?;
        let mut body = Counting {
            inner: file.take(job.size.max(len)),
            done: 0,
            reporter: rep,
        };
        v2::upload_blob(r, repo, &mut body, &job.digest, Some(job.size), false).map(|_| ())
    })?;
    // A manifest two images share (a child, or one image's root another's
    // child) is stored once, by the first; each root goes under its tag.
    let mut stored = HashSet::new();
    let mut digests = Vec::with_capacity(trees.len());
    for (tree, (_, tag)) in trees.into_iter().zip(images) {
        let root = tree.manifests.len() - 1;
        let manifests = tree
            .manifests
            .into_iter()
            .enumerate()
            .filter(|(i, n)| stored.insert(n.manifest.digest.clone()) || *i == root)
            .map(|(_, n)| n)
            .collect();
        let tree = Tree {
            manifests,
            blobs: vec![],
            bytes: tree.bytes,
        };
        digests.push(put_manifests(
            r,
            repo,
            &tree,
            Some(tag),
            &mut options.progress,
        )?);
    }
    Ok(digests)
}

/// Stores the tree's manifests, children by digest first, the root under
/// `tag` (or by digest), reporting each; returns the root's digest.
pub(crate) fn put_manifests(
    remote: &Remote<'_>,
    repo: &str,
    tree: &Tree,
    tag: Option<&str>,
    progress: &mut Option<&mut Progress<'_>>,
) -> Result<Digest> {
    let count = tree.manifests.len();
    for (i, node) in tree.manifests.iter().enumerate() {
        let m = &node.manifest;
        let reference = match tag {
            Some(t) if i + 1 == count => ManifestRef::Tag(t.to_string()),
            _ => ManifestRef::Digest(m.digest.clone()),
        };
        report_manifest(progress, m, || {
            v2::put_manifest(remote, repo, &reference, &m.media_type, &m.body).map(|_| ())
        })?;
    }
    Ok(tree.root().manifest.digest.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Algorithm;

    fn manifest(body: String) -> Manifest {
        Manifest {
            media_type: crate::oci::OCI_MANIFEST.into(),
            digest: Hasher::digest(Algorithm::Sha256, body.as_bytes()),
            body: body.into_bytes(),
        }
    }

    fn descriptor(seed: &str, size: usize) -> String {
        let digest = Hasher::digest(Algorithm::Sha256, seed.as_bytes());
        format!(r#"{{"mediaType":"application/octet-stream","digest":"{digest}","size":{size}}}"#)
    }

    /// An index of `children` manifests, each made by `child(i)`; the tree
    /// walked from it.
    fn walk(children: usize, child: impl Fn(usize) -> String) -> Result<Tree> {
        let entries: Vec<String> = (0..children)
            .map(|i| descriptor(&format!("child {i}"), 1))
            .collect();
        let index = manifest(format!(
            r#"{{"schemaVersion":2,"manifests":[{}]}}"#,
            entries.join(",")
        ));
        let mut next = 0;
        Tree::walk(index, None, |_, _| {
            next += 1;
            Ok(manifest(child(next)))
        })
    }

    #[test]
    fn a_child_manifest_also_listed_as_a_blob_is_still_walked() {
        // M2: an arm64 image; M1 lists M2's bytes as one of its layers.
        let m2 = manifest(format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[{}]}}"#,
            descriptor("m2 config", 2),
            descriptor("m2 layer", 3)
        ));
        let m2_entry = format!(
            r#"{{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"{}","size":{}}}"#,
            m2.digest,
            m2.body.len()
        );
        let m1 = manifest(format!(
            r#"{{"schemaVersion":2,"config":{},"layers":[{m2_entry}]}}"#,
            descriptor("m1 config", 2)
        ));
        let m1_entry = m2_entry
            .replace(&m2.digest.to_string(), &m1.digest.to_string())
            .replace(
                &format!("\"size\":{}", m2.body.len()),
                &format!("\"size\":{}", m1.body.len()),
            );
        let index = manifest(format!(
            r#"{{"schemaVersion":2,"manifests":[{m1_entry},{m2_entry}]}}"#
        ));
        let (d1, d2) = (m1.digest.clone(), m2.digest.clone());
        let tree = Tree::walk(index, None, |d, _| {
            Ok(if *d == d1 { m1.clone() } else { m2.clone() })
        })
        .unwrap();
        let walked: Vec<&Digest> = tree.manifests.iter().map(|n| &n.manifest.digest).collect();
        assert!(walked.contains(&&d2), "M2 is walked: {walked:?}");
        assert_eq!(tree.manifests.len(), 3, "M1, M2 and the index");
        let blobs: Vec<String> = tree.blobs.iter().map(|b| b.digest.to_string()).collect();
        for seed in ["m1 config", "m2 config", "m2 layer"] {
            let d = Hasher::digest(Algorithm::Sha256, seed.as_bytes()).to_string();
            assert!(blobs.contains(&d), "{seed} is moved: {blobs:?}");
        }
        assert!(blobs.contains(&d2.to_string()), "M2's bytes as M1's layer");
    }

    #[test]
    fn an_image_tree_is_bounded_in_bytes_and_blobs_whatever_its_manifests_say() {
        // Twenty manifests of 4 MiB each (each under the per-manifest cap).
        let padding = "x".repeat(4 << 20);
        let e = walk(20, |i| {
            format!(
                r#"{{"schemaVersion":2,"config":{},"layers":[],"annotations":{{"p":"{padding}"}}}}"#,
                descriptor(&format!("config {i}"), 2)
            )
        })
        .err()
        .expect("refused");
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        // Eleven manifests of 10,000 layers each, all different.
        let e = walk(11, |i| {
            let layers: Vec<String> = (0..10_000)
                .map(|l| descriptor(&format!("layer {i} {l}"), 3))
                .collect();
            format!(
                r#"{{"schemaVersion":2,"config":{},"layers":[{}]}}"#,
                descriptor(&format!("config {i}"), 2),
                layers.join(",")
            )
        })
        .err()
        .expect("refused");
        assert_eq!(e.kind(), ErrorKind::TooLarge, "{e}");
        assert!(e.message().contains("blobs"), "{e}");
        // A tree within the bounds is walked.
        let tree = walk(3, |i| {
            format!(
                r#"{{"schemaVersion":2,"config":{},"layers":[{}]}}"#,
                descriptor(&format!("config {i}"), 2),
                descriptor("a shared layer", 3)
            )
        })
        .unwrap();
        assert_eq!((tree.manifests.len(), tree.blobs.len()), (4, 4));
    }
}
