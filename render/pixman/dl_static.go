//go:build nogles

package pixman

import "errors"

// Built with -tags nogles: a static binary, which cannot load shared
// libraries. New fails with ErrNoPixman saying so.

const staticBuild = true

var errStatic = errors.New("minicomp was built with -tags nogles (a static binary): it cannot load shared libraries")

func dlopen(name string) (uintptr, error) { return 0, errStatic }

func dlsym(lib uintptr, name string) (uintptr, error) { return 0, errStatic }

func syscallN(fn uintptr, args ...uintptr) uintptr {
	panic("pixman: no dynamic loader in a nogles build")
}
