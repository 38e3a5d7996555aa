//! Listing what a registry holds: the catalog and search.

#![forbid(unsafe_code)]

use crate::client::Client;
use crate::error::{Error, Result};
use crate::types::SearchResults;
use crate::{v1, v2};

/// The page size of `search_page` when none is asked for: the Hub's default.
const SEARCH_PAGE: usize = 25;
/// The largest page `search_page` asks for: the most the Hub allows.
const SEARCH_PAGE_MAX: usize = 100;

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

    /// One page of a search, as Docker Hub pages it: page `page` (from 1)
    /// of `limit` results (0 = 25, the Hub's default; at most 100, the
    /// Hub's largest page), with `num_results`, `num_pages`, `page_size`
    /// and `page` filled in. On v1, the registry's own `GET
    /// /v1/search?q=&n=&page=`. On v2, the catalog filtered as in
    /// [`search`](Self::search), read whole (bounded as
    /// [`catalog`](Self::catalog)) and cut into pages of `limit` in catalog
    /// order: `num_results` counts every match, `num_pages` is at least 1,
    /// and a page past the last is empty, not an error.
    ///
    /// # Errors
    ///
    /// - [`ErrorKind::InvalidArgument`](crate::ErrorKind::InvalidArgument) for page 0;
    /// - those of [`search`](Self::search).
    ///
    /// # Examples
    ///
    /// ```no_run
    /// let client = registry::Client::builder("localhost:5000").build()?;
    /// let page = client.search_page("app", 2, 10)?;
    /// println!("page {} of {}", page.page, page.num_pages);
    /// # Ok::<(), registry::Error>(())
    /// ```
    pub fn search_page(&self, term: &str, page: u64, limit: usize) -> Result<SearchResults> {
        self.unrestricted("a search")?;
        if page == 0 {
            return Err(Error::invalid("search pages count from 1"));
        }
        let per_page = match limit {
            0 => SEARCH_PAGE,
            n => n.min(SEARCH_PAGE_MAX),
        };
        self.dispatch(
            |r| v2::search_page(r, term, page, per_page),
            |r, s| v1::search_page(r, s, term, page, per_page),
        )
    }
}
