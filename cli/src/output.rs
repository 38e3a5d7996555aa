//! stdout: what a program reads. Written only once a command succeeded, in
//! one go, so a failure leaves stdout empty.

#![forbid(unsafe_code)]

use std::io::Write;

use registry::{Error, ErrorKind, Result};
use serde::Serialize;

fn io(e: std::io::Error) -> Error {
    let what = if e.kind() == std::io::ErrorKind::BrokenPipe {
        "Broken pipe".to_string()
    } else {
        e.to_string()
    };
    Error::new(ErrorKind::Io, format!("cannot write to stdout: {what}"))
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
