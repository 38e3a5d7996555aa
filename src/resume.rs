//! Upload state files: what a blob upload has got into the registry, kept on
//! disk so that a later process can resume it after a crash or a kill.
//!
//! One small JSON file per blob upload in the client's state directory,
//! named by the blob's digest and a hash of the registry and repository (so
//! the same blob to the same place finds it). It holds the upload session's
//! URL (whose `_state` query is the registry's, not a credential, and is
//! never logged), the bytes the registry confirmed, and the digest of those
//! bytes (to check that the local source still starts with them). It never
//! holds credentials. Files are written whole to a temporary name (mode
//! 0600) and renamed over the old one, so a crash leaves either the old
//! state or the new one, and removed once the blob is committed.

#![forbid(unsafe_code)]

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::reference::{Algorithm, Digest, Hasher};

/// The largest state file read back (a session URL and two numbers).
const MAX_STATE: u64 = 64 * 1024;

/// The recorded progress of one blob upload.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub(crate) struct UploadState {
    /// The session's latest Location, absolute.
    pub location: String,
    /// How many bytes the registry confirmed.
    pub offset: u64,
    /// The digest of those bytes (`sha256:…`).
    pub prefix: String,
}

/// The state file of the upload of `digest` to `repo` at `base`, in `dir`.
pub(crate) fn state_path(dir: &Path, base: &str, repo: &str, digest: &Digest) -> PathBuf {
    let place = Hasher::digest(Algorithm::Sha256, format!("{base}\n{repo}").as_bytes());
    let place = place.to_string();
    let place = place.trim_start_matches("sha256:");
    let blob = digest.to_string().replace(':', "-");
    dir.join(format!("{blob}.{}.upload.json", &place[..16]))
}

/// The state at `path`, if there is a readable one (a missing, oversized or
/// malformed file is no state: the upload starts over).
pub(crate) fn load(path: &Path) -> Option<UploadState> {
    let file = std::fs::File::open(path).ok()?;
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(file, MAX_STATE), &mut bytes).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Writes `state` to `path` atomically (a temporary file, mode 0600,
/// synced, then renamed), creating the directory (mode 0700) if needed.
pub(crate) fn save(path: &Path, state: &UploadState) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    create_dir(dir)?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("upload");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = open_private(&tmp)?;
        f.write_all(&serde_json::to_vec(state).map_err(std::io::Error::other)?)?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Removes the state at `path`; a missing file is fine.
pub(crate) fn remove(path: &Path) {
    let _ = std::fs::remove_file(path);
}

#[cfg(unix)]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
}

#[cfg(not(unix))]
fn create_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(unix)]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn open_private(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("registry-resume-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn digest(b: &[u8]) -> Digest {
        Hasher::digest(Algorithm::Sha256, b)
    }

    #[test]
    fn names_by_digest_and_place() {
        let d = digest(b"x");
        let dir = Path::new("/s");
        let a = state_path(dir, "http://127.0.0.1:5000", "team/app", &d);
        assert!(a
            .to_str()
            .unwrap()
            .starts_with(&format!("/s/{}", d.to_string().replace(':', "-"))));
        assert_eq!(a, state_path(dir, "http://127.0.0.1:5000", "team/app", &d));
        assert_ne!(a, state_path(dir, "http://127.0.0.1:5001", "team/app", &d));
        assert_ne!(
            a,
            state_path(dir, "http://127.0.0.1:5000", "team/other", &d)
        );
        assert_ne!(
            a,
            state_path(dir, "http://127.0.0.1:5000", "team/app", &digest(b"y"))
        );
    }

    #[test]
    fn saves_private_atomically_and_loads_back() {
        let dir = scratch("save");
        let path = state_path(&dir.join("sub"), "b", "r", &digest(b"x"));
        let s = UploadState {
            location: "http://127.0.0.1:5000/v2/r/blobs/uploads/u?_state=abc".into(),
            offset: 42,
            prefix: digest(b"p").to_string(),
        };
        save(&path, &s).unwrap();
        assert_eq!(load(&path), Some(s.clone()));
        let s2 = UploadState { offset: 84, ..s };
        save(&path, &s2).unwrap();
        assert_eq!(load(&path), Some(s2));
        // Only the state file: no temporary one left behind.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap()).unwrap().collect();
        assert_eq!(names.len(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        remove(&path);
        assert_eq!(load(&path), None);
        remove(&path);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn malformed_state_is_none() {
        let dir = scratch("bad");
        let path = dir.join("s.json");
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(load(&path), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
