//go:build nogles

package dl

// Static reports a static (-tags nogles) build, which loads nothing.
const Static = true

// Open fails with ErrStatic: a static binary cannot load libraries.
func Open(name string, global bool) (uintptr, error) { return 0, ErrStatic }

// Sym fails with ErrStatic.
func Sym(lib uintptr, name string) (uintptr, error) { return 0, ErrStatic }

func syscallN(fn uintptr, args ...uintptr) uintptr {
	panic("dl: no dynamic loader in a static (-tags nogles) build")
}

// NewCallback returns 0: a static build loads no library to call it.
func NewCallback(fn any) uintptr { return 0 }
