//! stdout: what a program reads. Written only once a command succeeded, in
//! one go, so a failure leaves stdout empty (`blob get … -` alone streams a
//! blob to stdout as it arrives, checked at its end).

#![forbid(unsafe_code)]

use std::io::Write;

use registry::{Error, ErrorKind, Result};
use serde::Serialize;

/// The message of a write to a closed stdout (`regcli tags … | head -1`),
/// which ends the command quietly.
pub const BROKEN_PIPE: &str = "cannot write to stdout: the reader went away";

fn io(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        return Error::new(ErrorKind::Io, BROKEN_PIPE);
    }
    Error::new(ErrorKind::Io, format!("cannot write to stdout: {e}"))
}

/// Writes `bytes` exactly.
pub fn bytes(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(bytes).and_then(|_| out.flush()).map_err(io)
}

/// One line per item.
pub fn lines<S: AsRef<str>>(items: &[S]) -> Result<()> {
    let mut text = String::new();
    for item in items {
        text.push_str(item.as_ref());
        text.push('\n');
    }
    bytes(text.as_bytes())
}

/// One JSON document on one line.
pub fn json<T: Serialize + ?Sized>(value: &T) -> Result<()> {
    let mut text = serde_json::to_vec(value).expect("output serialises");
    text.push(b'\n');
    bytes(&text)
}

/// A line for people on stderr, unless --quiet.
pub fn tell(g: &crate::args::Global, text: std::fmt::Arguments<'_>) {
    if !g.quiet {
        let _ = writeln!(std::io::stderr(), "{text}");
    }
}
