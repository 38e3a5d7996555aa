//! `Link` headers: the `rel="next"` target, resolved against a tags URL.
//! See `registry::fuzzing::link`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        registry::fuzzing::link(input);
    }
});
