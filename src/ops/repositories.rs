//! Listing what a registry holds: the catalog and search.

#![forbid(unsafe_code)]

use crate::client::Client;
use crate::error::Result;
use crate::types::SearchResults;
use crate::{v1, v2};

impl Client {
    /// Every repository in `/v2/_catalog`, following `Link` pagination
    /// (bounded: TOO_LARGE past 16 MiB or 250,000 names over all pages).
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::Unsupported`](crate::ErrorKind::Unsupported) on a v1 registry;
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) on a
    ///   [`restrict`](Self::restrict)ed client;
    /// - [`ErrorKind::TooLarge`](crate::ErrorKind::TooLarge) past the bounds above;
    /// - and those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// for repo in client.catalog()? {
    ///     println!("{repo}");
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn catalog(&self) -> Result<Vec<String>> {
        self.unrestricted("the catalog")?;
        let mut all = Vec::new();
        self.v2_only("the catalog", |r| {
            v2::each_catalog_page(r, |page| {
                all.extend(page);
                true
            })
        })?;
        Ok(all)
    }

    /// Repositories whose name contains `term` (case-insensitive), at most
    /// `limit` of them (0 = no limit), in the shape of Docker Hub's search.
    /// On a v1 registry, its own search (`GET /v1/search`), all pages up to
    /// `limit`.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) on a
    ///   [`restrict`](Self::restrict)ed client;
    /// - on v2, those of [`catalog`](Self::catalog) (the search reads it); on v1, and
    ///   those of every call (see [`Client`](crate::Client#errors)).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// for hit in client.search("app", 10)?.results {
    ///     println!("{}", hit.name);
    /// }
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn search(&self, term: &str, limit: usize) -> Result<SearchResults> {
        self.unrestricted("a search")?;
        self.dispatch(
            |r| v2::search(r, term, limit),
            |r, s| v1::search(r, s, term, limit),
        )
    }
}
