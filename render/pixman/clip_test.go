package pixman

import (
	"image"
	"image/color"
	"testing"
)

// The target keeps its clip between frames (a frame with the last one's
// damage sets none): every frame still draws exactly inside its own
// damage, whatever the frames before it were.
func TestClipAcrossFrames(t *testing.T) {
	r := newR(t)
	b := newTarget(t, 64, 48)
	a, c := image.Rect(4, 4, 20, 20), image.Rect(30, 10, 50, 40)
	whole := image.Rect(0, 0, 64, 48)
	steps := []struct {
		name   string
		damage []image.Rectangle
	}{
		{"none (whole)", nil},
		{"a", []image.Rectangle{a}},
		{"a again", []image.Rectangle{a}},
		{"c", []image.Rectangle{c}},
		{"a and c", []image.Rectangle{a, c}},
		{"a and c again", []image.Rectangle{a, c}},
		{"whole as a rectangle", []image.Rectangle{whole.Inset(-5)}},
		{"a after whole", []image.Rectangle{a}},
		{"empty", []image.Rectangle{}},
		{"outside", []image.Rectangle{image.Rect(100, 100, 120, 120)}},
		{"none after a region", nil},
		{"none again", nil},
		{"c after none", []image.Rectangle{c}},
	}
	for i, s := range steps {
		// Each frame clears in a colour of its own: what it drew is that.
		col := color.NRGBA{R: uint8(10 + i), G: 0x80, A: 255}
		want := make(map[image.Point]bool)
		for _, d := range s.damage {
			for y := d.Min.Y; y < d.Max.Y; y++ {
				for x := d.Min.X; x < d.Max.X; x++ {
					want[image.Pt(x, y)] = true
				}
			}
		}
		if err := r.Begin(b, s.damage); err != nil {
			t.Fatal(err)
		}
		r.Clear(col)
		if _, err := r.End(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		bad := 0
		for y := range 48 {
			for x := range 64 {
				drawn := px(b, x, y)&0xffffff == uint32(col.R)<<16|0x8000
				if w := s.damage == nil || want[image.Pt(x, y)]; drawn != w && bad < 3 {
					t.Errorf("%s: pixel (%d,%d) drawn %v, want %v", s.name, x, y, drawn, w)
					bad++
				}
			}
		}
	}
}
