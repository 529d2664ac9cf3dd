//go:build !nogles

package dl

import (
	"slices"
	"testing"
	"unsafe"
)

// C calls back into Go through NewCallback: libc's qsort with a Go
// comparator (two pointer arguments and an int result, the shape of
// libseat's listener callbacks). The rig runs this on amd64, arm64 and
// 32-bit arm, where purego's callbacks are tier 2.
func TestNewCallbackQsort(t *testing.T) {
	libc, err := Open("libc.so.6", false)
	if err != nil {
		t.Fatal(err)
	}
	qsort, err := Sym(libc, "qsort")
	if err != nil {
		t.Fatal(err)
	}
	v := []int32{5, -3, 9, 0, 7, 7, -100, 42}
	base := uintptr(unsafe.Pointer(&v[0]))
	calls := 0
	cmp := NewCallback(func(a, b uintptr) uintptr {
		calls++
		// qsort passes pointers into v: read v by index (no pointer made
		// from an integer).
		x, y := v[(a-base)/4], v[(b-base)/4]
		switch {
		case x < y:
			return ^uintptr(0) // -1 as a C int
		case x > y:
			return 1
		}
		return 0
	})
	Call(qsort, uintptr(unsafe.Pointer(&v[0])), uintptr(len(v)), 4, cmp)
	if want := []int32{-100, -3, 0, 5, 7, 7, 9, 42}; !slices.Equal(v, want) || calls == 0 {
		t.Fatalf("qsort through a Go comparator: %v (%d calls), want %v", v, calls, want)
	}
	// errno is read on the calling thread: strtol sets ERANGE.
	strtol, err := Sym(libc, "strtol")
	if err != nil {
		t.Fatal(err)
	}
	s := CString("99999999999999999999999999")
	if _, errno := CallErrno(strtol, uintptr(unsafe.Pointer(&s[0])), 0, 10); errno != 34 { // ERANGE
		t.Errorf("errno after an overflowing strtol: %d, want ERANGE (34)", errno)
	}
}
