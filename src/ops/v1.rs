//! Tokens, and what only the v1 API has: image JSON and ancestry.

#![forbid(unsafe_code)]

use crate::auth::Scope;
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{Payload, Request};
use crate::types::{Access, V1ImageEntry};
use crate::v1;

impl Client {
    /// The bearer token the registry's token server grants these credentials
    /// for `access` to `repo`, as used on the wire (from the cache when it
    /// holds one). UNSUPPORTED when the registry does not use token auth.
    ///
    /// On v1, a fresh index token (`X-Docker-Token`, without the `Token `
    /// prefix) from `GET …/images` (read), `PUT …/` (write) or `DELETE …/`
    /// (delete), which also becomes the session's token for that access.
    /// C: `registry_token` (also exported as `registry_hub_token`).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) when the registry does
    ///   not use token authentication;
    /// - [`ErrorKind::Unauthorized`](crate::ErrorKind::Unauthorized) when the token
    ///   server refuses the credentials;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let token = client.token("team/app", registry::Access::Read)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn token(&self, repo: &str, access: Access) -> Result<String> {
        let repo = self.repo(repo)?;
        let scope = Scope::access(&repo, access);
        let host = self.registry_host();
        self.dispatch(
            |r| {
                if let Some(tok) = r.auth.bearer_token(r.transport, &scope)? {
                    return Ok(tok);
                }
                // Learn the scheme from the registry's challenge (this fetches the token).
                let req = Request::new("GET", r.url("/v2/"));
                let resp = r.send(&req, &scope, &mut Payload::Empty)?;
                r.check(resp)?;
                r.auth.bearer_token(r.transport, &scope)?.ok_or_else(|| {
                    Error::new(
                        ErrorKind::Unsupported,
                        format!("{host} does not use token authentication"),
                    )
                })
            },
            |r, s| v1::hub_token(r, s, &repo, access),
        )
    }

    /// `GET /v1/images/<id>/json`: the image's JSON, as the registry keeps it
    /// (v1 only). Image paths name no repository: behind an index, `repo`
    /// says whose token to present (fetched if the session has none); `None`
    /// presents the session's latest read token, whichever repository it is
    /// for, which is ambiguous when threads work on several repositories.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v2 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is no such image;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `image_id`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let json = client.v1_image_json(Some("team/app"), "3e5f7d3c1b4a")?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_image_json(&self, repo: Option<&str>, image_id: &str) -> Result<Vec<u8>> {
        let repo = self.repo_or_own(repo)?;
        self.v1_only("image JSON", |r, s| {
            v1::image_json(r, s, repo.as_deref(), image_id)
        })
    }

    /// `PUT /v1/images/<id>/json`: the first step of pushing an image (v1
    /// only). `json` must be an object whose `id` is `image_id`; its
    /// `parent`, if any, must already be in the registry. Behind an index,
    /// `repo` names the repository whose write token to present (`None`: the
    /// session's latest write token, e.g. from [`token`](Self::token)`(repo, Access::Write)`).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v2 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `image_id`, and for `json` that is no object or whose `id`
    ///   is not `image_id`;
    /// - [`ErrorKind::AlreadyExists`](crate::ErrorKind::AlreadyExists) when the registry
    ///   already has the image (it answers 409, "Image already exists");
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let json = br#"{"id":"3e5f7d3c1b4a"}"#;
    /// client.v1_image_json_put(Some("team/app"), "3e5f7d3c1b4a", json)?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_image_json_put(&self, repo: Option<&str>, image_id: &str, json: &[u8]) -> Result<()> {
        let repo = self.repo_or_own(repo)?;
        self.v1_only("putting image JSON", |r, s| {
            v1::image_json_put(r, s, repo.as_deref(), image_id, json)
        })
    }

    /// `GET /v1/images/<id>/ancestry`: the image id, its parent, and so on
    /// down to the base image (v1 only; `repo` as for
    /// [`v1_image_json`](Self::v1_image_json)).
    ///
    /// # Errors
    ///
    /// - those of [`v1_image_json`](Self::v1_image_json).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let ids = client.v1_ancestry(Some("team/app"), "3e5f7d3c1b4a")?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_ancestry(&self, repo: Option<&str>, image_id: &str) -> Result<Vec<String>> {
        let repo = self.repo_or_own(repo)?;
        self.v1_only("ancestry", |r, s| {
            v1::ancestry(r, s, repo.as_deref(), image_id)
        })
    }

    /// `GET /v1/repositories/<repo>/images`: the repository's images and
    /// their checksums, as the index keeps them (moby's `GetRepositoryData`;
    /// v1 only). Asked of the index (Docker Hub's) or the standalone registry
    /// with `X-Docker-Token: true`: the read token that comes with the answer
    /// becomes the session's for `repo`. An empty checksum is `None`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v2 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is no such
    ///   repository;
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) for a list over 4 MiB or
    ///   250,000 images;
    /// - [`ErrorKind::Protocol`](crate::ErrorKind::Protocol) when an entry's id is not
    ///   an image id;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// for image in client.v1_repository_images("team/app")? {
    ///     println!("{} {:?}", image.id, image.checksum);
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_repository_images(&self, repo: &str) -> Result<Vec<V1ImageEntry>> {
        let repo = self.repo(repo)?;
        self.v1_only("the repository image list", |r, s| {
            v1::repository_images(r, s, &repo)
        })
    }

    /// `PUT /v1/repositories/<repo>/` at the index with `images` (ids,
    /// checksums optional): a v1 push's first step, which creates the
    /// repository and hands out the write token the pushes that follow
    /// present (moby's `PushImageJSONIndex` without validation; v1 only).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v2 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo`, image id or checksum;
    /// - [`ErrorKind::Unauthorized`](crate::ErrorKind::Unauthorized) without
    ///   credentials the index takes;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use registry::V1ImageEntry;
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let id = "3e5f7d3c1b4a".repeat(5) + "3e5f";
    /// client.v1_repository_put("team/app", &[V1ImageEntry::new(id, None)])?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_repository_put(&self, repo: &str, images: &[V1ImageEntry]) -> Result<()> {
        let repo = self.repo(repo)?;
        self.v1_only("creating a v1 repository", |r, s| {
            v1::repository_put(r, s, &repo, images)
        })
    }

    /// `PUT /v1/repositories/<repo>/images` at the index: a v1 push's last
    /// step, which tells the index the checksums of the images pushed
    /// (moby's `PushImageJSONIndex` with validation; v1 only). As moby, only
    /// the entries with a checksum are sent; `X-Docker-Endpoints` names the
    /// registry the session's write token for `repo` is for. The Hub answers
    /// 204; any 2xx is success.
    ///
    /// # Errors
    ///
    /// - those of [`v1_repository_put`](Self::v1_repository_put).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use registry::V1ImageEntry;
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let id = "3e5f7d3c1b4a".repeat(5) + "3e5f";
    /// let sum = "sha256:".to_string() + &"0".repeat(64); // what layer_put returned
    /// client.v1_repository_images_put("team/app", &[V1ImageEntry::new(id, Some(sum))])?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_repository_images_put(&self, repo: &str, images: &[V1ImageEntry]) -> Result<()> {
        let repo = self.repo(repo)?;
        self.v1_only("the repository image list", |r, s| {
            v1::repository_images_put(r, s, &repo, images)
        })
    }

    /// `DELETE /v1/repositories/<repo>/`: deletes the repository, every tag
    /// of it (docker-reg-client's `Repository.Delete`; v1 only). Behind an
    /// index the registry gets the delete token the index hands out
    /// (`DELETE …/` at the index, as [`token`](Self::token)`(repo,
    /// Access::Delete)`); a standalone registry gets basic credentials.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v2 registry;
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when there is no such
    ///   repository;
    /// - [`ErrorKind::Unauthorized`](crate::ErrorKind::Unauthorized) without
    ///   credentials that may delete;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// client.v1_repository_delete("team/app")?;
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn v1_repository_delete(&self, repo: &str) -> Result<()> {
        let repo = self.repo(repo)?;
        self.v1_only("deleting a v1 repository", |r, s| {
            v1::repository_delete(r, s, &repo)
        })
    }
}
