//! `artifact push`, `artifact pull` and `referrers`: OCI 1.1 artifacts
//! (signatures, SBOMs, attestations, any files) and what refers to an image.

#![forbid(unsafe_code)]

use std::path::Path;

use registry::{Artifact, Client, Digest, Result, TITLE_ANNOTATION};
use serde_json::json;

use crate::args::Global;
use crate::connect::{usage, Image};
use crate::output::{self, tell};

/// `FILE` or `FILE:MEDIATYPE`: the part after the last `:` is a media type
/// when it holds a `/` (a path may hold `:` too).
fn file_and_type(arg: &str) -> (&str, Option<&str>) {
    match arg.rsplit_once(':') {
        Some((file, t)) if t.contains('/') && !file.is_empty() => (file, Some(t)),
        _ => (arg, None),
    }
}

/// The digest of the subject: written as one, or the manifest a tag, digest
/// or whole reference names (in `image`'s repository unless it names another).
fn subject_digest(c: &Client, image: &Image, subject: &str) -> Result<Digest> {
    if let Ok(d) = Digest::parse(subject) {
        return Ok(d);
    }
    let (repo, reference) = if subject.contains('/') {
        let s = Image::parse(subject)?;
        if s.domain() != image.domain() || s.repo() != image.repo() {
            return Err(usage(format!(
                "the subject {subject} is not in {}: an artifact refers to a manifest of its own repository",
                image.repo()
            )));
        }
        (s.repo().to_string(), s.reference_str())
    } else {
        (image.repo().to_string(), subject.to_string())
    };
    Ok(c.manifest_head(&repo, reference.as_str())?.digest)
}

pub fn push(
    g: &Global,
    c: &Client,
    target: &str,
    files: &[String],
    artifact_type: &str,
    subject: Option<&str>,
    annotations: &[String],
) -> Result<()> {
    let image = Image::parse(target)?;
    if image.digest().is_some() {
        return Err(usage(
            "an artifact is pushed to REPO or REPO:TAG, not to a digest",
        ));
    }
    let mut artifact = Artifact::new(artifact_type);
    for f in files {
        let (path, media_type) = file_and_type(f);
        artifact = artifact.file(path, media_type);
    }
    for a in annotations {
        let Some((k, v)) = a.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(usage(format!("--annotation {a:?}: expected KEY=VALUE")));
        };
        artifact = artifact.annotation(k, v);
    }
    if let Some(s) = subject {
        artifact = artifact.subject(subject_digest(c, &image, s)?);
    }
    let digest = c.artifact_push(image.repo(), image.explicit_tag.as_deref(), &artifact)?;
    tell(
        g,
        format_args!(
            "Pushed {} file(s) as {artifact_type} to {}",
            files.len(),
            image.repo()
        ),
    );
    if g.json {
        output::json(
            &json!({ "digest": digest.to_string(), "repository": image.repo(),
                              "tag": image.explicit_tag }),
        )
    } else {
        output::lines(&[digest.to_string()])
    }
}

/// A title that names a file in `dir` and nothing else.
fn plain_name(title: &str) -> bool {
    !title.is_empty() && title != "." && title != ".." && !title.contains(['/', '\\', '\0'])
}

pub fn pull(g: &Global, c: &Client, image: &str, dir: &Path) -> Result<()> {
    let image = Image::parse(image)?;
    let m = c.manifest_get(image.repo(), image.reference_str().as_str())?;
    let doc: serde_json::Value = serde_json::from_slice(&m.body).map_err(|e| {
        registry::Error::new(registry::ErrorKind::Protocol, format!("{}: {e}", m.digest))
    })?;
    let layers = doc["layers"].as_array().cloned().unwrap_or_default();
    // Every title is checked before anything is written.
    let mut wanted = vec![];
    for layer in &layers {
        let digest = layer["digest"].as_str().unwrap_or_default();
        match layer["annotations"][TITLE_ANNOTATION].as_str() {
            Some(t) if plain_name(t) => wanted.push((digest.to_string(), t.to_string())),
            Some(t) => {
                return Err(registry::Error::new(
                    registry::ErrorKind::InvalidArgument,
                    format!(
                        "{}: the title {t:?} of {digest} is not a plain file name",
                        m.digest
                    ),
                ))
            }
            None => tell(g, format_args!("skipping {digest}: it has no title")),
        }
    }
    if wanted
        .iter()
        .enumerate()
        .any(|(i, (_, t))| wanted[..i].iter().any(|(_, u)| u == t))
    {
        return Err(registry::Error::new(
            registry::ErrorKind::InvalidArgument,
            format!("{}: two layers have the same title", m.digest),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| {
        registry::Error::new(
            registry::ErrorKind::Io,
            format!("cannot create {}: {e}", dir.display()),
        )
    })?;
    let mut written = vec![];
    for (digest, title) in &wanted {
        let path = dir.join(title);
        c.layer_get_file(image.repo(), digest.as_str(), &path)?;
        written.push(path.display().to_string());
    }
    if g.json {
        output::json(&json!({ "digest": m.digest.to_string(), "files": written }))
    } else {
        output::lines(&written)
    }
}

pub fn referrers(g: &Global, c: &Client, image: &str, artifact_type: Option<&str>) -> Result<()> {
    let image = Image::parse(image)?;
    let digest = match image.digest() {
        Some(d) => d.clone(),
        None => {
            c.manifest_head(image.repo(), image.reference_str().as_str())?
                .digest
        }
    };
    let found = c.referrers(image.repo(), &digest, artifact_type)?;
    if g.json {
        return output::json(&json!({
            "schemaVersion": 2,
            "mediaType": registry::media_type::OCI_INDEX,
            "manifests": found,
        }));
    }
    let lines: Vec<String> = found
        .iter()
        .map(|d| format!("{} {}", d.digest, d.artifact_type.as_deref().unwrap_or("-")))
        .collect();
    output::lines(&lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_their_media_types() {
        assert_eq!(file_and_type("sbom.json"), ("sbom.json", None));
        assert_eq!(
            file_and_type("sbom.json:application/spdx+json"),
            ("sbom.json", Some("application/spdx+json"))
        );
        assert_eq!(file_and_type("a:b"), ("a:b", None));
        assert_eq!(
            file_and_type("c:\\x:text/plain"),
            ("c:\\x", Some("text/plain"))
        );
    }

    #[test]
    fn only_plain_names_are_written() {
        assert!(plain_name("sbom.spdx.json"));
        for bad in ["", ".", "..", "../x", "a/b", "/etc/passwd", "a\\b"] {
            assert!(!plain_name(bad), "{bad}");
        }
    }
}
