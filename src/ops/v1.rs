//! Tokens, and what only the v1 API has: image JSON and ancestry.

#![forbid(unsafe_code)]

use crate::auth::Scope;
use crate::client::Client;
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{Payload, Request};
use crate::types::Access;
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
}
