//! Credentials from docker's `config.json`, found the way the docker CLI
//! finds them: a credential helper (`credHelpers`, `credsStore`) when one is
//! configured for the registry, else the `auths` entry.

#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use base64::Engine;
use serde::Deserialize;

use super::Credentials;
use crate::error::{Error, ErrorKind, Result};

/// The key docker stores Docker Hub credentials under.
const HUB_KEY: &str = "https://index.docker.io/v1/";

#[derive(Deserialize, Default)]
struct ConfigFile {
    #[serde(default)]
    auths: HashMap<String, AuthEntry>,
    #[serde(rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers", default)]
    cred_helpers: HashMap<String, String>,
}

#[derive(Deserialize, Default)]
struct AuthEntry {
    auth: Option<String>,
    username: Option<String>,
    password: Option<String>,
    registrytoken: Option<String>,
    identitytoken: Option<String>,
}

/// A credential helper's answer to `get`.
#[derive(Deserialize)]
struct HelperAnswer {
    #[serde(rename = "Username")]
    username: String,
    #[serde(rename = "Secret")]
    secret: String,
}

/// `$DOCKER_CONFIG/config.json`, else `$HOME/.docker/config.json`.
pub(crate) fn default_path() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(Path::new(&dir).join("config.json"));
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| Path::new(&h).join(".docker").join("config.json"))
}

/// The credentials `path` holds for `host` (`host[:port]`, or the Hub). A
/// missing file or entry means anonymous; a malformed one is an error naming
/// the file. A credential helper gets `timeout` to answer.
pub(crate) fn credentials_for(
    path: &Path,
    host: &str,
    hub: bool,
    timeout: Duration,
) -> Result<Credentials> {
    let text = match std::fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Credentials::Anonymous),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Io,
                format!("cannot read docker config {}: {e}", path.display()),
            ))
        }
    };
    credentials_in(
        &text,
        &path.display().to_string(),
        host,
        hub,
        |name, key| run_helper(name, key, timeout),
    )
}

/// The credentials the config file `text` (read from `path`) holds for
/// `host`; a credential helper it names for it is asked through `helper`
/// (its name and the key).
pub(crate) fn credentials_in(
    text: &[u8],
    path: &str,
    host: &str,
    hub: bool,
    helper: impl FnOnce(&str, &str) -> Result<Credentials>,
) -> Result<Credentials> {
    let bad = |why: String| Error::invalid(format!("malformed docker config {path}: {why}"));
    let file: ConfigFile = serde_json::from_slice(text).map_err(|e| bad(e.to_string()))?;
    let key = if hub {
        HUB_KEY.to_string()
    } else {
        host.to_ascii_lowercase()
    };
    let name = file
        .cred_helpers
        .iter()
        .find(|(k, _)| normalise_key(k) == normalise_key(&key))
        .map(|(_, v)| v)
        .or(file.creds_store.as_ref())
        .filter(|h| !h.is_empty());
    if let Some(name) = name {
        return helper(name, &key);
    }
    let entry = file.auths.get(&key).or_else(|| {
        let mut keys: Vec<_> = file.auths.keys().collect();
        keys.sort(); // deterministic when several keys normalise alike
        keys.into_iter()
            .find(|k| normalise_key(k) == normalise_key(&key))
            .and_then(|k| file.auths.get(k))
    });
    let Some(entry) = entry else {
        return Ok(Credentials::Anonymous);
    };
    if let Some(tok) = entry.registrytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Credentials::Bearer(tok.clone()));
    }
    if let Some(tok) = entry.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Ok(Credentials::IdentityToken(tok.clone()));
    }
    if let Some(auth) = entry.auth.as_ref().filter(|a| !a.is_empty()) {
        let raw = base64::engine::general_purpose::STANDARD
            .decode(auth.trim())
            .map_err(|_| bad(format!("the auth field for {key} is not base64")))?;
        let raw = String::from_utf8(raw)
            .map_err(|_| bad(format!("the auth field for {key} is not UTF-8")))?;
        let (user, pass) = raw
            .split_once(':')
            .filter(|(u, _)| !u.is_empty())
            .ok_or_else(|| bad(format!("the auth field for {key} is not user:password")))?;
        return Ok(Credentials::Basic {
            username: user.to_string(),
            password: pass.trim_end_matches('\0').to_string(),
        });
    }
    match (&entry.username, &entry.password) {
        (Some(u), Some(p)) if !u.is_empty() => Ok(Credentials::Basic {
            username: u.clone(),
            password: p.clone(),
        }),
        _ => Ok(Credentials::Anonymous),
    }
}

/// Asks `docker-credential-<name> get` for `server`'s credentials (see
/// [`run_credential_helper`]). "credentials not found" means anonymous; an
/// answer that is not the JSON a helper prints is PROTOCOL, never quoted (it
/// holds the secret).
fn run_helper(name: &str, server: &str, timeout: Duration) -> Result<Credentials> {
    let out = match run_credential_helper(name, "get", server.as_bytes(), timeout) {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Credentials::Anonymous),
        Err(e) => return Err(e),
    };
    let answer: HelperAnswer = serde_json::from_slice(&out).map_err(|_| {
        Error::new(
            ErrorKind::Protocol,
            format!(
                "credential helper docker-credential-{name} get: its answer is not the JSON \
                 {{\"Username\",\"Secret\"}} it should print"
            ),
        )
    })?;
    if answer.username == "<token>" {
        Ok(Credentials::IdentityToken(answer.secret))
    } else if answer.username.is_empty() {
        Ok(Credentials::Anonymous)
    } else {
        Ok(Credentials::Basic {
            username: answer.username,
            password: answer.secret,
        })
    }
}

/// The most a helper's stdout or stderr is read (1 MiB).
const HELPER_OUTPUT_CAP: u64 = 1 << 20;

/// Runs docker's credential helper `docker-credential-<name> <verb>` (`get`,
/// `store`, `erase` or `list`) with `input` on its stdin and returns what it
/// printed on stdout. The caller owns `input` and the answer (which may hold
/// a secret); this function owns the helper's process group, which is killed
/// at the deadline.
///
/// The helper is looked up in the absolute `PATH` entries only (an empty or
/// relative entry, the current directory, is skipped, as Go's `exec.LookPath`
/// does); a missing one is INVALID_ARGUMENT. It runs in a process group of its
/// own, and `timeout` bounds its run, the writing of `input` and the reading
/// of its output: at the deadline the whole group is killed (TIMEOUT), so
/// that neither a hung helper nor a child it left holding the output open
/// can hold the call. A helper that fails is IO, or NOT_FOUND when it says
/// "credentials not found"; its message (the first line of its stdout, else
/// of its stderr) is quoted only then, never its output on success.
#[doc(hidden)]
pub fn run_credential_helper(
    name: &str,
    verb: &str,
    input: &[u8],
    timeout: Duration,
) -> Result<Vec<u8>> {
    if name.is_empty() || name.contains(['/', '\\']) || name.starts_with('.') {
        return Err(Error::invalid(format!(
            "invalid credential helper name {name:?}"
        )));
    }
    if !matches!(verb, "get" | "store" | "erase" | "list") {
        return Err(Error::invalid(format!(
            "{verb:?} is not a credential helper command (get, store, erase, list)"
        )));
    }
    let program = format!("docker-credential-{name}");
    let path = find_on_path(&program)
        .ok_or_else(|| Error::invalid(format!("credential helper {program} is not on PATH")))?;
    let fail =
        |kind, why: String| Error::new(kind, format!("credential helper {program} {verb}: {why}"));
    let deadline = Instant::now() + timeout;
    let too_slow = || {
        fail(
            ErrorKind::Timeout,
            format!("no answer within {} ms", timeout.as_millis()),
        )
    };
    let mut child = Command::new(&path)
        .arg(verb)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| fail(ErrorKind::Io, format!("cannot run it: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        // Written beside the wait, so that a helper that reads nothing cannot
        // block the call on a full pipe; one that exits without reading is
        // judged by its exit status.
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = stdin.write_all(&input);
        });
    }
    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("stdout is piped");
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let out_tx = tx.clone();
    std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout
            .by_ref()
            .take(HELPER_OUTPUT_CAP)
            .read_to_end(&mut out);
        let _ = out_tx.send((true, out));
    });
    std::thread::spawn(move || {
        let mut err = Vec::new();
        let _ = stderr
            .by_ref()
            .take(HELPER_OUTPUT_CAP)
            .read_to_end(&mut err);
        let _ = tx.send((false, err));
    });
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                kill_group(&mut child);
                return Err(too_slow());
            }
            Err(e) => {
                kill_group(&mut child);
                return Err(fail(ErrorKind::Io, e.to_string()));
            }
        }
    };
    let (mut out, mut err) = (None, None);
    while out.is_none() || err.is_none() {
        match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((true, bytes)) => out = Some(bytes),
            Ok((false, bytes)) => err = Some(bytes),
            Err(_) => {
                // It exited, but something it started still holds its output.
                kill_group(&mut child);
                return Err(too_slow());
            }
        }
    }
    let (out, err) = (out.unwrap_or_default(), err.unwrap_or_default());
    if status.success() {
        return Ok(out);
    }
    let said = |bytes: &[u8]| {
        String::from_utf8_lossy(bytes)
            .lines()
            .next()
            .unwrap_or("")
            .trim()
            .chars()
            .take(200)
            .collect::<String>()
    };
    let line = match said(&out) {
        l if l.is_empty() => said(&err),
        l => l,
    };
    let kind = if line.to_ascii_lowercase().contains("credentials not found") {
        ErrorKind::NotFound
    } else {
        ErrorKind::Io
    };
    Err(fail(kind, format!("failed ({status}): {line}")))
}

/// Kills the helper's process group (the helper and whatever it started),
/// then reaps the helper.
fn kill_group(child: &mut Child) {
    // std has no killpg; the kill(1) program sends to a group given as -PGID.
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// The helper program in the first absolute `PATH` directory that has it.
/// Empty and relative entries (which would mean the current directory) are
/// skipped, as Go's `exec.LookPath` does.
fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// docker's `ConvertToHostname`: strip the scheme and anything after the
/// first `/`; Hub aliases become the Hub key.
fn normalise_key(key: &str) -> String {
    let k = key.split_once("://").map_or(key, |(_, r)| r);
    let host = k.split('/').next().unwrap_or(k).to_ascii_lowercase();
    match host.as_str() {
        "docker.io" | "index.docker.io" | "registry-1.docker.io" => HUB_KEY.to_string(),
        _ => host,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(json: &str) -> PathBuf {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "registry-config-{}-{}.json",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&p, json).unwrap();
        p
    }

    const T: Duration = Duration::from_secs(5);

    fn basic(c: Credentials) -> (String, String) {
        match c {
            Credentials::Basic { username, password } => (username, password),
            other => panic!("expected basic, got {other:?}"),
        }
    }

    #[test]
    fn key_forms() {
        let b64 = base64::engine::general_purpose::STANDARD.encode("alice:pw:with:colons\0");
        let p = write(&format!(
            r#"{{"auths": {{
                "https://myreg:5000/v1/": {{"auth": "{b64}"}},
                "https://index.docker.io/v1/": {{"username": "hubuser", "password": "hubpw"}},
                "tok.example": {{"registrytoken": "rt"}}
            }}}}"#
        ));
        assert_eq!(
            basic(credentials_for(&p, "myreg:5000", false, T).unwrap()),
            ("alice".into(), "pw:with:colons".into())
        );
        assert_eq!(
            basic(credentials_for(&p, "registry-1.docker.io", true, T).unwrap()).0,
            "hubuser"
        );
        assert!(
            matches!(credentials_for(&p, "tok.example", false, T).unwrap(), Credentials::Bearer(t) if t == "rt")
        );
        assert!(matches!(
            credentials_for(&p, "other:1", false, T).unwrap(),
            Credentials::Anonymous
        ));
    }

    #[test]
    fn helper_names_and_commands_are_checked_before_anything_runs() {
        for (name, verb) in [
            ("../x", "get"),
            (".hidden", "get"),
            ("", "get"),
            ("ok", "rm"),
        ] {
            let e = run_credential_helper(name, verb, b"", T).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::InvalidArgument, "{name} {verb}: {e}");
        }
    }

    #[test]
    fn missing_and_malformed_files() {
        let missing = std::env::temp_dir().join("registry-no-such-config.json");
        assert!(matches!(
            credentials_for(&missing, "h", false, T).unwrap(),
            Credentials::Anonymous
        ));
        let p = write("{ not json");
        let e = credentials_for(&p, "h", false, T).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidArgument);
        assert!(e.message().contains(&p.display().to_string()), "{e}");
        let p = write(r#"{"auths": {"h": {"auth": "!!!"}}}"#);
        assert_eq!(
            credentials_for(&p, "h", false, T).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
        let no_colon = base64::engine::general_purpose::STANDARD.encode("nocolon");
        let p = write(&format!(
            r#"{{"auths": {{"h": {{"auth": "{no_colon}"}}}}}}"#
        ));
        assert_eq!(
            credentials_for(&p, "h", false, T).unwrap_err().kind(),
            ErrorKind::InvalidArgument
        );
    }
}
