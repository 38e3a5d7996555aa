//! The legacy Docker Registry v1 API, protocol only: ping, search, tags;
//! images and layers live in `image.rs`, index tokens and the session in
//! `index.rs`.
//!
//! A v1 registry is either *standalone* (it takes basic credentials itself)
//! or sits behind an *index* (Docker Hub's model): the index checks the
//! credentials and hands out a token for one repository and one access, plus
//! the registry endpoints that token is good for; those endpoints get
//! `Authorization: Token …` and then the session cookie they set.

#![forbid(unsafe_code)]

mod image;
mod index;
mod repository;

use std::collections::BTreeMap;

use serde::Deserialize;

pub(crate) use image::{
    ancestry, image_json, image_json_put, layer_exists, open_layer, parse_checksum, put_layer,
};
pub(crate) use index::{parse_endpoints, parse_token, Session, Target};
pub(crate) use repository::{
    repository_delete, repository_images, repository_images_put, repository_put,
};

use crate::error::{what_of, Error, Result};
use crate::reference::{validate_image_id, validate_repository, validate_tag};
use crate::remote::Remote;
use crate::transport::{self, header, ListBudget, Payload, Request};
use crate::types::{Access, ApiVersion, PingInfo, SearchResult, SearchResults};
use crate::url::add_query;

/// Small v1 JSON documents (tags, image JSON, ancestry) are read up to this size.
const JSON_CAP: u64 = 4 << 20;
/// The search page size docker uses, and the most a v1 index allows.
const SEARCH_PAGE: usize = 25;
const SEARCH_PAGE_MAX: usize = 100;
/// A search that keeps returning pages is stopped here.
const SEARCH_MAX_PAGES: usize = 1000;

#[derive(Deserialize)]
pub(crate) struct SearchPage {
    #[serde(default)]
    results: Vec<SearchHit>,
    #[serde(default)]
    num_pages: Option<serde_json::Value>,
    #[serde(default)]
    num_results: Option<serde_json::Value>,
}

/// One v1 search result; every field but `name` may be missing or null.
#[derive(Deserialize)]
struct SearchHit {
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    star_count: Option<u64>,
    #[serde(default)]
    is_official: Option<bool>,
    #[serde(default)]
    is_automated: Option<bool>,
    #[serde(default)]
    is_trusted: Option<bool>,
}

/// `…/tags` as a map (the reference server) or as a list of
/// `{"name","layer"}` (some older registries).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum TagList {
    Map(BTreeMap<String, String>),
    List(Vec<TagEntry>),
}

#[derive(Deserialize)]
pub(crate) struct TagEntry {
    name: String,
    layer: String,
}

/// A v1 repository name: one-word names get `library/`, as the docker 1.x
/// client sent them.
pub(crate) fn repo_name(repo: &str) -> Result<String> {
    let repo = if repo.contains('/') {
        repo.to_string()
    } else {
        format!("library/{repo}")
    };
    validate_repository(&repo)?;
    Ok(repo)
}

/// `GET /v1/_ping`: the registry version and whether it is standalone,
/// read as docker 1.x did (a missing header means standalone).
pub(crate) fn ping(remote: &Remote<'_>, session: &Session) -> Result<PingInfo> {
    let req = Request::new("GET", remote.url("/v1/_ping"));
    let resp = index::exchange(remote, session, req, None, &mut Payload::Empty)?;
    let resp = remote.check(resp)?;
    let registry_version = header(&resp, "x-docker-registry-version");
    let standalone = match header(&resp, "x-docker-registry-standalone") {
        None => true,
        Some(v) => v.trim().eq_ignore_ascii_case("true") || v.trim() == "1",
    };
    session.set_standalone(standalone);
    Ok(PingInfo {
        api: ApiVersion::V1,
        api_version_header: None,
        registry_version,
        standalone: Some(standalone),
    })
}

/// Whether the registry is standalone (takes basic credentials itself),
/// learned from `_ping` once, unless known already (Docker Hub's index is not).
pub(crate) fn standalone(remote: &Remote<'_>, session: &Session) -> Result<bool> {
    match session.standalone() {
        Some(s) => Ok(s),
        None => Ok(ping(remote, session)?.standalone.unwrap_or(true)),
    }
}

/// [`index::send`] for a small JSON answer, which must be 2xx.
fn get_json<T: serde::de::DeserializeOwned>(
    remote: &Remote<'_>,
    session: &Session,
    path: &str,
    target: Target<'_>,
) -> Result<T> {
    let resp = index::get(remote, session, path, target)?;
    let resp = remote.check(resp)?;
    transport::read_json(resp, JSON_CAP)
}

/// Sends `body` as JSON and requires a 2xx answer.
fn put_json(
    remote: &Remote<'_>,
    session: &Session,
    path: &str,
    target: Target<'_>,
    body: &[u8],
) -> Result<()> {
    let headers = [("Content-Type", "application/json")];
    let resp = index::send(
        remote,
        session,
        "PUT",
        path,
        target,
        &headers,
        &mut Payload::Bytes(body),
    )?;
    remote.check(resp).map(|_| ())
}

/// `GET /v1/search?q=…&n=…&page=…`, page after page until `limit`
/// results (0: all of them) or the last page, bounded by a [`ListBudget`].
pub(crate) fn search(
    remote: &Remote<'_>,
    session: &Session,
    term: &str,
    limit: usize,
) -> Result<SearchResults> {
    let per_page = match limit {
        0 => SEARCH_PAGE,
        n => n.min(SEARCH_PAGE_MAX),
    };
    let mut budget = ListBudget::new();
    let mut results = Vec::new();
    for page in 1..=SEARCH_MAX_PAGES {
        let got = get_search_page(remote, session, &mut budget, term, page as u64, per_page)?;
        let last_page = got
            .num_pages
            .map_or(got.results.len() < per_page, |n| page as u64 >= n);
        let empty = got.results.is_empty();
        results.extend(got.results);
        if limit != 0 && results.len() >= limit {
            results.truncate(limit);
            break;
        }
        if last_page || empty {
            break;
        }
    }
    Ok(SearchResults {
        query: term.to_string(),
        num_results: results.len() as u64,
        num_pages: 1,
        page_size: results.len() as u64,
        page: 1,
        results,
    })
}

/// One page of `GET /v1/search`, `per_page` (1 to 100) results from page
/// `page` (from 1), as the index answers it: its `num_results` and
/// `num_pages` when it sends them; otherwise the results of this page, and
/// this page as the last unless it is full.
pub(crate) fn search_page(
    remote: &Remote<'_>,
    session: &Session,
    term: &str,
    page: u64,
    per_page: usize,
) -> Result<SearchResults> {
    let mut budget = ListBudget::new();
    let got = get_search_page(remote, session, &mut budget, term, page, per_page)?;
    let full = got.results.len() >= per_page;
    Ok(SearchResults {
        query: term.to_string(),
        num_results: got.num_results.unwrap_or(got.results.len() as u64),
        num_pages: got
            .num_pages
            .unwrap_or(if full { page + 1 } else { page })
            .max(1),
        page_size: per_page as u64,
        page,
        results: got.results,
    })
}

/// What one search page said.
struct GotPage {
    results: Vec<SearchResult>,
    num_pages: Option<u64>,
    num_results: Option<u64>,
}

/// A number the Hub sends as a number or as a string.
fn lenient_u64(v: Option<&serde_json::Value>) -> Option<u64> {
    match v? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `GET /v1/search?q=<term>&n=<per_page>&page=<page>`, at most `per_page`
/// results kept, read within `budget`.
fn get_search_page(
    remote: &Remote<'_>,
    session: &Session,
    budget: &mut ListBudget,
    term: &str,
    page: u64,
    per_page: usize,
) -> Result<GotPage> {
    let mut url = add_query(&remote.url("/v1/search"), "q", term);
    url = add_query(&url, "n", &per_page.to_string());
    url = add_query(&url, "page", &page.to_string());
    let req = Request::new("GET", url.clone())
        .header("Accept", "application/json")
        .header("X-Docker-Token", "true");
    let basic = remote.auth.basic_for(&url);
    let resp = index::exchange(remote, session, req, basic.as_deref(), &mut Payload::Empty)?;
    let resp = remote.check(resp)?;
    let what = what_of(&resp).to_string();
    let mut got: SearchPage = transport::decode_json(&budget.read_page(resp)?, &what)?;
    budget.count(got.results.len())?;
    got.results.truncate(per_page);
    Ok(GotPage {
        num_pages: lenient_u64(got.num_pages.as_ref()),
        num_results: lenient_u64(got.num_results.as_ref()),
        results: got
            .results
            .into_iter()
            .map(|h| SearchResult {
                name: h.name,
                description: h.description.unwrap_or_default(),
                star_count: h.star_count.unwrap_or(0),
                is_official: h.is_official.unwrap_or(false),
                is_automated: h.is_automated.unwrap_or(false),
                is_trusted: h.is_trusted.unwrap_or(false),
            })
            .collect(),
    })
}

/// `GET /v1/repositories/<repo>/tags`: every tag with the image id it names.
pub(crate) fn tags(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
) -> Result<BTreeMap<String, String>> {
    let repo = repo_name(repo)?;
    let path = format!("/v1/repositories/{repo}/tags");
    Ok(
        match get_json(remote, session, &path, Target::Repo(&repo, Access::Read))? {
            TagList::Map(m) => m,
            TagList::List(l) => l.into_iter().map(|t| (t.name, t.layer)).collect(),
        },
    )
}

/// `GET /v1/repositories/<repo>/tags/<tag>`: the image id (a JSON string).
pub(crate) fn image_id(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    tag: &str,
) -> Result<String> {
    let repo = repo_name(repo)?;
    validate_tag(tag)?;
    let path = format!("/v1/repositories/{repo}/tags/{tag}");
    let id: String = get_json(remote, session, &path, Target::Repo(&repo, Access::Read))?;
    validate_image_id(&id).map_err(|_| {
        Error::protocol(format!(
            "GET {path}: the registry answered {:?}, not an image id",
            id.chars().take(100).collect::<String>()
        ))
    })?;
    Ok(id)
}

/// `PUT /v1/repositories/<repo>/tags/<tag>` with the image id as a JSON
/// string. An image the registry does not have is NOT_FOUND.
pub(crate) fn set_tag(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    image: &str,
    tag: &str,
) -> Result<String> {
    let repo = repo_name(repo)?;
    validate_tag(tag)?;
    validate_image_id(image)?;
    let path = format!("/v1/repositories/{repo}/tags/{tag}");
    let body = serde_json::to_vec(image).map_err(|e| Error::invalid(e.to_string()))?;
    put_json(
        remote,
        session,
        &path,
        Target::Repo(&repo, Access::Write),
        &body,
    )?;
    Ok(image.to_string())
}

/// `DELETE /v1/repositories/<repo>/tags/<tag>`.
pub(crate) fn delete_tag(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    tag: &str,
) -> Result<()> {
    let repo = repo_name(repo)?;
    validate_tag(tag)?;
    let path = format!("/v1/repositories/{repo}/tags/{tag}");
    let target = Target::Repo(&repo, Access::Delete);
    let resp = index::send(
        remote,
        session,
        "DELETE",
        &path,
        target,
        &[],
        &mut Payload::Empty,
    )?;
    remote.check(resp).map(|_| ())
}

/// A fresh index token for `repo` (without the `Token ` prefix), which also
/// becomes the session's token for that access.
pub(crate) fn hub_token(
    remote: &Remote<'_>,
    session: &Session,
    repo: &str,
    access: Access,
) -> Result<String> {
    let repo = repo_name(repo)?;
    Ok(index::index_token(remote, session, &repo, access)?.token)
}
