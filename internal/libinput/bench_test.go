package libinput

import (
	"testing"

	"github.com/minicomp/minicomp/internal/dl"
)

// BenchmarkCall compares the two ways Run calls libinput per event: an
// integer function through dl.Call (keys, buttons, touch slots) and a
// double-returning one through dl.FloatFunc (reflection: deltas,
// positions, scroll values), on libm's and libc's equivalents.
func BenchmarkCall(b *testing.B) {
	libm, err := dl.Open("libm.so.6", false)
	if err != nil {
		b.Skip(err)
	}
	libc, err := dl.Open("libc.so.6", false)
	if err != nil {
		b.Skip(err)
	}
	sqrtP, _ := dl.Sym(libm, "sqrt")
	absP, _ := dl.Sym(libc, "labs")
	var sqrt func(float64) float64
	dl.FloatFunc(&sqrt, sqrtP)
	b.Run("int", func(b *testing.B) {
		var fc dl.FastCall
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			fc.Call(absP, uintptr(i))
		}
	})
	b.Run("double", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			sqrt(float64(i))
		}
	})
}
