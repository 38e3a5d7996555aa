//! docker `config.json`: `auths` key forms, `credHelpers`, `credsStore`.
//! See `registry::fuzzing::docker_config`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| registry::fuzzing::docker_config(data));
