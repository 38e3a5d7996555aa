package registry

/*
#include "registry.h"
*/
import "C"

// Status is a registry_status code from registry.h. The values never change.
type Status uint32

// The status codes, from registry.h (the library's one status table).
const (
	StatusOK              Status = C.REGISTRY_STATUS_OK
	StatusNullArgument    Status = C.REGISTRY_STATUS_NULL_ARGUMENT
	StatusInvalidArgument Status = C.REGISTRY_STATUS_INVALID_ARGUMENT
	StatusNetwork         Status = C.REGISTRY_STATUS_NETWORK
	StatusTimeout         Status = C.REGISTRY_STATUS_TIMEOUT
	StatusTLS             Status = C.REGISTRY_STATUS_TLS
	StatusUnauthorized    Status = C.REGISTRY_STATUS_UNAUTHORIZED
	StatusForbidden       Status = C.REGISTRY_STATUS_FORBIDDEN
	StatusNotFound        Status = C.REGISTRY_STATUS_NOT_FOUND
	StatusUnsupported     Status = C.REGISTRY_STATUS_UNSUPPORTED
	StatusRateLimited     Status = C.REGISTRY_STATUS_RATE_LIMITED
	StatusDigestMismatch  Status = C.REGISTRY_STATUS_DIGEST_MISMATCH
	StatusProtocol        Status = C.REGISTRY_STATUS_PROTOCOL
	StatusServer          Status = C.REGISTRY_STATUS_SERVER
	StatusIO              Status = C.REGISTRY_STATUS_IO
	StatusAborted         Status = C.REGISTRY_STATUS_ABORTED
	StatusTooLarge        Status = C.REGISTRY_STATUS_TOO_LARGE
	StatusPanic           Status = C.REGISTRY_STATUS_PANIC
	StatusAlreadyExists   Status = C.REGISTRY_STATUS_ALREADY_EXISTS
)

// Error is every failure of the library. Compare with errors.Is against the
// Err* sentinels, or use errors.As to read the fields.
type Error struct {
	Status     Status
	HTTPStatus int    // 0 when no HTTP response was involved
	Code       string // the registry's own code, e.g. "MANIFEST_UNKNOWN"; "" if none
	Message    string // never contains a password or a token
	cause      error  // what a reader passed to PutLayer failed with, if that aborted it
}

// Unwrap gives the reader's own error for an upload it aborted.
func (e *Error) Unwrap() error { return e.cause }

func (e *Error) Error() string {
	if e.Message == "" {
		return "registry: " + StatusName(e.Status)
	}
	return "registry: " + e.Message
}

// Is makes errors.Is(err, registry.ErrNotFound) true for every NOT_FOUND error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	if t.Message == "" && t.Code == "" && t.HTTPStatus == 0 && t.cause == nil {
		return t.Status == e.Status
	}
	return t == e
}

// Sentinels, one per status, for errors.Is.
var (
	ErrNullArgument    = &Error{Status: StatusNullArgument}
	ErrInvalidArgument = &Error{Status: StatusInvalidArgument}
	ErrNetwork         = &Error{Status: StatusNetwork}
	ErrTimeout         = &Error{Status: StatusTimeout}
	ErrTLS             = &Error{Status: StatusTLS}
	ErrUnauthorized    = &Error{Status: StatusUnauthorized}
	ErrForbidden       = &Error{Status: StatusForbidden}
	ErrNotFound        = &Error{Status: StatusNotFound}
	ErrUnsupported     = &Error{Status: StatusUnsupported}
	ErrRateLimited     = &Error{Status: StatusRateLimited}
	ErrDigestMismatch  = &Error{Status: StatusDigestMismatch}
	ErrProtocol        = &Error{Status: StatusProtocol}
	ErrServer          = &Error{Status: StatusServer}
	ErrIO              = &Error{Status: StatusIO}
	ErrAborted         = &Error{Status: StatusAborted}
	ErrTooLarge        = &Error{Status: StatusTooLarge}
	ErrPanic           = &Error{Status: StatusPanic}
	ErrAlreadyExists   = &Error{Status: StatusAlreadyExists}
)
