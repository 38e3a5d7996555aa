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
}

/// The answer of `Client::search`: `{"query","num_results","results"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SearchResults {
    /// The term searched for.
    pub query: String,
    /// How many results follow.
    pub num_results: u64,
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
