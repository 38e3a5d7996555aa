//! OCI 1.1 referrers: the manifests whose `subject` is a given manifest
//! (signatures, SBOMs, attestations). Read from the referrers API, `GET
//! /v2/<repo>/referrers/<digest>`, paged like every listing; where a
//! registry has no such API (it answers 404, as distribution 2.8 does), from
//! the tag schema's fallback index, tagged `<alg>-<hex>`. A referrer pushed
//! to a registry that does not index it itself (no `OCI-Subject` in the
//! answer) is added to that fallback index: read, add, write, and read
//! again to check no concurrent writer dropped it.

#![forbid(unsafe_code)]

use serde::Deserialize;
use serde_json::{json, Value};

use super::{each_page, get_manifest, put_manifest, Page};
use crate::auth::Scope;
use crate::error::{Error, ErrorKind, Result};
use crate::oci::{Descriptor, OCI_INDEX};
use crate::reference::{Digest, ManifestRef};
use crate::remote::Remote;
use crate::transport::{backoff, Request};
use crate::url::encode;

/// How often a fallback index update is tried when other writers race it.
const FALLBACK_TRIES: usize = 8;
/// How long after writing the fallback index it is read again: longer than
/// another writer takes from its last check to its write.
const SETTLE: std::time::Duration = std::time::Duration::from_millis(250);

/// A referrers answer: an OCI index whose `manifests` are the referrers.
#[derive(Deserialize)]
pub(crate) struct ReferrersPage {
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
}

impl Page for ReferrersPage {
    type Entry = Descriptor;
    fn entries(self) -> Vec<Descriptor> {
        self.manifests.unwrap_or_default()
    }
}

/// The tag of the fallback index of `subject`: `<alg>-<hex>`.
pub(crate) fn fallback_tag(subject: &Digest) -> String {
    format!("{}-{}", subject.algorithm().name(), subject.hex())
}

/// The referrers of `repo@subject`, those of `artifact_type` only when one is
/// given (filtered here too: a registry may ignore the filter), in the
/// registry's order: from the referrers API, else (404) from the fallback
/// index; none when there is neither.
pub(crate) fn referrers(
    remote: &Remote<'_>,
    repo: &str,
    subject: &Digest,
    artifact_type: Option<&str>,
) -> Result<Vec<Descriptor>> {
    let mut path = format!("/v2/{repo}/referrers/{subject}");
    if let Some(t) = artifact_type {
        path.push_str(&format!("?artifactType={}", encode(t)));
    }
    let first = Request::new("GET", remote.url(&path)).header("Accept", OCI_INDEX);
    let mut found = vec![];
    let mut pages = 0;
    let listed = each_page::<ReferrersPage>(remote, first, &Scope::pull(repo), |page| {
        pages += 1;
        found.extend(page);
        true
    });
    match listed {
        Ok(()) => {}
        // No API: the first page is a 404 (a subject without referrers is 200).
        Err(e) if pages == 0 && e.http_status() == Some(404) => {
            found = fallback_entries(remote, repo, subject)?.unwrap_or_default();
        }
        Err(e) => return Err(e),
    }
    if let Some(t) = artifact_type {
        found.retain(|d| d.artifact_type.as_deref() == Some(t));
    }
    Ok(found)
}

/// The entries of the fallback index of `subject`, with its digest; `None`
/// when there is no such tag.
fn fallback_index(
    remote: &Remote<'_>,
    repo: &str,
    subject: &Digest,
) -> Result<Option<(Vec<Descriptor>, Digest)>> {
    let tag = ManifestRef::Tag(fallback_tag(subject));
    match get_manifest(remote, repo, &tag) {
        Ok(m) => {
            let what = format!("the referrers index {tag}");
            let page: ReferrersPage = crate::transport::decode_json(&m.body, &what)?;
            Ok(Some((page.entries(), m.digest)))
        }
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

fn fallback_entries(
    remote: &Remote<'_>,
    repo: &str,
    subject: &Digest,
) -> Result<Option<Vec<Descriptor>>> {
    Ok(fallback_index(remote, repo, subject)?.map(|(entries, _)| entries))
}

/// Adds `referrer` to the fallback index of `subject` (made when missing):
/// read it, add the entry unless it is there, read it again to see that no
/// one wrote in between, write it, and read it once more, 250 ms later, to
/// see the entry still there (distribution has no conditional write: this
/// catches a writer that raced this one, not every conceivable one). A writer that raced this one, or a registry that failed a read
/// while tags moved under it (distribution answers 500 then), is answered
/// by doing it all again after a backoff, up to eight times; then the call
/// fails with that error (SERVER when the index kept changing).
pub(crate) fn add_to_fallback(
    remote: &Remote<'_>,
    repo: &str,
    subject: &Digest,
    referrer: &Descriptor,
) -> Result<()> {
    let mut last = None;
    for attempt in 0..FALLBACK_TRIES {
        if attempt > 0 {
            std::thread::sleep(backoff(attempt as u32 - 1));
        }
        match try_add(remote, repo, subject, referrer) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) if e.kind() == ErrorKind::Server => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| {
        Error::new(
            ErrorKind::Server,
            format!(
                "the referrers index {} in {repo} kept changing under concurrent writers: \
                 {} not added after {FALLBACK_TRIES} tries",
                fallback_tag(subject),
                referrer.digest
            ),
        )
    }))
}

/// One try of [`add_to_fallback`]: true once the entry is in the index,
/// false when another writer got in the way.
fn try_add(
    remote: &Remote<'_>,
    repo: &str,
    subject: &Digest,
    referrer: &Descriptor,
) -> Result<bool> {
    let (mut entries, read) = match fallback_index(remote, repo, subject)? {
        Some((entries, digest)) => (entries, Some(digest)),
        None => (vec![], None),
    };
    if entries.iter().any(|d| d.digest == referrer.digest) {
        return Ok(true);
    }
    entries.push(referrer.clone());
    let now = fallback_index(remote, repo, subject)?.map(|(_, d)| d);
    if now != read {
        return Ok(false);
    }
    let tag = ManifestRef::Tag(fallback_tag(subject));
    put_manifest(remote, repo, &tag, OCI_INDEX, &index_json(&entries))?;
    // A writer that checked the index just before this write writes just
    // after it: look once it would have.
    std::thread::sleep(SETTLE);
    let entries = fallback_entries(remote, repo, subject)?.unwrap_or_default();
    Ok(entries.iter().any(|d| d.digest == referrer.digest))
}

/// An OCI image index of `entries`, as the referrers API answers.
pub(crate) fn index_json(entries: &[Descriptor]) -> Vec<u8> {
    let doc: Value = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": entries,
    });
    serde_json::to_vec(&doc).expect("an index serialises")
}
