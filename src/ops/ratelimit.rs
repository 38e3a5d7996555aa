//! Rate limits: what the registry says of its own (Docker Hub's
//! `RateLimit-*` headers), seen on every answer or asked with a HEAD.
//! The client's own pace is set on the builder
//! ([`rate_limit`](crate::ClientBuilder::rate_limit)).

#![forbid(unsafe_code)]

use crate::client::Client;
use crate::error::{Error, Result};
use crate::ratelimit::RateLimitStatus;
use crate::reference::{typed, ManifestRef};
use crate::v2;

impl Client {
    /// The rate limit the registry's `RateLimit-Limit` and
    /// `RateLimit-Remaining` headers stated on the last answer that carried
    /// them (Docker Hub sends them on manifest requests; its mirrors' answers
    /// do not count); `None` before any did. Sends nothing.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("docker.io").build()?;
    /// client.manifest_get("alpine", "latest")?;
    /// if let Some(s) = client.rate_limit_status() {
    ///     println!("{} of {} pulls left", s.remaining, s.limit);
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn rate_limit_status(&self) -> Option<RateLimitStatus> {
        self.inner.transport.rate_limit_status()
    }

    /// Asks the registry for its rate limit: `HEAD` of the manifest
    /// `repo:reference` (a HEAD does not count against Docker Hub's pull
    /// limit; nothing falls back to a GET), returning the status its
    /// headers state, or `None` when it sends none (a registry without
    /// limits, or an account without one). v2 only, and never through a
    /// mirror. The answer also updates
    /// [`rate_limit_status`](Self::rate_limit_status).
    /// C: `registry_rate_limit_check`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::NotFound`](crate::ErrorKind::NotFound) when the registry
    ///   has no such manifest (the HEAD is answered 404);
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for a
    ///   malformed `repo` or `reference`;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("docker.io").build()?;
    /// match client.rate_limit_check("ratelimitpreview/test", "latest")? {
    ///     Some(s) => println!("{}/{} per {:?} s", s.remaining, s.limit, s.window_seconds),
    ///     None => println!("no rate limit"),
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn rate_limit_check(
        &self,
        repo: &str,
        reference: impl TryInto<ManifestRef, Error: Into<Error>>,
    ) -> Result<Option<RateLimitStatus>> {
        let repo = self.repo(repo)?;
        let reference = typed(reference)?;
        self.v2_only("a rate-limit check", |r| {
            v2::head_rate_limit(r, &repo, &reference)
        })
    }
}
