//! Errors become one line on stderr, `regcli: <STATUS>: <message>`, and an
//! exit code per class of failure.

#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

use registry::{Error, ErrorKind};

/// Any failure not in a class below.
pub const OTHER: u8 = 1;
/// A malformed command line or argument.
pub const USAGE: u8 = 2;
/// The repository, tag, manifest or blob does not exist.
pub const NOT_FOUND: u8 = 3;
/// Missing or wrong credentials, or no permission.
pub const AUTH: u8 = 4;
/// No connection, a timeout, or a TLS failure.
pub const NETWORK: u8 = 5;
/// Bytes did not hash to their digest.
pub const INTEGRITY: u8 = 6;
/// The registry already has it (a v1 image whose JSON is there).
pub const EXISTS: u8 = 7;

/// The exit code of an error's kind.
pub fn code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::InvalidArgument | ErrorKind::NullArgument => USAGE,
        ErrorKind::NotFound => NOT_FOUND,
        ErrorKind::Unauthorized | ErrorKind::Forbidden => AUTH,
        ErrorKind::Network | ErrorKind::Timeout | ErrorKind::Tls => NETWORK,
        ErrorKind::DigestMismatch => INTEGRITY,
        ErrorKind::AlreadyExists => EXISTS,
        _ => OTHER,
    }
}

/// One line: newlines in a message become spaces.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Reports `e` and returns its exit code. A closed stdout (`regcli tags … |
/// head`) is not an error worth a message.
pub fn fail(e: &Error) -> ExitCode {
    if e.kind() == ErrorKind::Io && e.message() == crate::output::BROKEN_PIPE {
        return ExitCode::SUCCESS;
    }
    let _ = writeln!(
        std::io::stderr(),
        "regcli: {}: {}",
        e.kind().name(),
        one_line(e.message())
    );
    ExitCode::from(code(e.kind()))
}

/// A command line clap could not read: `--help` and `--version` go to stdout
/// (exit 0); anything else is one line on stderr with the usage code.
pub fn usage(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind as K;
    match e.kind() {
        K::DisplayHelp | K::DisplayVersion | K::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            return if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(USAGE)
            } else {
                ExitCode::SUCCESS
            };
        }
        _ => {}
    }
    // clap renders "error: <what>", perhaps more lines of detail, a blank
    // line, "Usage: …" and a hint; keep what and the usage, on one line.
    let text = e.render().to_string();
    let what: Vec<&str> = text
        .lines()
        .take_while(|l| !l.trim().is_empty() && !l.starts_with("Usage:"))
        .collect();
    let what = one_line(&what.join(" "));
    let what = what.trim_start_matches("error: ");
    let usage = text
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .map(|u| format!(" (usage: {}; see --help)", u.trim()))
        .unwrap_or_else(|| " (see regcli --help)".to_string());
    let _ = writeln!(
        std::io::stderr(),
        "regcli: {}: {what}{usage}",
        ErrorKind::InvalidArgument.name(),
    );
    ExitCode::from(USAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_class() {
        let mut seen = std::collections::HashSet::new();
        for &kind in ErrorKind::ALL {
            let c = code(kind);
            assert!((1..=7).contains(&c), "{kind:?}");
            seen.insert(c);
        }
        assert_eq!(seen.len(), 7, "every class is used");
        assert_eq!(code(ErrorKind::NotFound), NOT_FOUND);
        assert_eq!(code(ErrorKind::Forbidden), AUTH);
        assert_eq!(code(ErrorKind::Tls), NETWORK);
        assert_eq!(code(ErrorKind::Timeout), NETWORK);
        assert_eq!(code(ErrorKind::DigestMismatch), INTEGRITY);
        assert_eq!(code(ErrorKind::Server), OTHER);
        assert_eq!(code(ErrorKind::AlreadyExists), EXISTS);
        assert_eq!(
            code(ErrorKind::InvalidArgument),
            USAGE,
            "a v2 409 stays a usage error"
        );
    }

    #[test]
    fn messages_fit_on_one_line() {
        assert_eq!(one_line("a\nb\r\n  c "), "a b c");
    }
}
