//! A blocking Docker / OCI registry client, exported to C through `registry.h`.
//!
//! ```no_run
//! use registry::Client;
//!
//! let client = Client::builder("localhost:5000").basic_auth("alice", "secret").build()?;
//! client.ping()?;
//! let tags = client.tags("team/app")?;
//! let id = client.image_id("team/app", &tags[0])?;
//! # Ok::<(), registry::Error>(())
//! ```
//!
//! One [`Client`] talks to one registry; it is `Send + Sync` and cheap to
//! clone, and its clones share one connection pool and one token cache. Bodies
//! stream: only small JSON documents are read whole, each under a size cap.
//!
//! The modules are layered; each uses only those below it:
//!
//! | layer | modules |
//! |---|---|
//! | C ABI | `ffi` |
//! | façade: one method per operation | `ops` (one file per resource), `fleet` (many tags at once), `image` (whole images, archives), `builder`, `client`, `address` |
//! | protocol: paths, bodies, media types, layouts | `v1`, `v2`, `oci`, `layout`, `layer`, `transfer` |
//! | the request pipeline: credentials for an origin, one answer to a 401 | `remote`, `auth` |
//! | redirects, retries, deadlines, TLS, proxies, caps, cancels, rate limits | `transport`, `tls`, `proxy`, `certs`, `cancel`, `ratelimit` |
//! | leaves | `reference`, `files`, `tar`, `gzip`, `error`, `url`, `challenge`, `types`, `sync` |
//!
//! All raw-pointer code lives in the `ffi` module (the C ABI); every other
//! module forbids `unsafe`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod address;
mod auth;
mod builder;
mod cancel;
mod certs;
mod challenge;
mod client;
mod error;
#[cfg(feature = "capi")]
pub mod ffi;
mod files;
mod fleet;
#[doc(hidden)]
pub mod fuzzing;
mod gzip;
mod image;
mod layer;
mod layout;
mod oci;
mod ops;
mod proxy;
mod ratelimit;
pub mod reference;
mod remote;
mod resume;
mod sync;
mod tar;
mod tls;
mod transfer;
mod transport;
mod types;
mod url;
mod v1;
mod v2;

pub use address::Api;
pub use auth::Credentials;
pub use builder::{ClientBuilder, DEFAULT_MAX_RETRIES, DEFAULT_PARALLEL, DEFAULT_TIMEOUT};
pub use certs::DEFAULT_CERTS_DIR;
pub use client::Client;
pub use error::{Error, ErrorKind, Result};
pub use fleet::{SyncFailure, SyncReport, SyncedTag};
pub use gzip::Compression;
pub use image::{ArchiveFormat, ImageOptions};
pub use layer::LayerReader;
// What regcli shares with the library rather than keeping copies of its own.
#[doc(hidden)]
pub use auth::config::run_credential_helper;
#[doc(hidden)]
pub use layer::{hash_file, write_atomically_with_mode};
pub use oci::{Descriptor, MANIFEST_MEDIA_TYPES};
pub use ops::{Artifact, TITLE_ANNOTATION};
pub use ratelimit::RateLimitStatus;
pub use reference::{ContentId, Digest, ManifestRef, Platform, Reference};

/// The media types of manifests, indexes, configs and layers, as registries
/// and layouts name them.
pub mod media_type {
    pub use crate::oci::{
        DOCKER_CONFIG, DOCKER_LAYER_GZIP, DOCKER_LIST, DOCKER_MANIFEST, OCI_CONFIG, OCI_EMPTY,
        OCI_INDEX, OCI_LAYER_GZIP, OCI_LAYER_TAR, OCI_MANIFEST,
    };
}
pub use transfer::Progress;
pub use types::{
    Access, ApiVersion, Manifest, ManifestInfo, PingInfo, SearchResult, SearchResults, V1ImageEntry,
};
