//! URLs: a request URL line and a `Location` / `Link` target resolved against it; origins, paths, loopback.
//! See `registry::fuzzing::url`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        registry::fuzzing::url(input);
    }
});
