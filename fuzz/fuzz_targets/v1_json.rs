//! v1 JSON: search pages, tag maps and lists, image ids, ancestry.
//! See `registry::fuzzing::v1_json`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| registry::fuzzing::v1_json(data));
