package server

import (
	"encoding/binary"
	"image"
	"os"
	"path/filepath"
	"testing"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/render/gles"
	"golang.org/x/sys/unix"
)

// solidBuffer makes wl_buffer id (pool id+1000) of w×h filled with px.
func (r *raw) solidBuffer(id uint32, w, h int, px uint32) {
	size := w * h * 4
	fd := memfd(r.t, int64(size))
	pix := make([]byte, size)
	for i := 0; i < size; i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], px)
	}
	unix.Pwrite(fd, pix, 0)
	r.shmBuffer(id+1000, id, fd, w, h, w*4)
}

// surface makes wl_surface id showing buffer (committed only when commit).
func (r *raw) attach(surface, buffer uint32, w, h int) {
	r.req(surface, 1, func(e *wire.Encoder) { e.Object(buffer); e.Int(0); e.Int(0) })
	r.req(surface, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(int32(w)); e.Int(int32(h)) })
}

func (r *raw) commit(surface uint32) { r.req(surface, 6, nil) }

// popupConfigure reads events up to xdg_surface xdgID's configure and
// returns the xdg_popup's configure (x, y, w, h), the serial to ack, and
// the token of a repositioned event (0 if none).
func (r *raw) popupConfigure(popupID, xdgID uint32) (at [4]int32, serial, token uint32) {
	r.events(func(obj uint32, op uint16, body []byte) bool {
		switch {
		case obj == popupID && op == 0:
			for i := range at {
				at[i] = int32(binary.NativeEndian.Uint32(body[4*i:]))
			}
		case obj == popupID && op == 2:
			token = binary.NativeEndian.Uint32(body)
		case obj == xdgID && op == 0:
			serial = binary.NativeEndian.Uint32(body)
			return true
		}
		return false
	})
	return at, serial, token
}

// grimShot captures the outputs with grim (args: grim's options, such
// as -o NAME).
func grimShot(t *testing.T, dir string, args ...string) image.Image {
	t.Helper()
	png := filepath.Join(t.TempDir(), "shot.png")
	if out, err := client(t, dir, "grim", append(args, png)...).CombinedOutput(); err != nil {
		t.Fatalf("grim: %v\n%s", err, out)
	}
	f, err := os.Open(png)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := pngDecode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// expectPixels checks colours (0xRRGGBB) at points of a screenshot.
func expectPixels(t *testing.T, step string, img image.Image, want map[image.Point]uint32) {
	t.Helper()
	for p, px := range want {
		r, g, b, _ := img.At(p.X, p.Y).RGBA()
		got := uint32(r>>8)<<16 | uint32(g>>8)<<8 | uint32(b>>8)
		if got != px {
			t.Errorf("%s: pixel %v = %06x, want %06x", step, p, got, px)
		}
	}
}

// Subsurfaces are composed at their positions, in their stacking order,
// and a synchronized one changes only when its parent commits; a popup
// lands where its positioner says; a viewport crops and scales.
func TestSceneSubsurfacesPopupsViewports(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	withRenderers(t, testScene)
}

// withRenderers runs fn against a server composing with the CPU
// renderer, then against one composing with GLES (skipped where EGL
// cannot start, unless MINICOMP_REQUIRE_GLES=1).
func withRenderers(t *testing.T, fn func(t *testing.T, s *Server, dir string)) {
	t.Run("soft", func(t *testing.T) {
		s, dir, _ := startRenderer(t, nil, nil)
		fn(t, s, dir)
	})
	t.Run("gles", func(t *testing.T) {
		r, err := gles.New(gles.Options{})
		if err != nil {
			if os.Getenv("MINICOMP_REQUIRE_GLES") == "1" {
				t.Fatal(err)
			}
			t.Skip(err)
		}
		s, dir, _ := startRenderer(t, nil, r)
		fn(t, s, dir)
	})
}

func testScene(t *testing.T, s *Server, dir string) {
	bg := uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B)
	const red, green, blue, yellow = 0xff0000, 0x00ff00, 0x0000ff, 0xffff00
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface,
		5: protocol.XdgWmBaseInterface, 11: protocol.WlSubcompositorInterface, 12: protocol.WpViewporterInterface})
	r.solidBuffer(10, 200, 200, red)
	r.mapToplevel(10, 200, 200) // surface 6 at the origin

	// Subsurface 20 (surface 21, green 50×50) at (20, 30): nothing shows
	// until the parent commits.
	r.solidBuffer(22, 50, 50, green)
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(21) })
	r.req(11, 1, func(e *wire.Encoder) { e.NewID(20); e.Object(21); e.Object(6) })
	r.req(20, 1, func(e *wire.Encoder) { e.Int(20); e.Int(30) })
	r.attach(21, 22, 50, 50)
	r.commit(21)
	r.roundtrip(50)
	expectPixels(t, "before the parent's commit", grimShot(t, dir), map[image.Point]uint32{{25, 35}: red})
	r.commit(6)
	r.roundtrip(50)
	expectPixels(t, "after the parent's commit", grimShot(t, dir), map[image.Point]uint32{
		{19, 29}: red, {20, 30}: green, {69, 79}: green, {70, 80}: red, {199, 199}: red, {200, 200}: bg})

	// Synchronized: new content waits for the parent's commit.
	r.solidBuffer(23, 50, 50, blue)
	r.attach(21, 23, 50, 50)
	r.commit(21)
	r.roundtrip(50)
	expectPixels(t, "synchronized, before the parent's commit", grimShot(t, dir), map[image.Point]uint32{{25, 35}: green})
	r.commit(6)
	r.roundtrip(50)
	expectPixels(t, "synchronized, after the parent's commit", grimShot(t, dir), map[image.Point]uint32{{25, 35}: blue})

	// Placed below its parent, the opaque parent hides it.
	r.req(20, 3, func(e *wire.Encoder) { e.Object(6) })
	r.commit(6)
	r.roundtrip(50)
	expectPixels(t, "placed below", grimShot(t, dir), map[image.Point]uint32{{25, 35}: red})
	r.req(20, 2, func(e *wire.Encoder) { e.Object(6) })
	r.commit(6)

	// A desynchronized subsurface's content changes with its own commit.
	r.req(20, 5, nil)
	r.attach(21, 22, 50, 50)
	r.commit(21)
	r.roundtrip(50)
	expectPixels(t, "desync content", grimShot(t, dir), map[image.Point]uint32{{25, 35}: green})

	// A popup: 60×40 below-right of the anchor rect (10,10 20×20).
	r.req(5, 1, func(e *wire.Encoder) { e.NewID(30) }) // positioner
	r.req(30, 1, func(e *wire.Encoder) { e.Int(60); e.Int(40) })
	r.req(30, 2, func(e *wire.Encoder) { e.Int(10); e.Int(10); e.Int(20); e.Int(20) })
	r.req(30, 3, func(e *wire.Encoder) { e.Uint(protocol.XdgPositionerAnchorBottomLeft) })
	r.req(30, 4, func(e *wire.Encoder) { e.Uint(protocol.XdgPositionerGravityBottomRight) })
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(31) })
	r.req(5, 2, func(e *wire.Encoder) { e.NewID(32); e.Object(31) })
	r.req(32, 2, func(e *wire.Encoder) { e.NewID(33); e.Object(7); e.Object(30) })
	r.commit(31)
	popupAt, serial, _ := r.popupConfigure(33, 32)
	if popupAt != [4]int32{10, 30, 60, 40} {
		t.Errorf("popup configure %v, want [10 30 60 40]", popupAt)
	}
	r.req(32, 4, func(e *wire.Encoder) { e.Uint(serial) })
	r.solidBuffer(34, 60, 40, yellow)
	r.attach(31, 34, 60, 40)
	r.commit(31)
	r.roundtrip(50)
	expectPixels(t, "popup", grimShot(t, dir), map[image.Point]uint32{
		{9, 29}: red, {10, 30}: yellow, {69, 69}: yellow, {70, 70}: red})

	// Repositioned (anchored at a point, a 0×0 rectangle), the popup moves
	// once the client acked the configure and committed.
	r.req(5, 1, func(e *wire.Encoder) { e.NewID(35) })
	r.req(35, 1, func(e *wire.Encoder) { e.Int(60); e.Int(40) })
	r.req(35, 2, func(e *wire.Encoder) { e.Int(120); e.Int(100); e.Int(0); e.Int(0) })
	r.req(35, 4, func(e *wire.Encoder) { e.Uint(protocol.XdgPositionerGravityBottomRight) })
	r.req(33, 2, func(e *wire.Encoder) { e.Object(35); e.Uint(7) }) // reposition, token 7
	popupAt, serial, token := r.popupConfigure(33, 32)
	if token != 7 || popupAt != [4]int32{120, 100, 60, 40} {
		t.Errorf("reposition: token %d configure %v, want 7 and [120 100 60 40]", token, popupAt)
	}
	r.req(32, 4, func(e *wire.Encoder) { e.Uint(serial) })
	r.commit(31)
	r.roundtrip(50)
	expectPixels(t, "popup repositioned", grimShot(t, dir), map[image.Point]uint32{
		{15, 35}: red, {120, 100}: yellow, {179, 139}: yellow, {180, 140}: red})

	// A viewport shows a 4×4 part of a 10×10 buffer.
	r.solidBuffer(40, 10, 10, blue)
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(41) })
	r.req(11, 1, func(e *wire.Encoder) { e.NewID(42); e.Object(41); e.Object(6) })
	r.req(42, 1, func(e *wire.Encoder) { e.Int(150); e.Int(150) })
	r.req(12, 1, func(e *wire.Encoder) { e.NewID(43); e.Object(41) })
	r.req(43, 1, func(e *wire.Encoder) {
		e.Fixed(wire.FixedFromFloat(2))
		e.Fixed(wire.FixedFromFloat(2))
		e.Fixed(wire.FixedFromFloat(4))
		e.Fixed(wire.FixedFromFloat(4))
	})
	r.attach(41, 40, 10, 10)
	r.commit(41)
	r.commit(6)
	r.roundtrip(50)
	expectPixels(t, "cropped by a viewport", grimShot(t, dir), map[image.Point]uint32{
		{149, 149}: red, {150, 150}: blue, {153, 153}: blue, {154, 154}: red})

	// With a destination it is scaled: the 4×4 source shown at 40×30.
	r.req(43, 2, func(e *wire.Encoder) { e.Int(40); e.Int(30) })
	r.commit(41)
	r.commit(6)
	r.roundtrip(50)
	expectPixels(t, "scaled by a viewport", grimShot(t, dir), map[image.Point]uint32{
		{149, 149}: red, {150, 150}: blue, {189, 179}: blue, {190, 170}: red, {170, 180}: red})

	// Viewport errors: a source outside the buffer.
	r.req(43, 1, func(e *wire.Encoder) {
		e.Fixed(wire.FixedFromFloat(8))
		e.Fixed(wire.FixedFromFloat(8))
		e.Fixed(wire.FixedFromFloat(4))
		e.Fixed(wire.FixedFromFloat(4))
	})
	r.commit(41)
	r.commit(6)
	if code, msg := r.waitError(); code != protocol.WpViewportErrorOutOfBuffer {
		t.Errorf("source outside the buffer: error %d %q, want out_of_buffer", code, msg)
	}
}

// A toplevel unmapped by a null buffer maps again the way a new one does:
// commit without a buffer, get a configure, ack it, attach.
func TestToplevelRemap(t *testing.T) {
	s, dir := start(t)
	r := showSolid(t, s, dir, 50, 50, 0x00ff0000) // surface 6, xdg_surface 7
	r.req(6, 1, func(e *wire.Encoder) { e.Object(0); e.Int(0); e.Int(0) })
	r.commit(6)
	r.commit(6) // the new initial commit
	configured := false
	r.events(func(obj uint32, op uint16, body []byte) bool {
		configured = obj == 7 && op == 0
		return configured
	})
	if !configured {
		t.Fatal("no configure after the unmap")
	}
}
