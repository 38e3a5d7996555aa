//! Proxy choice: a `host[:port]` line, then `NAME=value` lines (`HTTPS_PROXY`, `NO_PROXY`, …).
//! See `registry::fuzzing::proxy_env`.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| registry::fuzzing::proxy_env(data));
