//go:build !nogles

package dl

import "testing"

// FloatFunc passes and returns doubles in the floating-point registers
// (libinput's coordinates and acceleration speed): libc's ldexp, an int
// and a double in, a double out. The rig runs this on amd64, arm64 and
// 32-bit arm (hard float).
func TestFloatFuncLdexp(t *testing.T) {
	libc, err := Open("libc.so.6", false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Sym(libc, "ldexp")
	if err != nil {
		t.Fatal(err)
	}
	var ldexp func(x float64, exp int32) float64
	FloatFunc(&ldexp, p)
	for _, c := range []struct {
		x    float64
		e    int32
		want float64
	}{{0.75, 3, 6}, {-1.5, -2, -0.375}, {1, 0, 1}} {
		if got := ldexp(c.x, c.e); got != c.want {
			t.Errorf("ldexp(%v, %d) = %v, want %v", c.x, c.e, got, c.want)
		}
	}
}
