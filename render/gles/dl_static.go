//go:build nogles

package gles

import "errors"

// Built with -tags nogles: a static binary, which cannot load libEGL. New
// fails with ErrNoEGL saying so, and the CPU renderer runs.

var errStatic = errors.New("minicomp was built with -tags nogles (a static binary): it cannot load libEGL")

func dlopen(name string) (uintptr, error) { return 0, errStatic }

func dlsym(lib uintptr, name string) (uintptr, error) { return 0, errStatic }

func syscallN(fn uintptr, args ...uintptr) uintptr {
	panic("gles: no dynamic loader in a nogles build")
}
