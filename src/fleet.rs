//! Many tags at once: [`Client::sync`] brings a repository's tags to another
//! repository (perhaps on another registry) as one transfer.
//!
//! Each tag is first compared with HEAD requests on both sides (HEADs cost
//! nothing against Docker Hub's pull limit); the tags that differ are read
//! (their manifests), their blobs move together under the client's one
//! parallel budget (a blob several tags share moves once), then each tag's
//! manifests are stored, tag after tag. A tag that fails is reported and
//! the others go on.

#![forbid(unsafe_code)]

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Serialize, Serializer};

use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::image::{
    put_manifests, put_referrer, ImageOptions, Served, Tree, MAX_BLOBS, MAX_MANIFEST_BYTES,
};
use crate::oci;
use crate::reference::{validate_tag, Digest, ManifestRef, Platform};
use crate::remote::Remote;
use crate::sync::lock;
use crate::transfer;
use crate::v2;

/// A tag a [`sync`](Client::sync) copied or skipped, with the digest of what
/// the destination's tag names now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncedTag {
    /// The tag (the same at both ends).
    pub tag: String,
    /// The digest of the manifest or index it names at the destination.
    pub digest: Digest,
}

/// A tag a [`sync`](Client::sync) could not copy, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncFailure {
    /// The tag.
    pub tag: String,
    /// The kind of the error (serialised as its name, such as `"NOT_FOUND"`).
    #[serde(serialize_with = "kind_name")]
    pub status: ErrorKind,
    /// The error's message (it never holds a password or token).
    pub message: String,
}

fn kind_name<S: Serializer>(kind: &ErrorKind, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(kind.name())
}

/// What a [`sync`](Client::sync) did, tag by tag, each list in the order
/// the tags were given (or listed). Serialises as the JSON the C ABI hands
/// out: `{"copied":[{"tag","digest"}],"skipped":[…],"failed":[{"tag",
/// "status","message"}]}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct SyncReport {
    /// Tags copied: absent at the destination, or naming something else.
    pub copied: Vec<SyncedTag>,
    /// Tags the destination already had, the same.
    pub skipped: Vec<SyncedTag>,
    /// Tags that failed; the others went on.
    pub failed: Vec<SyncFailure>,
}

impl SyncReport {
    /// The report as JSON (see [`SyncReport`]).
    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a report serialises")
    }
}

/// At most this many tags move in one sync.
const MAX_TAGS: usize = 100_000;

/// A tag to copy, once its tree is read.
struct Pending {
    tag: String,
    tree: Tree,
}

impl Client {
    /// Syncs tags of `src_repo` on this client's registry to `dst_repo` on
    /// `dst` (which may be this client): `tags` (`None`: every tag of
    /// `src_repo`, listed), each under the same name. C: `registry_sync`.
    ///
    /// Every tag is first asked for with HEAD at both ends. A tag whose
    /// digest is the same at the destination is *skipped*: no manifest GET,
    /// no blob GET (HEADs do not count against Docker Hub's pull limit).
    /// With a platform subset ([`ImageOptions::platforms`] or
    /// [`platform`](ImageOptions::platform)) what is written is not the
    /// source's digest, so the source's index (and, for one platform, the
    /// manifest it picks) is read with GET to learn the digest the subset
    /// has, which is then compared with the destination's; still no blob
    /// GET. The other tags are *copied*: their manifests read, the blobs of
    /// all of them moved as one transfer (one parallel budget, see
    /// [`ClientBuilder::parallel`](crate::ClientBuilder::parallel); a blob
    /// that several tags share moves once; blobs the destination has are
    /// skipped after a HEAD, mounted on one registry), then each tag's
    /// manifests, byte for byte, children first, and with
    /// [`referrers`](ImageOptions::referrers) each tag's referrers (as
    /// [`image_copy`](Self::image_copy) carries them).
    ///
    /// A tag that fails (its manifest cannot be read, a blob of it cannot
    /// move, the destination refuses its manifest) goes to
    /// [`SyncReport::failed`] and the others go on; the call itself fails
    /// only when the tags cannot be listed, an argument is wrong, or the
    /// progress callback cancels (ABORTED).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed repository or a tag in `tags` that is no valid tag (before
    ///   anything is sent);
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) for more than 100,000 tags;
    /// - [`ErrorKind::Aborted`](crate::ErrorKind::Aborted) when the progress callback
    ///   returns false;
    /// - those of [`tags`](Self::tags) when `tags` is `None` and the listing fails;
    /// - and those of every call (see [`Client`](crate::Client#errors)), on either
    ///   registry, for the listing; per-tag errors are in the report.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let mirror = registry::Client::builder("mirror.example:5000").build()?;
    /// let report = client.sync("team/app", &mirror, "team/app", None, Default::default())?;
    /// for t in &report.copied {
    ///     println!("copied {} {}", t.tag, t.digest);
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn sync(
        &self,
        src_repo: &str,
        dst: &Client,
        dst_repo: &str,
        tags: Option<&[&str]>,
        mut options: ImageOptions<'_>,
    ) -> Result<SyncReport> {
        options.keeping_layers("sync")?;
        let src_repo = self.repo(src_repo)?;
        let dst_repo = dst.repo(dst_repo)?;
        let tags: Vec<String> = match tags {
            Some(tags) => {
                for t in tags {
                    validate_tag(t)?;
                }
                tags.iter().map(|t| t.to_string()).collect()
            }
            None => self.tags(&src_repo)?,
        };
        if tags.len() > MAX_TAGS {
            return Err(Error::new(
                ErrorKind::TooLarge,
                format!("{src_repo}: more than {MAX_TAGS} tags to sync"),
            ));
        }
        let mut seen = HashSet::new();
        let tags: Vec<String> = tags
            .into_iter()
            .filter(|t| seen.insert(t.clone()))
            .collect();
        let what = "syncing tags";
        let served = Served::default();
        let result = dst.v2_only(what, |to| {
            self.sync_into(&src_repo, to, dst, &dst_repo, &tags, &mut options, &served)
        });
        served.report(&mut options.served_by);
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn sync_into(
        &self,
        src_repo: &str,
        to: &Remote<'_>,
        dst: &Client,
        dst_repo: &str,
        tags: &[String],
        options: &mut ImageOptions<'_>,
        served: &Served,
    ) -> Result<SyncReport> {
        let what = "syncing tags";
        let mut report = SyncReport::default();
        let fail = |report: &mut SyncReport, tag: &str, e: Error| -> Result<()> {
            if e.kind() == ErrorKind::Aborted {
                return Err(e);
            }
            // The report is an answer, not an error: redact it here, as
            // both clients redact their errors.
            let e = dst
                .run(|| self.run(|| Err::<(), Error>(e)))
                .expect_err("an error stays one");
            report.failed.push(SyncFailure {
                tag: tag.to_string(),
                status: e.kind(),
                message: e.message().to_string(),
            });
            Ok(())
        };
        let read_manifest = |reference: &ManifestRef| {
            let (m, host) =
                self.v2_read_from(what, |src| v2::get_manifest(src, src_repo, reference))?;
            served.add(&m.digest, host);
            Ok(m)
        };
        // 1. Compare: HEAD at both ends (and, for a subset, the digest it
        // makes), every tag, `parallel` at a time.
        let (platforms, platform) = (options.platforms.clone(), options.platform.clone());
        let parallel = self.parallel();
        let decisions = par_map(parallel, tags.len(), |i| {
            let at = ManifestRef::Tag(tags[i].clone());
            let there = match v2::head_manifest(to, dst_repo, &at) {
                Ok(info) => Some(info.digest),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Decision::Fail(e),
            };
            let root = if platforms.is_empty() && platform.is_none() {
                let source = match self.v2_read(what, |src| v2::head_manifest(src, src_repo, &at)) {
                    Ok(info) => info.digest,
                    Err(e) => return Decision::Fail(e),
                };
                if there.as_ref() == Some(&source) {
                    return Decision::Skip(source);
                }
                // By digest: the tag may move between the HEAD and the GET.
                read_manifest(&ManifestRef::Digest(source))
            } else {
                // What a subset writes is known only from the source's bytes.
                let root = read_manifest(&at).and_then(|root| {
                    root_of_subset(&platforms, platform.as_ref(), root, &read_manifest)
                });
                match root {
                    Ok(root) if there.as_ref() == Some(&root.digest) => {
                        return Decision::Skip(root.digest)
                    }
                    other => other,
                }
            };
            let tree = root.and_then(|root| {
                Tree::walk(root, None, |d, _| {
                    read_manifest(&ManifestRef::Digest(d.clone()))
                })
            });
            match tree {
                Ok(tree) => Decision::Copy(tree),
                Err(e) => Decision::Fail(e),
            }
        });
        let mut pending = vec![];
        let (mut bytes, mut jobs, mut blobs) = (0u64, vec![], HashSet::new());
        for (tag, decision) in tags.iter().zip(decisions) {
            let tree = match decision {
                Decision::Skip(digest) => {
                    report.skipped.push(SyncedTag {
                        tag: tag.clone(),
                        digest,
                    });
                    continue;
                }
                Decision::Fail(e) => {
                    fail(&mut report, tag, e)?;
                    continue;
                }
                Decision::Copy(tree) => tree,
            };
            // The bounds of one tree hold for the whole batch.
            bytes += tree.bytes;
            if bytes > MAX_MANIFEST_BYTES {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!(
                        "the tags' manifests add up to more than {} MiB",
                        MAX_MANIFEST_BYTES >> 20
                    ),
                ));
            }
            for job in tree.jobs()? {
                if blobs.insert(job.digest.clone()) {
                    jobs.push(job);
                }
            }
            if jobs.len() > MAX_BLOBS {
                return Err(Error::new(
                    ErrorKind::TooLarge,
                    format!("the tags name more than {MAX_BLOBS} blobs"),
                ));
            }
            pending.push(Pending {
                tag: tag.clone(),
                tree,
            });
        }
        // 2. Every blob of every tag to copy, once, one budget. A blob that
        // fails fails the tags that name it, not the run.
        let same_registry = self.registry_host() == dst.registry_host();
        let broken: Mutex<HashMap<Digest, Error>> = Mutex::new(HashMap::new());
        let copy_blob = |job: &transfer::Job, rep: &transfer::Reporter<'_>| match self.copy_blob(
            src_repo,
            to,
            dst_repo,
            same_registry,
            job,
            rep,
            served,
        ) {
            Err(e) if e.kind() != ErrorKind::Aborted => {
                lock(&broken).insert(job.digest.clone(), e);
                rep.moved(job.size)
            }
            other => other,
        };
        transfer::run(parallel, jobs, &mut options.progress, copy_blob)?;
        let broken = broken.into_inner().unwrap_or_else(|e| e.into_inner());
        // 3. Each tag's manifests, then its referrers.
        let progress = &mut options.progress;
        for Pending { tag, tree } in pending {
            let failed_blob = tree.blobs.iter().find_map(|b| broken.get(&b.digest));
            if let Some(e) = failed_blob {
                let e = Error::new(e.kind(), format!("{tag}: {}", e.message()));
                fail(&mut report, &tag, e)?;
                continue;
            }
            let copied = put_manifests(to, dst_repo, &tree, Some(&tag), progress).and_then(|d| {
                if options.referrers {
                    self.carry_referrers(src_repo, &tree, &read_manifest, |r, listed| {
                        transfer::run(parallel, r.jobs()?, progress, |job, rep| {
                            self.copy_blob(src_repo, to, dst_repo, same_registry, job, rep, served)
                        })?;
                        put_referrer(to, dst_repo, r, listed, progress)
                    })?;
                }
                Ok(d)
            });
            match copied {
                Ok(digest) => report.copied.push(SyncedTag { tag, digest }),
                Err(e) => fail(&mut report, &tag, e)?,
            }
        }
        Ok(report)
    }
}

/// What the comparison decided for one tag.
enum Decision {
    /// The same at both ends: this digest.
    Skip(Digest),
    /// To copy: its tree.
    Copy(Tree),
    Fail(Error),
}

/// `f(0)`, …, `f(n - 1)` on up to `parallel` threads, in order.
fn par_map<T: Send>(parallel: usize, n: usize, f: impl Fn(usize) -> T + Sync) -> Vec<T> {
    let next = AtomicUsize::new(0);
    let done: Mutex<Vec<Option<T>>> = Mutex::new((0..n).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, n.max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let t = f(i);
                lock(&done)[i] = Some(t);
            });
        }
    });
    let done = done.into_inner().unwrap_or_else(|e| e.into_inner());
    done.into_iter()
        .map(|t| t.expect("every index is done"))
        .collect()
}

/// The root a platform subset writes: a new index of the platforms' entries
/// (several), or the one platform's manifest (read with `read_manifest`).
fn root_of_subset(
    platforms: &[Platform],
    platform: Option<&Platform>,
    root: crate::types::Manifest,
    read_manifest: &dyn Fn(&ManifestRef) -> Result<crate::types::Manifest>,
) -> Result<crate::types::Manifest> {
    let fetch = |d: &Digest, _: &str| read_manifest(&ManifestRef::Digest(d.clone()));
    match (platforms, platform) {
        ([], Some(one)) | ([one], _) => Ok(oci::descend(root, one, fetch)?.0),
        ([], None) => Ok(root),
        (many, _) => oci::index_subset(root, many),
    }
}
