//! The one error type of the crate, and the mapping of a registry's error
//! responses onto it.
//!
//! Every failure is an [`Error`] whose [`ErrorKind`] maps 1:1 onto the
//! `registry_status` codes of the C ABI (one table: `status_table.rs`).
//! Messages are meant for people; they never contain a password or a token
//! (the request pipeline redacts them).

#![forbid(unsafe_code)]

use std::fmt;
use std::io::{self, Read};
use std::sync::Arc;

use serde::Deserialize;
use ureq::http::Response;
use ureq::Body;

/// Error bodies are read up to this size for their message.
const ERROR_BODY_CAP: u64 = 64 * 1024;

/// When the body of a response must have been read by: the transport puts
/// it in every response's extensions (the request's deadline, or for a blob
/// transfer its stall timeout from the answer), so that an error body read
/// for its message ends too, however slowly the server sends it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadBy(pub std::time::Instant);

/// The request a response answers, as messages name it (`GET /v2/…`, no
/// query): the transport puts it in every response's extensions, so that an
/// error names its request without each caller restating the URL.
#[derive(Clone, Debug)]
pub(crate) struct Sent(pub String);

/// What `resp` answers (see [`Sent`]).
pub(crate) fn what_of(resp: &Response<Body>) -> &str {
    resp.extensions()
        .get::<Sent>()
        .map_or("the registry's answer", |s| s.0.as_str())
}

/// Builds [`ErrorKind`] from the rows of `status_table.rs` (all but `Ok`).
macro_rules! status_table {
    (Ok = 0, $ok_name:literal, $ok_doc:literal; $($kind:ident = $code:literal, $name:literal, $doc:literal;)*) => {
        /// What went wrong, coarsely. The discriminants are the C ABI status
        /// codes (`status_table.rs`) and are never renumbered.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        #[repr(u32)]
        pub enum ErrorKind {
            $(#[doc = $doc] $kind = $code,)*
        }

        impl ErrorKind {
            /// Every kind, in code order.
            pub const ALL: &'static [ErrorKind] = &[$(ErrorKind::$kind,)*];

            /// A static upper-case name, the C constant without `REGISTRY_STATUS_`.
            pub fn name(self) -> &'static str {
                match self {
                    $(ErrorKind::$kind => $name,)*
                }
            }
        }

        /// The name of any status code as a C string: "OK" for 0, the kind's
        /// name, or "UNKNOWN" for a value outside the table.
        #[cfg_attr(not(feature = "capi"), allow(dead_code))]
        pub(crate) fn status_c_name(code: u32) -> &'static std::ffi::CStr {
            const fn c(s: &'static str) -> &'static std::ffi::CStr {
                match std::ffi::CStr::from_bytes_with_nul(s.as_bytes()) {
                    Ok(c) => c,
                    Err(_) => panic!("a status name holds a NUL byte"),
                }
            }
            match code {
                0 => const { c(concat!($ok_name, "\0")) },
                $($code => const { c(concat!($name, "\0")) },)*
                _ => c"UNKNOWN",
            }
        }
    };
}

include!("status_table.rs");

impl ErrorKind {
    /// The C ABI status code of this kind.
    pub fn code(self) -> u32 {
        self as u32
    }
}

/// An error from the registry client: a [`kind`](Self::kind) to act on, a
/// message for people, the registry's HTTP status and error code when it
/// answered, and (as [`source`](std::error::Error::source)) the I/O or HTTP
/// error underneath, when there was one.
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    http_status: Option<u16>,
    code: Option<String>,
    /// A TLS handshake the server answered in plain HTTP (see `src/tls.rs`):
    /// the one TLS failure after which a client may retry over plain HTTP.
    plain_http_answer: bool,
    /// The error underneath (an `io::Error`, a `ureq::Error`).
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Errors are equal when all they say is equal; their sources are not compared.
impl PartialEq for Error {
    fn eq(&self, other: &Error) -> bool {
        (
            self.kind,
            &self.message,
            self.http_status,
            &self.code,
            self.plain_http_answer,
        ) == (
            other.kind,
            &other.message,
            other.http_status,
            &other.code,
            other.plain_http_answer,
        )
    }
}

impl Eq for Error {}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Error {
        match never {}
    }
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
            source: None,
        }
    }

    /// Keeps `source` as the error underneath this one.
    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Error {
        self.source = Some(Arc::new(source));
        self
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::InvalidArgument, message)
    }

    pub(crate) fn protocol(message: impl Into<String>) -> Error {
        Error::new(ErrorKind::Protocol, message)
    }

    /// An I/O failure on a file, said as "`what` `path`: `e`".
    pub(crate) fn io(what: &str, path: &std::path::Path, e: std::io::Error) -> Error {
        Error::new(ErrorKind::Io, format!("{what} {}: {e}", path.display())).with_source(e)
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
        Error::new(kind, format!("{what}: {e}")).with_source(e)
    }

    pub(crate) fn from_io_transport(e: &io::Error, what: &str) -> Error {
        if let Some(inner) = e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            return inner.clone();
        }
        if let Some(ureq::Error::Timeout(t)) = e.get_ref().and_then(|i| i.downcast_ref()) {
            return Error::new(ErrorKind::Timeout, format!("{what}: timed out ({t})"));
        }
        let text = e.to_string();
        let kind = match e.kind() {
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => ErrorKind::Timeout,
            io::ErrorKind::InvalidData if is_tls_text(&text) => ErrorKind::Tls,
            io::ErrorKind::InvalidData => ErrorKind::Protocol,
            _ if is_tls_text(&text) => ErrorKind::Tls,
            _ => ErrorKind::Network,
        };
        Error::new(kind, format!("{what}: {text}")).with_source(io::Error::new(e.kind(), text))
    }
}

#[derive(Deserialize)]
struct V2Errors {
    errors: Vec<V2Error>,
}

#[derive(Deserialize)]
struct V2Error {
    code: Option<String>,
    message: Option<String>,
}

#[derive(Deserialize)]
struct V1Error {
    error: String,
}

impl Error {
    /// Maps a non-success response onto an error, reading the registry's
    /// `{"errors":[…]}` (v2) or `{"error":"…"}` (v1) body, up to 64 KiB, for
    /// the message and code; the message starts with the request it answers. A 401 whose challenge says `insufficient_scope`
    /// is FORBIDDEN: the credentials are fine, the scope is not.
    pub(crate) fn from_response(resp: Response<Body>) -> Error {
        let what = what_of(&resp).to_string();
        let status = resp.status().as_u16();
        let insufficient_scope = crate::challenge::challenges_of(&resp)
            .iter()
            .any(|c| c.param("error") == Some("insufficient_scope"));
        let read_by = resp.extensions().get::<ReadBy>().copied();
        let mut reader = resp.into_body().into_reader().take(ERROR_BODY_CAP);
        // What arrives by the deadline (a stalled read ends with the
        // transport's own timeout), up to the cap; the rest is not needed.
        let mut body = Vec::new();
        let mut chunk = [0u8; 4096];
        while read_by.is_none_or(|ReadBy(t)| std::time::Instant::now() < t) {
            match reader.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => body.extend_from_slice(&chunk[..n]),
            }
        }
        Error::from_status(status, &body, insufficient_scope, &what)
    }

    /// [`from_response`](Self::from_response) once the body was read.
    pub(crate) fn from_status(
        status: u16,
        body: &[u8],
        insufficient_scope: bool,
        what: &str,
    ) -> Error {
        let (code, server_message) = if let Ok(v2) = serde_json::from_slice::<V2Errors>(body) {
            match v2.errors.into_iter().next() {
                Some(e) => (e.code, e.message),
                None => (None, None),
            }
        } else if let Ok(v1) = serde_json::from_slice::<V1Error>(body) {
            (None, Some(v1.error))
        } else {
            let text = String::from_utf8_lossy(body);
            let line = text.lines().next().unwrap_or("").trim();
            let line: String = line.chars().take(200).collect();
            (None, (!line.is_empty()).then_some(line))
        };
        let code = code.map(|c| c.chars().take(64).collect::<String>());
        let server_message = server_message.map(|m| m.chars().take(500).collect::<String>());
        let kind = match (code.as_deref(), status) {
            (_, 401) | (Some("UNAUTHORIZED"), _) if insufficient_scope => ErrorKind::Forbidden,
            (Some(c), _) if c.ends_with("_UNKNOWN") => ErrorKind::NotFound,
            (Some("DIGEST_INVALID"), _) => ErrorKind::DigestMismatch,
            (Some("UNAUTHORIZED"), _) | (_, 401) => ErrorKind::Unauthorized,
            (Some("DENIED"), _) | (_, 403) => ErrorKind::Forbidden,
            (Some("UNSUPPORTED"), _) | (_, 405) => ErrorKind::Unsupported,
            (Some("TOOMANYREQUESTS"), _) | (_, 429) => ErrorKind::RateLimited,
            (_, 404) => ErrorKind::NotFound,
            (_, 500..=599) => ErrorKind::Server,
            (_, 400..=499) => ErrorKind::InvalidArgument,
            _ => ErrorKind::Protocol,
        };
        let mut message = format!("{what}: ");
        match (&server_message, kind) {
            (Some(m), _) => message.push_str(m),
            (None, ErrorKind::Forbidden) if insufficient_scope => {
                message.push_str("the credentials do not grant the needed scope")
            }
            (None, _) => message.push_str("unexpected answer"),
        }
        match &code {
            Some(c) => message.push_str(&format!(" (HTTP {status}, {c})")),
            None => message.push_str(&format!(" (HTTP {status})")),
        }
        Error::new(kind, message)
            .with_http_status(status)
            .with_code(code)
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

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

impl From<io::Error> for Error {
    fn from(e: io::Error) -> Error {
        match e.get_ref().and_then(|i| i.downcast_ref::<Error>()) {
            Some(inner) => inner.clone(),
            None => Error::new(ErrorKind::Io, e.to_string()).with_source(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_error_underneath_is_the_source() {
        use std::error::Error as _;
        let e = Error::from(io::Error::new(io::ErrorKind::PermissionDenied, "no"));
        let io = e.source().and_then(|s| s.downcast_ref::<io::Error>());
        assert_eq!(
            io.map(io::Error::kind),
            Some(io::ErrorKind::PermissionDenied)
        );
        let path = std::path::Path::new("/nowhere");
        let e = Error::io(
            "cannot open",
            path,
            io::Error::from(io::ErrorKind::NotFound),
        );
        assert_eq!(e.message(), "cannot open /nowhere: entity not found");
        assert!(e.source().is_some());
        let e = Error::from_ureq(ureq::Error::ConnectionFailed, "GET /v2/");
        assert!(e.source().is_some_and(|s| s.is::<ureq::Error>()));
        assert!(Error::new(ErrorKind::Protocol, "x").source().is_none());
        // Equal errors stay equal whatever their sources.
        assert_eq!(e.clone(), e);
    }

    #[test]
    fn codes_are_the_abi_numbers() {
        assert_eq!(ErrorKind::NullArgument.code(), 1);
        assert_eq!(ErrorKind::NotFound.code(), 8);
        assert_eq!(ErrorKind::Panic.code(), 17);
        assert_eq!(ErrorKind::AlreadyExists.code(), 18);
        assert_eq!(ErrorKind::TooLarge.name(), "TOO_LARGE");
    }

    #[test]
    fn every_status_of_the_table() {
        let codes: Vec<u32> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(codes, (1..=18).collect::<Vec<_>>(), "contiguous, from 1");
        assert_eq!(status_c_name(0).to_str(), Ok("OK"));
        for kind in ErrorKind::ALL {
            assert_eq!(status_c_name(kind.code()).to_str(), Ok(kind.name()));
            assert!(!kind.name().is_empty() && kind.name() == kind.name().to_ascii_uppercase());
        }
        assert_eq!(status_c_name(18).to_str(), Ok("ALREADY_EXISTS"));
        assert_eq!(status_c_name(19).to_str(), Ok("UNKNOWN"));
        assert_eq!(status_c_name(u32::MAX).to_str(), Ok("UNKNOWN"));
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
