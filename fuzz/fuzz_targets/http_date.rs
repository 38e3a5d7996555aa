//! `Retry-After`: delta seconds or an HTTP date.
//! See `registry::fuzzing::http_date`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        registry::fuzzing::http_date(input);
    }
});
