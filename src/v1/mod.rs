//! The legacy Docker Registry v1 API: ping, search, tags; images and layers
//! live in `image.rs`, index tokens and the session in `index.rs`.
//!
//! A v1 registry is either *standalone* (it takes basic credentials itself)
//! or sits behind an *index* (Docker Hub's model): the index checks the
//! credentials and hands out a token for one repository and one access, plus
//! the registry endpoints that token is good for; those endpoints get
//! `Authorization: Token …` and then the session cookie they set.

mod image;
mod index;

use std::collections::BTreeMap;

use serde::Deserialize;
use ureq::http::Response;
use ureq::Body;

pub(crate) use index::Session;

use crate::client::{Access, ApiVersion, Client};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::{validate_image_id, validate_repository, validate_tag};
use crate::transport::{self, add_query, header, Payload, Request};
use crate::v2::{parse_json, PingInfo, SearchResult, SearchResults};

/// Small v1 JSON documents (tags, image JSON, ancestry, search pages) are
/// read up to this size.
const JSON_CAP: u64 = 4 << 20;
/// The search page size docker uses, and the most a v1 index allows.
const SEARCH_PAGE: usize = 25;
const SEARCH_PAGE_MAX: usize = 100;
/// A search that keeps returning pages is stopped here.
const SEARCH_MAX_PAGES: usize = 1000;

/// Who a registry request acts for: a repository, with the access its token
/// must grant, or an image, which carries the session's latest token for that
/// access (image paths name no repository).
#[derive(Clone, Copy)]
pub(crate) enum Target<'a> {
    Repo(&'a str, Access),
    Image(Access),
}

#[derive(Deserialize)]
struct SearchPage {
    #[serde(default)]
    results: Vec<SearchHit>,
    #[serde(default)]
    num_pages: Option<serde_json::Value>,
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
}

/// `…/tags` as a map (the reference server) or as a list of
/// `{"name","layer"}` (some older registries).
#[derive(Deserialize)]
#[serde(untagged)]
enum TagList {
    Map(BTreeMap<String, String>),
    List(Vec<TagEntry>),
}

#[derive(Deserialize)]
struct TagEntry {
    name: String,
    layer: String,
}

impl Client {
    /// True when this client speaks v1: it was built for v1, or, on auto,
    /// the registry answered `GET /v2/` with 404 and `GET /v1/_ping` with 2xx.
    pub(crate) fn speaks_v1(&self) -> Result<bool> {
        Ok(self.api()? == ApiVersion::V1)
    }

    /// Fails with UNSUPPORTED unless the client speaks v1.
    pub(crate) fn require_v1(&self, what: &str) -> Result<()> {
        if self.speaks_v1()? {
            return Ok(());
        }
        Err(Error::new(
            ErrorKind::Unsupported,
            format!(
                "{what} is part of the v1 API; {} speaks v2",
                self.registry_host()
            ),
        ))
    }

    /// `GET /v1/_ping`: the registry version and whether it is standalone,
    /// read as docker 1.x did (a missing header means standalone).
    pub(crate) fn v1_ping_info(&self) -> Result<PingInfo> {
        let base = self.base()?;
        let what = "GET /v1/_ping";
        let req = Request::new("GET", format!("{base}/v1/_ping"));
        let resp = self.inner().transport.send(&req, None)?;
        let resp = self.check(resp, what)?;
        let registry_version = header(&resp, "x-docker-registry-version");
        let standalone = match header(&resp, "x-docker-registry-standalone") {
            None => true,
            Some(v) => v.trim().eq_ignore_ascii_case("true") || v.trim() == "1",
        };
        self.inner().v1.set_standalone(standalone);
        Ok(PingInfo {
            api: ApiVersion::V1,
            api_version_header: None,
            registry_version,
            standalone: Some(standalone),
        })
    }

    /// Validates a v1 repository name; one-word names get `library/`, as the
    /// docker 1.x client sent them.
    pub(crate) fn v1_repo(&self, repo: &str) -> Result<String> {
        let repo = if repo.contains('/') {
            repo.to_string()
        } else {
            format!("library/{repo}")
        };
        validate_repository(&repo)?;
        Ok(repo)
    }

    /// Sends a request to the registry for `target` and returns the response,
    /// whatever its status. A standalone registry gets basic credentials; one
    /// behind an index gets the index's token for the target (fetched when the
    /// session has none) and its session cookies, and a refused token is
    /// replaced once (bodies that can be sent again only).
    pub(crate) fn v1_send(
        &self,
        method: &str,
        path: &str,
        target: Target<'_>,
        headers: &[(&'static str, &str)],
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        let run = |endpoint: &str, authorization: Option<String>, payload: &mut Payload<'_>| {
            let url = format!("{endpoint}{path}");
            let mut req = Request::new(method, url).header("Accept", "application/json");
            for (k, v) in headers {
                req = req.header(k, *v);
            }
            self.v1_exchange(req, authorization.as_deref(), payload)
        };
        let mut attempt = || -> Result<Response<Body>> {
            if self.v1_standalone()? {
                let base = self.base()?;
                let basic = self.inner().auth.basic_for(&base);
                return run(&base, basic, payload);
            }
            let token = match target {
                Target::Repo(repo, access) => Some(self.v1_session_token(repo, access)?),
                Target::Image(access) => self.inner().v1.latest(access),
            };
            let Some(token) = token else {
                let endpoint = match self.inner().v1.any_endpoint() {
                    Some(e) => e,
                    None => self.base()?,
                };
                return run(&endpoint, None, payload);
            };
            let resp = run(&token.endpoint, Some(token.authorization()), payload)?;
            match target {
                Target::Repo(repo, access)
                    if resp.status().as_u16() == 401 && payload.replayable() =>
                {
                    let fresh = self.v1_index_token(repo, access)?;
                    run(&fresh.endpoint, Some(fresh.authorization()), payload)
                }
                _ => Ok(resp),
            }
        };
        attempt().map_err(|e| self.redact(e))
    }

    /// Sends `req` with the session cookies of its origin, and keeps the
    /// cookies the answer sets.
    pub(crate) fn v1_exchange(
        &self,
        req: Request<'_>,
        authorization: Option<&str>,
        payload: &mut Payload<'_>,
    ) -> Result<Response<Body>> {
        let url = req.url.clone();
        let req = match self.inner().v1.cookies_for(&url) {
            Some(c) => req.header("Cookie", c),
            None => req,
        };
        let resp = self
            .inner()
            .transport
            .send_with(&req, authorization, payload)?;
        self.inner().v1.keep_cookies(&url, &resp);
        Ok(resp)
    }

    /// [`v1_send`](Self::v1_send) for a small JSON answer, which must be 2xx.
    pub(crate) fn v1_json<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
        target: Target<'_>,
    ) -> Result<T> {
        let what = format!("GET {path}");
        let resp = self.v1_send("GET", path, target, &[], &mut Payload::Empty)?;
        let resp = self.check(resp, &what)?;
        let bytes = transport::read_capped(resp, JSON_CAP, &what)?;
        parse_json(&bytes, &what)
    }

    /// Sends `body` as JSON and requires a 2xx answer.
    pub(crate) fn v1_put_json(
        &self,
        path: &str,
        target: Target<'_>,
        body: &[u8],
    ) -> Result<Response<Body>> {
        let what = format!("PUT {path}");
        let headers = [("Content-Type", "application/json")];
        let resp = self.v1_send("PUT", path, target, &headers, &mut Payload::Bytes(body))?;
        self.check(resp, &what)
    }

    /// `GET /v1/search?q=…&n=…&page=…`, page after page until `limit`
    /// results (0: all of them) or the last page.
    pub(crate) fn v1_search(&self, term: &str, limit: usize) -> Result<SearchResults> {
        let per_page = match limit {
            0 => SEARCH_PAGE,
            n => n.min(SEARCH_PAGE_MAX),
        };
        let base = self.base()?;
        let mut results = Vec::new();
        for page in 1..=SEARCH_MAX_PAGES {
            let mut url = add_query(&format!("{base}/v1/search"), "q", term);
            url = add_query(&url, "n", &per_page.to_string());
            url = add_query(&url, "page", &page.to_string());
            let what = "GET /v1/search";
            let req = Request::new("GET", url.clone())
                .header("Accept", "application/json")
                .header("X-Docker-Token", "true");
            let basic = self.inner().auth.basic_for(&url);
            let resp = self
                .v1_exchange(req, basic.as_deref(), &mut Payload::Empty)
                .map_err(|e| self.redact(e))?;
            let resp = self.check(resp, what)?;
            let bytes = transport::read_capped(resp, JSON_CAP, what)?;
            let got: SearchPage = parse_json(&bytes, what)?;
            let last_page = got
                .num_pages
                .as_ref()
                .and_then(|v| match v {
                    serde_json::Value::Number(n) => n.as_u64(),
                    serde_json::Value::String(s) => s.parse().ok(),
                    _ => None,
                })
                .map_or(got.results.len() < per_page, |n| page as u64 >= n);
            let empty = got.results.is_empty();
            results.extend(got.results.into_iter().map(|h| SearchResult {
                name: h.name,
                description: h.description.unwrap_or_default(),
                star_count: h.star_count.unwrap_or(0),
                is_official: h.is_official.unwrap_or(false),
                is_automated: h.is_automated.unwrap_or(false),
            }));
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
            results,
        })
    }

    /// `GET /v1/repositories/<repo>/tags`: every tag with the image id it
    /// names.
    pub fn v1_tags(&self, repo: &str) -> Result<BTreeMap<String, String>> {
        self.require_v1("the tag map")?;
        let repo = self.v1_repo(repo)?;
        let path = format!("/v1/repositories/{repo}/tags");
        Ok(
            match self.v1_json(&path, Target::Repo(&repo, Access::Read))? {
                TagList::Map(m) => m,
                TagList::List(l) => l.into_iter().map(|t| (t.name, t.layer)).collect(),
            },
        )
    }

    /// `GET /v1/repositories/<repo>/tags/<tag>`: the image id (a JSON string).
    pub(crate) fn v1_image_id(&self, repo: &str, tag: &str) -> Result<String> {
        let repo = self.v1_repo(repo)?;
        validate_tag(tag)?;
        let path = format!("/v1/repositories/{repo}/tags/{tag}");
        let id: String = self.v1_json(&path, Target::Repo(&repo, Access::Read))?;
        validate_image_id(&id).map_err(|_| {
            Error::protocol(format!(
                "GET {path}: the registry answered {id:?}, not an image id"
            ))
        })?;
        Ok(id)
    }

    /// `PUT /v1/repositories/<repo>/tags/<tag>` with the image id as a JSON
    /// string. An image the registry does not have is NOT_FOUND.
    pub(crate) fn v1_set_tag(&self, repo: &str, image: &str, tag: &str) -> Result<String> {
        let repo = self.v1_repo(repo)?;
        validate_tag(tag)?;
        validate_image_id(image)?;
        let path = format!("/v1/repositories/{repo}/tags/{tag}");
        let body = serde_json::to_vec(image).map_err(|e| Error::invalid(e.to_string()))?;
        self.v1_put_json(&path, Target::Repo(&repo, Access::Write), &body)?;
        Ok(image.to_string())
    }

    /// `DELETE /v1/repositories/<repo>/tags/<tag>`.
    pub(crate) fn v1_delete_tag(&self, repo: &str, tag: &str) -> Result<()> {
        let repo = self.v1_repo(repo)?;
        validate_tag(tag)?;
        let path = format!("/v1/repositories/{repo}/tags/{tag}");
        let target = Target::Repo(&repo, Access::Delete);
        let resp = self.v1_send("DELETE", &path, target, &[], &mut Payload::Empty)?;
        self.check(resp, &format!("DELETE {path}")).map(|_| ())
    }
}
