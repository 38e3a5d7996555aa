//! `login` and `logout`: docker's config.json `auths`, and its credential
//! helpers (`docker-credential-<name> store | erase`).

#![forbid(unsafe_code)]

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use base64::Engine;
use registry::{Error, ErrorKind, Result};
use serde_json::{Map, Value};

use crate::args::Global;
use crate::connect::{self, Host, Login};

/// docker's config.json, kept as a JSON object so that whatever else it
/// holds (proxies, aliases, other tools' keys) is written back unchanged.
struct ConfigFile {
    path: PathBuf,
    doc: Map<String, Value>,
}

impl ConfigFile {
    fn load(dir: &Path) -> Result<ConfigFile> {
        let path = dir.join("config.json");
        let doc = match std::fs::read(&path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Map::new(),
            Ok(bytes) => match serde_json::from_slice::<Value>(&bytes) {
                Ok(Value::Object(m)) => m,
                _ => {
                    return Err(Error::new(
                        ErrorKind::InvalidArgument,
                        format!(
                            "malformed docker config {}: not a JSON object",
                            path.display()
                        ),
                    ))
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Map::new(),
            Err(e) => {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        };
        Ok(ConfigFile { path, doc })
    }

    /// The credential helper for `key`: `credHelpers` (any key naming the
    /// same registry), else `credsStore`.
    fn helper_for(&self, key: &str) -> Option<String> {
        let per_host = self
            .doc
            .get("credHelpers")
            .and_then(Value::as_object)
            .and_then(|m| {
                m.iter()
                    .find(|(k, _)| same_registry(k, key))
                    .and_then(|(_, v)| v.as_str())
            });
        per_host
            .or_else(|| self.doc.get("credsStore").and_then(Value::as_str))
            .filter(|h| !h.is_empty())
            .map(str::to_string)
    }

    fn auths(&mut self) -> &mut Map<String, Value> {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| Value::Object(Map::new()));
        if !auths.is_object() {
            *auths = Value::Object(Map::new());
        }
        auths.as_object_mut().expect("made an object above")
    }

    /// Sets `auths[key]`, dropping other spellings of the same registry.
    fn set_auth(&mut self, key: &str, entry: Value) {
        self.remove_auth(key);
        self.auths().insert(key.to_string(), entry);
    }

    /// Removes every `auths` entry naming `key`'s registry; true if any.
    fn remove_auth(&mut self, key: &str) -> bool {
        let auths = self.auths();
        let keys: Vec<String> = auths
            .keys()
            .filter(|k| same_registry(k, key))
            .cloned()
            .collect();
        for k in &keys {
            auths.remove(k);
        }
        !keys.is_empty()
    }

    /// Writes the file through a fresh temporary file beside it (mode 0600;
    /// see [`registry::write_atomically_with_mode`]), in a directory created
    /// with mode 0700 when missing.
    fn save(&self) -> Result<()> {
        let dir = self.path.parent().unwrap_or(Path::new("."));
        if !dir.exists() {
            std::fs::create_dir_all(dir).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot create {}: {e}", dir.display()),
                )
            })?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        let mut text = serde_json::to_vec_pretty(&self.doc).expect("a JSON object serialises");
        text.push(b'\n');
        registry::write_atomically_with_mode(&self.path, 0o600, |f| {
            f.write_all(&text).map_err(|e| {
                Error::new(
                    ErrorKind::Io,
                    format!("cannot write {}: {e}", self.path.display()),
                )
            })?;
            Ok(text.len() as u64)
        })?;
        Ok(())
    }
}

/// Whether two config.json keys name the same registry (docker compares
/// them without scheme and path).
fn same_registry(a: &str, b: &str) -> bool {
    match (Host::parse(a), Host::parse(b)) {
        (Ok(a), Ok(b)) => a.key == b.key,
        _ => a == b,
    }
}

/// `regcli login HOST`.
pub fn login(g: &Global, host: &str) -> Result<()> {
    let host = Host::parse(host)?;
    let username = match &g.username {
        Some(u) => u.clone(),
        None => connect::prompt_username()?,
    };
    if username.is_empty() || username.contains(':') {
        return Err(connect::usage(
            "the user name must be non-empty and hold no ':'",
        ));
    }
    let password = connect::read_password(g.password_stdin)?;
    let login = Login { username, password };
    // The registry must accept them before anything is saved.
    let api = connect::client(g, &host.address, Some(&login))?.ping()?;
    if api == registry::ApiVersion::V1 && !g.quiet {
        // A v2 registry checks them on `GET /v2/`; v1's ping takes anyone.
        eprintln!(
            "regcli: warning: {} speaks v1, whose ping does not check credentials; saving them unchecked",
            host.key
        );
    }
    let dir = connect::docker_config_dir(g)?;
    let mut config = ConfigFile::load(&dir)?;
    match config.helper_for(&host.key) {
        Some(helper) => {
            let request = serde_json::json!({
                "ServerURL": host.key,
                "Username": login.username,
                "Secret": login.password,
            });
            registry::run_credential_helper(
                &helper,
                "store",
                request.to_string().as_bytes(),
                connect::timeout(g)?,
            )?;
            // docker keeps an empty entry to list the registry.
            config.set_auth(&host.key, Value::Object(Map::new()));
        }
        None => {
            let auth = base64::engine::general_purpose::STANDARD
                .encode(format!("{}:{}", login.username, login.password));
            config.set_auth(&host.key, serde_json::json!({ "auth": auth }));
        }
    }
    config.save()?;
    if !g.quiet {
        eprintln!("Login Succeeded ({})", config.path.display());
    }
    Ok(())
}

/// `regcli logout HOST`.
pub fn logout(g: &Global, host: &str) -> Result<()> {
    let host = Host::parse(host)?;
    let dir = connect::docker_config_dir(g)?;
    let mut config = ConfigFile::load(&dir)?;
    let mut found = false;
    if let Some(helper) = config.helper_for(&host.key) {
        match registry::run_credential_helper(
            &helper,
            "erase",
            host.key.as_bytes(),
            connect::timeout(g)?,
        ) {
            Ok(_) => found = true,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
    }
    if config.remove_auth(&host.key) {
        found = true;
        config.save()?;
    }
    if !g.quiet {
        if found {
            eprintln!("Removed the login credentials for {}", host.key);
        } else {
            eprintln!("Not logged in to {}", host.key);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_compare_without_scheme_and_path() {
        assert!(same_registry(
            "https://localhost:5000/v2/",
            "localhost:5000"
        ));
        assert!(same_registry("docker.io", "https://index.docker.io/v1/"));
        assert!(!same_registry("localhost:5000", "localhost:5001"));
    }

    #[test]
    fn config_keeps_what_it_does_not_know() {
        let dir = std::env::temp_dir().join(format!("regcli-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("config.json"),
            r#"{"proxies":{"default":{}},"auths":{"http://h:1":{"auth":"eDp5"},"k:2":{}}}"#,
        )
        .unwrap();
        let mut c = ConfigFile::load(&dir).unwrap();
        assert_eq!(c.helper_for("h:1"), None);
        c.set_auth("h:1", serde_json::json!({"auth": "YTpi"}));
        c.save().unwrap();
        let back: Value =
            serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
        assert_eq!(back["proxies"], serde_json::json!({"default": {}}));
        assert_eq!(back["auths"]["h:1"]["auth"], "YTpi");
        assert!(back["auths"].get("http://h:1").is_none());
        assert!(back["auths"].get("k:2").is_some());
        let mode = std::fs::metadata(dir.join("config.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::write(
            dir.join("config.json"),
            r#"{"credsStore":"pass","credHelpers":{"h:1":"gcr"}}"#,
        )
        .unwrap();
        let c = ConfigFile::load(&dir).unwrap();
        assert_eq!(c.helper_for("h:1").as_deref(), Some("gcr"));
        assert_eq!(c.helper_for("other:2").as_deref(), Some("pass"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
