//! Pushing an image from an archive file: a docker-archive (`docker save`'s
//! tarball, skopeo's `docker-archive:`) or an oci-archive (a tar of an OCI
//! layout), told apart by what the archive holds.
//!
//! The archive is untrusted input, read in place: its headers are indexed
//! first (a name that is absolute or climbs, two entries of one name, a size
//! past the end of the file: refused whole), then each blob is streamed from
//! its offset into its upload, hashed on the way (the registry never commits
//! bytes that do not match). Only regular-file entries are read: a manifest
//! that names a link, a directory or a device is refused. An entry whose size
//! is not what its descriptor says is refused before anything is sent.
//! Memory holds the index, the manifests and the config, never a layer.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs::File;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::json;

use super::*;
use crate::files::{self, Mode};
use crate::gzip::{self, Compression};
use crate::layer::Hashing;
use crate::oci::{OCI_CONFIG, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST};
use crate::reference::Algorithm;
use crate::tar::{Entry, Section, TarIndex};

/// The media type of an OCI zstd layer.
const OCI_LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// The annotation an OCI layout names its images by.
const REF_NAME: &str = "org.opencontainers.image.ref.name";

/// One image of `manifest.json`.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DockerEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    layers: Vec<String>,
}

/// An image found in an archive: its tree, and where each blob is.
struct Found {
    tree: Tree,
    blobs: HashMap<Digest, Blob>,
}

/// Where a blob's bytes are: an entry of the archive or, for a layer
/// compressed on the way, all of its spool file (see [`spool_file`]).
struct Blob {
    entry: Entry,
    spool: Option<Arc<File>>,
}

impl Blob {
    fn stored(entry: Entry) -> Blob {
        Blob { entry, spool: None }
    }
}

/// What reading a layer found: its digest and first bytes (for the
/// compression's magic number), and when it was compressed on the way the
/// digest and size of its gzip stream and the spool file that holds it.
struct Hashed {
    digest: Digest,
    head: Vec<u8>,
    gzip: Option<(Digest, u64, Arc<File>)>,
}

/// The archive being read.
struct Reading<'a> {
    file: &'a File,
    /// Where spool files go first: the archive's directory.
    spool_dir: &'a Path,
    index: TarIndex,
    what: String,
}

impl Reading<'_> {
    /// The regular file `name`, whose size must be `size`.
    fn blob_entry(&self, name: &str, size: u64, digest: &Digest) -> Result<Entry> {
        let e = self.index.file(name)?;
        if e.size != size {
            return Err(Error::invalid(format!(
                "{}: {name:?} holds {} bytes, but the manifest says {digest} has {size}",
                self.what, e.size
            )));
        }
        Ok(e)
    }

    /// The archive's only image of `images`: NOT_FOUND when it holds none;
    /// INVALID_ARGUMENT naming them all (`names`) and saying `how` to pick
    /// one when it holds several.
    fn only<'i, T>(
        &self,
        images: &'i [T],
        names: impl FnOnce(&[T]) -> Vec<String>,
        how: &str,
    ) -> Result<&'i T> {
        match images {
            [one] => Ok(one),
            [] => Err(Error::new(
                ErrorKind::NotFound,
                format!("{} holds no image", self.what),
            )),
            many => Err(Error::invalid(format!(
                "{} holds {} images ({}): {how}",
                self.what,
                many.len(),
                names(many).join(", ")
            ))),
        }
    }

    /// The bytes of `e`.
    fn section(&self, e: &Entry) -> Section<'_> {
        section(self.file, e)
    }

    /// Hashes the bytes of `e` (SHA-256); with `gzip` (which `rep` hears
    /// of, as they are read), and when they are not compressed already,
    /// compresses them into a spool file, hashing the gzip stream too.
    fn hash(&self, e: &Entry, gzip: Option<&Reporter<'_>>) -> Result<Hashed> {
        // A cancel (ABORTED, from the reporter) comes through as it is.
        let io = |err: std::io::Error| match err.get_ref().is_some_and(|i| i.is::<Error>()) {
            true => Error::from(err),
            false => Error::new(ErrorKind::Io, format!("{}: {err}", self.what)),
        };
        let (_, _, head) = drain(&mut self.section(e).take(8), None).map_err(io)?;
        let Some(rep) = gzip.filter(|_| compressed(&head).is_none()) else {
            let (digest, _, head) = drain(&mut self.section(e), None).map_err(io)?;
            return Ok(Hashed {
                digest,
                head,
                gzip: None,
            });
        };
        let spool = spool_file(self.spool_dir).map_err(|err| {
            Error::new(
                ErrorKind::Io,
                format!("cannot make a file to compress a layer into: {err}"),
            )
        })?;
        let mut section = Counting {
            inner: self.section(e),
            done: 0,
            reporter: rep,
        };
        let mut raw = Hashing::new(&mut section, Hasher::new(Algorithm::Sha256));
        let mut out = std::io::BufWriter::with_capacity(CHUNK, &spool);
        let (gz_digest, gz_size, _) =
            drain(&mut gzip::encoder(&mut raw), Some(&mut out)).map_err(io)?;
        out.flush().map_err(io)?;
        drop(out);
        Ok(Hashed {
            digest: raw.digest(),
            head,
            gzip: Some((gz_digest, gz_size, Arc::new(spool))),
        })
    }

    /// [`hash`](Self::hash) of each entry, `parallel` at a time; in order.
    fn hash_all(&self, entries: &[Entry], parallel: usize) -> Result<Vec<Hashed>> {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let next = AtomicUsize::new(0);
        let results: Vec<std::sync::Mutex<Option<Result<Hashed>>>> =
            entries.iter().map(|_| Default::default()).collect();
        std::thread::scope(|scope| {
            for _ in 0..parallel.clamp(1, entries.len().max(1)) {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(e) = entries.get(i) else { return };
                    *crate::sync::lock(&results[i]) = Some(self.hash(e, None));
                });
            }
        });
        results
            .into_iter()
            .map(|r| {
                r.into_inner()
                    .unwrap_or_else(|e| e.into_inner())
                    .expect("every entry hashed")
            })
            .collect()
    }

    /// [`hash`](Self::hash) of each entry with gzip, as the jobs of one
    /// transfer (`parallel` at a time, each reported under its diff id
    /// from `diff_ids` as its bytes are read, and cancelled as any transfer
    /// is); in order. A layer listed twice is read once.
    fn compress_all(
        &self,
        entries: &[Entry],
        diff_ids: &[String],
        parallel: usize,
        progress: &mut Option<&mut Progress<'_>>,
    ) -> Result<Vec<Hashed>> {
        let names = (0..entries.len())
            .map(|i| {
                diff_ids
                    .get(i)
                    .and_then(|d| Digest::parse(d).ok())
                    .ok_or_else(|| {
                        Error::invalid(format!(
                            "{}: the config names no diff id for layer {i}, which compressing \
                             needs",
                            self.what
                        ))
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        let mut jobs: Vec<Job> = vec![];
        for (name, e) in names.iter().zip(entries) {
            if !jobs.iter().any(|j| j.digest == *name) {
                jobs.push(Job {
                    digest: name.clone(),
                    size: e.size,
                });
            }
        }
        let done: std::sync::Mutex<HashMap<Digest, Hashed>> = Default::default();
        transfer::run(parallel, jobs, progress, |job, rep| {
            let i = names
                .iter()
                .position(|n| *n == job.digest)
                .expect("a job per name");
            let hashed = self.hash(&entries[i], Some(rep))?;
            crate::sync::lock(&done).insert(job.digest.clone(), hashed);
            rep.moved(job.size)
        })?;
        let done = done.into_inner().unwrap_or_else(|e| e.into_inner());
        Ok(names
            .iter()
            .map(|n| {
                let h = &done[n];
                Hashed {
                    digest: h.digest.clone(),
                    head: h.head.clone(),
                    gzip: h.gzip.clone(),
                }
            })
            .collect())
    }

    /// The image an oci-archive names `name` (or its only image).
    fn oci(&self, name: Option<&str>, platform: Option<&Platform>) -> Result<Found> {
        let body = self.index.read(self.file, "index.json", v2::MANIFEST_CAP)?;
        let doc: Value = serde_json::from_slice(&body)
            .map_err(|e| Error::invalid(format!("{}: index.json: {e}", self.what)))?;
        let entries: Vec<Descriptor> = serde_json::from_value(doc["manifests"].clone())
            .map_err(|e| Error::invalid(format!("{}: index.json: {e}", self.what)))?;
        let named = |d: &Descriptor| {
            d.annotations
                .as_ref()
                .and_then(|a| a.get(REF_NAME))
                .cloned()
        };
        // Referrers a pull listed (an artifactType and no name) are no image.
        let images: Vec<&Descriptor> = entries
            .iter()
            .filter(|d| d.artifact_type.is_none() || named(d).is_some())
            .collect();
        let root = match name {
            Some(n) => images
                .iter()
                .find(|d| {
                    named(d).as_deref() == Some(n)
                        || Digest::parse(n).ok().as_ref() == Some(&d.digest)
                })
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("{}: no image named {n:?}", self.what),
                    )
                })?,
            None => self.only(
                &images,
                |many| {
                    many.iter()
                        .map(|d| named(d).unwrap_or_else(|| d.digest.to_string()))
                        .collect()
                },
                "name one",
            )?,
        };
        let read = |d: &Digest, media_type: &str| -> Result<Manifest> {
            let body = self.index.read(self.file, &oci_path(d), v2::MANIFEST_CAP)?;
            if Hasher::digest(d.algorithm(), &body) != *d {
                return Err(Error::new(
                    ErrorKind::DigestMismatch,
                    format!("{}: the manifest {d} does not hash to its name", self.what),
                ));
            }
            let doc = ManifestDoc::parse(&body, &format!("manifest {d}"))?;
            Ok(Manifest {
                media_type: doc.media_type_or(media_type),
                digest: d.clone(),
                body,
            })
        };
        let root = read(&root.digest, &root.media_type)?;
        let tree = Tree::walk(root, platform, read)?;
        let mut blobs = HashMap::new();
        for b in &tree.blobs {
            blobs.insert(
                b.digest.clone(),
                Blob::stored(self.blob_entry(&oci_path(&b.digest), b.size, &b.digest)?),
            );
        }
        Ok(Found { tree, blobs })
    }

    /// The image a docker-archive names `name` (a RepoTag, or `@N`; none:
    /// its only image), with an OCI manifest made for its files as stored,
    /// or with its uncompressed layers gzip-compressed when `gzip` (which
    /// hears of the compression).
    fn docker(
        &self,
        name: Option<&str>,
        parallel: usize,
        gzip: Option<&mut Option<&mut Progress<'_>>>,
    ) -> Result<Found> {
        let body = self.index.read(self.file, "manifest.json", CONFIG_CAP)?;
        let entries: Vec<DockerEntry> = serde_json::from_slice(&body)
            .map_err(|e| Error::invalid(format!("{}: manifest.json: {e}", self.what)))?;
        let tags = |e: &DockerEntry| e.repo_tags.clone().unwrap_or_default();
        let entry = match name {
            Some(n) => {
                let at = n.strip_prefix('@').and_then(|i| i.parse::<usize>().ok());
                let found = match at {
                    Some(i) => entries.get(i),
                    None => entries.iter().find(|e| {
                        tags(e)
                            .iter()
                            .any(|t| t == n || t.strip_suffix(n).is_some_and(|p| p.ends_with('/')))
                    }),
                };
                found.ok_or_else(|| {
                    Error::new(
                        ErrorKind::NotFound,
                        format!("{}: no image tagged {n:?}", self.what),
                    )
                })?
            }
            None => self.only(
                &entries,
                |many| many.iter().flat_map(tags).collect(),
                "name one by its tag or @N",
            )?,
        };
        let config = self.index.read(self.file, &entry.config, CONFIG_CAP)?;
        let config_digest = Hasher::digest(Algorithm::Sha256, &config);
        let config_doc: Value = serde_json::from_slice(&config).map_err(|e| {
            Error::invalid(format!("{}: the config {}: {e}", self.what, entry.config))
        })?;
        let diff_ids: Vec<String> = config_doc["rootfs"]["diff_ids"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        let mut blobs = HashMap::new();
        blobs.insert(
            config_digest.clone(),
            Blob::stored(self.index.file(&entry.config)?),
        );
        let mut layers = vec![];
        let mut descriptors = vec![];
        let files = entry
            .layers
            .iter()
            .map(|path| self.index.file(path))
            .collect::<Result<Vec<_>>>()?;
        let hashed = match gzip {
            Some(progress) => self.compress_all(&files, &diff_ids, parallel, progress)?,
            None => self.hash_all(&files, parallel)?,
        };
        for (i, ((path, e), hashed)) in entry.layers.iter().zip(files).zip(hashed).enumerate() {
            let Hashed { digest, head, gzip } = hashed;
            let media_type = compressed(&head).unwrap_or(OCI_LAYER_TAR);
            // An uncompressed layer is its own diff id: the config must say so.
            if media_type == OCI_LAYER_TAR {
                if let Some(id) = diff_ids.get(i) {
                    if Digest::parse(id).ok().as_ref() != Some(&digest) {
                        return Err(Error::new(
                            ErrorKind::DigestMismatch,
                            format!(
                                "{}: the layer {path:?} hashes to {digest}, but the config \
                                 says its layer {i} is {id}",
                                self.what
                            ),
                        ));
                    }
                }
            }
            let (media_type, digest, size, blob) = match gzip {
                Some((gz, size, spool)) => {
                    let entry = Entry {
                        offset: 0,
                        size,
                        ..e
                    };
                    let spool = Some(spool);
                    (OCI_LAYER_GZIP, gz, size, Blob { entry, spool })
                }
                None => (media_type, digest, e.size, Blob::stored(e)),
            };
            layers.push(
                json!({ "mediaType": media_type, "digest": digest.to_string(), "size": size }),
            );
            descriptors.push(Descriptor::new(media_type, digest.clone(), size));
            blobs.insert(digest, blob);
        }
        if !diff_ids.is_empty() && diff_ids.len() != layers.len() {
            return Err(Error::invalid(format!(
                "{}: manifest.json lists {} layers, the config {}",
                self.what,
                layers.len(),
                diff_ids.len()
            )));
        }
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": { "mediaType": OCI_CONFIG, "digest": config_digest.to_string(), "size": config.len() },
            "layers": layers,
        }))
        .map_err(|e| Error::protocol(e.to_string()))?;
        let manifest = Manifest {
            media_type: OCI_MANIFEST.into(),
            digest: Hasher::digest(Algorithm::Sha256, &body),
            body,
        };
        let mut all = vec![Descriptor::new(
            OCI_CONFIG,
            config_digest,
            config.len() as u64,
        )];
        let mut seen = HashSet::new();
        all.extend(
            descriptors
                .into_iter()
                .filter(|d| seen.insert(d.digest.clone())),
        );
        let tree = Tree {
            bytes: manifest.body.len() as u64,
            manifests: vec![Node {
                manifest,
                platform: None,
            }],
            blobs: all,
        };
        Ok(Found { tree, blobs })
    }
}

/// The bytes of the entry `e` of `file`.
fn section<'f>(file: &'f File, e: &Entry) -> Section<'f> {
    Section {
        file,
        pos: e.offset,
        end: e.offset + e.size,
    }
}

/// The image of the archive at `path` that `archive_ref` names (see
/// [`Client::image_push_archive`]), and the archive, opened: all a push does
/// before it sends anything (the archive indexed, its manifests and config
/// read and checked, its layers hashed, and compressed when `options` ask).
fn find_image(
    path: &Path,
    archive_ref: Option<&str>,
    options: &mut ImageOptions<'_>,
    parallel: usize,
) -> Result<(File, Found)> {
    if options.referrers || options.platforms.len() > 1 {
        return Err(Error::invalid(
            "an archive push carries one image: one platform, no referrers",
        ));
    }
    let what = format!("the archive {}", path.display());
    let file = files::open(path, Mode::Read)?
        .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("{what} does not exist")))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?
        .len();
    let spool_dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let reading = Reading {
        file: &file,
        spool_dir,
        index: TarIndex::index(&file, len, &what)?,
        what,
    };
    let platform = options.platforms.first().or(options.platform.as_ref());
    let found = if reading.index.has("oci-layout") && reading.index.has("index.json") {
        options.keeping_layers("a push of an oci-archive")?;
        reading.oci(archive_ref, platform)?
    } else if reading.index.has("manifest.json") {
        let gzip = options.compress == Some(Compression::Gzip);
        reading.docker(archive_ref, parallel, gzip.then_some(&mut options.progress))?
    } else {
        return Err(Error::invalid(format!(
            "{} is neither a docker-archive (manifest.json) nor an oci-archive \
             (oci-layout, index.json)",
            reading.what
        )));
    };
    Ok((file, found))
}

/// [`find_image`] of the archive at `path` (its only image, compressed
/// with `gzip`), for the fuzz target: what it finds is thrown away.
pub(crate) fn read_untrusted(path: &Path, gzip: bool) -> Result<()> {
    let mut options = ImageOptions {
        compress: gzip.then_some(Compression::Gzip),
        ..Default::default()
    };
    find_image(path, None, &mut options, 1).map(drop)
}

/// The media type of a layer whose first bytes are `head`, when they are a
/// gzip or zstd stream's.
fn compressed(head: &[u8]) -> Option<&'static str> {
    match head {
        [0x1f, 0x8b, ..] => Some(OCI_LAYER_GZIP),
        [0x28, 0xb5, 0x2f, 0xfd, ..] => Some(OCI_LAYER_ZSTD),
        _ => None,
    }
}

/// A new file for a layer's gzip stream: in `dir` (beside the archive),
/// else in the temporary directory; readable by its owner only, and
/// unlinked at once, so that it goes when the push ends, whatever ends it.
fn spool_file(dir: &Path) -> std::io::Result<File> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        ".registry-gzip-{}-{}.tmp",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    let mut failed = None;
    for dir in [dir.to_path_buf(), std::env::temp_dir()] {
        let path = dir.join(&name);
        let mut options = std::fs::OpenOptions::new();
        options.read(true).write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        match options.open(&path) {
            Ok(file) => {
                std::fs::remove_file(&path)?;
                return Ok(file);
            }
            Err(e) => failed = Some(e),
        }
    }
    Err(failed.expect("two places tried"))
}

/// Reads `r` to its end, copying its bytes into `copy` if any; returns the
/// SHA-256 digest of its bytes, their count and the first 8 of them.
fn drain(
    r: &mut dyn Read,
    mut copy: Option<&mut dyn Write>,
) -> std::io::Result<(Digest, u64, Vec<u8>)> {
    let mut hasher = Hasher::new(Algorithm::Sha256);
    let mut buf = vec![0u8; CHUNK];
    let (mut len, mut head) = (0u64, Vec::new());
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            return Ok((hasher.finish(), len, head));
        }
        if head.len() < 8 {
            head.extend_from_slice(&buf[..n.min(8 - head.len())]);
        }
        hasher.update(&buf[..n]);
        if let Some(out) = copy.as_mut() {
            out.write_all(&buf[..n])?;
        }
        len += n as u64;
    }
}

/// The path of a blob in an OCI layout.
fn oci_path(digest: &Digest) -> String {
    format!("blobs/{}/{}", digest.algorithm().name(), digest.hex())
}

impl Client {
    /// Pushes the image of the archive file at `path` to `repo:tag` and
    /// returns the digest of the manifest (or index) pushed. The format is
    /// told by the archive's content: an oci-archive (`oci-layout` and
    /// `index.json`; the image named `archive_ref` there, by
    /// `org.opencontainers.image.ref.name` or digest) keeps its manifests
    /// byte for byte; a docker-archive (`manifest.json`, as `docker save`
    /// and skopeo write it; the image whose `RepoTags` holds `archive_ref`,
    /// or `@N` for the N-th) gets an OCI manifest made for its files as
    /// they are stored: a gzip or zstd layer as `…tar+gzip` / `…tar+zstd`,
    /// an uncompressed one as `application/vnd.oci.image.layer.v1.tar`
    /// (whose digest must be the config's diff id). `archive_ref` `None`:
    /// the archive's only image.
    ///
    /// The archive is untrusted input, read in place and never loaded:
    /// an entry named absolute or climbing (`..`), two entries of one name,
    /// sizes past the end of the file, a manifest naming a link, directory
    /// or device, an entry whose size is not its descriptor's: refused
    /// before anything is sent. Blobs the registry has are skipped (HEAD);
    /// the others stream from the archive in parallel, each hashed on the
    /// way (the registry commits nothing that does not match); manifests go
    /// last. `options`: `platform` picks one image of an index; `progress`.
    /// C: `registry_image_push_archive`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `tag`, a file that is no tar, a link, or an archive
    ///   of neither format, or broken as above, or that holds several images and
    ///   no `archive_ref`;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is no file
    ///   at `path`, no image named `archive_ref`, or an entry a manifest names is
    ///   missing;
    /// - [`ErrorKind::DigestMismatch`](crate::ErrorKind::DigestMismatch) when a
    ///   manifest, blob or uncompressed layer does not hash to what names it;
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::Io`](crate::ErrorKind::Io) when the archive cannot be read;
    ///   [`ErrorKind::Aborted`](crate::ErrorKind::Aborted) when the progress callback
    ///   returns false;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.image_push_archive("/tmp/app.tar", None, "team/app", "v1", Default::default())?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn image_push_archive(
        &self,
        path: impl AsRef<Path>,
        archive_ref: Option<&str>,
        repo: &str,
        tag: &str,
        mut options: ImageOptions<'_>,
    ) -> Result<Digest> {
        let repo = self.repo(repo)?;
        validate_tag(tag)?;
        let parallel = self.parallel();
        let (file, found) = find_image(path.as_ref(), archive_ref, &mut options, parallel)?;
        self.v2_only("pushing an image archive", |r| {
            let Found { tree, blobs } = &found;
            transfer::run(parallel, tree.jobs()?, &mut options.progress, |job, rep| {
                if v2::blob_exists(r, &repo, &job.digest)? {
                    return rep.moved(job.size);
                }
                let blob = &blobs[&job.digest];
                let mut body = Counting {
                    inner: section(blob.spool.as_deref().unwrap_or(&file), &blob.entry),
                    done: 0,
                    reporter: rep,
                };
                v2::upload_blob(r, &repo, &mut body, &job.digest, Some(job.size), false).map(|_| ())
            })?;
            put_manifests(r, &repo, tree, Some(tag), &mut options.progress)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz target's seeds (fuzz/corpus/archive) are archives a push
    /// takes whole, so that the fuzzer starts from the paths that read deep.
    #[test]
    fn the_fuzz_seeds_are_archives_a_push_reads() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/archive");
        for (seed, gzip) in [
            ("docker-plain", false),
            ("docker-plain", true),
            ("docker-gzip", true),
            ("oci", false),
        ] {
            read_untrusted(&dir.join(seed), gzip).unwrap_or_else(|e| panic!("{seed}: {e}"));
        }
        let e = read_untrusted(&dir.join("oci"), true).unwrap_err();
        assert_eq!(
            e.kind(),
            ErrorKind::InvalidArgument,
            "an oci-archive keeps its layers"
        );
    }
}
