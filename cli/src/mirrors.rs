//! Where a registry's reads may come from, and whether it may be reached in
//! plain HTTP, as docker and podman users already wrote it down: `--mirror`,
//! docker's `daemon.json` (`registry-mirrors`, for Docker Hub only, as
//! dockerd reads them; `insecure-registries`, hosts or CIDRs) and
//! containers' `registries.conf` v2 (`[[registry]]` with `location`,
//! `insecure`, `blocked` and `[[registry.mirror]]`).

#![forbid(unsafe_code)]

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use registry::{Error, ErrorKind, Result};
use serde::Deserialize;

use crate::args::Global;
use crate::connect::usage;

/// docker's daemon configuration, read when it can be.
pub const DAEMON_JSON: &str = "/etc/docker/daemon.json";
/// containers' registries configuration, read when it can be.
pub const REGISTRIES_CONF: &str = "/etc/containers/registries.conf";

/// What the configuration says of one registry.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Settings {
    /// Mirror URLs (`scheme://host[:port]`), in order of preference.
    pub mirrors: Vec<String>,
    /// Plain HTTP is allowed.
    pub insecure: bool,
}

/// The part of `daemon.json` read here.
#[derive(Deserialize, Default)]
struct DaemonJson {
    #[serde(default, rename = "registry-mirrors")]
    registry_mirrors: Vec<String>,
    #[serde(default, rename = "insecure-registries")]
    insecure_registries: Vec<String>,
}

/// The part of `registries.conf` (v2) read here.
#[derive(Deserialize, Default)]
struct RegistriesConf {
    #[serde(default)]
    registry: Vec<RegistryEntry>,
}

#[derive(Deserialize)]
struct RegistryEntry {
    #[serde(default)]
    location: String,
    prefix: Option<String>,
    #[serde(default)]
    insecure: bool,
    #[serde(default)]
    blocked: bool,
    #[serde(default)]
    mirror: Vec<MirrorEntry>,
}

#[derive(Deserialize)]
struct MirrorEntry {
    location: String,
    #[serde(default)]
    insecure: bool,
}

/// The settings for the registry at `address` (as the command line names
/// it: `host[:port]`, `docker.io`, or with a scheme): `--mirror` first,
/// then `registries.conf`'s mirrors, then `daemon.json`'s (Docker Hub only).
pub fn settings_for(g: &Global, address: &str) -> Result<Settings> {
    let host = host_of(address);
    let mut settings = Settings {
        mirrors: g.mirror.clone(),
        insecure: false,
    };
    if let Some(conf) = read(g.registries_conf.as_deref(), REGISTRIES_CONF, |text| {
        toml::from_str::<RegistriesConf>(text).map_err(|e| e.to_string())
    })? {
        conf.apply(&host, &mut settings)?;
    }
    if let Some(daemon) = read(g.daemon_config.as_deref(), DAEMON_JSON, |text| {
        serde_json::from_str::<DaemonJson>(text).map_err(|e| e.to_string())
    })? {
        daemon.apply(&host, &mut settings);
    }
    Ok(settings)
}

/// Reads and parses the file given, or else the default one when it can be
/// read at all; a file given that cannot be read or parsed is an error.
fn read<T>(
    given: Option<&Path>,
    default: &str,
    parse: impl FnOnce(&str) -> std::result::Result<T, String>,
) -> Result<Option<T>> {
    let (path, must) = match given {
        Some(p) if p.as_os_str().is_empty() => return Ok(None),
        Some(p) => (p.to_path_buf(), true),
        None => (PathBuf::from(default), false),
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(_) if !must => return Ok(None),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("cannot read {}: {e}", path.display()),
            ))
        }
    };
    match parse(&text) {
        Ok(t) => Ok(Some(t)),
        Err(e) if must => Err(usage(format!("{}: {e}", path.display()))),
        Err(e) => {
            warn(format_args!("{} not read: {e}", path.display()));
            Ok(None)
        }
    }
}

/// `host[:port]` of an address, lower case; Docker Hub's names are `docker.io`.
fn host_of(address: &str) -> String {
    let rest = address.split_once("://").map_or(address, |(_, r)| r);
    let host = rest.trim_end_matches('/').to_ascii_lowercase();
    match host.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".into(),
        _ => host,
    }
}

impl RegistriesConf {
    /// The entry for `host` (its `prefix`, else its `location`, is the host;
    /// entries for a namespace inside a registry are not read here), its
    /// mirrors and `insecure`; `blocked` refuses the registry.
    fn apply(&self, host: &str, settings: &mut Settings) -> Result<()> {
        let Some(entry) = self
            .registry
            .iter()
            .find(|r| host_of(r.prefix.as_deref().unwrap_or(&r.location)) == host)
        else {
            return Ok(());
        };
        if entry.blocked {
            return Err(Error::new(
                ErrorKind::Forbidden,
                format!("{host} is blocked by registries.conf"),
            ));
        }
        if !entry.location.is_empty() && host_of(&entry.location) != host {
            warn(format_args!(
                "registries.conf: {host} redirected to {}: not followed",
                entry.location
            ));
            return Ok(());
        }
        settings.insecure |= entry.insecure;
        for m in &entry.mirror {
            if m.location.contains('/') {
                warn(format_args!(
                    "registries.conf: mirror {} has a path: not used (mirrors serve the \
                     registry's names as they are)",
                    m.location
                ));
                continue;
            }
            let scheme = if m.insecure { "http" } else { "https" };
            settings.mirrors.push(format!("{scheme}://{}", m.location));
        }
        Ok(())
    }
}

impl DaemonJson {
    fn apply(&self, host: &str, settings: &mut Settings) {
        if host == "docker.io" {
            settings
                .mirrors
                .extend(self.registry_mirrors.iter().cloned());
        }
        settings.insecure |= self
            .insecure_registries
            .iter()
            .any(|entry| insecure_matches(entry, host));
    }
}

/// Whether an `insecure-registries` entry names `host`: the same
/// `host[:port]` (a scheme written before it is dropped, as dockerd does), or
/// a CIDR holding the host's IP address (names are not resolved).
fn insecure_matches(entry: &str, host: &str) -> bool {
    let entry = host_of(entry);
    if entry == host {
        return true;
    }
    let Some((net, bits)) = entry.split_once('/') else {
        return false;
    };
    let ip = host
        .strip_prefix('[')
        .and_then(|h| h.split_once(']'))
        .map(|(ip, _)| ip)
        .unwrap_or_else(|| host.rsplit_once(':').map_or(host, |(h, _)| h));
    match (
        net.parse::<IpAddr>(),
        ip.parse::<IpAddr>(),
        bits.parse::<u32>(),
    ) {
        (Ok(IpAddr::V4(n)), Ok(IpAddr::V4(a)), Ok(b)) if b <= 32 => {
            let mask = u32::MAX.checked_shl(32 - b).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (Ok(IpAddr::V6(n)), Ok(IpAddr::V6(a)), Ok(b)) if b <= 128 => {
            let mask = u128::MAX.checked_shl(128 - b).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

fn warn(text: std::fmt::Arguments<'_>) {
    eprintln!("regcli: warning: {text}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insecure_registries_as_dockerd_reads_them() {
        assert!(insecure_matches("myregistry:5000", "myregistry:5000"));
        assert!(insecure_matches(
            "http://myregistry:5000",
            "myregistry:5000"
        ));
        assert!(!insecure_matches("myregistry:5000", "myregistry:5001"));
        assert!(insecure_matches("127.0.0.0/8", "127.0.0.1:5000"));
        assert!(insecure_matches("10.1.0.0/16", "10.1.200.3"));
        assert!(!insecure_matches("10.1.0.0/16", "10.2.0.3:80"));
        assert!(insecure_matches("::1/128", "[::1]:5000"));
        assert!(!insecure_matches("10.0.0.0/8", "registry.example"));
        assert!(!insecure_matches("10.0.0.0/99", "10.0.0.1"));
    }

    #[test]
    fn daemon_json_mirrors_serve_docker_hub_only() {
        let d: DaemonJson = serde_json::from_str(
            r#"{"registry-mirrors": ["https://mirror.gcr.io"],
                "insecure-registries": ["127.0.0.0/8"], "debug": true}"#,
        )
        .unwrap();
        let mut hub = Settings::default();
        d.apply("docker.io", &mut hub);
        assert_eq!(hub.mirrors, ["https://mirror.gcr.io"]);
        assert!(!hub.insecure);
        let mut local = Settings::default();
        d.apply("127.0.0.1:5000", &mut local);
        assert!(local.mirrors.is_empty());
        assert!(local.insecure);
    }

    #[test]
    fn registries_conf_v2() {
        let conf: RegistriesConf = toml::from_str(
            r#"
            unqualified-search-registries = ["docker.io"]

            [[registry]]
            location = "docker.io"
            [[registry.mirror]]
            location = "127.0.0.1:5001"
            insecure = true
            [[registry.mirror]]
            location = "mirror.example/dockerhub"
            [[registry.mirror]]
            location = "mirror.example"

            [[registry]]
            location = "internal.example:5000"
            insecure = true

            [[registry]]
            location = "evil.example"
            blocked = true
            "#,
        )
        .unwrap();
        let mut hub = Settings::default();
        conf.apply("docker.io", &mut hub).unwrap();
        assert_eq!(
            hub.mirrors,
            ["http://127.0.0.1:5001", "https://mirror.example"]
        );
        let mut internal = Settings::default();
        conf.apply("internal.example:5000", &mut internal).unwrap();
        assert!(internal.insecure && internal.mirrors.is_empty());
        let e = conf
            .apply("evil.example", &mut Settings::default())
            .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Forbidden);
        let mut other = Settings::default();
        conf.apply("quay.io", &mut other).unwrap();
        assert_eq!(other, Settings::default());
    }

    #[test]
    fn hosts_are_compared_as_docker_names_them() {
        assert_eq!(host_of("https://Registry-1.Docker.io/"), "docker.io");
        assert_eq!(host_of("http://127.0.0.1:5000"), "127.0.0.1:5000");
    }
}
