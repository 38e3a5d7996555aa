//! Tar archives. Writing: POSIX ustar headers (512-byte blocks, octal
//! fields, a checksum), with a pax extended header (`x`) before an entry
//! whose name or size does not fit ustar's fields. What image archives need
//! and no more: regular files and directories, fixed modes, owner 0, time 0
//! (archives of the same image are the same bytes). Reading: an index of an
//! untrusted archive's entries (name, offset, size, kind), built by reading
//! headers only and seeking over bodies, so that an entry is later read in
//! place, streamed, never loaded whole.
//!
//! Written by hand rather than with the `tar` crate: the writer is under 200
//! lines, it must stream a body whose size is known before its bytes (the
//! header goes first, the blob follows straight from the network), and the
//! library's dependency list stays as it is.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;

use crate::error::{Error, ErrorKind, Result};

/// The size of a tar block.
pub(crate) const BLOCK: u64 = 512;

/// What an entry is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Kind {
    File,
    Dir,
}

/// A tar stream being written to `out`: entries one after the other, each a
/// header then its body, padded to a block.
pub(crate) struct TarWriter<W: Write> {
    out: W,
    /// Bytes written so far (always whole blocks between entries).
    written: u64,
}

impl<W: Write> TarWriter<W> {
    pub fn new(out: W) -> TarWriter<W> {
        TarWriter { out, written: 0 }
    }

    /// Bytes written so far.
    pub fn position(&self) -> u64 {
        self.written
    }

    /// The stream written to.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// Forgets everything after `position` (the caller has cut the stream
    /// back to it).
    pub fn rewound_to(&mut self, position: u64) {
        self.written = position;
    }

    /// Writes the header of an entry `name` of `size` bytes; the caller
    /// then writes exactly `size` bytes with [`body`](Self::body) and calls
    /// [`end_entry`](Self::end_entry).
    pub fn header(&mut self, name: &str, size: u64, kind: Kind) -> io::Result<()> {
        let fits_name = name.len() <= 100;
        let fits_size = size < 0o77777777777;
        if !fits_name || !fits_size {
            let mut records = Vec::new();
            if !fits_name {
                records.extend(pax_record("path", name));
            }
            if !fits_size {
                records.extend(pax_record("size", &size.to_string()));
            }
            let block = ustar_header("PaxHeader", records.len() as u64, b'x', 0o644);
            self.raw(&block)?;
            self.raw(&records)?;
            self.pad(records.len() as u64)?;
        }
        let short: String = name.chars().take(100).collect();
        let (flag, mode) = match kind {
            Kind::File => (b'0', 0o644),
            Kind::Dir => (b'5', 0o755),
        };
        let block = ustar_header(&short, if fits_size { size } else { 0 }, flag, mode);
        self.raw(&block)
    }

    /// Part of the current entry's body.
    pub fn body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.raw(bytes)
    }

    /// Ends an entry of `size` bytes: zeros up to the next block.
    pub fn end_entry(&mut self, size: u64) -> io::Result<()> {
        self.pad(size)
    }

    /// A whole file entry.
    pub fn file(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.header(name, bytes.len() as u64, Kind::File)?;
        self.body(bytes)?;
        self.end_entry(bytes.len() as u64)
    }

    /// A directory entry (`name` ends with `/`).
    pub fn dir(&mut self, name: &str) -> io::Result<()> {
        self.header(name, 0, Kind::Dir)
    }

    /// Ends the archive (two zero blocks) and returns the stream, flushed.
    pub fn finish(mut self) -> io::Result<W> {
        self.raw(&[0u8; 2 * BLOCK as usize])?;
        self.out.flush()?;
        Ok(self.out)
    }

    fn pad(&mut self, size: u64) -> io::Result<()> {
        let rest = (BLOCK - size % BLOCK) % BLOCK;
        self.raw(&[0u8; BLOCK as usize][..rest as usize])
    }

    fn raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.written += bytes.len() as u64;
        Ok(())
    }
}

/// A writer that can move past bytes and leave them to be written later.
pub(crate) trait Skip {
    /// Moves `n` bytes on without writing them; an error for a writer that
    /// cannot (a stream).
    fn skip(&mut self, n: u64) -> io::Result<()>;
}

impl<W: Write + Skip> TarWriter<W> {
    /// Lays out a file entry `name` of `size` bytes whose body is written
    /// later, in place: writes its header and the zeros that pad its body to
    /// a block, moves past both, and returns the offset of the body's first
    /// byte. The caller (any thread) then writes the `size` bytes there with
    /// [`write_at`]; until it does, the body reads as zeros.
    pub fn reserve(&mut self, name: &str, size: u64) -> io::Result<u64> {
        self.header(name, size, Kind::File)?;
        let at = self.written;
        self.out.skip(size)?;
        self.written += size;
        self.pad(size)?;
        Ok(at)
    }
}

/// A file written by offset rather than through its cursor: as a [`Write`],
/// it writes at its own position, one write after the other (a tar's headers
/// and small entries); [`TarWriter::reserve`] moves that position past a body
/// that [`write_at`] fills later. Several threads may fill bodies at once
/// (positioned writes share no cursor). Borrows the file; the caller owns it.
pub(crate) struct Placed<'f> {
    file: &'f File,
    pos: u64,
}

impl<'f> Placed<'f> {
    /// Writes `file` from offset 0.
    pub fn new(file: &'f File) -> Placed<'f> {
        Placed { file, pos: 0 }
    }
}

impl Skip for Placed<'_> {
    fn skip(&mut self, n: u64) -> io::Result<()> {
        self.pos += n;
        Ok(())
    }
}

impl Write for Placed<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        write_at(self.file, buf, self.pos)?;
        self.pos += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Whether this platform writes files by offset ([`write_at`]); elsewhere
/// archives are written one entry after the other.
pub(crate) const POSITIONED_WRITES: bool = cfg!(unix);

/// Writes all of `buf` into `file` at offset `at`, leaving the file's
/// cursor alone (`pwrite`).
#[cfg(unix)]
pub(crate) fn write_at(file: &File, buf: &[u8], at: u64) -> io::Result<()> {
    file.write_all_at(buf, at)
}

/// Writes all of `buf` into `file` at offset `at`: not on this platform
/// (see [`POSITIONED_WRITES`]).
#[cfg(not(unix))]
pub(crate) fn write_at(_file: &File, _buf: &[u8], _at: u64) -> io::Result<()> {
    Err(io::Error::new(
        io::ErrorKind::Unsupported,
        "positioned writes are not available on this platform",
    ))
}

/// One pax record: `"<len> <key>=<value>\n"`, where `<len>` counts itself.
fn pax_record(key: &str, value: &str) -> Vec<u8> {
    let rest = key.len() + value.len() + 3; // ' ', '=', '\n'
    let mut len = rest + 1;
    while len != rest + len.to_string().len() {
        len = rest + len.to_string().len();
    }
    format!("{len} {key}={value}\n").into_bytes()
}

/// A ustar header block.
fn ustar_header(name: &str, size: u64, typeflag: u8, mode: u32) -> [u8; BLOCK as usize] {
    let mut h = [0u8; BLOCK as usize];
    let name = name.as_bytes();
    h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
    octal(&mut h[100..108], u64::from(mode)); // mode
    octal(&mut h[108..116], 0); // uid
    octal(&mut h[116..124], 0); // gid
    octal(&mut h[124..136], size);
    octal(&mut h[136..148], 0); // mtime
    h[156] = typeflag;
    h[257..263].copy_from_slice(b"ustar\0");
    h[263..265].copy_from_slice(b"00");
    // The checksum is computed with its own field as spaces.
    h[148..156].copy_from_slice(b"        ");
    let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
    let field = format!("{sum:06o}\0 ");
    h[148..156].copy_from_slice(field.as_bytes());
    h
}

/// `value` in octal, zero-padded, NUL-terminated, filling `field`.
fn octal(field: &mut [u8], value: u64) {
    let digits = format!("{value:0width$o}\0", width = field.len() - 1);
    field.copy_from_slice(digits.as_bytes());
}

/// An archive indexes at most this many entries…
const MAX_ENTRIES: usize = 200_000;
/// …whose names are at most this long…
const MAX_NAME: usize = 4096;
/// …and this long together (memory stays bounded whatever the archive says)…
const MAX_NAMES: usize = 32 << 20;
/// …and reads a pax record block or GNU long name up to this size.
const MAX_META: u64 = 1 << 20;

/// What an indexed entry is.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum EntryKind {
    File,
    Dir,
    /// A link, device, FIFO or anything else: never read.
    Other(u8),
}

/// An entry of an archive: where its bytes are.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Entry {
    pub offset: u64,
    pub size: u64,
    pub kind: EntryKind,
}

/// The entries of a tar file, by normalised name (no `./`, no trailing
/// `/`). A name that is absolute or climbs (`..`), one that two entries
/// share, a header whose checksum fails, and an entry whose size runs past
/// the end of the file are INVALID_ARGUMENT: the archive is refused whole.
pub(crate) struct TarIndex {
    entries: HashMap<String, Entry>,
    what: String,
}

impl TarIndex {
    /// Indexes the tar `file` (`len` bytes), named `what` in messages.
    pub fn index(file: &File, len: u64, what: &str) -> Result<TarIndex> {
        let bad = |m: String| Error::invalid(format!("{what}: {m}"));
        let mut entries = HashMap::new();
        let mut names_len = 0usize;
        let (mut pos, mut long_name, mut pax_size): (u64, Option<String>, Option<u64>) =
            (0, None, None);
        let mut header = [0u8; BLOCK as usize];
        while pos < len {
            if pos + BLOCK > len {
                return Err(bad(format!("the archive ends inside a header at {pos}")));
            }
            read_exact_at(file, &mut header, pos, what)?;
            if header.iter().all(|&b| b == 0) {
                break;
            }
            if !checksum_ok(&header) {
                return Err(bad(format!(
                    "no tar header at offset {pos} (its checksum fails): not a tar archive, or a damaged one"
                )));
            }
            let typeflag = header[156];
            let size = match pax_size.take() {
                Some(s) => s,
                None => parse_size(&header[124..136])
                    .ok_or_else(|| bad(format!("a malformed size at offset {pos}")))?,
            };
            let offset = pos + BLOCK;
            if offset.checked_add(size).is_none_or(|end| end > len) {
                return Err(bad(format!(
                    "an entry at offset {pos} says it holds {size} bytes, past the archive's end ({len})"
                )));
            }
            pos = offset + size.div_ceil(BLOCK) * BLOCK;
            match typeflag {
                b'x' | b'L' => {
                    if size > MAX_META {
                        return Err(bad(format!("a {size}-byte extended header")));
                    }
                    let mut body = vec![0u8; size as usize];
                    read_exact_at(file, &mut body, offset, what)?;
                    if typeflag == b'L' {
                        let end = body.iter().position(|&b| b == 0).unwrap_or(body.len());
                        long_name = Some(String::from_utf8_lossy(&body[..end]).into_owned());
                    } else {
                        let (path, size) = parse_pax(&body).map_err(bad)?;
                        long_name = path.or(long_name);
                        pax_size = size;
                    }
                    continue;
                }
                b'g' => continue,
                _ => {}
            }
            let name = match long_name.take() {
                Some(n) => n,
                None => ustar_name(&header),
            };
            if name.len() > MAX_NAME {
                return Err(bad(format!(
                    "an entry's name is longer than {MAX_NAME} bytes"
                )));
            }
            let Some(name) = normalise(&name).map_err(bad)? else {
                continue;
            };
            names_len += name.len();
            let kind = match typeflag {
                b'0' | 0 | b'7' => EntryKind::File,
                b'5' => EntryKind::Dir,
                other => EntryKind::Other(other),
            };
            if entries.len() >= MAX_ENTRIES || names_len > MAX_NAMES {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "{what}: more than {MAX_ENTRIES} entries, or {} MiB of names",
                        MAX_NAMES >> 20
                    ),
                ));
            }
            let entry = Entry { offset, size, kind };
            if let Some(first) = entries.insert(name.clone(), entry) {
                if first.kind != EntryKind::Dir || kind != EntryKind::Dir {
                    return Err(bad(format!("two entries are named {name:?}")));
                }
            }
        }
        Ok(TarIndex {
            entries,
            what: what.to_string(),
        })
    }

    /// Whether the archive has an entry `name`, of any kind.
    pub fn has(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    /// The regular file `name`: NOT_FOUND when there is none, INVALID_ARGUMENT
    /// when it is a link, a directory or a special file.
    pub fn file(&self, name: &str) -> Result<Entry> {
        match self.entries.get(name) {
            None => Err(Error::new(
                ErrorKind::NotFound,
                format!("{}: no entry {name:?}", self.what),
            )),
            Some(e) if e.kind != EntryKind::File => Err(Error::invalid(format!(
                "{}: {name:?} is {}, not a regular file",
                self.what,
                match e.kind {
                    EntryKind::Dir => "a directory".to_string(),
                    EntryKind::Other(b'1') => "a hard link".to_string(),
                    EntryKind::Other(b'2') => "a symbolic link".to_string(),
                    EntryKind::Other(t) => format!("a special entry (type {:?})", t as char),
                    EntryKind::File => unreachable!(),
                }
            ))),
            Some(e) => Ok(*e),
        }
    }

    /// The whole regular file `name`, up to `cap` bytes (TOO_LARGE past it).
    pub fn read(&self, file: &File, name: &str, cap: u64) -> Result<Vec<u8>> {
        let e = self.file(name)?;
        if e.size > cap {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{}: {name:?} is larger than {cap} bytes", self.what),
            ));
        }
        let mut body = vec![0u8; e.size as usize];
        read_exact_at(file, &mut body, e.offset, &self.what)?;
        Ok(body)
    }
}

/// A reader of one entry's bytes, in place (positioned reads: several may
/// read one file at once).
pub(crate) struct Section<'f> {
    pub file: &'f File,
    pub pos: u64,
    pub end: u64,
}

impl Read for Section<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let want = buf.len().min((self.end - self.pos) as usize);
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the archive got shorter while it was read",
            ));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

fn read_exact_at(file: &File, buf: &mut [u8], at: u64, what: &str) -> Result<()> {
    file.read_exact_at(buf, at)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read {what}: {e}")).with_source(e))
}

fn checksum_ok(h: &[u8]) -> bool {
    let field = std::str::from_utf8(&h[148..156]).unwrap_or("");
    let Ok(stored) = u32::from_str_radix(field.trim_matches(|c: char| c == '\0' || c == ' '), 8)
    else {
        return false;
    };
    let sum: u32 = h
        .iter()
        .enumerate()
        .map(|(i, &b)| {
            if (148..156).contains(&i) {
                32
            } else {
                u32::from(b)
            }
        })
        .sum();
    sum == stored
}

/// An octal size field, or GNU's base-256 (first byte's high bit set).
fn parse_size(field: &[u8]) -> Option<u64> {
    if field[0] & 0x80 != 0 {
        let mut v: u64 = u64::from(field[0] & 0x7f);
        for &b in &field[1..] {
            v = v.checked_mul(256)?.checked_add(u64::from(b))?;
        }
        return Some(v);
    }
    let text = std::str::from_utf8(field).ok()?;
    let text = text.trim_matches(|c: char| c == '\0' || c == ' ');
    if text.is_empty() {
        return Some(0);
    }
    u64::from_str_radix(text, 8).ok()
}

/// The `path` and `size` records of a pax extended header.
fn parse_pax(mut body: &[u8]) -> std::result::Result<(Option<String>, Option<u64>), String> {
    let (mut path, mut size) = (None, None);
    while !body.is_empty() && body[0] != 0 {
        let space = body
            .iter()
            .position(|&b| b == b' ')
            .ok_or("a malformed pax record")?;
        let len: usize = std::str::from_utf8(&body[..space])
            .ok()
            .and_then(|l| l.parse().ok())
            .filter(|&l| l > space + 1 && l <= body.len())
            .ok_or("a malformed pax record length")?;
        let record = &body[space + 1..len - 1];
        let eq = record
            .iter()
            .position(|&b| b == b'=')
            .ok_or("a pax record without =")?;
        let (key, value) = (&record[..eq], &record[eq + 1..]);
        let value = String::from_utf8_lossy(value).into_owned();
        match key {
            b"path" => path = Some(value),
            b"size" => size = Some(value.parse().map_err(|_| "a malformed pax size")?),
            _ => {}
        }
        body = &body[len..];
    }
    Ok((path, size))
}

/// The name of a ustar header: prefix "/" name.
fn ustar_name(h: &[u8]) -> String {
    let field = |r: std::ops::Range<usize>| {
        let f = &h[r];
        let end = f.iter().position(|&b| b == 0).unwrap_or(f.len());
        String::from_utf8_lossy(&f[..end]).into_owned()
    };
    let name = field(0..100);
    if &h[257..262] == b"ustar" {
        let prefix = field(345..500);
        if !prefix.is_empty() {
            return format!("{prefix}/{name}");
        }
    }
    name
}

/// `name` without `./` and trailing `/`; `None` for the archive's root;
/// an error for an absolute name or one that climbs.
fn normalise(name: &str) -> std::result::Result<Option<String>, String> {
    if name.starts_with('/') {
        return Err(format!("the entry {name:?} has an absolute path"));
    }
    let parts: Vec<&str> = name
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if parts.contains(&"..") {
        return Err(format!("the entry {name:?} climbs out of the archive"));
    }
    if parts.is_empty() {
        return Ok(None);
    }
    Ok(Some(parts.join("/")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_header_has_a_valid_checksum_and_fields() {
        let h = ustar_header("blobs/sha256/abc", 1234, b'0', 0o644);
        let stored = u32::from_str_radix(std::str::from_utf8(&h[148..154]).unwrap(), 8).unwrap();
        let mut copy = h;
        copy[148..156].copy_from_slice(b"        ");
        assert_eq!(stored, copy.iter().map(|&b| u32::from(b)).sum::<u32>());
        assert_eq!(&h[124..136], b"00000002322\0");
        assert_eq!(&h[257..263], b"ustar\0");
    }

    #[test]
    fn entries_are_padded_to_blocks_and_the_archive_ends_with_two_zero_blocks() {
        let mut t = TarWriter::new(Vec::new());
        t.dir("blobs/").unwrap();
        t.file("a", b"hello").unwrap();
        assert_eq!(t.position(), 3 * BLOCK);
        let out = t.finish().unwrap();
        assert_eq!(out.len() as u64, 5 * BLOCK);
        assert_eq!(&out[2 * 512..2 * 512 + 5], b"hello");
        assert!(out[3 * 512..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_long_name_goes_into_a_pax_record_that_counts_its_own_length() {
        let name = format!("blobs/sha512/{}", "a".repeat(128));
        let mut t = TarWriter::new(Vec::new());
        t.file(&name, b"x").unwrap();
        let out = t.finish().unwrap();
        assert_eq!(out[156], b'x');
        let size = u64::from_str_radix(std::str::from_utf8(&out[124..135]).unwrap(), 8).unwrap();
        let record = std::str::from_utf8(&out[512..512 + size as usize]).unwrap();
        assert_eq!(record, format!("{} path={name}\n", record.len()));
        for n in [1, 9, 10, 95, 96, 97, 98, 99, 100, 994, 995, 996, 997] {
            let r = pax_record("k", &"v".repeat(n));
            let len: usize = std::str::from_utf8(&r)
                .unwrap()
                .split(' ')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            assert_eq!(len, r.len(), "value of {n}");
        }
    }

    #[test]
    fn a_reserved_body_filled_in_place_gives_the_bytes_a_stream_gives() {
        let (a, b) = (vec![1u8; 700], vec![2u8; 1024]);
        let mut t = TarWriter::new(Vec::new());
        t.dir("blobs/").unwrap();
        t.file("a", &a).unwrap();
        t.file(&format!("blobs/{}", "b".repeat(120)), &b).unwrap();
        t.file("index.json", b"{}").unwrap();
        let streamed = t.finish().unwrap();

        let path = std::env::temp_dir().join(format!("registry-tar-placed-{}", std::process::id()));
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)
            .unwrap();
        let mut t = TarWriter::new(Placed::new(&file));
        t.dir("blobs/").unwrap();
        let at_a = t.reserve("a", a.len() as u64).unwrap();
        let at_b = t
            .reserve(&format!("blobs/{}", "b".repeat(120)), b.len() as u64)
            .unwrap();
        t.file("index.json", b"{}").unwrap();
        let len = t.position();
        t.finish().unwrap();
        // Bodies filled last, the later one first, in pieces.
        write_at(&file, &b[..1000], at_b).unwrap();
        write_at(&file, &b[1000..], at_b + 1000).unwrap();
        write_at(&file, &a, at_a).unwrap();
        let placed = std::fs::read(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(len + 2 * BLOCK, placed.len() as u64);
        assert!(placed == streamed, "the same bytes as a stream");
    }

    fn indexed(bytes: &[u8]) -> Result<TarIndex> {
        let path = std::env::temp_dir().join(format!(
            "registry-tar-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        let index = TarIndex::index(&file, bytes.len() as u64, "test.tar");
        std::fs::remove_file(&path).unwrap();
        index
    }

    #[test]
    fn what_the_writer_writes_the_index_reads_back() {
        let long = format!("blobs/sha512/{}", "b".repeat(128));
        let mut t = TarWriter::new(Vec::new());
        t.dir("blobs/").unwrap();
        t.file("./a", b"hello").unwrap();
        t.file(&long, b"world!").unwrap();
        let out = t.finish().unwrap();
        let index = indexed(&out).unwrap();
        let a = index.file("a").unwrap();
        assert_eq!((a.size, &out[a.offset as usize..][..5]), (5, &b"hello"[..]));
        assert_eq!(index.file(&long).unwrap().size, 6);
        assert_eq!(
            index.file("blobs").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        assert_eq!(index.file("nope").unwrap_err().kind(), ErrorKind::NotFound);
    }

    #[test]
    fn untrusted_archives_that_lie_climb_or_link_are_caught() {
        // A size past the end.
        let mut t = TarWriter::new(Vec::new());
        t.file("a", &[7u8; 2000]).unwrap();
        let out = t.finish().unwrap();
        let e = indexed(&out[..1024]).err().unwrap();
        assert!(e.message().contains("past the archive's end"), "{e}");
        // A bad checksum.
        let mut broken = out.clone();
        broken[0] = b'b';
        assert!(indexed(&broken)
            .err()
            .unwrap()
            .message()
            .contains("checksum"));
        // Climbing and absolute names.
        for name in ["../etc/passwd", "/etc/passwd", "a/../../b"] {
            let mut t = TarWriter::new(Vec::new());
            t.file(name, b"x").unwrap();
            let e = indexed(&t.finish().unwrap()).err().unwrap();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{name}: {e}");
        }
        // A name longer than any image archive needs.
        let mut t = TarWriter::new(Vec::new());
        t.file(&"n/".repeat(3000), b"x").unwrap();
        let e = indexed(&t.finish().unwrap()).err().unwrap();
        assert!(e.message().contains("longer than"), "{e}");
        // Two entries of one name.
        let mut t = TarWriter::new(Vec::new());
        t.file("a", b"x").unwrap();
        t.file("./a", b"y").unwrap();
        assert!(indexed(&t.finish().unwrap())
            .err()
            .unwrap()
            .message()
            .contains("two entries"));
        // A symbolic link is indexed but never read as a file.
        let mut t = TarWriter::new(Vec::new());
        t.header("link", 0, Kind::File).unwrap();
        let mut out = t.finish().unwrap();
        out[156] = b'2';
        out[148..156].copy_from_slice(b"        ");
        let sum: u32 = out[..512].iter().map(|&b| u32::from(b)).sum();
        out[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        let index = indexed(&out).unwrap();
        let e = index.file("link").unwrap_err();
        assert!(e.message().contains("symbolic link"), "{e}");
    }
}
