//! Writing tar archives: POSIX ustar headers (512-byte blocks, octal fields,
//! a checksum), with a pax extended header (`x`) before an entry whose name
//! or size does not fit ustar's fields. What image archives need and no more:
//! regular files and directories, fixed modes, owner 0, time 0 (archives of
//! the same image are the same bytes).
//!
//! Written by hand rather than with the `tar` crate: the writer is under 200
//! lines, it must stream a body whose size is known before its bytes (the
//! header goes first, the blob follows straight from the network), and the
//! library's dependency list stays as it is.

#![forbid(unsafe_code)]

use std::io::{self, Write};

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
}
