// Package scenes holds the frames every renderer must draw alike: opaque,
// translucent, scaled and damage-only redraws, with pixels checked by
// hand, reference images and a comparison with a stated tolerance.
package scenes

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// Tolerance is the largest per-channel difference (0..255, red, green and
// blue; the X byte of an XRGB target is ignored) allowed between two
// renderers, or a renderer and a reference image. Unscaled copies and
// solid fills agree exactly; blending rounds once (±1); bilinear sampling
// uses 8-bit weights in both renderers but GL interpolates coordinates in
// float, so a weight can differ by one step (±1 more).
const Tolerance = 2

// Size of every scene's target (the odd width gives a stride with padding).
const W, H = 250, 160

// Check is a pixel whose colour is known by hand.
type Check struct {
	X, Y int
	RGB  uint32 // 0xRRGGBB
}

// Scene is a named sequence of frames.
type Scene struct {
	Name   string
	Run    func(r render.Renderer, target *scanout.Buffer) error
	Checks []Check
}

var (
	bg    = color.NRGBA{R: 0x20, G: 0x30, B: 0x40, A: 0xff}
	red   = color.NRGBA{R: 0xff, A: 0xff}
	green = color.NRGBA{G: 0xff, A: 96}
)

// gradient is a 96×64 XRGB picture: red grows with x, green with y, blue
// 0x80, all xored with seed; X byte 0 (must be ignored).
func gradient(seed uint32) ([]byte, int, int) {
	w, h := 96, 64
	p := make([]byte, w*h*4)
	for y := range h {
		for x := range w {
			v := uint32(x*255/(w-1))<<16 | uint32(y*255/(h-1))<<8 | 0x80
			binary.LittleEndian.PutUint32(p[(y*w+x)*4:], (v^seed)&0x00ffffff)
		}
	}
	return p, w, h
}

// checker is an XRGB w×h checkerboard of cell-pixel squares, white and
// dark grey, white at the origin.
func checker(w, h, cell int) []byte {
	p := make([]byte, w*h*4)
	for y := range h {
		for x := range w {
			v := uint32(0xff404040)
			if (x/cell+y/cell)%2 == 0 {
				v = 0xffffffff
			}
			binary.LittleEndian.PutUint32(p[(y*w+x)*4:], v)
		}
	}
	return p
}

// ramp is a 96×64 ARGB premultiplied picture: blue with alpha growing
// with x (0 at x=0, 255 at x=95).
func ramp() []byte {
	w, h := 96, 64
	p := make([]byte, w*h*4)
	for y := range h {
		for x := range w {
			a := uint32(x * 255 / (w - 1))
			binary.LittleEndian.PutUint32(p[(y*w+x)*4:], a<<24|a)
		}
	}
	return p
}

// textures makes the scene textures on r.
type textures struct {
	grad, check, ramp, small render.Texture
}

func makeTextures(r render.Renderer) (*textures, error) {
	var ts textures
	var err error
	mk := func(w, h int, f scanout.Format, pix []byte) render.Texture {
		if err != nil {
			return nil
		}
		var t render.Texture
		if t, err = r.NewTexture(w, h, f); err == nil {
			err = t.Update(pix, w*4, nil)
		}
		return t
	}
	g, gw, gh := gradient(0)
	ts.grad = mk(gw, gh, scanout.XRGB8888, g)
	ts.check = mk(64, 64, scanout.XRGB8888, checker(64, 64, 8))
	ts.ramp = mk(96, 64, scanout.ARGB8888, ramp())
	ts.small = mk(32, 24, scanout.XRGB8888, checker(32, 24, 4))
	if err != nil {
		ts.release()
		return nil, err
	}
	return &ts, nil
}

func (ts *textures) release() {
	for _, t := range []render.Texture{ts.grad, ts.check, ts.ramp, ts.small} {
		if t != nil {
			t.Release()
		}
	}
}

func frame(r render.Renderer, target *scanout.Buffer, damage []image.Rectangle, draw func()) error {
	if err := r.Begin(target, damage); err != nil {
		return err
	}
	draw()
	_, err := r.End() // a fence (GPU target) is closed here: tests read after End
	return err
}

func whole(t render.Texture) image.Rectangle {
	w, h := t.Size()
	return image.Rect(0, 0, w, h)
}

func opaque(r render.Renderer, ts *textures) {
	r.Clear(bg)
	r.Draw(ts.grad, whole(ts.grad), whole(ts.grad).Add(image.Pt(16, 16)), 1)
	r.Draw(ts.check, whole(ts.check), whole(ts.check).Add(image.Pt(80, 48)), 1)
	r.FillRect(image.Rect(200, 100, 240, 150), red)
}

func translucent(r render.Renderer, ts *textures) {
	r.Clear(bg)
	r.Draw(ts.grad, whole(ts.grad), whole(ts.grad), 1)
	r.Draw(ts.ramp, whole(ts.ramp), whole(ts.ramp).Add(image.Pt(40, 20)), 1)
	r.Draw(ts.ramp, whole(ts.ramp), whole(ts.ramp).Add(image.Pt(140, 60)), 0.5)
	r.Draw(ts.check, whole(ts.check), whole(ts.check).Add(image.Pt(150, 0)), 0.5)
	r.FillRect(image.Rect(100, 100, 200, 150), green)
}

func scaled(r render.Renderer, ts *textures) {
	r.Clear(bg)
	r.Draw(ts.small, whole(ts.small), image.Rect(10, 10, 170, 130), 1)            // ×5
	r.Draw(ts.small, image.Rect(8, 8, 24, 20), image.Rect(180, 10, 244, 58), 1)   // part ×4
	r.Draw(ts.ramp, whole(ts.ramp), image.Rect(180, 80, 228, 112), 0.75)          // ×0.5, translucent
	r.Draw(ts.grad, whole(ts.grad), image.Rect(10, 138, 250, 158), 1)             // ×2.5 × 0.3125
	r.Draw(ts.check, image.Rect(4, 4, 60, 60), image.Rect(184, 116, 212, 158), 1) // ×0.5 × 0.75
}

// All returns the scenes.
func All() []Scene {
	return []Scene{
		{
			Name: "opaque",
			Run: func(r render.Renderer, target *scanout.Buffer) error {
				ts, err := makeTextures(r)
				if err != nil {
					return err
				}
				defer ts.release()
				return frame(r, target, nil, func() { opaque(r, ts) })
			},
			Checks: []Check{
				{0, 0, 0x203040}, {249, 159, 0x203040},
				{16, 16, 0x000080},           // gradient origin
				{16 + 95, 16 + 31, 0xff7d80}, // gradient x=95 y=31: r=255, g=31*255/63=125
				{80 + 3, 48 + 3, 0xffffff},   // checker cell (0,0)
				{80 + 11, 48 + 3, 0x404040},  // checker cell (1,0)
				{200, 100, 0xff0000}, {239, 149, 0xff0000},
			},
		},
		{
			Name: "translucent",
			Run: func(r render.Renderer, target *scanout.Buffer) error {
				ts, err := makeTextures(r)
				if err != nil {
					return err
				}
				defer ts.release()
				return frame(r, target, nil, func() { translucent(r, ts) })
			},
			Checks: []Check{
				{40, 20, 0x6b5080},  // ramp alpha 0 over gradient (x=40: r=40*255/95=107, y=20: g=20*255/63=80)
				{135, 20, 0x0000ff}, // ramp alpha 255: pure blue
				// ramp x=95 (a=255) at alpha 0.5 over bg: s=(0,0,128,128); bg*127/255 + s
				{235, 61, 0x1018a0},
				// green A=96 over bg: (src*96 + bg*159 + 127)/255 per channel
				{120, 120, 0x147e28},
			},
		},
		{
			Name: "scaled",
			Run: func(r render.Renderer, target *scanout.Buffer) error {
				ts, err := makeTextures(r)
				if err != nil {
					return err
				}
				defer ts.release()
				return frame(r, target, nil, func() { scaled(r, ts) })
			},
			Checks: []Check{
				{10 + 10, 10 + 10, 0xffffff}, // ×5: texel (2,2) of a white 4×4 cell, far from its edges
				{10 + 30, 10 + 10, 0x404040}, // texel (6,2): dark cell
				{5, 5, 0x203040},
			},
		},
		{
			Name: "damage",
			Run: func(r render.Renderer, target *scanout.Buffer) error {
				ts, err := makeTextures(r)
				if err != nil {
					return err
				}
				defer ts.release()
				if err := frame(r, target, nil, func() { translucent(r, ts) }); err != nil {
					return err
				}
				// The gradient changes everywhere, but the frame redraws
				// only two overlapping rectangles (overlap must not blend
				// twice); everything else keeps the first frame.
				g, gw, _ := gradient(0xffffff)
				if err := ts.grad.Update(g, gw*4, nil); err != nil {
					return err
				}
				damage := []image.Rectangle{image.Rect(30, 10, 80, 50), image.Rect(60, 30, 120, 90)}
				return frame(r, target, damage, func() { translucent(r, ts) })
			},
			Checks: []Check{
				{10, 10, 0x1a2880}, // outside the damage: the first frame's gradient (r=10*255/95=26, g=10*255/63=40)
				{35, 15, 0xa2c37f}, // inside: the inverted gradient (r=255-93, g=255-60, b=0x7f)
				// In both damage rectangles: ramp a=80 over the inverted
				// gradient (68,94,127), blended once: s + d*175/255.
				{70, 40, 0x2f41a7},
				{230, 5, 0x203040}, // background, never covered
			},
		},
	}
}

// Pixels returns target's pixels as 0xRRGGBB (X byte dropped).
func Pixels(b *scanout.Buffer) ([]uint32, error) {
	m, err := b.Map()
	if err != nil {
		return nil, err
	}
	if err := b.BeginCPUAccess(scanout.Read); err != nil {
		return nil, err
	}
	defer b.EndCPUAccess(scanout.Read)
	m = m[b.Offset:]
	out := make([]uint32, b.Width*b.Height)
	for y := range b.Height {
		for x := range b.Width {
			out[y*b.Width+x] = binary.LittleEndian.Uint32(m[y*int(b.Stride)+x*4:]) & 0xffffff
		}
	}
	return out, nil
}

// Diff is how two images differ.
type Diff struct {
	Max   int         // largest channel difference
	Over  int         // pixels differing by more than the tolerance
	Worst image.Point // where Max is
	A, B  uint32      // the pixels there
}

func (d Diff) String() string {
	return fmt.Sprintf("max channel difference %d at %v (%06x vs %06x), %d pixels over tolerance %d", d.Max, d.Worst, d.A, d.B, d.Over, Tolerance)
}

// Compare compares two w-wide pixel slices.
func Compare(a, b []uint32, w int) Diff {
	var d Diff
	for i := range a {
		m := 0
		for _, sh := range [3]uint{16, 8, 0} {
			x, y := int(a[i]>>sh&0xff), int(b[i]>>sh&0xff)
			m = max(m, x-y, y-x)
		}
		if m > Tolerance {
			d.Over++
		}
		if m > d.Max {
			d.Max, d.Worst, d.A, d.B = m, image.Pt(i%w, i/w), a[i], b[i]
		}
	}
	return d
}

// CheckPixels returns the hand-known pixels that differ by more than the
// tolerance.
func CheckPixels(s Scene, px []uint32) []string {
	var bad []string
	for _, c := range s.Checks {
		got := px[c.Y*W+c.X]
		if d := Compare([]uint32{got}, []uint32{c.RGB}, 1); d.Max > Tolerance {
			bad = append(bad, fmt.Sprintf("(%d,%d) = %06x, want %06x", c.X, c.Y, got, c.RGB))
		}
	}
	return bad
}

// RefPath is the reference image of a scene.
func RefPath(name string) string { return "testdata/" + name + ".png" }

// WritePNG stores pixels as an RGB PNG.
func WritePNG(path string, px []uint32, w, h int) error {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, p := range px {
		img.SetNRGBA(i%w, i/w, color.NRGBA{R: uint8(p >> 16), G: uint8(p >> 8), B: uint8(p), A: 255})
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := png.Encode(f, img); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// ReadPNG loads a reference image as 0xRRGGBB pixels.
func ReadPNG(path string) ([]uint32, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, err
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		return nil, 0, 0, err
	}
	b := img.Bounds()
	px := make([]uint32, 0, b.Dx()*b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.NRGBAModel.Convert(img.At(x, y)).(color.NRGBA)
			px = append(px, uint32(c.R)<<16|uint32(c.G)<<8|uint32(c.B))
		}
	}
	return px, b.Dx(), b.Dy(), nil
}
