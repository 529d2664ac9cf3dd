package libinput

import (
	"testing"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
)

// BenchmarkCall compares the ways Run calls libinput per event: an
// integer function through dl.Call (keys, buttons, touch slots) and a
// double-returning one (deltas, positions, scroll values) through
// dl.FloatFunc (reflection, without libffi) and through a
// dl.DoubleCaller (libffi), on libm's and libc's equivalents.
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
	// libc's erand48 reads a 3-short state: (pointer) → double, as
	// libinput_event_pointer_get_dx.
	erandP, _ := dl.Sym(libc, "erand48")
	dc, err := dl.NewDoubleCaller()
	if err != nil {
		b.Fatal(err)
	}
	state := new([3]uint16)
	b.Run("double-libffi", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			dc.Call1(erandP, uintptr(unsafe.Pointer(state)))
		}
	})
}
