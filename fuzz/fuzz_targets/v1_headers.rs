//! v1 headers (one value per line): `X-Docker-Token`, `X-Docker-Endpoints`, `X-Docker-Checksum-Payload`, `Set-Cookie`.
//! See `registry::fuzzing::v1_headers`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(input) = std::str::from_utf8(data) {
        registry::fuzzing::v1_headers(input);
    }
});
