//! URLs as the client handles them: origins (scheme, host, port) for the
//! trust rules, loopback hosts, resolving `Location` and `Link` references,
//! query encoding, and `Link: rel="next"` headers.

#![forbid(unsafe_code)]

/// `scheme://authority` of a URL, lower-cased, with the default port made explicit.
pub(crate) fn origin_of(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority
        .rsplit('@')
        .next()
        .unwrap_or(authority)
        .to_ascii_lowercase();
    let scheme = scheme.to_ascii_lowercase();
    let has_port = authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| !p.contains(']'));
    match (scheme.as_str(), has_port) {
        ("https", false) => format!("https://{authority}:443"),
        ("http", false) => format!("http://{authority}:80"),
        _ => format!("{scheme}://{authority}"),
    }
}

/// The path and query of a URL, for messages.
pub(crate) fn path_of(url: &str) -> &str {
    match url.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => url,
    }
}

/// A URL for an error message: scheme, host and path, no query (upload URLs
/// carry server state there).
pub(crate) fn describe(url: &str) -> String {
    url.split(['?', '#']).next().unwrap_or(url).to_string()
}

/// Resolves a `Location` or `Link` reference against the URL of the request
/// that returned it (RFC 3986 §5.2, without dot-segment removal: registries
/// send absolute paths or full URLs).
pub(crate) fn resolve(base: &str, reference: &str) -> String {
    let reference = reference.trim();
    if reference.contains("://") {
        return reference.to_string();
    }
    let (scheme, rest) = base.split_once("://").unwrap_or(("http", base));
    if let Some(net) = reference.strip_prefix("//") {
        return format!("{scheme}://{net}");
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let path_and_query = &rest[authority_end..];
    let path = path_and_query.split(['?', '#']).next().unwrap_or("");
    if reference.starts_with('/') {
        format!("{scheme}://{authority}{reference}")
    } else if reference.starts_with('?') {
        format!("{scheme}://{authority}{path}{reference}")
    } else if reference.is_empty() {
        format!("{scheme}://{authority}{path}")
    } else {
        let dir = &path[..path.rfind('/').map_or(0, |i| i + 1)];
        let dir = if dir.is_empty() { "/" } else { dir };
        format!("{scheme}://{authority}{dir}{reference}")
    }
}

/// Percent-encodes a query value (RFC 3986 unreserved characters stay).
pub(crate) fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Appends `key=value` to a URL's query, keeping what is there.
pub(crate) fn add_query(url: &str, key: &str, value: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{key}={}", encode(value))
}

/// The `rel="next"` target of an RFC 8288 `Link` header, if any.
pub(crate) fn next_link(link: &str) -> Option<String> {
    for entry in split_link_entries(link) {
        let entry = entry.trim();
        let Some(rest) = entry.strip_prefix('<') else {
            continue;
        };
        let Some((target, params)) = rest.split_once('>') else {
            continue;
        };
        let is_next = params.split(';').any(|p| {
            let p = p.trim();
            p.split_once('=').is_some_and(|(k, v)| {
                k.trim().eq_ignore_ascii_case("rel")
                    && v.trim()
                        .trim_matches('"')
                        .split_ascii_whitespace()
                        .any(|r| r.eq_ignore_ascii_case("next"))
            })
        });
        if is_next {
            return Some(target.to_string());
        }
    }
    None
}

/// Splits a Link header at the commas between entries (not those inside `<…>`
/// or quotes).
fn split_link_entries(link: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut in_angle, mut in_quote, mut start) = (false, false, 0);
    for (i, c) in link.char_indices() {
        match c {
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            '"' if !in_angle => in_quote = !in_quote,
            ',' if !in_angle && !in_quote => {
                out.push(&link[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&link[start..]);
    out
}

/// True for `localhost`, `127.x.y.z` and `[::1]`, with or without a scheme,
/// user or port.
pub(crate) fn is_loopback_host(addr: &str) -> bool {
    let rest = addr.split_once("://").map_or(addr, |(_, r)| r);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    let host = if authority.starts_with('[') {
        authority
            .split(']')
            .next()
            .unwrap_or("")
            .trim_start_matches('[')
    } else {
        authority.split(':').next().unwrap_or("")
    };
    host.eq_ignore_ascii_case("localhost")
        || host == "::1"
        || (host.starts_with("127.") && host.parse::<std::net::Ipv4Addr>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_references() {
        let base = "http://127.0.0.1:5000/v2/_catalog?n=1";
        assert_eq!(
            resolve(base, "/v2/_catalog?last=a&n=1"),
            "http://127.0.0.1:5000/v2/_catalog?last=a&n=1"
        );
        assert_eq!(resolve(base, "https://x/y?z"), "https://x/y?z");
        assert_eq!(resolve(base, "//cdn:9/b"), "http://cdn:9/b");
        assert_eq!(
            resolve(base, "?page=2"),
            "http://127.0.0.1:5000/v2/_catalog?page=2"
        );
        assert_eq!(resolve(base, "next"), "http://127.0.0.1:5000/v2/next");
    }

    #[test]
    fn origins() {
        assert_eq!(origin_of("https://Host/a"), "https://host:443");
        assert_eq!(origin_of("https://host:443/b?c"), "https://host:443");
        assert_ne!(origin_of("http://h:1/"), origin_of("http://h:2/"));
        assert_ne!(origin_of("http://h/"), origin_of("https://h/"));
        assert_eq!(origin_of("http://[::1]:5/x"), "http://[::1]:5");
    }

    #[test]
    fn link_headers() {
        assert_eq!(
            next_link(r#"</v2/_catalog?last=test%2Fa&n=1>; rel="next""#).as_deref(),
            Some("/v2/_catalog?last=test%2Fa&n=1")
        );
        assert_eq!(
            next_link(r#"<https://a/x?a=1,2>; rel=prev, <https://a/y>; rel=next"#).as_deref(),
            Some("https://a/y")
        );
        assert_eq!(next_link(r#"<https://a/x>; rel="prev""#), None);
    }

    #[test]
    fn encodes_queries() {
        assert_eq!(
            encode("repository:a/b:pull,push"),
            "repository%3Aa%2Fb%3Apull%2Cpush"
        );
        assert_eq!(
            add_query("http://h/p?_state=x", "digest", "sha256:1"),
            "http://h/p?_state=x&digest=sha256%3A1"
        );
    }

    #[test]
    fn loopback() {
        for h in [
            "localhost:5000",
            "127.0.0.1",
            "http://127.0.0.2:80",
            "[::1]:5000",
            "https://localhost",
            "http://LOCALHOST:1/x",
        ] {
            assert!(is_loopback_host(h), "{h}");
        }
        for h in [
            "example.com",
            "127.example.com",
            "10.0.0.1:5000",
            "[::2]:1",
            "localhost.evil",
            "http://127.0.0.1.evil:5/",
            "http://user@127.0.0.1.evil/",
        ] {
            assert!(!is_loopback_host(h), "{h}");
        }
    }
}
