//! The operations of the public façade, one file per resource, each a
//! method of [`Client`](crate::Client): validate the arguments, then run the
//! v2 or v1 protocol function through [`Client::dispatch`](crate::Client).
//! Whole images are `crate::image`.

#![forbid(unsafe_code)]

mod artifacts;
mod blobs;
mod manifests;
mod ratelimit;
mod repositories;
mod tags;
mod v1;

pub use artifacts::{Artifact, TITLE_ANNOTATION};
