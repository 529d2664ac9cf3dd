//go:build !nogles

package dl

import (
	"os"
	"testing"
	"unsafe"
)

// DoubleCaller returns doubles through libffi without allocating: libc's
// atof (a pointer in) and strtod (a pointer and a zero in), checked
// against known values. Where libffi is missing (the rig's arm guests)
// the test says so and the callers use FloatFunc.
func TestDoubleCaller(t *testing.T) {
	d, err := NewDoubleCaller()
	if err != nil {
		if os.Getenv("MINICOMP_RIG_PROGRAMS_UNAVAILABLE") != "" {
			t.Skipf("no libffi in this guest: %v", err)
		}
		t.Fatal(err)
	}
	libc, err := Open("libc.so.6", false)
	if err != nil {
		t.Fatal(err)
	}
	atof, err := Sym(libc, "atof")
	if err != nil {
		t.Fatal(err)
	}
	strtod, err := Sym(libc, "strtod")
	if err != nil {
		t.Fatal(err)
	}
	s1, s2 := CString("2.5"), CString("-1.25e3 rest")
	p1, p2 := uintptr(unsafe.Pointer(&s1[0])), uintptr(unsafe.Pointer(&s2[0]))
	if got := d.Call1(atof, p1); got != 2.5 {
		t.Errorf("atof(\"2.5\") = %v", got)
	}
	if got := d.Call2(strtod, p2, 0); got != -1250 {
		t.Errorf("strtod(\"-1.25e3 rest\", NULL) = %v", got)
	}
	if n := testing.AllocsPerRun(100, func() { d.Call1(atof, p1); d.Call2(strtod, p2, 0) }); n != 0 {
		t.Errorf("%v allocations a pair of calls, want 0", n)
	}
}

// BenchmarkDouble compares a double-returning call through FloatFunc
// (reflection) and through DoubleCaller (libffi), on libc's atof.
func BenchmarkDouble(b *testing.B) {
	libc, err := Open("libc.so.6", false)
	if err != nil {
		b.Skip(err)
	}
	atofP, _ := Sym(libc, "atof")
	s := CString("2.5")
	p := uintptr(unsafe.Pointer(&s[0]))
	var atof func(uintptr) float64
	FloatFunc(&atof, atofP)
	b.Run("reflect", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			atof(p)
		}
	})
	d, err := NewDoubleCaller()
	if err != nil {
		b.Skip(err)
	}
	b.Run("libffi", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			d.Call1(atofP, p)
		}
	})
}
