//! The one error type of the crate.
//!
//! Every failure is an [`Error`] whose [`ErrorKind`] maps 1:1 onto the
//! `registry_status` codes of the C ABI. Messages are meant for people; they
//! never contain a password or a token (see `Client::redact`).

use std::fmt;
use std::io;

/// What went wrong, coarsely. The discriminants are the C ABI status codes and
/// are never renumbered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A required pointer was NULL (C ABI only).
    NullArgument = 1,
    /// A name, tag, digest, address or option was malformed.
    InvalidArgument = 2,
    /// The connection could not be made or broke.
    Network = 3,
    /// A connect, send or read took longer than the configured timeout.
    Timeout = 4,
    /// The TLS handshake failed (unknown CA, bad certificate, not TLS).
    Tls = 5,
    /// 401: no credentials, or wrong ones.
    Unauthorized = 6,
    /// 403, or a token without the needed scope.
    Forbidden = 7,
    /// 404, or a `*_UNKNOWN` error code.
    NotFound = 8,
    /// The registry or the API version it speaks cannot do this.
    Unsupported = 9,
    /// 429 after retries.
    RateLimited = 10,
    /// Downloaded or uploaded bytes do not hash to the expected digest.
    DigestMismatch = 11,
    /// The registry's answer was malformed or unexpected.
    Protocol = 12,
    /// 5xx after retries.
    Server = 13,
    /// A local file could not be read or written.
    Io = 14,
    /// A callback asked to stop.
    Aborted = 15,
    /// A response was larger than its cap.
    TooLarge = 16,
    /// A bug, caught at the C ABI boundary.
    Panic = 17,
}

impl ErrorKind {
    /// The C ABI status code of this kind.
    pub fn code(self) -> u32 {
        self as u32
    }

    /// A static upper-case name, the C constant without `REGISTRY_STATUS_`.
    pub fn name(self) -> &'static str {
        match self {
            ErrorKind::NullArgument => "NULL_ARGUMENT",
            ErrorKind::InvalidArgument => "INVALID_ARGUMENT",
            ErrorKind::Network => "NETWORK",
            ErrorKind::Timeout => "TIMEOUT",
            ErrorKind::Tls => "TLS",
            ErrorKind::Unauthorized => "UNAUTHORIZED",
            ErrorKind::Forbidden => "FORBIDDEN",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Unsupported => "UNSUPPORTED",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::DigestMismatch => "DIGEST_MISMATCH",
            ErrorKind::Protocol => "PROTOCOL",
            ErrorKind::Server => "SERVER",
            ErrorKind::Io => "IO",
            ErrorKind::Aborted => "ABORTED",
            ErrorKind::TooLarge => "TOO_LARGE",
            ErrorKind::Panic => "PANIC",
        }
    }
}

/// An error from the registry client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    code: Option<String>,
    /// A TLS handshake the server answered in plain HTTP (see `src/tls.rs`):
    /// the one TLS failure after which a client may retry over plain HTTP.
    plain_http_answer: bool,
}

/// Shorthand used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// A new error of `kind` with a human-readable message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Error {
        Error {
            kind,
            message: message.into(),
            http_status: None,
            code: None,
            plain_http_answer: false,
        }
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, message)
    }

    pub(crate) fn with_http_status(mut self, status: u16) -> Error {
        self.http_status = Some(status);
        self
    }

    pub(crate) fn with_kind(mut self, kind: ErrorKind) -> Error {
        self.kind = kind;
        self
    }

    pub(crate) fn with_code(mut self, code: Option<String>) -> Error {
        self.code = code;
        self
    }

    /// Marks a TLS error as a handshake the server answered in plain HTTP.
    pub(crate) fn with_plain_http_answer(mut self) -> Error {
        self.plain_http_answer = true;
        self
    }

    /// Whether the server answered the TLS handshake in plain HTTP (its first
    /// bytes were an HTTP response), rather than failing it some other way.
    pub(crate) fn is_plain_http_answer(&self) -> bool {
        self.plain_http_answer
    }

    pub(crate) fn map_message(mut self, f: impl FnOnce(String) -> String) -> Error {
        self.message = f(self.message);
        self
    }

    /// The coarse kind, which is also the C status code.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message, without kind or status decoration.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the response that caused this error, if any.
    pub fn http_status(&self) -> Option<u16> {
        self.http_status
    }

    /// The registry's own error code (such as `MANIFEST_UNKNOWN`), if it sent one.
    pub fn code(&self) -> Option<&str> {
        self.code.as_deref()
    }

    /// Wraps this error in an `io::Error`, for `Read` implementations; `From<io::Error>`
    /// unwraps it again without loss.
    pub(crate) fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    /// Maps a transport error from ureq.
    pub(crate) fn from_ureq(e: ureq::Error, what: &str) -> Error {
        use ureq::Error as U;
        let kind = match &e {
            U::Timeout(_) => ErrorKind::Timeout,
            U::Io(io) => return Error::from_io_transport(io, what),
            U::HostNotFound | U::ConnectionFailed => ErrorKind::Network,
            U::Tls(_) | U::Pem(_) | U::Rustls(_) => ErrorKind::Tls,
            U::Protocol(_) => ErrorKind::Protocol,
            U::BodyExceedsLimit(_) => ErrorKind::TooLarge,
            U::BadUri(_) | U::Http(_) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Network,
        };
        Error::new(kind, format!("{what}: {e}"))
    }

    pub(crate) fn from_io_transport(e: &io::Error, what: &str) -> Error {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            return inner.clone();
        }
        let text = e.to_string();
        let kind = match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            io::ErrorKind::InvalidData if is_tls_text(&text) => ErrorKind::Tls,
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            _ if is_tls_text(&text) => ErrorKind::Tls,
            _ => ErrorKind::Network,
        };
        Error::new(kind, format!("{what}: {text}"))
    }
}

/// rustls reports handshake failures as `io::Error`s; their text is the only
/// thing that tells them apart from a reset connection.
fn is_tls_text(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    [
        "certificate",
        "handshake",
        "tls",
        "alert",
        "corrupt message",
    ]
    .iter()
    .any(|w| t.contains(w))
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            Some(inner) => inner.clone(),
            None => Error::new(ErrorKind::Io, e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_the_abi_numbers() {
        assert_eq!(ErrorKind::NullArgument.code(), 1);
        assert_eq!(ErrorKind::NotFound.code(), 8);
        assert_eq!(ErrorKind::Panic.code(), 17);
        assert_eq!(ErrorKind::TooLarge.name(), "TOO_LARGE");
    }

    #[test]
    fn io_round_trip_keeps_the_error() {
        let e = Error::new(ErrorKind::DigestMismatch, "bad").with_http_status(200);
        let back: Error = e.clone().into_io().into();
        assert_eq!(back, e);
        let plain: Error = io::Error::new(io::ErrorKind::NotFound, "nope").into();
        assert_eq!(plain.kind(), ErrorKind::Io);
    }
}
