//! `WWW-Authenticate` values (one per line): schemes, parameters, quoted strings.
//! See `registry::fuzzing::www_authenticate`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        registry::fuzzing::www_authenticate(input);
    }
});
