//! Error answers: two bytes of status, then a v2 `{"errors":…}`, v1 `{"error":…}` or text body.
//! See `registry::fuzzing::error_body`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| registry::fuzzing::error_body(data));
