package soft

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"github.com/minicomp/minicomp/scanout"
)

func pattern(w, h int, alpha bool) []byte {
	p := make([]byte, w*h*4)
	for i := range w * h {
		a := uint32(0xff)
		if alpha {
			a = uint32(i*7) & 0xff
		}
		c := uint32(i*13) & 0xff * a / 255
		binary.LittleEndian.PutUint32(p[i*4:], a<<24|c<<16|(c/2)<<8|c/3)
	}
	return p
}

// An unscaled Draw of a texture is exactly Image of the same pixels.
func TestDrawUnscaledIsImage(t *testing.T) {
	for _, opaque := range []bool{true, false} {
		pix := pattern(40, 30, !opaque)
		a, b := target(t, 64, 48), target(t, 64, 48)
		f := scanout.ARGB8888
		if opaque {
			f = scanout.XRGB8888
		}
		tex, err := NewTexture(40, 30, f)
		if err != nil {
			t.Fatal(err)
		}
		tex.Update(pix, 40*4, nil)
		r := New()
		damage := []image.Rectangle{image.Rect(0, 0, 30, 30), image.Rect(20, 10, 64, 40)} // overlapping
		r.Begin(a, damage)
		r.Clear(bg)
		r.Image(image.Pt(5, 7), pix, 40*4, 40, 30, opaque)
		r.End()
		r.Begin(b, damage)
		r.Clear(bg)
		r.Draw(tex, image.Rect(0, 0, 40, 30), image.Rect(5, 7, 45, 37), 1)
		r.End()
		ma, _ := a.Map()
		mb, _ := b.Map()
		if !bytes.Equal(ma, mb) {
			t.Errorf("opaque=%v: Draw differs from Image", opaque)
		}
	}
}

var bg = color.NRGBA{R: 0x10, G: 0x20, B: 0x30, A: 0xff}

// Bilinear at texel centres, clamped to the edge: a 2×1 black-white
// texture stretched to 4×1 gives 0, 64 (255/4), 191 (255·3/4), 255.
func TestScaledBilinear(t *testing.T) {
	tex, _ := NewTexture(2, 1, scanout.XRGB8888)
	tex.Update([]byte{0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff}, 8, nil)
	b := target(t, 4, 1)
	r := New()
	r.Begin(b, nil)
	r.Draw(tex, image.Rect(0, 0, 2, 1), image.Rect(0, 0, 4, 1), 1)
	r.End()
	for x, want := range []uint32{0, 0x40, 0xbf, 0xff} {
		if got := px(b, x, 0) & 0xff; got != want {
			t.Errorf("x=%d: %#x, want %#x", x, got, want)
		}
	}
}

func TestTextureUpdateDamage(t *testing.T) {
	tex, _ := NewTexture(4, 4, scanout.ARGB8888)
	one := bytes.Repeat([]byte{1}, 4*4*4)
	two := bytes.Repeat([]byte{2}, 4*4*4)
	tex.Update(one, 16, nil)
	tex.Update(two, 16, []image.Rectangle{image.Rect(1, 1, 2, 3), image.Rect(-5, -5, 0, 0)})
	if tex.pix[0] != 1 || tex.pix[(1*4+1)*4] != 2 || tex.pix[(2*4+1)*4] != 2 || tex.pix[(3*4+1)*4] != 1 {
		t.Errorf("damage not respected")
	}
	if err := tex.Update(one[:10], 16, nil); err == nil {
		t.Error("short buffer accepted")
	}
	tex.Release()
	if err := tex.Update(one, 16, nil); err == nil {
		t.Error("update after release accepted")
	}
	if _, err := NewTexture(4, 4, scanout.RGB565); err == nil {
		t.Error("RGB565 texture accepted")
	}
}

// The unscaled opaque case stays a row copy.
func BenchmarkImage1080p(b *testing.B) {
	buf, _ := scanout.MemfdStrategy{}.Allocate(1920, 1080, scanout.XRGB8888)
	defer buf.Close()
	pix := make([]byte, 1920*1080*4)
	r := New()
	b.SetBytes(1920 * 1080 * 4)
	b.ReportAllocs()
	for b.Loop() {
		r.Begin(buf, nil)
		r.Image(image.Point{}, pix, 1920*4, 1920, 1080, true)
		r.End()
	}
}

// A texture view draws what is in the caller's memory now, without
// Update, and Update from that same memory copies nothing.
func TestTextureView(t *testing.T) {
	r := New()
	pix := make([]byte, 4*4*4)
	tex, err := r.NewTextureView(pix, 4, 4, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < len(pix); i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], 0x00123456)
	}
	if err := tex.Update(pix, 16, nil); err != nil {
		t.Fatal(err)
	}
	tgt := target(t, 4, 4)
	if err := r.Begin(tgt, nil); err != nil {
		t.Fatal(err)
	}
	r.Draw(tex, image.Rect(0, 0, 4, 4), image.Rect(0, 0, 4, 4), 1)
	if _, err := r.End(); err != nil {
		t.Fatal(err)
	}
	m, _ := tgt.Map()
	if got := binary.LittleEndian.Uint32(m[tgt.Offset:]) & 0xffffff; got != 0x123456 {
		t.Errorf("drawn %06x, want the view's 123456", got)
	}
	if _, err := r.NewTextureView(pix[:10], 4, 4, scanout.XRGB8888); err == nil {
		t.Error("a view over too little memory was accepted")
	}
}
