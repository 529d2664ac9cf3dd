package backend

import "testing"

// Each transform maps the panel's corners to the picture's corners the
// way its rotation and flip say, and FromLogical undoes ToLogical.
func TestTransformCorners(t *testing.T) {
	const w, h = 800, 480 // the panel
	type pt struct{ x, y float64 }
	// Where the panel's top-left corner (0,0) lands in the picture.
	topLeft := map[Transform]pt{
		TransformNormal: {0, 0}, Transform90: {480, 0}, Transform180: {800, 480}, Transform270: {0, 800},
		TransformFlipped: {800, 0}, TransformFlipped90: {0, 0}, TransformFlipped180: {0, 480}, TransformFlipped270: {480, 800},
	}
	for tr := TransformNormal; tr <= TransformFlipped270; tr++ {
		lw, lh := tr.LogicalSize(w, h)
		if deg, _ := tr.Rotation(); (deg == 90 || deg == 270) != (lw == h && lh == w) {
			t.Errorf("%v: logical size %dx%d", tr, lw, lh)
		}
		x, y := tr.ToLogical(w, h, 0, 0)
		if (pt{x, y}) != topLeft[tr] {
			t.Errorf("%v: panel (0,0) → picture (%v,%v), want %v", tr, x, y, topLeft[tr])
		}
		for _, p := range []pt{{0, 0}, {800, 480}, {13, 400}, {799.5, 0.25}} {
			lx, ly := tr.ToLogical(w, h, p.x, p.y)
			if lx < 0 || ly < 0 || lx > float64(lw) || ly > float64(lh) {
				t.Errorf("%v: %v → (%v,%v) outside the %dx%d picture", tr, p, lx, ly, lw, lh)
			}
			if bx, by := tr.FromLogical(w, h, lx, ly); (pt{bx, by}) != p {
				t.Errorf("%v: %v → (%v,%v) → (%v,%v)", tr, p, lx, ly, bx, by)
			}
		}
		if got, err := ParseTransform(tr.String()); err != nil || got != tr {
			t.Errorf("ParseTransform(%q) = %v, %v", tr.String(), got, err)
		}
	}
	if _, err := ParseTransform("45"); err == nil {
		t.Error("transform 45 accepted")
	}
}
