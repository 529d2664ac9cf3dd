//go:build !nogles

package dl

import "github.com/ebitengine/purego"

// Static reports a static (-tags nogles) build, which loads nothing.
const Static = false

// Open loads a shared library (RTLD_NOW; global: RTLD_GLOBAL, so
// libraries it loads later see its symbols, as Mesa's EGL needs).
func Open(name string, global bool) (uintptr, error) {
	mode := purego.RTLD_NOW | purego.RTLD_LOCAL
	if global {
		mode = purego.RTLD_NOW | purego.RTLD_GLOBAL
	}
	return purego.Dlopen(name, mode)
}

// Sym looks up a symbol in a library from Open.
func Sym(lib uintptr, name string) (uintptr, error) { return purego.Dlsym(lib, name) }

func syscallN(fn uintptr, args ...uintptr) uintptr {
	r, _, _ := purego.SyscallN(fn, args...)
	return r
}

// NewCallback makes a C function pointer that calls fn, a Go func whose
// arguments and result are integers or pointers (at most uintptr-sized,
// so it works on amd64, arm64 and 32-bit arm alike). Callbacks are never
// freed and a process can make about 2000: make each once.
func NewCallback(fn any) uintptr { return purego.NewCallback(fn) }
