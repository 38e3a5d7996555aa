//! Docker and OCI manifests and indexes (platform entry, config digest), catalog and tag pages.
//! See `registry::fuzzing::manifest`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| registry::fuzzing::manifest(data));
