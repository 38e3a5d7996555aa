//! Credentials from environment variables, the way carvel imgpkg's env
//! keychain reads them: `<PREFIX>_HOSTNAME`, `<PREFIX>_USERNAME`,
//! `<PREFIX>_PASSWORD`, `<PREFIX>_IDENTITY_TOKEN` and
//! `<PREFIX>_REGISTRY_TOKEN` make one entry; the same names followed by
//! `_<SUFFIX>` (any suffix: `_0`, `_1`, `_CI`) make one entry per suffix.
//!
//! An entry's `HOSTNAME` is `host[:port]`, optionally with a scheme (ignored)
//! and a path (`quay.io/team`, credentials for that part of the registry
//! only); `/v1/` and `/v2/` at the start of the path mean the host itself.
//! Each dot-separated label of the host may be a shell glob (`*`, `?`,
//! `[a-z]`, `[^x]`, `\` escapes), so `*.example.com` matches
//! `eu.example.com` but neither `example.com` nor `a.b.example.com`; the
//! port, if any, must be equal, and a glob without a port matches only a
//! registry addressed without one. Entries are tried in descending order of
//! their `HOSTNAME` (so `quay.io/team` before `quay.io`, and `a.example.com`
//! before `*.example.com`); the first that matches wins.

#![forbid(unsafe_code)]

use super::Credentials;
use crate::error::{Error, Result};

/// The variables an entry is made of, after `<PREFIX>_`.
const KEYS: [&str; 5] = [
    "HOSTNAME",
    "USERNAME",
    "PASSWORD",
    "IDENTITY_TOKEN",
    "REGISTRY_TOKEN",
];

/// The prefix used when none is given.
pub(crate) const DEFAULT_PREFIX: &str = "REGISTRY";

/// One entry: a host glob (and optional path) and its credentials.
#[derive(Clone)]
pub(crate) struct EnvEntry {
    /// `host[:port]` as written (lower case), globs included.
    host: String,
    /// The path the credentials are for, `""` for the whole registry.
    path: String,
    /// The variable that named the host, for messages.
    variable: String,
    credentials: Credentials,
}

impl std::fmt::Debug for EnvEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvEntry")
            .field("host", &self.host)
            .field("path", &self.path)
            .field("variable", &self.variable)
            .field("credentials", &self.credentials)
            .finish()
    }
}

/// Checks a prefix: letters, digits and `_`, not empty.
pub(crate) fn check_prefix(prefix: &str) -> Result<()> {
    if prefix.is_empty()
        || !prefix
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return Err(Error::invalid(format!(
            "invalid environment prefix {prefix:?}: expected letters, digits and _, \
             such as REGISTRY or IMGPKG_REGISTRY"
        )));
    }
    Ok(())
}

/// The variables of `vars` that are one of the five names under `prefix`:
/// the only ones kept, so that a builder holds no one else's secrets (such
/// as the distribution registry's `REGISTRY_HTTP_SECRET`).
pub(crate) fn select(
    prefix: &str,
    vars: impl IntoIterator<Item = (String, String)>,
) -> Vec<(String, String)> {
    vars.into_iter()
        .filter(|(name, _)| key_of(prefix, name).is_some())
        .collect()
}

/// Which of the five names `name` is under `prefix`, and its suffix (`None`
/// for the unsuffixed entry).
fn key_of(prefix: &str, name: &str) -> Option<(&'static str, Option<String>)> {
    let rest = name.strip_prefix(prefix)?.strip_prefix('_')?;
    KEYS.iter().find_map(|k| {
        if rest == *k {
            Some((*k, None))
        } else {
            rest.strip_prefix(k)
                .and_then(|s| s.strip_prefix('_'))
                .map(|s| (*k, Some(s.to_string())))
        }
    })
}

/// The entries `vars` define under `prefix`, in the order they are tried.
/// Variables under the prefix that are none of the five names (such as the
/// distribution registry's own `REGISTRY_HTTP_ADDR`) are ignored; an entry
/// without a `HOSTNAME`, or with no secret at all, is dropped. A malformed
/// `HOSTNAME` is INVALID_ARGUMENT naming the variable (a host name is no
/// secret; no other value is ever quoted).
pub(crate) fn parse(prefix: &str, vars: &[(String, String)]) -> Result<Vec<EnvEntry>> {
    check_prefix(prefix)?;
    #[derive(Default)]
    struct Raw {
        hostname: Option<(String, String)>,
        username: String,
        password: String,
        identity_token: String,
        registry_token: String,
    }
    // Keyed by suffix: `None` for the unsuffixed entry.
    let mut raw: Vec<(Option<String>, Raw)> = Vec::new();
    for (name, value) in vars {
        let Some((key, suffix)) = key_of(prefix, name) else {
            continue;
        };
        let i = match raw.iter().position(|(s, _)| *s == suffix) {
            Some(i) => i,
            None => {
                raw.push((suffix, Raw::default()));
                raw.len() - 1
            }
        };
        let r = &mut raw[i].1;
        match key {
            "HOSTNAME" => r.hostname = Some((name.clone(), value.clone())),
            "USERNAME" => r.username = value.clone(),
            "PASSWORD" => r.password = value.clone(),
            "IDENTITY_TOKEN" => r.identity_token = value.clone(),
            _ => r.registry_token = value.clone(),
        }
    }
    let mut entries = Vec::new();
    for (_, r) in raw {
        let Some((variable, hostname)) = r.hostname else {
            continue;
        };
        let (host, path) = parse_hostname(&variable, &hostname)?;
        let credentials = if !r.registry_token.is_empty() {
            Credentials::Bearer(r.registry_token)
        } else if !r.identity_token.is_empty() {
            Credentials::IdentityToken(r.identity_token)
        } else if !r.username.is_empty() || !r.password.is_empty() {
            Credentials::Basic {
                username: r.username,
                password: r.password,
            }
        } else {
            continue;
        };
        entries.push(EnvEntry {
            host,
            path,
            variable,
            credentials,
        });
    }
    // imgpkg's order: descending by the written host and path.
    entries.sort_by(|a, b| {
        let key = |e: &EnvEntry| format!("{}{}", e.host, e.path);
        key(b).cmp(&key(a))
    });
    Ok(entries)
}

/// `HOSTNAME`'s value as (`host[:port]`, path): a scheme is dropped, a
/// leading `/v1` or `/v2` of the path too, and `/` alone is no path.
fn parse_hostname(variable: &str, value: &str) -> Result<(String, String)> {
    let bad = |why: &str| {
        Error::invalid(format!(
            "{variable} = {value:?} is not a registry host name ({why}); \
             expected host[:port][/path], e.g. gcr.io or *.example.com:5000"
        ))
    };
    let v = value.trim();
    let lower = v.to_ascii_lowercase();
    let v = if lower.starts_with("https://") {
        &v[8..]
    } else if lower.starts_with("http://") {
        &v[7..]
    } else {
        v
    };
    let (host, path) = match v.find('/') {
        Some(i) => (&v[..i], &v[i..]),
        None => (v, ""),
    };
    let path = match path {
        p if p.starts_with("/v1/") || p.starts_with("/v2/") => &p[3..],
        p => p,
    };
    let path = if path == "/" { "" } else { path };
    if host.is_empty() {
        return Err(bad("no host"));
    }
    if host.contains(['@', '?', '#']) || host.chars().any(char::is_whitespace) {
        return Err(bad("a user, query or space in the host"));
    }
    if path.contains(['?', '#']) || path.chars().any(char::is_whitespace) {
        return Err(bad("a query or space in the path"));
    }
    let (name, _) = split_port(host);
    for label in name.split('.').filter(|_| !name.starts_with('[')) {
        glob_match(label, "").map_err(|_| bad("a malformed glob"))?;
    }
    Ok((host.to_ascii_lowercase(), path.to_string()))
}

/// (`host`, `port`) of `host[:port]`; an IPv6 literal keeps its brackets.
fn split_port(s: &str) -> (&str, &str) {
    if let Some(end) = s.strip_prefix('[').and_then(|r| r.find(']')) {
        let (h, rest) = s.split_at(end + 2);
        return (h, rest.strip_prefix(':').unwrap_or(""));
    }
    match s.rsplit_once(':') {
        Some((h, p)) => (h, p),
        None => (s, ""),
    }
}

/// The credentials of the first entry that matches one of `targets` (the
/// registry's `host[:port]` and its aliases), with the path `path` (`""`:
/// the whole registry; an entry for a path then never matches).
pub(crate) fn credentials_for(
    entries: &[EnvEntry],
    targets: &[&str],
    path: &str,
) -> Option<Credentials> {
    entries
        .iter()
        .find(|e| path.starts_with(&e.path) && targets.iter().any(|t| host_matches(&e.host, t)))
        .map(|e| e.credentials.clone())
}

/// Whether the host glob `glob` (`host[:port]`) matches `target`: equal ports,
/// as many labels, each label matching its glob.
pub(crate) fn host_matches(glob: &str, target: &str) -> bool {
    let target = target.to_ascii_lowercase();
    let (gh, gp) = split_port(glob);
    let (th, tp) = split_port(&target);
    if gp != tp {
        return false;
    }
    if gh.starts_with('[') {
        // An IPv6 literal: no glob.
        return gh == th;
    }
    let (gl, tl): (Vec<_>, Vec<_>) = (gh.split('.').collect(), th.split('.').collect());
    gl.len() == tl.len()
        && gl
            .iter()
            .zip(&tl)
            .all(|(g, t)| glob_match(g, t).unwrap_or(false))
}

/// Shell-glob matching of one label (Go's `filepath.Match` within a
/// label): `*` any run, `?` one character, `[…]` a class (`^` or `!`
/// negates, `a-z` ranges), `\` escapes. `Err` for a malformed pattern.
fn glob_match(pattern: &str, text: &str) -> std::result::Result<bool, ()> {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    // Check the whole pattern once, so that a malformed one fails whatever
    // the text.
    let mut i = 0;
    while i < p.len() {
        i = match p[i] {
            '[' => class(&p, i, None)?.1,
            '\\' if i + 1 < p.len() => i + 2,
            '\\' => return Err(()),
            _ => i + 1,
        };
    }
    Ok(matches_from(&p, 0, &t, 0))
}

fn matches_from(p: &[char], mut pi: usize, t: &[char], mut ti: usize) -> bool {
    // Iterative with one backtrack point for the last `*`.
    let mut star: Option<(usize, usize)> = None;
    loop {
        if pi < p.len() {
            let step = match p[pi] {
                '*' => {
                    star = Some((pi, ti));
                    pi += 1;
                    continue;
                }
                _ if ti >= t.len() => None,
                '?' => Some(pi + 1),
                '[' => match class(p, pi, Some(t[ti])) {
                    Ok((true, next)) => Some(next),
                    _ => None,
                },
                '\\' => (p[pi + 1] == t[ti]).then_some(pi + 2),
                c => (c == t[ti]).then_some(pi + 1),
            };
            if let Some(next) = step {
                pi = next;
                ti += 1;
                continue;
            }
        } else if ti == t.len() {
            return true;
        }
        match star {
            Some((sp, st)) if st < t.len() => {
                star = Some((sp, st + 1));
                pi = sp + 1;
                ti = st + 1;
            }
            _ => return false,
        }
    }
}

/// The class starting at `p[start] == '['`: whether `c` is in it (false
/// without `c`) and the index after its `]`. `Err` when malformed.
fn class(p: &[char], start: usize, c: Option<char>) -> std::result::Result<(bool, usize), ()> {
    let mut i = start + 1;
    let negate = matches!(p.get(i), Some('^' | '!'));
    if negate {
        i += 1;
    }
    let mut found = false;
    let mut first = true;
    loop {
        let lo = match p.get(i) {
            None => return Err(()),
            Some(']') if !first => break,
            Some('\\') => {
                i += 1;
                *p.get(i).ok_or(())?
            }
            Some(&ch) => ch,
        };
        first = false;
        i += 1;
        let hi = if p.get(i) == Some(&'-') && p.get(i + 1).is_some_and(|&n| n != ']') {
            i += 1;
            let hi = match p[i] {
                '\\' => {
                    i += 1;
                    *p.get(i).ok_or(())?
                }
                ch => ch,
            };
            i += 1;
            if hi < lo {
                return Err(());
            }
            hi
        } else {
            lo
        };
        if c.is_some_and(|c| lo <= c && c <= hi) {
            found = true;
        }
    }
    Ok((found != negate && c.is_some(), i + 1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn basic_user(c: Option<Credentials>) -> Option<String> {
        match c {
            Some(Credentials::Basic { username, .. }) => Some(username),
            Some(other) => panic!("expected basic, got {other:?}"),
            None => None,
        }
    }

    #[test]
    fn globs_match_one_label_each() {
        assert!(host_matches("*.example.com", "eu.example.com"));
        assert!(host_matches("*.example.com", "EU.Example.com"));
        assert!(!host_matches("*.example.com", "example.com"));
        assert!(!host_matches("*.example.com", "a.b.example.com"));
        assert!(!host_matches("*.example.com", "eu.example.org"));
        assert!(host_matches("reg-?.corp", "reg-1.corp"));
        assert!(!host_matches("reg-?.corp", "reg-10.corp"));
        assert!(host_matches("reg-[0-9].corp", "reg-7.corp"));
        assert!(!host_matches("reg-[^0-9].corp", "reg-7.corp"));
        assert!(host_matches("reg-[!0-9].corp", "reg-x.corp"));
        assert!(host_matches("a*b*c.io", "aXXbYYc.io"));
        assert!(!host_matches("a*b*c.io", "aXXbYY.io"));
        assert!(host_matches(r"a\*.io", "a*.io"));
        assert!(!host_matches(r"a\*.io", "ab.io"));
        // Ports must be equal; no port matches only no port.
        assert!(host_matches("127.0.0.1:5000", "127.0.0.1:5000"));
        assert!(host_matches("127.0.0.*:5000", "127.0.0.1:5000"));
        assert!(!host_matches("127.0.0.1:5000", "127.0.0.1:5001"));
        assert!(!host_matches("127.0.0.1", "127.0.0.1:5000"));
        assert!(!host_matches("*.0.0.1:5000", "127.0.0.1"));
        assert!(host_matches("[::1]:5000", "[::1]:5000"));
        for bad in ["[", "[a-", "[]", r"x\", "[z-a]"] {
            assert!(glob_match(bad, "x").is_err(), "{bad}");
        }
        assert!(glob_match("[]a]", "]").unwrap());
    }

    #[test]
    fn entries_by_suffix_and_their_secrets() {
        let e = parse(
            "IMGPKG_REGISTRY",
            &vars(&[
                ("IMGPKG_REGISTRY_HOSTNAME", "https://one.example/v2/"),
                ("IMGPKG_REGISTRY_USERNAME", "u0"),
                ("IMGPKG_REGISTRY_PASSWORD", "p0"),
                ("IMGPKG_REGISTRY_HOSTNAME_1", "two.example:5000"),
                ("IMGPKG_REGISTRY_IDENTITY_TOKEN_1", "refresh"),
                ("IMGPKG_REGISTRY_HOSTNAME_CI", "three.example"),
                ("IMGPKG_REGISTRY_REGISTRY_TOKEN_CI", "bearer"),
                ("IMGPKG_REGISTRY_USERNAME_CI", "ignored-for-the-token"),
                // No secret: dropped. No host: dropped. Unknown: ignored.
                ("IMGPKG_REGISTRY_HOSTNAME_2", "four.example"),
                ("IMGPKG_REGISTRY_USERNAME_3", "nohost"),
                ("IMGPKG_REGISTRY_AZURE_CR_CONFIG", "/x"),
                ("OTHER_HOSTNAME", "five.example"),
            ]),
        )
        .unwrap();
        assert_eq!(e.len(), 3, "{e:?}");
        assert_eq!(
            basic_user(credentials_for(&e, &["one.example"], "")),
            Some("u0".into())
        );
        assert!(matches!(
            credentials_for(&e, &["two.example:5000"], ""),
            Some(Credentials::IdentityToken(t)) if t == "refresh"
        ));
        assert!(matches!(
            credentials_for(&e, &["three.example"], ""),
            Some(Credentials::Bearer(t)) if t == "bearer"
        ));
        assert!(credentials_for(&e, &["four.example"], "").is_none());
        assert!(credentials_for(&e, &["two.example"], "").is_none());
        // The Debug form holds no secret.
        let text = format!("{e:?}");
        assert!(!text.contains("p0") && !text.contains("refresh") && !text.contains("bearer"));
    }

    #[test]
    fn the_most_specific_entry_wins_and_paths_scope_entries() {
        let e = parse(
            "REGISTRY",
            &vars(&[
                ("REGISTRY_HOSTNAME_0", "*.example.com"),
                ("REGISTRY_USERNAME_0", "glob"),
                ("REGISTRY_PASSWORD_0", "x"),
                ("REGISTRY_HOSTNAME_1", "eu.example.com"),
                ("REGISTRY_USERNAME_1", "exact"),
                ("REGISTRY_PASSWORD_1", "x"),
                ("REGISTRY_HOSTNAME_2", "quay.io/team"),
                ("REGISTRY_USERNAME_2", "team"),
                ("REGISTRY_PASSWORD_2", "x"),
                ("REGISTRY_HOSTNAME_3", "quay.io"),
                ("REGISTRY_USERNAME_3", "quay"),
                ("REGISTRY_PASSWORD_3", "x"),
            ]),
        )
        .unwrap();
        let user = |host: &str, path: &str| basic_user(credentials_for(&e, &[host], path));
        assert_eq!(user("eu.example.com", ""), Some("exact".into()));
        assert_eq!(user("us.example.com", ""), Some("glob".into()));
        assert_eq!(user("quay.io", ""), Some("quay".into()));
        assert_eq!(user("quay.io", "/team/app"), Some("team".into()));
        assert_eq!(user("quay.io", "/other/app"), Some("quay".into()));
    }

    #[test]
    fn malformed_hostnames_and_prefixes_are_refused_without_secrets() {
        for bad in ["", "user@host", "*.[x.com", "a b", "https://"] {
            let e = parse(
                "REGISTRY",
                &vars(&[
                    ("REGISTRY_HOSTNAME", bad),
                    ("REGISTRY_PASSWORD", "s3cret-pw"),
                ]),
            )
            .expect_err(bad);
            assert_eq!(e.kind(), crate::ErrorKind::InvalidArgument, "{bad}");
            assert!(e.message().contains("REGISTRY_HOSTNAME"), "{e}");
            assert!(!e.message().contains("s3cret-pw"), "{e}");
        }
        for bad in ["", "A-B", "A=B", "x y"] {
            assert!(check_prefix(bad).is_err(), "{bad}");
        }
        let kept = select(
            "A",
            vars(&[
                ("A_HOSTNAME", "h"),
                ("A_PASSWORD_1", "p"),
                ("AB_HOSTNAME", "h"),
                ("A_HTTP_SECRET", "not-ours"),
                ("B", "x"),
            ]),
        );
        let names: Vec<_> = kept.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["A_HOSTNAME", "A_PASSWORD_1"]);
    }
}
