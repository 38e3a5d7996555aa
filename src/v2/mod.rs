//! The v2 / OCI distribution API: ping, catalog and search, tags; manifests
//! and blobs live in their own files.

mod blob;
mod manifest;
mod upload;

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

pub use manifest::{Manifest, ManifestInfo, Platform, MANIFEST_MEDIA_TYPES};

use crate::client::{pull_scope, ApiVersion, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::transport::{self, header, resolve, Request};

/// Catalog and tag list pages are read up to this size.
const LIST_CAP: u64 = 8 << 20;
/// A registry that keeps sending `Link: rel="next"` is stopped here.
const MAX_PAGES: usize = 10_000;
/// The catalog page size asked for (distribution's default `maxentries` is 1000).
const CATALOG_PAGE: u32 = 100;

/// What `GET /v2/` or `GET /v1/_ping` said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingInfo {
    /// The API the registry answered on.
    pub api: ApiVersion,
    /// v2: the `Docker-Distribution-API-Version` header (`registry/2.0`),
    /// when sent; OCI registries need not send it.
    pub api_version_header: Option<String>,
    /// v1: the `X-Docker-Registry-Version` header, when sent.
    pub registry_version: Option<String>,
    /// v1: whether the registry is standalone (takes basic credentials
    /// itself) rather than behind an index; `None` on v2.
    pub standalone: Option<bool>,
}

/// One repository found by [`Client::search`]; the shape of Docker Hub's
/// `/v1/search` results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResult {
    /// The repository name.
    pub name: String,
    /// Empty for v2 registries, which keep no descriptions.
    pub description: String,
    /// Always 0 for v2 registries.
    pub star_count: u64,
    /// Always false for v2 registries.
    pub is_official: bool,
    /// Always false for v2 registries.
    pub is_automated: bool,
}

/// The answer of [`Client::search`]: `{"query","num_results","results"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchResults {
    /// The term searched for.
    pub query: String,
    /// How many results follow.
    pub num_results: u64,
    /// The matching repositories, in catalog order.
    pub results: Vec<SearchResult>,
}

#[derive(Deserialize)]
struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl Client {
    /// `GET /v2/`: checks that the registry speaks v2 and that the credentials
    /// (if any) are accepted. On v1, `GET /v1/_ping`.
    pub fn ping(&self) -> Result<ApiVersion> {
        self.ping_info().map(|p| p.api)
    }

    /// Like [`ping`](Self::ping), with the detail the registry sent.
    pub fn ping_info(&self) -> Result<PingInfo> {
        if self.speaks_v1()? {
            return self.v1_ping_info();
        }
        let url = format!("{}/v2/", self.base()?);
        let resp = self.execute(&Request::new("GET", url), &Vec::new())?;
        let status = resp.status().as_u16();
        let api_version_header = header(&resp, "docker-distribution-api-version");
        if status == 404 {
            return Err(Error::new(
                ErrorKind::Unsupported,
                format!(
                    "{} does not speak the v2 API (GET /v2/ answered 404)",
                    self.registry_host()
                ),
            )
            .with_http_status(404));
        }
        self.check(resp, "GET /v2/")?;
        Ok(PingInfo {
            api: ApiVersion::V2,
            api_version_header,
            registry_version: None,
            standalone: None,
        })
    }

    /// Every repository in `/v2/_catalog`, following `Link` pagination.
    pub fn catalog(&self) -> Result<Vec<String>> {
        let mut all = Vec::new();
        self.each_catalog_page(|page| {
            all.extend(page);
            true
        })?;
        Ok(all)
    }

    /// Repositories whose name contains `term` (case-insensitive), at most
    /// `limit` of them (0 = no limit), in the shape of Docker Hub's search.
    /// On a v1 registry, its own search (`GET /v1/search`), all pages up to
    /// `limit`.
    pub fn search(&self, term: &str, limit: usize) -> Result<SearchResults> {
        if self.speaks_v1()? {
            return self.v1_search(term, limit);
        }
        let needle = term.to_ascii_lowercase();
        let mut results = Vec::new();
        let full = |r: &Vec<SearchResult>| limit != 0 && r.len() >= limit;
        self.each_catalog_page(|page| {
            for name in page {
                if full(&results) {
                    break;
                }
                if name.to_ascii_lowercase().contains(&needle) {
                    results.push(SearchResult {
                        name,
                        description: String::new(),
                        star_count: 0,
                        is_official: false,
                        is_automated: false,
                    });
                }
            }
            !full(&results)
        })?;
        Ok(SearchResults {
            query: term.to_string(),
            num_results: results.len() as u64,
            results,
        })
    }

    fn each_catalog_page(&self, mut each: impl FnMut(Vec<String>) -> bool) -> Result<()> {
        self.require_v2()?;
        let url = format!("{}/v2/_catalog?n={CATALOG_PAGE}", self.base()?);
        let scope = vec!["registry:catalog:*".to_string()];
        self.paginate(url, &scope, "GET /v2/_catalog", |bytes, what| {
            let page: CatalogPage = parse_json(&bytes, what)?;
            Ok(each(page.repositories.unwrap_or_default()))
        })
    }

    /// The tags of `repo`, all pages, sorted, without duplicates. A repository
    /// with no tags left (`"tags": null`) has an empty list.
    pub fn tags(&self, repo: &str) -> Result<Vec<String>> {
        let repo = self.repo(repo)?;
        if self.speaks_v1()? {
            return Ok(self.v1_tags(&repo)?.into_keys().collect());
        }
        let url = format!("{}/v2/{repo}/tags/list", self.base()?);
        let what = format!("GET /v2/{repo}/tags/list");
        let mut tags = Vec::new();
        self.paginate(url, &pull_scope(&repo), &what, |bytes, what| {
            let page: TagsPage = parse_json(&bytes, what)?;
            tags.extend(page.tags.unwrap_or_default());
            Ok(true)
        })?;
        tags.sort();
        tags.dedup();
        Ok(tags)
    }

    /// GETs `url` and every page its `Link: rel="next"` headers lead to,
    /// handing each body to `each` until it returns false.
    fn paginate(
        &self,
        mut url: String,
        scope: &crate::auth::Scope,
        what: &str,
        mut each: impl FnMut(Vec<u8>, &str) -> Result<bool>,
    ) -> Result<()> {
        let mut seen = HashSet::new();
        for _ in 0..MAX_PAGES {
            if !seen.insert(url.clone()) {
                return Err(Error::protocol(format!(
                    "{what}: the registry's Link header loops back to a page already read"
                )));
            }
            let req = Request::new("GET", url.clone()).header("Accept", "application/json");
            let resp = self.get(&req, scope, what)?;
            let next = header(&resp, "link").and_then(|l| transport::next_link(&l));
            let bytes = transport::read_capped(resp, LIST_CAP, what)?;
            if !each(bytes, what)? {
                return Ok(());
            }
            match next {
                Some(n) => url = resolve(&url, &n),
                None => return Ok(()),
            }
        }
        Err(Error::protocol(format!(
            "{what}: more than {MAX_PAGES} pages"
        )))
    }
}

/// After a PUT: fails with DIGEST_MISMATCH when the registry's
/// `Docker-Content-Digest` (in the same algorithm) is not the digest of the
/// bytes sent.
pub(crate) fn check_reported_digest(
    resp: &ureq::http::Response<ureq::Body>,
    sent: &crate::reference::Digest,
    what: &str,
) -> Result<()> {
    let Some(reported) = header(resp, "docker-content-digest") else {
        return Ok(());
    };
    match crate::reference::Digest::parse(&reported) {
        Ok(r) if r.algorithm() == sent.algorithm() && r != *sent => Err(Error::new(
            ErrorKind::DigestMismatch,
            format!("{what}: the registry reports {reported}, the bytes sent hash to {sent}"),
        )),
        _ => Ok(()),
    }
}

pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T> {
    serde_json::from_slice(bytes)
        .map_err(|e| Error::protocol(format!("{what}: malformed JSON from the registry: {e}")))
}
