package registry

// This file holds the //export'ed upload callback; cgo allows only
// declarations in the preamble of such a file.

/*
#include <stddef.h>
#include <stdint.h>
*/
import "C"

import (
	"errors"
	"io"
	"runtime/cgo"
	"unsafe"
)

// upload is what the C callback reads from; it crosses to C as a cgo.Handle.
// It belongs to the PutLayer call that made it and lives as long as that call.
type upload struct {
	r   io.Reader
	err error // the reader's error, once it has failed; the upload is aborted
	eof bool  // the reader reported io.EOF together with its last bytes
}

// registryGoRead is the registry_read_fn behind PutLayer: it fills buf (owned
// by the library, borrowed for this call only) from the reader. Any error
// other than io.EOF aborts the upload at once, even when the reader returned
// bytes with it: those bytes are not handed over, so nothing that the reader
// failed to finish is ever committed.
//
//export registryGoRead
func registryGoRead(userdata unsafe.Pointer, buf *C.uint8_t, capacity C.size_t, outN *C.size_t) C.int32_t {
	u := (*(*cgo.Handle)(userdata)).Value().(*upload)
	*outN = 0
	if u.err != nil {
		return 1
	}
	if u.eof {
		return 0
	}
	p := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity))
	for {
		n, err := u.r.Read(p)
		if err != nil && !errors.Is(err, io.EOF) {
			u.err = err
			return 1
		}
		if n < 0 || n > len(p) {
			u.err = errors.New("the reader returned an impossible byte count")
			return 1
		}
		if err != nil { // io.EOF
			u.eof = true
		}
		if n > 0 || u.eof {
			*outN = C.size_t(n)
			return 0
		}
		// (0, nil): nothing happened; read again.
	}
}
