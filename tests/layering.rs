//! The modules of `src/` are layered (see the table in `src/lib.rs`), and
//! ordered within their layer: each may use only the modules after it in
//! `ORDER`. This test reads every `crate::<module>` path in the sources and
//! fails on one that points up (or sideways to an earlier module), which is
//! how an import cycle would start.

use std::collections::HashMap;
use std::path::Path;

/// The modules from the top down, one layer a line.
const ORDER: &[&str] = &[
    "ffi",
    "fuzzing", // the C ABI, the fuzz targets' entry points
    "fleet",
    "image",
    "ops",
    "builder",
    "client",
    "address", // the façade
    "v1",
    "v2",
    "layout",
    "transfer",
    "layer",
    "oci",    // protocol
    "remote", // the request pipeline
    "auth",   // credentials for an origin
    "transport",
    "ratelimit",
    "tls",
    "proxy",
    "certs",
    "cancel", // the wire
    "types",
    "resume", // upload state files
    "reference",
    "files",
    "tar",
    "gzip",
    "error",
    "challenge",
    "url",
    "sync", // leaves
];

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (good enough for `crate::` paths).
fn code(text: &str) -> String {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn modules_use_only_what_lies_below_them() {
    let rank: HashMap<&str, usize> = ORDER.iter().enumerate().map(|(i, m)| (*m, i)).collect();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue;
        }
        let Some(&here) = rank.get(module.as_str()) else {
            wrong.push(format!("{module}: not in the layer table"));
            continue;
        };
        let text = code(&std::fs::read_to_string(&file).unwrap());
        let mut used: Vec<String> = Vec::new();
        for piece in text.split("crate::").skip(1) {
            let name: String = piece
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name.is_empty() {
                // `crate::{a, b::c}`
                if let Some(group) = piece.strip_prefix('{') {
                    let group = group.split('}').next().unwrap_or("");
                    used.extend(
                        group
                            .split(',')
                            .map(|p| p.trim().split("::").next().unwrap_or("").to_string()),
                    );
                }
            } else {
                used.push(name);
            }
        }
        for target in used {
            let Some(&there) = rank.get(target.as_str()) else {
                continue; // a re-export at the crate root (crate::Error, …)
            };
            if target != module && there < here {
                wrong.push(format!("{} uses crate::{target}", rel.display()));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "uses that point up or sideways:\n{}",
        wrong.join("\n")
    );
}
