// Package dl loads shared libraries at run time and calls their C
// functions through purego, without cgo: how minicomp uses libEGL/GLES,
// libpixman and libxkbcommon while staying CGO_ENABLED=0. A binary that
// imports it is linked dynamically (it needs the system's ld.so and libc);
// built with -tags nogles it is static, and Open fails with ErrStatic.
//
// Only integer and pointer arguments are passed (floats go through
// pointers or fixed point), so the same calls work on amd64, arm64 and
// 32-bit arm.
package dl

import (
	"errors"
	"unsafe"
)

// ErrStatic is Open's error in a static (-tags nogles) build.
var ErrStatic = errors.New("minicomp was built with -tags nogles (a static binary): it cannot load shared libraries")

// Call calls the C function fn with integer and pointer arguments and
// returns its integer result. Pointers converted to uintptr in the call
// expression stay alive and unmoved for the call (uintptrescapes), so
// pointers to locals are safe; the argument slice may be allocated, so
// per-frame code uses a FastCall.
//
//go:uintptrescapes
func Call(fn uintptr, args ...uintptr) uintptr { return syscallN(fn, args...) }

// FastCall calls without allocating: the arguments are copied into argv,
// which belongs to one user (one goroutine at a time). Pointer arguments
// must point to heap memory the caller keeps alive, pinned memory, C
// memory or mappings — never to a local variable, which could move with
// its stack.
type FastCall struct{ argv [16]uintptr }

// Call is Call without the allocation.
func (c *FastCall) Call(fn uintptr, args ...uintptr) uintptr {
	n := copy(c.argv[:], args)
	return syscallN(fn, c.argv[:n]...)
}

// GoString copies a NUL-terminated C string ("" for NULL).
func GoString(p uintptr) string {
	if p == 0 {
		return ""
	}
	n := 0
	for *(*byte)(unsafe.Add(unsafe.Pointer(nil), p+uintptr(n))) != 0 { //nolint:govet // C memory
		n++
	}
	return string(unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), p)), n)) //nolint:govet // C memory
}

// CString returns s as a NUL-terminated byte slice, for a const char *
// argument: pass &b[0] in the call expression of Call (or pin it for
// longer).
func CString(s string) []byte {
	b := make([]byte, len(s)+1)
	copy(b, s)
	return b
}
