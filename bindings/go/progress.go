package registry

// This file holds the //export'ed progress callback of Pull, Push and Copy;
// cgo allows only declarations in the preamble of such a file.

/*
#include <stdint.h>
#include <stdlib.h>
*/
import "C"

import (
	"context"
	"runtime/cgo"
	"unsafe"
)

// progress is what the C progress callback reports to; it crosses to C as a
// cgo.Handle and lives as long as the call that made it.
type progress struct {
	ctx      context.Context
	fn       func(digest string, done, total uint64) // nil: only watch ctx
	ctxErr   error                                   // ctx's error, once the callback saw it and cancelled
	panicked bool                                    // fn panicked with panicVal; the call was cancelled
	panicVal any
}

// registryGoProgress is the registry_progress_fn behind Pull, Push and
// Copy, called on the goroutine that made the call (the library calls it on
// the calling thread only). It cancels the call (returns 1) once ctx is
// done, and from then on. A panic in fn must not unwind through the
// library's frames: it is recovered here and cancels the call, and the
// caller panics again with the same value once the library returned.
//
//export registryGoProgress
func registryGoProgress(userdata unsafe.Pointer, digest *C.char, done, total C.uint64_t) (rc C.int32_t) {
	p := (*(*cgo.Handle)(userdata)).Value().(*progress)
	if p.panicked || p.ctxErr != nil {
		return 1
	}
	if err := p.ctx.Err(); err != nil {
		p.ctxErr = err
		return 1
	}
	if p.fn == nil {
		return 0
	}
	returned := false
	defer func() {
		if !returned {
			p.panicked, p.panicVal = true, recover()
			rc = 1
		}
	}()
	p.fn(C.GoString(digest), uint64(done), uint64(total))
	returned = true
	return 0
}

// cHandle stores a cgo.Handle for v in C memory, for a callback's userdata
// (C code must not keep Go pointers); free deletes the handle and the
// memory once the call is over.
func cHandle(v any) (userdata unsafe.Pointer, free func()) {
	h := cgo.NewHandle(v)
	hp := (*cgo.Handle)(C.malloc(C.size_t(unsafe.Sizeof(h))))
	*hp = h
	return unsafe.Pointer(hp), func() {
		C.free(unsafe.Pointer(hp))
		h.Delete()
	}
}
