//! The v2 / OCI distribution API, protocol only: paths, bodies and media
//! types, each operation a function of one [`Remote`]. Ping, catalog and
//! search, and tags live here; manifests, blobs and uploads in their own
//! files.

#![forbid(unsafe_code)]

mod blob;
mod manifest;
mod referrers;
mod upload;

use std::collections::HashSet;

use serde::de::DeserializeOwned;
use serde::Deserialize;

pub(crate) use blob::{blob_exists, open_blob, open_blob_from};
pub(crate) use manifest::{
    delete_manifest, delete_tag, get_manifest, get_platform_manifest, head_manifest,
    head_rate_limit, image_config_digest, put_manifest, put_manifest_answer, set_tag, MANIFEST_CAP,
};
#[cfg(feature = "capi")]
pub(crate) use referrers::index_json;
pub(crate) use referrers::{add_to_fallback, referrers};
pub(crate) use upload::{mount_blob, put_blob, upload_blob};

use crate::auth::Scope;
use crate::error::{what_of, Error, ErrorKind, Result};
use crate::reference::{Algorithm, Digest, Hasher};
use crate::remote::Remote;
use crate::transport::{self, header, ListBudget, Payload, Request};
use crate::types::{ApiVersion, PingInfo, SearchResult, SearchResults};
use crate::url::{next_link, resolve};

/// A registry that keeps sending `Link: rel="next"` is stopped here.
const MAX_PAGES: usize = 10_000;
/// The catalog page size asked for (distribution's default `maxentries` is 1000).
const CATALOG_PAGE: u32 = 100;

/// One page of a listing that pages by `Link: rel="next"`: what its body
/// decodes into, and the entries it holds (counted against the
/// [`ListBudget`]). The next listing (referrers, say) is one such type and
/// one call of [`each_page`].
pub(crate) trait Page: DeserializeOwned {
    /// What the listing lists.
    type Entry;
    /// The page's entries, in the registry's order.
    fn entries(self) -> Vec<Self::Entry>;
}

/// A catalog page; `repositories` may be `null`.
#[derive(Deserialize)]
pub(crate) struct CatalogPage {
    #[serde(default)]
    repositories: Option<Vec<String>>,
}

impl Page for CatalogPage {
    type Entry = String;
    fn entries(self) -> Vec<String> {
        self.repositories.unwrap_or_default()
    }
}

/// A tag list page; `tags` may be `null`, and other fields (GCR's
/// `manifest`, `child`) are ignored.
#[derive(Deserialize)]
pub(crate) struct TagsPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

impl Page for TagsPage {
    type Entry = String;
    fn entries(self) -> Vec<String> {
        self.tags.unwrap_or_default()
    }
}

/// `GET /v2/`: checks that the registry speaks v2 and that the credentials
/// (if any) are accepted.
pub(crate) fn ping(remote: &Remote<'_>) -> Result<PingInfo> {
    let req = Request::new("GET", remote.url("/v2/"));
    let resp = remote.send(&req, &Scope::none(), &mut Payload::Empty)?;
    let status = resp.status().as_u16();
    let api_version_header = header(&resp, "docker-distribution-api-version");
    if status == 404 {
        return Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{} does not speak the v2 API (GET /v2/ answered 404)",
                remote.base
            ),
        )
        .with_http_status(404));
    }
    remote.check(resp)?;
    Ok(PingInfo {
        api: ApiVersion::V2,
        api_version_header,
        registry_version: None,
        standalone: None,
    })
}

/// Every repository in `/v2/_catalog`, page by page, each page handed to
/// `each` until it returns false.
pub(crate) fn each_catalog_page(
    remote: &Remote<'_>,
    each: impl FnMut(Vec<String>) -> bool,
) -> Result<()> {
    let first = Request::new("GET", remote.url(&format!("/v2/_catalog?n={CATALOG_PAGE}")))
        .header("Accept", "application/json");
    each_page::<CatalogPage>(remote, first, &Scope::catalog(), each)
}

/// Repositories whose name contains `term` (case-insensitive), at most
/// `limit` of them (0 = no limit), in the shape of Docker Hub's search.
pub(crate) fn search(remote: &Remote<'_>, term: &str, limit: usize) -> Result<SearchResults> {
    let needle = term.to_ascii_lowercase();
    let mut results = Vec::new();
    let full = |r: &Vec<SearchResult>| limit != 0 && r.len() >= limit;
    each_catalog_page(remote, |page| {
        for name in page {
            if full(&results) {
                break;
            }
            if name.to_ascii_lowercase().contains(&needle) {
                results.push(catalog_hit(name));
            }
        }
        !full(&results)
    })?;
    Ok(SearchResults {
        query: term.to_string(),
        num_results: results.len() as u64,
        num_pages: 1,
        page_size: results.len() as u64,
        page: 1,
        results,
    })
}

/// A search result for repository `name` of the catalog.
fn catalog_hit(name: String) -> SearchResult {
    SearchResult {
        name,
        description: String::new(),
        star_count: 0,
        is_official: false,
        is_automated: false,
        is_trusted: false,
    }
}

/// Page `page` (from 1) of `per_page` (from 1) of the repositories whose
/// name contains `term` (case-insensitive), in catalog order. The whole
/// catalog is read (bounded as [`each_catalog_page`]), so `num_results`
/// counts every match and `num_pages` is the pages of `per_page` they
/// fill (at least 1); a page past the last has no results.
pub(crate) fn search_page(
    remote: &Remote<'_>,
    term: &str,
    page: u64,
    per_page: usize,
) -> Result<SearchResults> {
    let needle = term.to_ascii_lowercase();
    let first = (page.saturating_sub(1)).saturating_mul(per_page as u64);
    let mut matches = 0u64;
    let mut results = Vec::new();
    each_catalog_page(remote, |names| {
        for name in names {
            if name.to_ascii_lowercase().contains(&needle) {
                if matches >= first && results.len() < per_page {
                    results.push(catalog_hit(name));
                }
                matches += 1;
            }
        }
        true
    })?;
    Ok(SearchResults {
        query: term.to_string(),
        num_results: matches,
        num_pages: matches.div_ceil(per_page as u64).max(1),
        page_size: per_page as u64,
        page,
        results,
    })
}

/// The tags of `repo`, all pages, sorted, without duplicates. A repository
/// with no tags left (`"tags": null`) has an empty list.
pub(crate) fn tags(remote: &Remote<'_>, repo: &str) -> Result<Vec<String>> {
    let first = Request::new("GET", remote.url(&format!("/v2/{repo}/tags/list")))
        .header("Accept", "application/json");
    let mut tags = Vec::new();
    each_page::<TagsPage>(remote, first, &Scope::pull(repo), |page| {
        tags.extend(page);
        true
    })?;
    tags.sort();
    tags.dedup();
    Ok(tags)
}

/// Sends `first` (a GET) and a GET, with its headers, to every page its
/// `Link: rel="next"` headers lead to (opaque URLs, resolved against the
/// page; credentials only where the pipeline allows), handing each page's
/// entries to `each` until it returns false. All pages together are bounded
/// by a [`ListBudget`]; a `Link` back to a page already read, or more than
/// 10,000 pages, is PROTOCOL.
pub(crate) fn each_page<P: Page>(
    remote: &Remote<'_>,
    first: Request<'_>,
    scope: &Scope,
    mut each: impl FnMut(Vec<P::Entry>) -> bool,
) -> Result<()> {
    let what = first.what();
    let mut seen = HashSet::new();
    let mut budget = ListBudget::new();
    let mut req = first;
    for _ in 0..MAX_PAGES {
        // Kept by digest: a page URL may be as long as a header allows.
        if !seen.insert(Hasher::digest(Algorithm::Sha256, req.url.as_bytes())) {
            return Err(Error::protocol(format!(
                "{what}: the registry's Link header loops back to a page already read"
            )));
        }
        let resp = remote.send_checked(&req, scope)?;
        let next = header(&resp, "link").and_then(|l| next_link(&l));
        let bytes = budget.read_page(resp)?;
        let page: P = transport::decode_json(&bytes, &req.what())?;
        let entries = page.entries();
        budget.count(entries.len())?;
        if !each(entries) {
            return Ok(());
        }
        match next {
            Some(n) => req.url = resolve(&req.url, &n),
            None => return Ok(()),
        }
    }
    Err(Error::protocol(format!(
        "{what}: more than {MAX_PAGES} pages"
    )))
}

/// After a PUT: fails with DIGEST_MISMATCH when the registry's
/// `Docker-Content-Digest` (in the same algorithm) is not the digest of the
/// bytes sent.
fn check_reported_digest(resp: &ureq::http::Response<ureq::Body>, sent: &Digest) -> Result<()> {
    let Some(reported) = header(resp, "docker-content-digest") else {
        return Ok(());
    };
    match Digest::parse(&reported) {
        Ok(r) if r.algorithm() == sent.algorithm() && r != *sent => Err(Error::new(
            ErrorKind::DigestMismatch,
            format!(
                "{}: the registry reports {reported}, the bytes sent hash to {sent}",
                what_of(resp)
            ),
        )),
        _ => Ok(()),
    }
}
