//! Which proxy a client uses, as docker (Go's `httpproxy`) decides it:
//! `HTTPS_PROXY` for https registries, `HTTP_PROXY` for plain http ones (the
//! lower-case names too), never for hosts on `NO_PROXY`, and never for
//! loopback addresses unless a proxy is named explicitly.

#![forbid(unsafe_code)]

use crate::url::is_loopback_host;

/// The proxy URL for a registry reached over `scheme` at `host` (`host[:port]`),
/// reading variables through `var`.
pub(crate) fn from_env(
    scheme: &str,
    host: &str,
    var: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    if is_loopback_host(host) {
        return None;
    }
    let get = |name: &str| {
        var(name)
            .or_else(|| var(&name.to_ascii_lowercase()))
            .filter(|v| !v.trim().is_empty())
    };
    let proxy = if scheme == "http" {
        get("HTTP_PROXY")
    } else {
        get("HTTPS_PROXY")
    }?;
    let no_proxy = get("NO_PROXY").unwrap_or_default();
    if no_proxy
        .split(',')
        .any(|entry| matches_no_proxy(entry.trim(), host))
    {
        return None;
    }
    Some(proxy)
}

/// One `NO_PROXY` entry: `*`, a host (matching itself and its subdomains), a
/// `.domain` suffix, or any of them with `:port`.
fn matches_no_proxy(entry: &str, host_port: &str) -> bool {
    if entry.is_empty() {
        return false;
    }
    if entry == "*" {
        return true;
    }
    let (host, port) = split_port(host_port);
    let (want, want_port) = split_port(entry);
    if want_port.is_some() && want_port != port {
        return false;
    }
    let host = host.to_ascii_lowercase();
    let want = want.to_ascii_lowercase();
    let want = want.strip_prefix("*.").map_or(want.as_str(), |w| w);
    match want.strip_prefix('.') {
        Some(suffix) => host.ends_with(&format!(".{suffix}")),
        None => host == want || host.ends_with(&format!(".{want}")),
    }
}

fn split_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        return match rest.split_once(']') {
            Some((h, p)) => (h, p.strip_prefix(':')),
            None => (s, None),
        };
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    }
}

/// A proxy URL for messages: without any `user:password@`.
pub(crate) fn describe(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
            format!("{scheme}://{rest}")
        }
        None => url.rsplit_once('@').map_or(url, |(_, r)| r).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| m.get(k).cloned()
    }

    #[test]
    fn scheme_picks_the_variable() {
        let e = env(&[("HTTPS_PROXY", "http://s:1"), ("http_proxy", "http://p:2")]);
        assert_eq!(
            from_env("https", "reg.example", &e).as_deref(),
            Some("http://s:1")
        );
        assert_eq!(
            from_env("http", "reg.example", &e).as_deref(),
            Some("http://p:2")
        );
        assert_eq!(from_env("https", "reg.example", env(&[])), None);
    }

    #[test]
    fn loopback_is_never_proxied() {
        let e = env(&[("HTTPS_PROXY", "http://s:1"), ("HTTP_PROXY", "http://s:1")]);
        for h in ["localhost:5000", "127.0.0.1:5000", "[::1]:5000"] {
            assert_eq!(from_env("https", h, &e), None, "{h}");
            assert_eq!(from_env("http", h, &e), None, "{h}");
        }
    }

    #[test]
    fn no_proxy_forms() {
        let e = |no: &str| env(&[("HTTPS_PROXY", "http://s:1"), ("NO_PROXY", no)]);
        let proxied = |no: &str, host: &str| from_env("https", host, e(no)).is_some();
        assert!(!proxied("*", "reg.example"));
        assert!(!proxied("example.com", "example.com"));
        assert!(!proxied("example.com", "reg.example.com:5000"));
        assert!(!proxied(".example.com", "reg.example.com"));
        assert!(proxied(".example.com", "example.com"));
        assert!(!proxied("*.example.com", "a.example.com"));
        assert!(proxied("example.com", "badexample.com"));
        assert!(!proxied("a.test, reg.example:5000", "reg.example:5000"));
        assert!(proxied("reg.example:5001", "reg.example:5000"));
        assert!(!proxied("10.1.2.3", "10.1.2.3:443"));
        assert!(proxied("", "x"), "an empty entry matches nothing");
    }

    #[test]
    fn credentials_are_not_shown() {
        assert_eq!(describe("http://user:pw@proxy:3128"), "http://proxy:3128");
        assert_eq!(describe("proxy:3128"), "proxy:3128");
    }
}
