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
//! All raw-pointer code lives in the `ffi` module (the C ABI); the rest of
//! the crate denies `unsafe_code`.

#![deny(unsafe_code)]
#![warn(missing_docs)]

mod auth;
mod certs;
mod client;
mod error;
pub mod ffi;
mod layer;
mod proxy;
pub mod reference;
mod tls;
mod transport;
mod v1;
mod v2;

pub use auth::Credentials;
pub use certs::DEFAULT_CERTS_DIR;
pub use client::{
    Access, Api, ApiVersion, Client, ClientBuilder, DEFAULT_MAX_RETRIES, DEFAULT_TIMEOUT,
};
pub use error::{Error, ErrorKind, Result};
pub use layer::LayerReader;
pub use reference::{Digest, ManifestRef, Reference};
pub use v2::{
    Manifest, ManifestInfo, PingInfo, Platform, SearchResult, SearchResults, MANIFEST_MEDIA_TYPES,
};
