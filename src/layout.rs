//! OCI image layouts on disk (image-spec `image-layout.md`): `oci-layout`,
//! `index.json`, and blobs under `blobs/<alg>/<hex>`, the format skopeo
//! (`oci:DIR:NAME`), crane, podman and umoci read and write. An image's name
//! is the `org.opencontainers.image.ref.name` annotation of its entry in
//! `index.json`.
//!
//! Blobs appear under their final name only once their digest checked out
//! (written to a temporary name, then renamed); a download in progress lives
//! beside them as `.<hex>.partial` so that a later run can resume it.
//! `index.json` is rewritten the same way, last.

#![forbid(unsafe_code)]

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{json, Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::files::{self, Mode};
use crate::layer::{hash_open_file, write_atomically};
use crate::oci::{Descriptor, OCI_INDEX};
use crate::reference::{Digest, Hasher};
use crate::sync::lock;

/// The annotation that names an image in a layout.
pub(crate) const REF_NAME: &str = "org.opencontainers.image.ref.name";
/// index.json is read up to this size.
const INDEX_CAP: u64 = 16 << 20;
/// How often a writer waiting for another's partial file looks again.
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Held while a thread of this process reads, changes and writes back an
/// `index.json`, so that two pulls naming images in one layout both stay.
static NAMING: Mutex<()> = Mutex::new(());

/// A partial file that this call alone writes (see [`Layout::partial`]): it
/// holds the file's lock, which other threads and processes respect, until
/// it is dropped.
pub(crate) struct Partial {
    pub file: fs::File,
    pub path: PathBuf,
}

/// An OCI image layout directory.
pub(crate) struct Layout {
    root: PathBuf,
}

impl Layout {
    /// Opens the layout at `root`, creating the directory and `oci-layout`
    /// when missing (a pull target). A directory that holds something but
    /// no layout, or a layout whose `index.json` is not an image index, is
    /// refused untouched (INVALID_ARGUMENT).
    pub fn create(root: &Path) -> Result<Layout> {
        let layout = Layout::at(root)?;
        fs::create_dir_all(root).map_err(|e| Error::io("cannot create", root, e))?;
        let marker = root.join("oci-layout");
        match files::open(&marker, Mode::Read)? {
            Some(_) => layout.check()?,
            None => {
                // Another call may have just made the directory a layout.
                if layout.holds_something()? && files::open(&marker, Mode::Read)?.is_none() {
                    return Err(layout.not_a_layout());
                }
                write_atomically(&marker, |f| {
                    f.write_all(br#"{"imageLayoutVersion":"1.0.0"}"#)
                        .map_err(|e| Error::io("cannot write", &marker, e))?;
                    Ok(0)
                })?;
            }
        }
        Ok(layout)
    }

    /// Opens an existing layout (a push source), checking `oci-layout` and
    /// the shape of `index.json`.
    pub fn open(root: &Path) -> Result<Layout> {
        let layout = Layout::at(root)?;
        layout.check()?;
        Ok(layout)
    }

    fn at(root: &Path) -> Result<Layout> {
        if root.as_os_str().is_empty() {
            return Err(Error::invalid(
                "the layout directory is an empty path: name a directory",
            ));
        }
        Ok(Layout {
            root: root.to_path_buf(),
        })
    }

    /// Whether the directory holds anything besides a marker being written
    /// by another call creating the layout at the same time.
    fn holds_something(&self) -> Result<bool> {
        let mut entries =
            fs::read_dir(&self.root).map_err(|e| Error::io("cannot read", &self.root, e))?;
        Ok(entries.any(|e| {
            e.map_or(true, |e| {
                !e.file_name().to_string_lossy().starts_with(".oci-layout.")
            })
        }))
    }

    /// Checks `oci-layout` and that `index.json`, if there, is an index.
    fn check(&self) -> Result<()> {
        let marker = self.root.join("oci-layout");
        let text = read_capped(&marker, 4096)?
            .ok_or_else(|| Error::io("cannot read", &marker, io::ErrorKind::NotFound.into()))?;
        let doc: Value = serde_json::from_slice(&text).map_err(|_| self.not_a_layout())?;
        match doc.get("imageLayoutVersion").and_then(Value::as_str) {
            Some(v) if v.starts_with("1.") => self.entries().map(|_| ()),
            _ => Err(self.not_a_layout()),
        }
    }

    fn not_a_layout(&self) -> Error {
        Error::invalid(format!(
            "{} is not an OCI image layout (no valid oci-layout file) and not empty",
            self.root.display()
        ))
    }

    /// Where a verified blob lives.
    pub fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(digest.hex())
    }

    /// Where a partly downloaded blob waits for a later run.
    pub fn partial_path(&self, digest: &Digest) -> PathBuf {
        self.root
            .join("blobs")
            .join(digest.algorithm().name())
            .join(format!(".{}.partial", digest.hex()))
    }

    /// The partial file of `digest`, for this call alone to write, or
    /// `None` once the layout holds the blob (`size` bytes, verified). While
    /// another thread or process writes it (it holds the file's lock), this
    /// waits, asking `check`, which may cancel the wait, every 50 ms. What
    /// sits at the partial's name and is no file of the layout's own (a
    /// link, a FIFO, a file with other hard links) is removed, never
    /// followed or written.
    pub fn partial(
        &self,
        digest: &Digest,
        size: u64,
        check: impl Fn() -> Result<()>,
    ) -> Result<Option<Partial>> {
        self.prepare(digest)?;
        let path = self.partial_path(digest);
        let mut removed = 0;
        loop {
            if self.has_blob(digest, size)? {
                return Ok(None);
            }
            let file = match files::open(&path, Mode::ReadWriteCreate) {
                Ok(Some(f)) => f,
                Ok(None) => {
                    return Err(Error::io(
                        "cannot create",
                        &path,
                        io::ErrorKind::NotFound.into(),
                    ))
                }
                Err(e) if e.kind() == ErrorKind::InvalidArgument && removed < 3 => {
                    // Its name is ours; what it points at is not.
                    fs::remove_file(&path).map_err(|_| e)?;
                    removed += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            loop {
                match file.try_lock() {
                    Ok(()) => break,
                    Err(fs::TryLockError::WouldBlock) => {
                        check()?;
                        std::thread::sleep(LOCK_POLL);
                    }
                    Err(fs::TryLockError::Error(e)) => {
                        return Err(Error::io("cannot lock", &path, e))
                    }
                }
            }
            // The writer before us may have renamed it into place.
            if files::still_names(&path, &file) {
                return Ok(Some(Partial { file, path }));
            }
        }
    }

    /// Creates `blobs/<alg>/` for `digest`, one level at a time; each must be
    /// a directory of the layout's own, not a link, before anything is
    /// created in it.
    pub fn prepare(&self, digest: &Digest) -> Result<()> {
        let blobs = self.root.join("blobs");
        for dir in [&blobs, &blobs.join(digest.algorithm().name())] {
            match fs::create_dir(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::io("cannot create", dir, e)),
            }
            files::check_real_dir(dir)?;
        }
        Ok(())
    }

    /// Where a blob lives, once `blobs/` and `blobs/<alg>/` proved to be
    /// directories of the layout's own (a push must not read through them).
    fn checked_blob_path(&self, digest: &Digest) -> Result<PathBuf> {
        let blobs = self.root.join("blobs");
        let dir = blobs.join(digest.algorithm().name());
        for dir in [&blobs, &dir] {
            if fs::symlink_metadata(dir).is_ok() {
                files::check_real_dir(dir)?;
            }
        }
        Ok(self.blob_path(digest))
    }

    /// Whether the layout holds `digest` with `size` bytes that hash to it.
    pub fn has_blob(&self, digest: &Digest, size: u64) -> Result<bool> {
        let path = self.checked_blob_path(digest)?;
        let Some(mut file) = files::open(&path, Mode::Read)? else {
            return Ok(false);
        };
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot read", &path, e))?
            .len();
        if len != size {
            return Ok(false);
        }
        let (got, _) = hash_open_file(&mut file, digest.algorithm(), &path)?;
        Ok(got == *digest)
    }

    /// Stores a small blob (a manifest) under its digest, atomically.
    pub fn put_blob(&self, digest: &Digest, bytes: &[u8]) -> Result<()> {
        self.prepare(digest)?;
        let path = self.blob_path(digest);
        write_atomically(&path, |f| {
            f.write_all(bytes)
                .map_err(|e| Error::io("cannot write", &path, e))?;
            Ok(bytes.len() as u64)
        })
        .map(|_| ())
    }

    /// Reads a small blob (a manifest, a config) of at most `cap` bytes and
    /// checks its digest.
    pub fn read_blob(&self, digest: &Digest, cap: u64) -> Result<Vec<u8>> {
        let path = self.checked_blob_path(digest)?;
        let bytes = read_capped(&path, cap)?.ok_or_else(|| self.missing(digest, &path))?;
        let got = Hasher::digest(digest.algorithm(), &bytes);
        if got != *digest {
            return Err(Error::new(
                ErrorKind::DigestMismatch,
                format!("{} hashes to {got}, not {digest}", path.display()),
            ));
        }
        Ok(bytes)
    }

    /// Opens a blob for reading, with its length.
    pub fn open_blob(&self, digest: &Digest) -> Result<(fs::File, u64)> {
        let path = self.checked_blob_path(digest)?;
        let file = files::open(&path, Mode::Read)?.ok_or_else(|| self.missing(digest, &path))?;
        let len = file
            .metadata()
            .map_err(|e| Error::io("cannot read", &path, e))?
            .len();
        Ok((file, len))
    }

    fn missing(&self, digest: &Digest, path: &Path) -> Error {
        Error::new(
            ErrorKind::NotFound,
            format!("the layout has no blob {digest} ({})", path.display()),
        )
    }

    /// The entries of `index.json` (none when it does not exist yet).
    fn entries(&self) -> Result<(Value, Vec<Value>)> {
        let path = self.root.join("index.json");
        let Some(bytes) = read_capped(&path, INDEX_CAP)? else {
            return Ok((json!({"schemaVersion": 2, "mediaType": OCI_INDEX}), vec![]));
        };
        let doc: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::invalid(format!("{} is not valid JSON: {e}", path.display())))?;
        if !doc.is_object() {
            return Err(Error::invalid(format!(
                "{} is not an image index (not a JSON object)",
                path.display()
            )));
        }
        let entries = match doc.get("manifests") {
            Some(Value::Array(a)) => a.clone(),
            None | Some(Value::Null) => vec![],
            Some(_) => {
                return Err(Error::invalid(format!(
                    "{}: \"manifests\" is not a list",
                    path.display()
                )))
            }
        };
        Ok((doc, entries))
    }

    /// The image named `name` in `index.json`, or with `None` the layout's
    /// only image. NOT_FOUND when there is no such name; INVALID_ARGUMENT when
    /// `None` is ambiguous.
    pub fn find(&self, name: Option<&str>) -> Result<Descriptor> {
        let (_, entries) = self.entries()?;
        let named = |e: &&Value| {
            e.get("annotations")
                .and_then(|a| a.get(REF_NAME))
                .and_then(Value::as_str)
                == name
        };
        let found: Vec<&Value> = match name {
            Some(_) => entries.iter().filter(named).collect(),
            None => entries.iter().filter(|e| !is_listed_referrer(e)).collect(),
        };
        let entry = match (found.as_slice(), name) {
            ([one], _) => *one,
            ([first, ..], Some(_)) => *first,
            ([], Some(n)) => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} has no image named {n:?}", self.root.display()),
                ))
            }
            ([], None) => {
                return Err(Error::new(
                    ErrorKind::NotFound,
                    format!("{} holds no image", self.root.display()),
                ))
            }
            (_, None) => {
                return Err(Error::invalid(format!(
                    "{} holds {} images: name the one to push",
                    self.root.display(),
                    found.len()
                )))
            }
        };
        serde_json::from_value(entry.clone()).map_err(|e| {
            Error::invalid(format!(
                "{}/index.json has a malformed entry: {e}",
                self.root.display()
            ))
        })
    }

    /// Every entry of `index.json` but the referrers a pull listed (see
    /// [`list_referrers`](Self::list_referrers)), in its order, with its name
    /// (the `org.opencontainers.image.ref.name` annotation), if any.
    pub fn images(&self) -> Result<Vec<(Option<String>, Descriptor)>> {
        let (_, entries) = self.entries()?;
        entries
            .into_iter()
            .filter(|e| !is_listed_referrer(e))
            .map(|e| {
                let name = e
                    .get("annotations")
                    .and_then(|a| a.get(REF_NAME))
                    .and_then(Value::as_str)
                    .map(str::to_string);
                let descriptor = serde_json::from_value(e).map_err(|e| {
                    Error::invalid(format!(
                        "{}/index.json has a malformed entry: {e}",
                        self.root.display()
                    ))
                })?;
                Ok((name, descriptor))
            })
            .collect()
    }

    /// Names `descriptor` (a `mediaType`/`digest`/`size` object, perhaps with
    /// a `platform`) `name` in `index.json`: an entry with that name loses it
    /// (and goes when it names nothing else); other entries stay as they are.
    /// Written atomically, one thread of this process at a time.
    pub fn name(&self, name: &str, mut descriptor: Map<String, Value>) -> Result<()> {
        let _naming = lock(&NAMING);
        let (doc, entries) = self.entries()?;
        let mut kept: Vec<Value> = entries
            .into_iter()
            .filter(|e| {
                e.get("annotations")
                    .and_then(|a| a.get(REF_NAME))
                    .and_then(Value::as_str)
                    != Some(name)
            })
            .collect();
        let mut annotations = Map::new();
        annotations.insert(REF_NAME.into(), Value::String(name.into()));
        descriptor.insert("annotations".into(), Value::Object(annotations));
        kept.push(Value::Object(descriptor));
        self.write_index(doc, kept)
    }

    /// Writes `index.json`: `doc` with `entries` as its manifests, atomically.
    fn write_index(&self, mut doc: Value, entries: Vec<Value>) -> Result<()> {
        doc["manifests"] = Value::Array(entries);
        if doc.get("schemaVersion").is_none() {
            doc["schemaVersion"] = json!(2);
        }
        let bytes = serde_json::to_vec(&doc).map_err(|e| Error::protocol(e.to_string()))?;
        let path = self.root.join("index.json");
        write_atomically(&path, |f| {
            f.write_all(&bytes)
                .map_err(|e| Error::io("cannot write", &path, e))?;
            Ok(bytes.len() as u64)
        })
        .map(|_| ())
    }

    /// Lists `referrers` in `index.json` as entries without a name (their
    /// media type, digest, size and `artifactType`), each once: what a pull
    /// that carries referrers leaves (as oras does). [`find`](Self::find)
    /// passes over such entries.
    pub fn list_referrers(&self, referrers: &[Descriptor]) -> Result<()> {
        if referrers.is_empty() {
            return Ok(());
        }
        let _naming = lock(&NAMING);
        let (doc, mut entries) = self.entries()?;
        for d in referrers {
            let listed = entries.iter().any(|e| {
                e.get("digest").and_then(Value::as_str) == Some(d.digest.to_string().as_str())
            });
            if !listed {
                let mut entry = Descriptor::new(d.media_type.clone(), d.digest.clone(), d.size);
                entry.artifact_type = d.artifact_type.clone();
                entries
                    .push(serde_json::to_value(entry).map_err(|e| Error::protocol(e.to_string()))?);
            }
        }
        self.write_index(doc, entries)
    }
}

/// An entry a pull listed for a referrer it carried: an `artifactType` and
/// no name. No image to push.
fn is_listed_referrer(entry: &Value) -> bool {
    entry.get("artifactType").is_some()
        && entry
            .get("annotations")
            .and_then(|a| a.get(REF_NAME))
            .is_none()
}

/// Reads a regular file of the layout (see [`files::open`]) of at most
/// `cap` bytes; `None` when there is none.
fn read_capped(path: &Path, cap: u64) -> Result<Option<Vec<u8>>> {
    let Some(file) = files::open(path, Mode::Read)? else {
        return Ok(None);
    };
    let mut bytes = Vec::new();
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io("cannot read", path, e))?;
    if bytes.len() as u64 > cap {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!("{} is larger than {cap} bytes", path.display()),
        ));
    }
    Ok(Some(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::Algorithm;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    #[test]
    fn one_writer_at_a_time_writes_a_partial_file() {
        let dir = std::env::temp_dir().join(format!("registry-claim-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let layout = Arc::new(Layout::create(&dir).unwrap());
        let digest = Hasher::digest(Algorithm::Sha256, b"blob");
        let first = layout.partial(&digest, 4, || Ok(())).unwrap().unwrap();
        let got_in = Arc::new(AtomicBool::new(false));
        let second = {
            let (layout, digest, got_in) = (layout.clone(), digest.clone(), got_in.clone());
            std::thread::spawn(move || {
                let partial = layout.partial(&digest, 4, || Ok(())).unwrap();
                got_in.store(true, Ordering::SeqCst);
                partial.is_none()
            })
        };
        // Another digest is not held up, and a wait can be cancelled.
        let other = Hasher::digest(Algorithm::Sha256, b"other");
        drop(layout.partial(&other, 5, || Ok(())).unwrap());
        let e = Layout::open(&dir)
            .unwrap()
            .partial(&digest, 4, || {
                Err(Error::new(ErrorKind::Aborted, "cancelled"))
            })
            .err()
            .expect("cancelled while waiting");
        assert_eq!(e.kind(), ErrorKind::Aborted);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!got_in.load(Ordering::SeqCst), "the second writer waits");
        // The first writer finishes the blob: the second finds it there.
        let mut file = &first.file;
        file.write_all(b"blob").unwrap();
        fs::rename(&first.path, layout.blob_path(&digest)).unwrap();
        drop(first);
        assert!(second.join().unwrap(), "it waited, then found the blob");
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn what_is_not_a_layout_is_refused_untouched() {
        let dir = std::env::temp_dir().join(format!("registry-notlayout-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join("notes.txt"), b"mine").unwrap();
        let e = Layout::create(&dir).err().expect("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        assert!(!dir.join("oci-layout").exists(), "untouched");
        let e = Layout::create(Path::new("")).err().expect("refused");
        assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        // A layout whose index.json is no index: refused before anything moves.
        fs::remove_file(dir.join("notes.txt")).unwrap();
        let layout = Layout::create(&dir).unwrap();
        fs::write(dir.join("index.json"), b"[1,2,3]").unwrap();
        for e in [
            Layout::create(&dir).err().expect("refused"),
            Layout::open(&dir).err().expect("refused"),
            layout.name("x", Map::new()).unwrap_err(),
        ] {
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        }
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn threads_naming_images_in_one_layout_lose_none() {
        let dir = std::env::temp_dir().join(format!("registry-naming-{}", std::process::id()));
        let layout = Arc::new(Layout::create(&dir).unwrap());
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let layout = layout.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        let name = format!("t{t}-{i}");
                        let digest = Hasher::digest(Algorithm::Sha256, name.as_bytes());
                        let descriptor =
                            json!({"mediaType": "m", "digest": digest.to_string(), "size": 1});
                        let Value::Object(descriptor) = descriptor else {
                            unreachable!()
                        };
                        layout.name(&name, descriptor).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let (_, entries) = layout.entries().unwrap();
        let _ = fs::remove_dir_all(&dir);
        assert_eq!(entries.len(), 80, "every name stays");
    }
}
