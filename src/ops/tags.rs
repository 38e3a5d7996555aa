//! Tags: listing them, pointing one at an image, removing one.

#![forbid(unsafe_code)]

use std::collections::BTreeMap;

use crate::client::Client;
use crate::error::{Error, Result};
use crate::reference::{typed, validate_tag, ContentId, ManifestRef};
use crate::{v1, v2};

impl Client {
    /// The tags of `repo`, all pages, sorted, without duplicates. A repository
    /// with no tags left (`"tags": null`) has an empty list.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the repository does not
    ///   exist;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`;
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) for a listing past its
    ///   bounds (as [`catalog`](Self::catalog)'s);
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// for tag in client.tags("team/app")? {
    ///     println!("{tag}");
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn tags(&self, repo: &str) -> Result<Vec<String>> {
        let repo = self.repo(repo)?;
        self.dispatch_read(
            |r| v2::tags(r, &repo),
            |r, s| Ok(v1::tags(r, s, &repo)?.into_keys().collect()),
        )
        .map(|(tags, _)| tags)
    }

    /// `GET /v1/repositories/<repo>/tags`: every tag with the image id it
    /// names (v1 only).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v2 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the repository does not
    ///   exist;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// for (tag, image_id) in client.v1_tags("team/app")? {
    ///     println!("{tag} {image_id}");
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_tags(&self, repo: &str) -> Result<BTreeMap<String, String>> {
        let repo = self.repo(repo)?;
        self.v1_only("the tag map", |r, s| v1::tags(r, s, &repo))
    }

    /// Points `tag` at the manifest `image` (a tag or digest) names: its bytes
    /// are stored again, unchanged, under `tag`, with their own media type. No
    /// blob is copied. Returns the manifest digest. On a v1 registry `image`
    /// is an image id (which reads as a tag), and it is returned.
    /// C: `registry_set_tag`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when `image` names no
    ///   manifest;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`, `image` or `tag`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let digest = client.set_tag("team/app", "v1", "stable")?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn set_tag(
        &self,
        repo: &str,
        image: impl TryInto<ManifestRef, Error: Into<Error>>,
        tag: &str,
    ) -> Result<ContentId> {
        let repo = self.repo(repo)?;
        let image = typed(image)?;
        validate_tag(tag)?;
        self.dispatch(
            |r| v2::set_tag(r, &repo, &image, tag).map(ContentId::Digest),
            |r, s| v1::set_tag(r, s, &repo, &image.to_string(), tag).map(ContentId::V1Image),
        )
    }

    /// Removes `tag` and nothing else: other tags on the same image survive.
    ///
    /// Uses `DELETE …/manifests/<tag>` where the registry allows it (OCI).
    /// Registries that refuse (distribution 2.8 answers 400 `DIGEST_INVALID`,
    /// others 405) get the tag pointed at a small throw-away manifest made for
    /// this call, which is then deleted by digest. That leaves one tiny empty
    /// config blob (`{}`) in the repository for garbage collection. A
    /// registry that deletes nothing (405 also for a DELETE by digest) is
    /// UNSUPPORTED, with the tag untouched. A missing tag is NOT_FOUND. On a
    /// v1 registry, `DELETE …/tags/<tag>`. C: `registry_delete_tag`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is no such tag;
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) when the registry
    ///   deletes nothing;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `tag`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// client.delete_tag("team/app", "old")?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn delete_tag(&self, repo: &str, tag: &str) -> Result<()> {
        let repo = self.repo(repo)?;
        validate_tag(tag)?;
        self.dispatch(
            |r| v2::delete_tag(r, &repo, tag),
            |r, s| v1::delete_tag(r, s, &repo, tag),
        )
    }
}
