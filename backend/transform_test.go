package backend

import (
	"image"
	"strings"
	"testing"
)

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

// RectFromLogical and RectToLogical undo each other, agree with
// FromLogical at the corners, and Affine is ToLogical.
func TestTransformRects(t *testing.T) {
	const w, h = 800, 480
	r := image.Rect(10, 20, 110, 70)
	for tr := TransformNormal; tr <= TransformFlipped270; tr++ {
		lw, lh := tr.LogicalSize(w, h)
		b := tr.RectFromLogical(w, h, r)
		if b.Dx()*b.Dy() != r.Dx()*r.Dy() || !b.In(image.Rect(0, 0, w, h)) {
			t.Errorf("%v: %v → %v", tr, r, b)
		}
		if got := tr.RectToLogical(w, h, b); got != r {
			t.Errorf("%v: %v → %v → %v", tr, r, b, got)
		}
		if got := tr.RectFromLogical(w, h, image.Rect(0, 0, lw, lh)); got != image.Rect(0, 0, w, h) {
			t.Errorf("%v: the whole picture → %v", tr, got)
		}
		xx, xy, x0, yx, yy, y0 := tr.Affine(w, h)
		for _, p := range [][2]int{{0, 0}, {799, 3}, {5, 479}, {400, 240}} {
			lx, ly := tr.ToLogical(w, h, float64(p[0]), float64(p[1]))
			if ax, ay := xx*p[0]+xy*p[1]+x0, yx*p[0]+yy*p[1]+y0; float64(ax) != lx || float64(ay) != ly {
				t.Errorf("%v: Affine maps %v to (%d,%d), ToLogical to (%v,%v)", tr, p, ax, ay, lx, ly)
			}
		}
		// The pixel at the picture's (12, 25) is shown by the panel pixel
		// RectFromLogical gives for it.
		px := tr.RectFromLogical(w, h, image.Rect(12, 25, 13, 26))
		cx, cy := tr.ToLogical(w, h, float64(px.Min.X)+0.5, float64(px.Min.Y)+0.5)
		if cx != 12.5 || cy != 25.5 {
			t.Errorf("%v: pixel (12,25) → panel %v → (%v,%v)", tr, px, cx, cy)
		}
	}
}

// ParseTransform accepts exactly the eight names (any case) and says
// which it wants otherwise; what it accepts prints back as its name.
func FuzzParseTransform(f *testing.F) {
	for _, s := range []string{"normal", "90", "FLIPPED-270", "45", "", "flipped-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := ParseTransform(s)
		if err != nil {
			if !strings.Contains(err.Error(), "want one of") {
				t.Errorf("ParseTransform(%q): error %v does not list the names", s, err)
			}
			return
		}
		if tr < TransformNormal || tr > TransformFlipped270 || !strings.EqualFold(tr.String(), s) {
			t.Errorf("ParseTransform(%q) = %v", s, tr)
		}
	})
}
