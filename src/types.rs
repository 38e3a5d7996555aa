//! Plain types shared by the v1 and v2 protocol modules and the client: what
//! a ping found, search results, manifests as stored, the access a token
//! grants.

#![forbid(unsafe_code)]

use serde::{Deserialize, Serialize};

use crate::reference::Digest;

/// The API a registry was found to speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiVersion {
    /// Docker Registry v1.
    V1,
    /// Docker Registry v2 / OCI distribution.
    V2,
}

/// The access a token grants ([`Client::token`](crate::Client::token)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Pull (v2 scope `pull`; v1 index token `read`).
    Read,
    /// Push and pull (v2 `pull,push`; v1 `write`).
    Write,
    /// Delete (v2 `delete`; v1 `delete`).
    Delete,
}

/// What `GET /v2/` or `GET /v1/_ping` said.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
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

/// One repository found by `Client::search`; the shape of Docker Hub's
/// `/v1/search` results.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
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
    /// Docker Hub's older name for an automated build; always false for v2
    /// registries.
    #[serde(default)]
    pub is_trusted: bool,
}

/// The answer of `Client::search` and `Client::search_page`, Docker Hub's
/// shape: `{"query","num_results","num_pages","page_size","page","results"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchResults {
    /// The term searched for.
    pub query: String,
    /// `search`: how many results follow. `search_page`: how many results
    /// the search has over all its pages (as the registry says, on v1).
    pub num_results: u64,
    /// `search_page`: how many pages of `page_size` the search has (at
    /// least 1). `search`: 1, all results being one page.
    #[serde(default)]
    pub num_pages: u64,
    /// `search_page`: the page size asked for (1 to 100). `search`: how
    /// many results follow.
    #[serde(default)]
    pub page_size: u64,
    /// `search_page`: the page these results are, from 1. `search`: 1.
    #[serde(default)]
    pub page: u64,
    /// The matching repositories, in catalog order.
    pub results: Vec<SearchResult>,
}

/// A manifest as the registry stored it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Manifest {
    /// The media type, from `Content-Type` (or the body's `mediaType`).
    pub media_type: String,
    /// The digest of `body`, checked against the one asked for or announced.
    pub digest: Digest,
    /// The exact bytes, never re-serialised.
    pub body: Vec<u8>,
}

/// What a manifest HEAD tells.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ManifestInfo {
    /// The media type from `Content-Type`.
    pub media_type: String,
    /// `Docker-Content-Digest`.
    pub digest: Digest,
    /// `Content-Length`, when sent.
    pub size: Option<u64>,
}

/// One image of a v1 repository's image list (`GET` or `PUT
/// /v1/repositories/<repo>/images`, moby's `ImgData`): its id and, once
/// pushed, its checksum (`sha256:…`, the `X-Docker-Checksum-Payload`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct V1ImageEntry {
    /// The image id (64 hex digits).
    pub id: String,
    /// The image checksum, when the index has (or is given) one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

impl V1ImageEntry {
    /// An entry for image `id`, with its `checksum` if known.
    ///
    /// # Examples
    ///
    /// ```
    /// let e = registry::V1ImageEntry::new("3e5f7d3c1b4a", Some("sha256:00ff".into()));
    /// assert_eq!(e.checksum.as_deref(), Some("sha256:00ff"));
    /// ```
    pub fn new(id: impl Into<String>, checksum: Option<String>) -> V1ImageEntry {
        V1ImageEntry {
            id: id.into(),
            checksum,
        }
    }
}
