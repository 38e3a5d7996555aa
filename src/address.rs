//! Registry addresses: what a user types (`localhost:5000`, `docker.io`,
//! `https://host:port`), parsed into the host requests go to, the scheme if
//! one was named, and whether it is Docker Hub; and which API to speak.

#![forbid(unsafe_code)]

use crate::error::{Error, Result};
use crate::reference::validate_domain;

/// Where Docker Hub's v2 API lives.
const HUB_V2_HOST: &str = "registry-1.docker.io";
/// Where Docker Hub's v1 index lives.
const HUB_V1_HOST: &str = "index.docker.io";

/// Which API a client speaks, or should detect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Api {
    /// Detect: v2 first, v1 only when the registry does not speak v2.
    #[default]
    Auto,
    /// The legacy Docker Registry v1 API.
    V1,
    /// Docker Registry v2 / OCI distribution.
    V2,
}

/// A parsed registry address.
#[derive(Debug, Clone)]
pub(crate) struct Address {
    /// `host[:port]` the API is reached at.
    pub(crate) host: String,
    /// `Some` when the user typed a scheme.
    pub(crate) scheme: Option<&'static str>,
    /// Docker Hub: one-word repositories get `library/`.
    pub(crate) hub: bool,
}

impl Address {
    pub(crate) fn parse(input: &str) -> Result<Address> {
        let bad = |why: &str| Error::invalid(format!("invalid registry address {input:?}: {why}"));
        let s = input.trim();
        if s.is_empty() {
            return Err(bad("it is empty"));
        }
        let (scheme, rest) = match s.split_once("://") {
            Some((sch, rest)) if sch.eq_ignore_ascii_case("https") => (Some("https"), rest),
            Some((sch, rest)) if sch.eq_ignore_ascii_case("http") => (Some("http"), rest),
            Some(_) => return Err(bad("only http:// and https:// addresses are supported")),
            None => (None, s),
        };
        let rest = rest.trim_end_matches('/');
        let host = rest.strip_suffix("/v2").unwrap_or(rest);
        if host.contains(['/', '?', '#', '@']) {
            return Err(bad("expected host[:port], without a path or user"));
        }
        validate_domain(host).map_err(|why| bad(&why))?;
        let lower = host.to_ascii_lowercase();
        let hub = matches!(
            lower.as_str(),
            "docker.io" | "index.docker.io" | "registry-1.docker.io"
        );
        Ok(Address {
            host: if hub { HUB_V2_HOST.to_string() } else { lower },
            scheme,
            hub,
        })
    }
}

/// Checks a mirror's URL as docker's daemon does (moby `ValidateMirror`):
/// `http://` or `https://` and a host, nothing after it but `/`: no path,
/// query, fragment or user. Returns the address the mirror's client is
/// built for (`scheme://host[:port]`).
pub(crate) fn validate_mirror(url: &str) -> Result<String> {
    // A user and password in the URL never reach a message.
    let shown = match url.rsplit_once('@') {
        Some((_, host)) => format!("…@{host}"),
        None => url.to_string(),
    };
    let bad = |why: &str| Error::invalid(format!("invalid mirror {shown:?}: {why}"));
    let s = url.trim();
    let Some((scheme, rest)) = s.split_once("://") else {
        return Err(bad("it needs a scheme, http:// or https://"));
    };
    if !scheme.eq_ignore_ascii_case("https") && !scheme.eq_ignore_ascii_case("http") {
        return Err(bad("only http:// and https:// mirrors are supported"));
    }
    let host = rest.strip_suffix('/').unwrap_or(rest);
    if host.contains(['?', '#']) {
        return Err(bad("a mirror takes no query or fragment"));
    }
    if host.contains('@') {
        return Err(bad("a mirror's URL takes no user or password"));
    }
    if host.contains('/') {
        return Err(bad("a mirror takes no path"));
    }
    validate_domain(host).map_err(|why| bad(&why))?;
    Ok(format!("{}://{host}", scheme.to_ascii_lowercase()))
}

/// The host an API is reached at: Docker Hub keeps v1 on its index.
pub(crate) fn api_host(address: &Address, api: Api) -> &str {
    if address.hub && api == Api::V1 {
        HUB_V1_HOST
    } else {
        &address.host
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn addresses() {
        let a = Address::parse("localhost:5000").unwrap();
        assert_eq!(
            (a.host.as_str(), a.scheme, a.hub),
            ("localhost:5000", None, false)
        );
        let a = Address::parse("https://Quay.io/").unwrap();
        assert_eq!((a.host.as_str(), a.scheme), ("quay.io", Some("https")));
        let a = Address::parse("docker.io").unwrap();
        assert_eq!((a.host.as_str(), a.hub), ("registry-1.docker.io", true));
        let a = Address::parse("http://127.0.0.1:5000/v2/").unwrap();
        assert_eq!(
            (a.host.as_str(), a.scheme),
            ("127.0.0.1:5000", Some("http"))
        );
        for bad in [
            "",
            "ftp://x",
            "host/path",
            "user@host",
            "ho st",
            "host:port",
            "http://",
        ] {
            let e = Address::parse(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
        }
    }

    #[test]
    fn mirrors_are_validated_as_docker_does() {
        for (url, want) in [
            ("https://mirror.gcr.io", "https://mirror.gcr.io"),
            ("https://mirror.gcr.io/", "https://mirror.gcr.io"),
            ("HTTP://127.0.0.1:5001", "http://127.0.0.1:5001"),
        ] {
            assert_eq!(validate_mirror(url).unwrap(), want);
        }
        for bad in [
            "mirror.gcr.io",
            "ftp://mirror",
            "https://mirror/path",
            "https://mirror/v2/",
            "https://mirror?x=1",
            "https://mirror/#f",
            "https://user:pw@mirror",
            "https://",
            "https://bad host",
        ] {
            let e = validate_mirror(bad).expect_err(bad);
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{bad}");
            assert!(!e.message().contains("pw@"), "{e}");
        }
    }
}
