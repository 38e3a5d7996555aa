//go:build registry_static

package registry

// Built with -tags registry_static, a program is linked fully static: the
// static library (pkg-config --static: libregistry.a and the native libraries
// it needs) and libc too, so the binary runs without libregistry.so or any
// other shared library. glibc warns at link time that getaddrinfo and
// getpwuid_r, linked statically, still load glibc's own modules (NSS) at run
// time; numeric and /etc/hosts addresses resolve without them.

/*
#cgo pkg-config: --static registry
#cgo LDFLAGS: -static
*/
import "C"
