package server

import (
	"encoding/binary"
	"image"
	"image/color"
	"sync/atomic"
	"testing"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// countingRenderer is the CPU renderer counting the pixels each frame
// writes: Clear, FillRect and Draw, each clipped to the frame's damage.
type countingRenderer struct {
	render.Renderer
	damage []image.Rectangle
	drawn  atomic.Int64
}

func (c *countingRenderer) Begin(t *scanout.Buffer, damage []image.Rectangle) error {
	bounds := image.Rect(0, 0, t.Width, t.Height)
	if damage == nil {
		c.damage = append(c.damage[:0], bounds)
	} else {
		c.damage = render.AppendDisjoint(c.damage[:0], damage, bounds, 1<<20)
	}
	return c.Renderer.Begin(t, damage)
}

func (c *countingRenderer) count(r image.Rectangle) {
	for _, d := range c.damage {
		x := r.Intersect(d)
		c.drawn.Add(int64(x.Dx() * x.Dy()))
	}
}

func (c *countingRenderer) Clear(col color.NRGBA) {
	for _, d := range c.damage {
		c.count(d)
	}
	c.Renderer.Clear(col)
}

func (c *countingRenderer) FillRect(r image.Rectangle, col color.NRGBA) {
	c.count(r)
	c.Renderer.FillRect(r, col)
}

func (c *countingRenderer) Draw(t render.Texture, src, dst image.Rectangle, alpha float32) {
	c.count(dst)
	c.Renderer.Draw(t, src, dst, alpha)
}

// frameDrawn commits damage d on surface with a frame callback, waits for
// the frame to be shown, and returns the pixels that frame drew. It does
// so five times and counts the last: a render target is redrawn where it
// is older than the last frame (buffer age), and after four frames of the
// same damage the older frames' damage is the same too.
func frameDrawn(r *raw, c *countingRenderer, surface, cb uint32, d image.Rectangle) int64 {
	r.t.Helper()
	var n int64
	for i := range uint32(5) {
		before := c.drawn.Load()
		r.req(surface, 3, func(e *wire.Encoder) { e.NewID(cb + 1000*i) })
		r.req(surface, 2, func(e *wire.Encoder) {
			e.Int(int32(d.Min.X))
			e.Int(int32(d.Min.Y))
			e.Int(int32(d.Dx()))
			e.Int(int32(d.Dy()))
		})
		r.commit(surface)
		r.events(func(obj uint32, op uint16, body []byte) bool { return obj == cb+1000*i && op == 0 })
		n = c.drawn.Load() - before
	}
	return n
}

// What lies under opaque content is not drawn: a fullscreen opaque window
// over 16 others costs one copy of itself, a commit of a hidden window
// draws nothing, and the screen shows the same pixels.
func TestOcclusionOpaqueBuffers(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	c := &countingRenderer{Renderer: soft.New()}
	s, dir, _ := startRenderer(t, nil, c)
	var under []*raw
	for i := range 16 {
		under = append(under, showSolid(t, s, dir, 100+20*i, 80+10*i, 0x00ff0000))
	}
	top := showSolid(t, s, dir, 640, 480, 0x000000ff)
	full := image.Rect(0, 0, 640, 480)
	frameDrawn(top, c, 6, 100, full) // settled: every earlier frame shown
	if got := frameDrawn(top, c, 6, 101, full); got != 640*480 {
		t.Errorf("a full frame under a fullscreen opaque window drew %d pixels, want %d (one copy)", got, 640*480)
	}
	// The damage is drawn again, by the window on top only.
	if got := frameDrawn(under[3], c, 6, 100, image.Rect(0, 0, 160, 110)); got != 160*110 {
		t.Errorf("a commit of a hidden window drew %d pixels, want %d (the window on top)", got, 160*110)
	}
	expectPixels(t, "fullscreen on top", grimShot(t, dir), map[image.Point]uint32{{0, 0}: 0x0000ff, {639, 479}: 0x0000ff, {50, 50}: 0x0000ff})

	// A 400×300 opaque window on top: the ones under show around it.
	small := showSolid(t, s, dir, 400, 300, 0x0000ff00)
	frameDrawn(small, c, 6, 100, image.Rect(0, 0, 400, 300))
	if got := frameDrawn(small, c, 6, 101, image.Rect(0, 0, 400, 300)); got != 400*300 {
		t.Errorf("a frame of a 400×300 opaque window on top drew %d pixels, want %d", got, 400*300)
	}
	expectPixels(t, "smaller window on top", grimShot(t, dir), map[image.Point]uint32{{0, 0}: 0x00ff00, {399, 299}: 0x00ff00, {400, 300}: 0x0000ff})
}

// argbToplevel maps a w×h ARGB8888 toplevel (surface 6) filled with px.
func argbToplevel(t *testing.T, s *Server, dir string, w, h int, px uint32) *raw {
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface, 5: protocol.XdgWmBaseInterface})
	size := w * h * 4
	fd := memfd(t, int64(size))
	pix := make([]byte, size)
	for i := 0; i < size; i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], px)
	}
	unix.Pwrite(fd, pix, 0)
	r.req(4, 0, func(e *wire.Encoder) { e.NewID(9); e.Int(int32(size)) }, fd)
	r.req(9, 0, func(e *wire.Encoder) {
		e.NewID(10)
		e.Int(0)
		e.Int(int32(w))
		e.Int(int32(h))
		e.Int(int32(w * 4))
		e.Uint(protocol.WlShmFormatArgb8888)
	})
	r.mapToplevel(10, w, h)
	return r
}

// wl_surface.set_opaque_region is double-buffered (it counts from the
// next commit) and, for a buffer with alpha, hides what is under the
// region; wl_region.subtract takes a part out.
func TestOcclusionOpaqueRegion(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	c := &countingRenderer{Renderer: soft.New()}
	s, dir, _ := startRenderer(t, nil, c)
	under := showSolid(t, s, dir, 200, 200, 0x00ff0000)
	top := argbToplevel(t, s, dir, 640, 480, 0xff0000ff) // opaque blue, but ARGB
	frameDrawn(top, c, 6, 100, image.Rect(0, 0, 640, 480))
	d := image.Rect(0, 0, 200, 200)
	const area = 200 * 200
	// The opaque window hides the background; the one on top has alpha.
	if got := frameDrawn(under, c, 6, 100, d); got != 2*area {
		t.Errorf("no opaque region: drew %d pixels, want %d (window, window on top)", got, 2*area)
	}
	// Region 20: all of the window but its top-left 100×100.
	top.req(3, 1, func(e *wire.Encoder) { e.NewID(20) })
	top.req(20, 1, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(640); e.Int(480) })
	top.req(20, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(100); e.Int(100) })
	top.req(6, 4, func(e *wire.Encoder) { e.Object(20) })
	top.req(20, 0, nil) // destroying the region leaves the pending state alone
	top.roundtrip(50)
	if got := frameDrawn(under, c, 6, 101, d); got != 2*area {
		t.Errorf("opaque region set, not committed: drew %d pixels, want %d", got, 2*area)
	}
	top.commit(6)
	top.roundtrip(51)
	// Now only the top-left 100×100 shows what is under the window.
	if got := frameDrawn(under, c, 6, 102, d); got != area+100*100 {
		t.Errorf("opaque region committed: drew %d pixels, want %d", got, area+100*100)
	}
	expectPixels(t, "opaque region", grimShot(t, dir), map[image.Point]uint32{{0, 0}: 0x0000ff, {150, 150}: 0x0000ff, {639, 479}: 0x0000ff})
	// Unset (a null region): all of it is drawn again.
	top.req(6, 4, func(e *wire.Encoder) { e.Object(0) })
	top.commit(6)
	top.roundtrip(52)
	if got := frameDrawn(under, c, 6, 103, d); got != 2*area {
		t.Errorf("opaque region unset: drew %d pixels, want %d", got, 2*area)
	}
}

// BenchmarkCompose composes whole 1920×1080 frames of 16 opaque 960×540
// windows in a cascade, with and without a fullscreen opaque window on
// top (the CPU renderer): with one, a frame costs what the fullscreen
// window alone does, one copy. px/op is the pixels drawn a frame.
func BenchmarkCompose(b *testing.B) {
	for _, bc := range []struct {
		name       string
		under      int
		fullscreen bool
	}{{"16windows", 16, false}, {"16windows+fullscreen", 16, true}, {"fullscreen-alone", 0, true}} {
		b.Run(bc.name, func(b *testing.B) {
			r := &countingRenderer{Renderer: soft.New()}
			defer r.Close()
			target, err := scanout.MemfdStrategy{}.Allocate(1920, 1080, scanout.XRGB8888)
			if err != nil {
				b.Fatal(err)
			}
			defer target.Close()
			s := &Server{renderer: r}
			o := &output{s: s, bounds: image.Rect(0, 0, 1920, 1080)}
			add := func(at image.Point, w, h int) {
				sf := &surface{scale: 1, vp: noViewport, content: make([]byte, w*h*4), width: w, height: h,
					opaque: true, role: &xdgSurface{pos: at}}
				sf.stack = []*surface{sf}
				if err := sf.updateTexture(r); err != nil {
					b.Fatal(err)
				}
				s.surfaces = append(s.surfaces, sf)
			}
			for i := range bc.under {
				add(image.Pt(i*60, i*33), 960, 540)
			}
			if bc.fullscreen {
				add(image.Point{}, 1920, 1080)
			}
			full := []image.Rectangle{o.bounds}
			r.drawn.Store(0)
			for b.Loop() {
				if err := r.Begin(target, full); err != nil {
					b.Fatal(err)
				}
				o.compose(full)
				if _, err := r.End(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(r.drawn.Load())/float64(b.N), "px/op")
		})
	}
}
