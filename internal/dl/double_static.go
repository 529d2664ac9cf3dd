//go:build nogles

package dl

// DoubleCaller is unavailable in a static build.
type DoubleCaller struct{}

// NewDoubleCaller fails with ErrStatic.
func NewDoubleCaller() (*DoubleCaller, error) { return nil, ErrStatic }

// Call1 returns 0.
func (d *DoubleCaller) Call1(fn, a uintptr) float64 { return 0 }

// Call2 returns 0.
func (d *DoubleCaller) Call2(fn, a uintptr, b uint32) float64 { return 0 }
