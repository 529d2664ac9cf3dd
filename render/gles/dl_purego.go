//go:build !nogles

package gles

import "github.com/ebitengine/purego"

// The dynamic loader, through purego. A binary importing purego is linked
// dynamically (it needs the system's ld.so and libc even with
// CGO_ENABLED=0); build with -tags nogles for a static binary without
// the GLES renderer.

func dlopen(name string) (uintptr, error) {
	return purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_GLOBAL)
}

func dlsym(lib uintptr, name string) (uintptr, error) { return purego.Dlsym(lib, name) }

func syscallN(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}
