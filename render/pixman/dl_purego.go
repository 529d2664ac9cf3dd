//go:build !nogles

package pixman

import "github.com/ebitengine/purego"

// The dynamic loader, through purego (as render/gles). A binary importing
// purego is linked dynamically (it needs the system's ld.so and libc even
// with CGO_ENABLED=0); -tags nogles, the static build, drops this loader
// too, and New then fails with ErrNoPixman.

const staticBuild = false

func dlopen(name string) (uintptr, error) {
	return purego.Dlopen(name, purego.RTLD_NOW|purego.RTLD_LOCAL)
}

func dlsym(lib uintptr, name string) (uintptr, error) { return purego.Dlsym(lib, name) }

func syscallN(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}
