//! Image references, digests, tags, repository names, domains, image ids and registry addresses.
//! See `registry::fuzzing::reference`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        registry::fuzzing::reference(input);
    }
});
