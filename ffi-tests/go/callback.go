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
type upload struct {
	r   io.Reader
	err error // the reader's error, once it has failed
}

//export registryGoRead
func registryGoRead(userdata unsafe.Pointer, buf *C.uint8_t, capacity C.size_t, outN *C.size_t) C.int32_t {
	u := (*(*cgo.Handle)(userdata)).Value().(*upload)
	p := unsafe.Slice((*byte)(unsafe.Pointer(buf)), int(capacity))
	for {
		n, err := u.r.Read(p)
		if n > 0 {
			*outN = C.size_t(n)
			if err != nil && !errors.Is(err, io.EOF) {
				u.err = err // reported on the next call
			}
			return 0
		}
		if errors.Is(err, io.EOF) {
			*outN = 0
			return 0
		}
		if err != nil {
			u.err = err
			return 1
		}
		if u.err != nil {
			return 1
		}
	}
}
