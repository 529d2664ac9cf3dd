package soft

import (
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"github.com/minicomp/minicomp/scanout"
)

func target(t *testing.T, w, h int) *scanout.Buffer {
	t.Helper()
	b, err := scanout.MemfdStrategy{}.Allocate(w, h, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func px(b *scanout.Buffer, x, y int) uint32 {
	m, _ := b.Map()
	return binary.LittleEndian.Uint32(m[y*int(b.Stride)+x*4:])
}

func TestClearFillBlendDamage(t *testing.T) {
	b := target(t, 64, 32)
	r := New()
	if err := r.Begin(b, nil); err != nil {
		t.Fatal(err)
	}
	r.Clear(color.NRGBA{R: 10, G: 20, B: 30, A: 255})
	r.FillRect(image.Rect(4, 4, 8, 8), color.NRGBA{R: 255, A: 255})
	r.FillRect(image.Rect(6, 6, 12, 12), color.NRGBA{B: 255, A: 128})
	if _, err := r.End(); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		x, y int
		want uint32
	}{
		{0, 0, 0xff0a141e},
		{5, 5, 0xffff0000},
		{7, 7, 0xff7f0080}, // red under 50% blue
		{10, 10, 0xff050a8f},
		{63, 31, 0xff0a141e},
	}
	for _, c := range cases {
		if got := px(b, c.x, c.y); got != c.want {
			t.Errorf("(%d,%d) = %08x, want %08x", c.x, c.y, got, c.want)
		}
	}
	// Damage clips: only the damaged rectangle changes.
	r.Begin(b, []image.Rectangle{image.Rect(0, 0, 2, 2)})
	r.Clear(color.NRGBA{G: 255, A: 255})
	r.End()
	if px(b, 1, 1) != 0xff00ff00 || px(b, 2, 2) != 0xff0a141e || px(b, 5, 5) != 0xffff0000 {
		t.Errorf("damage not respected: %08x %08x %08x", px(b, 1, 1), px(b, 2, 2), px(b, 5, 5))
	}
}

func TestRejectsBadUse(t *testing.T) {
	r := New()
	if _, err := r.End(); err == nil {
		t.Error("End without Begin")
	}
	b, err := scanout.MemfdStrategy{}.Allocate(8, 8, scanout.RGB565)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := r.Begin(b, nil); err == nil {
		t.Error("RGB565 accepted")
	}
}

func BenchmarkClear1080p(b *testing.B) {
	buf, _ := scanout.MemfdStrategy{}.Allocate(1920, 1080, scanout.XRGB8888)
	defer buf.Close()
	r := New()
	b.SetBytes(1920 * 1080 * 4)
	b.ReportAllocs()
	for b.Loop() {
		r.Begin(buf, nil)
		r.Clear(color.NRGBA{R: 1, A: 255})
		r.End()
	}
}
