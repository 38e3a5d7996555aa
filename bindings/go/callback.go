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
	r        io.Reader
	err      error // the reader's error, once it has failed; the upload is aborted
	eof      bool  // the reader reported io.EOF together with its last bytes
	panicked bool  // the reader panicked with panicVal; the upload is aborted
	panicVal any
}

// registryGoRead is the registry_read_fn behind PutLayer: it fills buf (owned
// by the library, borrowed for this call only) from the reader. Any error
// other than io.EOF aborts the upload at once, even when the reader returned
// bytes with it: those bytes are not handed over, so nothing that the reader
// failed to finish is ever committed. A panic in the reader must not unwind
// through the library's frames: it is recovered here and aborts the upload,
// and PutLayer panics again with the same value once the library returned.
//
//export registryGoRead
func registryGoRead(userdata unsafe.Pointer, buf *C.uint8_t, capacity C.size_t, outN *C.size_t) (rc C.int32_t) {
	u := (*(*cgo.Handle)(userdata)).Value().(*upload)
	*outN = 0
	if u.err != nil || u.panicked {
		return 1
	}
	returned := false
	defer func() {
		if !returned {
			u.panicked, u.panicVal = true, recover()
			*outN = 0
			rc = 1
		}
	}()
	n, ok := u.fill(unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity)))
	returned = true
	if !ok {
		return 1
	}
	*outN = C.size_t(n)
	return 0
}

// fill reads the next bytes into p: how many (0 at the end), and false when
// the upload must be aborted (u.err says why).
func (u *upload) fill(p []byte) (int, bool) {
	if u.eof {
		return 0, true
	}
	for {
		n, err := u.r.Read(p)
		if err != nil && !errors.Is(err, io.EOF) {
			u.err = err
			return 0, false
		}
		if n < 0 || n > len(p) {
			u.err = errors.New("the reader returned an impossible byte count")
			return 0, false
		}
		if err != nil { // io.EOF
			u.eof = true
		}
		if n > 0 || u.eof {
			return n, true
		}
		// (0, nil): nothing happened; read again.
	}
}
