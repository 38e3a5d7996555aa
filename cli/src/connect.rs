//! From the command line to a `registry::Client`: references as people type
//! them, the global flags, and credentials from -u / --password-stdin.

#![forbid(unsafe_code)]

use std::io::{BufRead, IsTerminal, Read};
use std::path::PathBuf;
use std::time::Duration;

use registry::{Api, Client, Digest, Error, ErrorKind, ManifestRef, Platform, Reference, Result};

use crate::args::{ApiArg, Global};

/// A usage error: the exit code of a malformed command line.
pub fn usage(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidArgument, message)
}

/// An image reference as typed, parsed and normalised the way docker does,
/// remembering whether a tag was written (docker's default `latest` was not).
#[derive(Debug, Clone)]
pub struct Image {
    pub reference: Reference,
    /// The tag, when one was written.
    pub explicit_tag: Option<String>,
}

impl Image {
    pub fn parse(s: &str) -> Result<Image> {
        let reference = Reference::parse(s)?;
        let name = s.split('@').next().unwrap_or(s);
        let last = name.rsplit('/').next().unwrap_or(name);
        let explicit_tag = last.contains(':').then(|| {
            reference
                .tag()
                .expect("a written tag is parsed")
                .to_string()
        });
        Ok(Image {
            reference,
            explicit_tag,
        })
    }

    /// A repository: no tag and no digest may be written.
    pub fn parse_repo(s: &str) -> Result<Image> {
        let image = Image::parse(s)?;
        if image.explicit_tag.is_some() || image.reference.digest().is_some() {
            return Err(usage(format!(
                "{s:?} names a tag or digest; expected a repository, host[:port]/repo"
            )));
        }
        Ok(image)
    }

    pub fn domain(&self) -> &str {
        self.reference.domain()
    }

    pub fn repo(&self) -> &str {
        self.reference.repository()
    }

    /// What to fetch: the digest if written, else the tag (default `latest`).
    pub fn manifest_ref(&self) -> ManifestRef {
        self.reference.manifest_ref()
    }

    /// The tag or digest to fetch, as a string for the client's calls.
    pub fn reference_str(&self) -> String {
        self.manifest_ref().to_string()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.reference.digest()
    }
}

/// The key docker's config.json and credential helpers use for Docker Hub.
pub const HUB_KEY: &str = "https://index.docker.io/v1/";

/// A registry as typed on the command line (`HOST` of login, ping, …): the
/// address to build a client for, and the key docker files its credentials
/// under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Host {
    pub address: String,
    pub key: String,
}

impl Host {
    pub fn parse(s: &str) -> Result<Host> {
        let trimmed = s.trim();
        let (scheme, rest) = match trimmed.split_once("://") {
            Some((sch, rest)) => (Some(sch.to_ascii_lowercase()), rest),
            None => (None, trimmed),
        };
        let host = rest
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .trim_end_matches("/v2")
            .to_ascii_lowercase();
        if host.is_empty() || host.contains(['/', '@', '?', '#', ' ']) {
            return Err(usage(format!(
                "invalid registry {s:?}: expected host[:port]"
            )));
        }
        if matches!(
            host.as_str(),
            "docker.io" | "index.docker.io" | "registry-1.docker.io" | "hub.docker.com"
        ) {
            return Ok(Host {
                address: "docker.io".into(),
                key: HUB_KEY.into(),
            });
        }
        let address = match scheme.as_deref() {
            Some(sch @ ("http" | "https")) => format!("{sch}://{host}"),
            Some(other) => {
                return Err(usage(format!(
                    "invalid registry {s:?}: {other}:// is not http:// or https://"
                )))
            }
            None => host.clone(),
        };
        Ok(Host { address, key: host })
    }
}

/// Credentials given on the command line.
#[derive(Clone)]
pub struct Login {
    pub username: String,
    pub password: String,
}

/// Reads -u and the password (--password-stdin, or a prompt on a
/// terminal). `None` without -u: docker's config.json decides.
pub fn command_line_login(g: &Global) -> Result<Option<Login>> {
    let Some(username) = g.username.clone() else {
        if g.password_stdin {
            return Err(usage("--password-stdin needs -u/--username"));
        }
        return Ok(None);
    };
    if username.is_empty() || username.contains(':') {
        return Err(usage("the user name must be non-empty and hold no ':'"));
    }
    let password = read_password(g.password_stdin)?;
    Ok(Some(Login { username, password }))
}

/// The password: all of stdin less one trailing newline, or a prompt on a
/// terminal with echo off.
pub fn read_password(from_stdin: bool) -> Result<String> {
    let io_err = |e: std::io::Error| Error::new(ErrorKind::Io, format!("cannot read stdin: {e}"));
    let password = if from_stdin {
        let mut text = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut text)
            .map_err(io_err)?;
        let text = text.strip_suffix('\n').unwrap_or(&text);
        text.strip_suffix('\r').unwrap_or(text).to_string()
    } else if std::io::stdin().is_terminal() {
        eprint!("Password: ");
        let echo_off = set_echo(false);
        let mut line = String::new();
        let read = std::io::stdin().lock().read_line(&mut line);
        if echo_off {
            set_echo(true);
        }
        eprintln!();
        read.map_err(io_err)?;
        line.trim_end_matches(['\r', '\n']).to_string()
    } else {
        return Err(usage(
            "no password: pass it on stdin with --password-stdin (stdin is not a terminal)",
        ));
    };
    if password.is_empty() {
        return Err(usage("the password is empty"));
    }
    Ok(password)
}

/// Asks for a user name on a terminal.
pub fn prompt_username() -> Result<String> {
    if !std::io::stdin().is_terminal() {
        return Err(usage("no user name: pass -u/--username"));
    }
    eprint!("Username: ");
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| Error::new(ErrorKind::Io, format!("cannot read stdin: {e}")))?;
    let name = line.trim().to_string();
    if name.is_empty() || name.contains(':') {
        return Err(usage("the user name must be non-empty and hold no ':'"));
    }
    Ok(name)
}

/// Turns the terminal's echo on or off with stty (no unsafe code here).
fn set_echo(on: bool) -> bool {
    let Ok(tty) = std::fs::File::open("/dev/tty") else {
        return false;
    };
    std::process::Command::new("stty")
        .arg(if on { "echo" } else { "-echo" })
        .stdin(tty)
        .status()
        .is_ok_and(|s| s.success())
}

/// The directory of docker's config.json: --docker-config, else
/// `$DOCKER_CONFIG`, else `~/.docker`.
pub fn docker_config_dir(g: &Global) -> Result<PathBuf> {
    if let Some(d) = &g.docker_config {
        return Ok(d.clone());
    }
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Ok(PathBuf::from(d));
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".docker")),
        None => Err(usage(
            "neither DOCKER_CONFIG nor HOME is set: pass --docker-config",
        )),
    }
}

/// Where uploads are recorded: --upload-state (empty: nowhere), else
/// `$XDG_STATE_HOME/regcli`, else `~/.local/state/regcli`, else nowhere.
pub fn upload_state_dir(g: &Global) -> Option<PathBuf> {
    if let Some(d) = &g.upload_state {
        return Some(d.clone()).filter(|d| !d.as_os_str().is_empty());
    }
    if let Some(d) = std::env::var_os("XDG_STATE_HOME").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("regcli"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".local/state/regcli"))
}

/// The prefix of the environment variables regcli reads credentials from
/// (`REGCLI_REGISTRY_HOSTNAME`, `…_USERNAME`, …; see `ClientBuilder::env_credentials`).
pub const ENV_PREFIX: &str = "REGCLI_REGISTRY";

/// The platform of --platform, if given; several are a usage error here.
pub fn platform(g: &Global) -> Result<Option<Platform>> {
    match platforms(g)?.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => Err(usage(
            "this command takes one --platform (pull and cp take several)",
        )),
    }
}

/// Every platform of --platform (repeated, or comma lists).
pub fn platforms(g: &Global) -> Result<Vec<Platform>> {
    g.platform
        .iter()
        .filter(|p| !p.trim().is_empty())
        .map(|p| Platform::parse(p.trim()))
        .collect()
}

/// A client for the registry at `address`, configured by the global flags,
/// with `login` (or else docker's config.json) for credentials.
pub fn client(g: &Global, address: &str, login: Option<&Login>) -> Result<Client> {
    let settings = crate::mirrors::settings_for(g, address)?;
    let mut b = Client::builder(address)
        .user_agent(concat!("regcli/", env!("CARGO_PKG_VERSION")))
        .certs_dir(g.certs_dir.as_deref())
        .insecure(g.insecure || settings.insecure);
    for url in &settings.mirrors {
        b = b.mirror(url);
    }
    // Credentials given here win over config.json; without a config
    // directory at all, the lookup is off.
    b = match docker_config_dir(g) {
        Ok(dir) => b.docker_config(Some(&dir.join("config.json"))),
        Err(_) => b.docker_config(Some(std::path::Path::new(""))),
    };
    if let Some(ca) = &g.ca_file {
        b = b.ca_file(ca);
    }
    // -u first, then REGCLI_REGISTRY_* (for the hosts they name), then
    // config.json (under --auth-key if given).
    b = b.env_credentials(Some(ENV_PREFIX));
    if let Some(key) = &g.auth_key {
        b = b.auth_key(key);
    }
    if let Some(l) = login {
        b = b.basic_auth(&l.username, &l.password);
    }
    if let Some(api) = g.api {
        b = b.api(match api {
            ApiArg::V1 => Api::V1,
            ApiArg::V2 => Api::V2,
        });
    }
    b = b.upload_state_dir(upload_state_dir(g).as_deref());
    if let Some(n) = g.parallel {
        if n == 0 {
            return Err(usage("--parallel must be at least 1"));
        }
        b = b.parallel(n);
    }
    if g.timeout.is_some() {
        b = b.timeout(timeout(g)?);
    }
    if let Some(n) = g.rate_limit {
        b = b.rate_limit(n);
    }
    b.build()
}

/// --timeout, else the library's default: what a request, or a credential
/// helper, may take.
pub fn timeout(g: &Global) -> Result<Duration> {
    match g.timeout {
        Some(0) => Err(usage("--timeout must be at least 1 second")),
        Some(t) => Ok(Duration::from_secs(t)),
        None => Ok(registry::DEFAULT_TIMEOUT),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_remember_a_written_tag() {
        let i = Image::parse("localhost:5000/team/app").unwrap();
        assert_eq!(
            (i.domain(), i.repo(), i.explicit_tag.as_deref()),
            ("localhost:5000", "team/app", None)
        );
        assert_eq!(i.reference_str(), "latest");
        let i = Image::parse("localhost:5000/team/app:v1").unwrap();
        assert_eq!(i.explicit_tag.as_deref(), Some("v1"));
        let i = Image::parse("alpine").unwrap();
        assert_eq!((i.domain(), i.repo()), ("docker.io", "library/alpine"));
        let d = format!("sha256:{}", "a".repeat(64));
        let i = Image::parse(&format!("h:1/r@{d}")).unwrap();
        assert_eq!((i.explicit_tag.as_deref(), i.reference_str()), (None, d));
        assert!(Image::parse_repo("h:1/r:v1").is_err());
        assert!(Image::parse_repo("h:1/r").is_ok());
        assert_eq!(
            Image::parse("Bad/Name").unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }

    #[test]
    fn hosts_and_their_keys() {
        let h = Host::parse("Localhost:5000/").unwrap();
        assert_eq!(
            (h.address.as_str(), h.key.as_str()),
            ("localhost:5000", "localhost:5000")
        );
        let h = Host::parse("http://127.0.0.1:5000").unwrap();
        assert_eq!(
            (h.address.as_str(), h.key.as_str()),
            ("http://127.0.0.1:5000", "127.0.0.1:5000")
        );
        for hub in [
            "docker.io",
            "https://index.docker.io/v1/",
            "registry-1.docker.io",
        ] {
            assert_eq!(Host::parse(hub).unwrap().key, HUB_KEY, "{hub}");
        }
        assert!(Host::parse("host/path").is_err());
        assert!(Host::parse("ftp://host").is_err());
        assert!(Host::parse("").is_err());
    }
}
