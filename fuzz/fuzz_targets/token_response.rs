//! Token server JSON: `token` / `access_token`, `expires_in`, and the cache expiry it gives.
//! See `registry::fuzzing::token_response`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| registry::fuzzing::token_response(data));
