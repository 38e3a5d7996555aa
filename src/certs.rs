//! docker's `certs.d`: per-registry CA certificates and client certificates.
//!
//! For registry `host:port`, `<dir>/<host:port>/*.crt` are CA certificates and
//! `<name>.cert` + `<name>.key` a client certificate for mutual TLS.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// docker's default certificate directory.
pub const DEFAULT_CERTS_DIR: &str = "/etc/docker/certs.d";

/// What a registry's certs.d directory holds.
#[derive(Default)]
pub(crate) struct CertsD {
    /// All `*.crt` files, concatenated (PEM).
    pub ca_pem: Option<Vec<u8>>,
    /// The `.cert` chain and `.key` of the client certificate (PEM).
    pub client: Option<(Vec<u8>, Vec<u8>)>,
}

/// Reads `<dir>/<host>/`. A missing directory holds nothing.
pub(crate) fn load(dir: &Path, host: &str) -> Result<CertsD> {
    let dir = dir.join(host);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(CertsD::default()),
        Err(e) => return Err(Error::io("cannot read", &dir, e)),
    };
    let mut files: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    files.sort();
    let ext = |p: &Path, x: &str| p.extension().is_some_and(|e| e == x);
    let mut out = CertsD::default();
    for f in files.iter().filter(|p| ext(p, "crt")) {
        let pem = std::fs::read(f).map_err(|e| Error::io("cannot read", f, e))?;
        let all = out.ca_pem.get_or_insert_with(Vec::new);
        all.extend(pem);
        all.push(b'\n');
    }
    for cert in files.iter().filter(|p| ext(p, "cert")) {
        let key = cert.with_extension("key");
        if !key.exists() {
            return Err(Error::invalid(format!(
                "{} has no matching {} (CA certificates must end in .crt)",
                cert.display(),
                key.display()
            )));
        }
        if out.client.is_some() {
            return Err(Error::invalid(format!(
                "{} holds more than one client certificate",
                dir.display()
            )));
        }
        let chain = std::fs::read(cert).map_err(|e| Error::io("cannot read", cert, e))?;
        let key_pem = std::fs::read(&key).map_err(|e| Error::io("cannot read", &key, e))?;
        out.client = Some((chain, key_pem));
    }
    for key in files.iter().filter(|p| ext(p, "key")) {
        if !key.with_extension("cert").exists() {
            return Err(Error::invalid(format!(
                "{} has no matching .cert file",
                key.display()
            )));
        }
    }
    Ok(out)
}
