//! Image archives as a push reads them (docker-archive, oci-archive: the tar
//! index, manifest.json, index.json, configs, layer hashing and gzip).
//! See `registry::fuzzing::archive`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| registry::fuzzing::archive(data));
