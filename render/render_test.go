package render

import (
	"image"
	"testing"
)

func area(rs []image.Rectangle) (n int) {
	for _, r := range rs {
		n += r.Dx() * r.Dy()
	}
	return
}

func TestAppendDisjoint(t *testing.T) {
	bounds := image.Rect(0, 0, 100, 100)
	in := []image.Rectangle{
		image.Rect(0, 0, 50, 50), image.Rect(25, 25, 75, 75), image.Rect(10, 10, 20, 20), // contained
		image.Rect(90, 90, 200, 200), image.Rect(-10, 40, 5, 45), image.Rect(0, 0, 0, 0),
	}
	out := AppendDisjoint(nil, in, bounds, 32)
	for i, a := range out {
		for _, b := range out[i+1:] {
			if a.Overlaps(b) {
				t.Fatalf("%v overlaps %v in %v", a, b, out)
			}
		}
	}
	// Union area: 2500 + 2500 - 625 + 100 (clipped) + 0 (inside the first) = 4475.
	if got := area(out); got != 4475 {
		t.Errorf("area %d, want 4475 (%v)", got, out)
	}
	merged := AppendDisjoint(nil, in, bounds, 2)
	if len(merged) != 1 || merged[0] != image.Rect(0, 0, 100, 100) {
		t.Errorf("over the limit: %v", merged)
	}
}
