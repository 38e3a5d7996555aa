// The one status table of the library: every status code, its C name and a
// one-line description. `src/error/mod.rs` builds `ErrorKind` from it and
// `build.rs` the `REGISTRY_STATUS_*` constants of `include/registry.h`; the
// Ruby and Go wrappers read it back through `registry_status_name` and the
// header. Values are never renumbered; a retired value stays as a comment.
status_table! {
    Ok = 0, "OK", "Success.";
    NullArgument = 1, "NULL_ARGUMENT", "A required pointer argument was NULL (C ABI only).";
    InvalidArgument = 2, "INVALID_ARGUMENT", "A name, tag, digest, address, platform, path, mode or other argument was malformed.";
    Network = 3, "NETWORK", "The connection could not be made or broke.";
    Timeout = 4, "TIMEOUT", "A call passed its deadline, or a transfer stalled longer than the timeout.";
    Tls = 5, "TLS", "The TLS handshake failed (unknown CA, bad certificate, not TLS).";
    Unauthorized = 6, "UNAUTHORIZED", "HTTP 401: no credentials, or wrong ones.";
    Forbidden = 7, "FORBIDDEN", "HTTP 403, or a token without the needed scope.";
    NotFound = 8, "NOT_FOUND", "HTTP 404, or a `*_UNKNOWN` registry error code.";
    Unsupported = 9, "UNSUPPORTED", "The registry or the API version it speaks cannot do this.";
    RateLimited = 10, "RATE_LIMITED", "HTTP 429 after retries.";
    DigestMismatch = 11, "DIGEST_MISMATCH", "Bytes did not hash to the expected digest.";
    Protocol = 12, "PROTOCOL", "The registry's answer was malformed or unexpected.";
    Server = 13, "SERVER", "HTTP 5xx after retries.";
    Io = 14, "IO", "A local file could not be read or written.";
    Aborted = 15, "ABORTED", "A callback asked to stop.";
    TooLarge = 16, "TOO_LARGE", "A response was larger than its cap.";
    Panic = 17, "PANIC", "A bug in the library, caught at the C boundary. Please report it.";
    AlreadyExists = 18, "ALREADY_EXISTS", "The registry already has it: a v1 image whose JSON is there (HTTP 409, moby's ErrAlreadyExists).";
}
