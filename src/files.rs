//! Files of a directory on disk that is untrusted input (an OCI layout):
//! opened without following a symbolic link at the last component, and only
//! when they are regular files, so that a planted link cannot send a read or
//! a write outside the directory and a FIFO cannot hang a call.

#![forbid(unsafe_code)]

use std::fs::{self, File, OpenOptions};
use std::io;
use std::path::Path;

use crate::error::{Error, Result};

/// How a file is opened.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum Mode {
    /// Read only.
    Read,
    /// Read and write, created if missing (never through a link).
    ReadWriteCreate,
}

/// Opens `path` as `mode` says, without following a link at its last
/// component and without blocking on a FIFO or a device; `Ok(None)` when
/// there is no such file. A link, a hard-linked file opened for writing (its
/// other name may be anywhere), or anything but a regular file is
/// INVALID_ARGUMENT, the file untouched.
pub(crate) fn open(path: &Path, mode: Mode) -> Result<Option<File>> {
    let mut options = OpenOptions::new();
    options.read(true);
    if mode == Mode::ReadWriteCreate {
        options.write(true).create(true).truncate(false);
    }
    no_follow(&mut options);
    let file = match options.open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if is_link_error(&e) => return Err(refused(path, "is a symbolic link")),
        Err(e) => return Err(Error::io("cannot open", path, e)),
    };
    let meta = file
        .metadata()
        .map_err(|e| Error::io("cannot read", path, e))?;
    if !meta.is_file() {
        return Err(refused(path, "is not a regular file"));
    }
    if mode == Mode::ReadWriteCreate && links(&meta) > 1 {
        return Err(refused(path, "has other hard links"));
    }
    Ok(Some(file))
}

/// Checks that `dir` is a directory itself, not a link to one elsewhere.
pub(crate) fn check_real_dir(dir: &Path) -> Result<()> {
    let meta = fs::symlink_metadata(dir).map_err(|e| Error::io("cannot read", dir, e))?;
    if meta.file_type().is_symlink() {
        return Err(refused(dir, "is a symbolic link"));
    }
    if !meta.is_dir() {
        return Err(refused(dir, "is not a directory"));
    }
    Ok(())
}

/// Whether `path` names the same file as `file` still does.
pub(crate) fn still_names(path: &Path, file: &File) -> bool {
    match (fs::symlink_metadata(path), file.metadata()) {
        (Ok(a), Ok(b)) => same_file(&a, &b),
        _ => false,
    }
}

fn refused(path: &Path, why: &str) -> Error {
    Error::invalid(format!(
        "{} {why}: files of a layout are read and written only as regular files of its own",
        path.display()
    ))
}

#[cfg(unix)]
fn no_follow(options: &mut OpenOptions) {
    use std::os::unix::fs::OpenOptionsExt;
    options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
}

#[cfg(not(unix))]
fn no_follow(_: &mut OpenOptions) {}

#[cfg(unix)]
fn is_link_error(e: &io::Error) -> bool {
    e.raw_os_error() == Some(libc::ELOOP)
}

#[cfg(not(unix))]
fn is_link_error(_: &io::Error) -> bool {
    false
}

#[cfg(unix)]
fn links(meta: &fs::Metadata) -> u64 {
    std::os::unix::fs::MetadataExt::nlink(meta)
}

#[cfg(not(unix))]
fn links(_: &fs::Metadata) -> u64 {
    1
}

#[cfg(unix)]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    a.dev() == b.dev() && a.ino() == b.ino()
}

#[cfg(not(unix))]
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    a.len() == b.len() && a.modified().ok() == b.modified().ok()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn links_fifos_and_hard_links_are_refused_untouched() {
        let dir = std::env::temp_dir().join(format!("registry-files-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        fs::write(&victim, b"precious").unwrap();

        let link = dir.join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        for mode in [Mode::Read, Mode::ReadWriteCreate] {
            let e = open(&link, mode).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{e}");
        }
        let hard = dir.join("hard");
        fs::hard_link(&victim, &hard).unwrap();
        assert!(
            open(&hard, Mode::Read).unwrap().is_some(),
            "reading is fine"
        );
        let e = open(&hard, Mode::ReadWriteCreate).unwrap_err();
        assert!(e.message().contains("hard links"), "{e}");

        let fifo = dir.join("fifo");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let e = open(&fifo, Mode::Read).unwrap_err();
        assert!(e.message().contains("not a regular file"), "{e}");

        assert!(open(&dir.join("missing"), Mode::Read).unwrap().is_none());
        assert!(check_real_dir(&dir).is_ok());
        let dir_link = dir.join("dir-link");
        std::os::unix::fs::symlink(&dir, &dir_link).unwrap();
        assert!(check_real_dir(&dir_link).is_err());
        assert_eq!(fs::read(&victim).unwrap(), b"precious");
        let _ = fs::remove_dir_all(&dir);
    }
}
