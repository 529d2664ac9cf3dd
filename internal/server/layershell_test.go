package server

import (
	"encoding/binary"
	"image"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// wvkbd, Debian's on-screen keyboard, is a layer surface anchored to the
// bottom edge with an exclusive zone: the toplevel is configured to the
// area above it, grim sees both, and a click on one of its keys (through
// a virtual pointer, as a touch screen or VNC would) types that key into
// the toplevel through wvkbd's virtual keyboard.
func TestWvkbdTypesIntoClient(t *testing.T) {
	bin := realProgram(t, "wvkbd-mobintl", "wvkbd")
	s, dir := start(t)
	out := startTestclient(t, dir)
	from := 0
	kbd := exec.Command(bin, "-L", "180")
	kbd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	kbd.Stdout, kbd.Stderr = os.Stderr, os.Stderr
	if err := kbd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kbd.Process.Kill(); kbd.Wait() })

	// The toplevel shrinks to the area above the keyboard.
	line := out.wait(t, &from, func(l string) bool { return strings.HasPrefix(l, "configure 640 ") && l != "configure 640 480" }, "configure above the keyboard")
	h, _ := strconv.Atoi(strings.Fields(line)[2])
	zone := 480 - h
	if zone < 100 || zone > 300 {
		t.Fatalf("toplevel configured to height %d: a keyboard zone of %d", h, zone)
	}
	out.wait(t, &from, prefix("drawn 640 "+strconv.Itoa(h)), "a frame at the new size")
	kfrom := 0
	out.wait(t, &kfrom, prefix("keyboard enter"), "keyboard focus on the toplevel")
	var img image.Image
	deadline := time.Now().Add(10 * time.Second)
	for {
		img = grimShot(t, dir)
		if rgbAt(img, 320, 480-zone/2) != [3]uint8{background.R, background.G, background.B} || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range []image.Point{{0, 0}, {639, h - 1}} {
		if got := rgbAt(img, p.X, p.Y); got != [3]uint8{0x33, 0x66, 0xcc} {
			t.Errorf("pixel %v = %v, want the toplevel's 0x3366cc", p, got)
		}
	}
	if got := rgbAt(img, 320, h+zone/2); got == [3]uint8{0x33, 0x66, 0xcc} || got == [3]uint8{background.R, background.G, background.B} {
		t.Errorf("pixel (320,%d) = %v: the keyboard is not drawn there", h+zone/2, got)
	}

	// Click the key in the middle of the home row ("h": wvkbd's full
	// layout has six rows; its home row is the fourth).
	r := dial(t, dir)
	vpm := globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface)
	r.bind(vpm, "zwlr_virtual_pointer_manager_v1", 2, 3)
	r.req(3, 0, func(e *wire.Encoder) { e.Object(0); e.NewID(4) })
	r.roundtrip(5)
	time.Sleep(300 * time.Millisecond) // wvkbd gets its wl_pointer when the seat gains one
	x, y := 397, h+zone*7/12
	// Enter, then a motion (wvkbd takes the position from motion events).
	for _, dx := range []int{-2, 0} {
		r.req(4, 1, func(e *wire.Encoder) { e.Uint(1); e.Uint(uint32(x + dx)); e.Uint(uint32(y)); e.Uint(640); e.Uint(480) })
		r.req(4, 4, nil)
	}
	r.req(4, 2, func(e *wire.Encoder) { e.Uint(2); e.Uint(0x110); e.Uint(1) })
	r.req(4, 4, nil)
	r.req(4, 2, func(e *wire.Encoder) { e.Uint(3); e.Uint(0x110); e.Uint(0) })
	r.req(4, 4, nil)
	r.roundtrip(6)
	if got := keysFrom(t, out, &from, 1); got[0] != "h" {
		t.Fatalf("clicking (%d,%d) on wvkbd typed %v, want h", x, y, got)
	}
}

func rgbAt(img image.Image, x, y int) [3]uint8 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}

// badCase is one malformed request sequence and the protocol error it
// must get (on object obj, with code).
type badCase struct {
	name string
	run  func(t *testing.T, r *raw)
	obj  uint32
	code uint32
}

// checkBadRequests runs each case on a fresh connection: the client gets
// the error, the server counts each and keeps serving.
func checkBadRequests(t *testing.T, s *Server, dir string, cases []badCase) {
	t.Helper()
	before := s.Stats().ProtocolErrors
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dial(t, dir)
			c.run(t, r)
			obj, code, msg := r.waitErrorObj()
			if obj != c.obj || code != c.code {
				t.Fatalf("error on %d code %d (%s), want on %d code %d", obj, code, msg, c.obj, c.code)
			}
			t.Logf("%s", msg)
		})
	}
	r := dial(t, dir)
	r.roundtrip(3)
	if got := s.Stats().ProtocolErrors - before; got != len(cases) {
		t.Errorf("%d protocol errors counted, want %d", got, len(cases))
	}
}

// layerClient binds wl_compositor (3), wl_shm (4), xdg_wm_base (5) and
// zwlr_layer_shell_v1 (11).
func layerClient(t *testing.T, s *Server, dir string) *raw {
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface,
		5: protocol.XdgWmBaseInterface, 11: protocol.ZwlrLayerShellV1Interface})
	return r
}

// layerConfigure reads events until layer surface id's configure, and
// returns its serial and size.
func (r *raw) layerConfigure(id uint32) (serial uint32, size image.Point) {
	r.t.Helper()
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj != id || op != 0 {
			return false
		}
		d := wire.NewDecoder(body, nil)
		serial, size = d.Uint(), image.Pt(int(d.Uint()), int(d.Uint()))
		return true
	})
	return serial, size
}

// mapLayer maps surface sid as layer surface lid with a solid w×h XRGB
// buffer (pool and buffer ids from base): set up by setup before the
// initial commit; returns the configured size.
func (r *raw) mapLayer(sid, lid, base uint32, layer uint32, w, h int, px uint32, setup func()) image.Point {
	r.t.Helper()
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(sid) })
	r.req(11, 0, func(e *wire.Encoder) { e.NewID(lid); e.Object(sid); e.Object(0); e.Uint(layer); e.String("test") })
	setup()
	r.req(sid, 6, nil)
	serial, size := r.layerConfigure(lid)
	r.req(lid, 6, func(e *wire.Encoder) { e.Uint(serial) })
	r.attachSolid(sid, base, w, h, px)
	return size
}

// attachSolid commits to surface sid a w×h XRGB buffer of one colour
// (pool id pool, buffer pool+1; wl_shm bound at 4) and waits for the
// server to take it.
func (r *raw) attachSolid(sid, pool uint32, w, h int, px uint32) {
	r.t.Helper()
	fd := memfd(r.t, int64(w*h*4))
	pix := make([]byte, w*h*4)
	for i := 0; i < len(pix); i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], px)
	}
	unix.Pwrite(fd, pix, 0)
	r.shmBuffer(pool, pool+1, fd, w, h, w*4)
	unix.Close(fd)
	r.req(sid, 1, func(e *wire.Encoder) { e.Object(pool + 1); e.Int(0); e.Int(0) })
	r.req(sid, 6, nil)
	r.roundtrip(pool + 2)
}

// openPopup maps a w×h popup of one colour (positioner 40, wl_surface
// 41, xdg_surface 42, xdg_popup 43, buffer from 44) placed by anchor
// rectangle, edge and gravity; its parent is the xdg_surface parent, or,
// with parent 0, the layer surface layer. It returns the position the
// popup was configured at.
func (r *raw) openPopup(parent, layer uint32, anchor image.Rectangle, edge, gravity uint32, w, h int, px uint32) image.Point {
	r.t.Helper()
	r.req(5, 1, func(e *wire.Encoder) { e.NewID(40) })
	r.req(40, 1, func(e *wire.Encoder) { e.Int(int32(w)); e.Int(int32(h)) })
	r.req(40, 2, func(e *wire.Encoder) {
		e.Int(int32(anchor.Min.X))
		e.Int(int32(anchor.Min.Y))
		e.Int(int32(anchor.Dx()))
		e.Int(int32(anchor.Dy()))
	})
	r.req(40, 3, func(e *wire.Encoder) { e.Uint(edge) })
	r.req(40, 4, func(e *wire.Encoder) { e.Uint(gravity) })
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(41) })
	r.req(5, 2, func(e *wire.Encoder) { e.NewID(42); e.Object(41) })
	r.req(42, 2, func(e *wire.Encoder) { e.NewID(43); e.Object(parent); e.Object(40) })
	if parent == 0 {
		r.req(layer, 5, func(e *wire.Encoder) { e.Object(43) }) // get_popup
	}
	r.req(41, 6, nil)
	var at image.Point
	var serial uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		d := wire.NewDecoder(body, nil)
		switch {
		case obj == 43 && op == 0:
			at = image.Pt(int(d.Int()), int(d.Int()))
		case obj == 42 && op == 0:
			serial = d.Uint()
			return true
		}
		return false
	})
	r.req(42, 4, func(e *wire.Encoder) { e.Uint(serial) })
	r.attachSolid(41, 44, w, h, px)
	return at
}

// A top panel's exclusive zone moves and shrinks the toplevel; an overlay
// layer surface is drawn above it, a background one under everything;
// unmapping the panel gives the toplevel its area back.
func TestLayerShellLayout(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	s, dir := start(t)
	const (
		top   = protocol.ZwlrLayerSurfaceV1AnchorTop
		left  = protocol.ZwlrLayerSurfaceV1AnchorLeft
		right = protocol.ZwlrLayerSurfaceV1AnchorRight
	)
	panel := layerClient(t, s, dir)
	size := panel.mapLayer(20, 21, 30, protocol.ZwlrLayerShellV1LayerTop, 640, 40, 0x00ff00, func() {
		panel.req(21, 0, func(e *wire.Encoder) { e.Uint(0); e.Uint(40) })
		panel.req(21, 1, func(e *wire.Encoder) { e.Uint(top | left | right) })
		panel.req(21, 2, func(e *wire.Encoder) { e.Int(40) })
	})
	if size != image.Pt(640, 40) {
		t.Fatalf("panel configured %v, want 640x40 (stretched between left and right)", size)
	}
	// The toplevel maps into the area below the panel.
	win := layerClient(t, s, dir)
	var cfg image.Point
	win.req(3, 0, func(e *wire.Encoder) { e.NewID(6) })
	win.req(5, 2, func(e *wire.Encoder) { e.NewID(7); e.Object(6) })
	win.req(7, 1, func(e *wire.Encoder) { e.NewID(8) })
	win.req(6, 6, nil)
	var serial uint32
	win.events(func(obj uint32, op uint16, body []byte) bool {
		d := wire.NewDecoder(body, nil)
		switch {
		case obj == 8 && op == 0:
			cfg = image.Pt(int(d.Int()), int(d.Int()))
		case obj == 7 && op == 0:
			serial = d.Uint()
			return true
		}
		return false
	})
	if cfg != image.Pt(640, 440) {
		t.Fatalf("toplevel configured %v, want 640x440", cfg)
	}
	win.req(7, 4, func(e *wire.Encoder) { e.Uint(serial) })
	win.attachSolid(6, 12, 640, 440, 0xff0000)
	// An overlay square in the middle (no anchors: centred), and a
	// background that must stay hidden under the toplevel.
	over := layerClient(t, s, dir)
	over.mapLayer(20, 21, 30, protocol.ZwlrLayerShellV1LayerOverlay, 100, 100, 0x0000ff, func() {
		over.req(21, 0, func(e *wire.Encoder) { e.Uint(100); e.Uint(100) })
	})
	bg := layerClient(t, s, dir)
	bg.mapLayer(20, 21, 30, protocol.ZwlrLayerShellV1LayerBackground, 640, 480, 0xffff00, func() {
		bg.req(21, 1, func(e *wire.Encoder) { e.Uint(anchorAll) })
		bg.req(21, 2, func(e *wire.Encoder) { e.Int(-1) })
	})
	expectPixels(t, "layers", grimShot(t, dir), map[image.Point]uint32{
		{0, 0}: 0x00ff00, {639, 39}: 0x00ff00, // panel
		{0, 40}: 0xff0000, {639, 479}: 0xff0000, // toplevel below it
		{270, 210}: 0x0000ff, {369, 309}: 0x0000ff, {269, 209}: 0xff0000, // overlay centred in the usable area
	})
	// The panel unmaps (null buffer): the toplevel gets the whole output.
	panel.req(20, 1, func(e *wire.Encoder) { e.Object(0); e.Int(0); e.Int(0) })
	panel.req(20, 6, nil)
	win.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 8 && op == 0 {
			d := wire.NewDecoder(body, nil)
			cfg = image.Pt(int(d.Int()), int(d.Int()))
			return true
		}
		return false
	})
	if cfg != image.Pt(640, 480) {
		t.Fatalf("toplevel configured %v after the panel went, want 640x480", cfg)
	}
	// Until the client redraws, the old buffer is at the top and the
	// background shows below it.
	expectPixels(t, "panel gone", grimShot(t, dir), map[image.Point]uint32{{0, 0}: 0xff0000, {0, 439}: 0xff0000, {0, 440}: 0xffff00})
}

func TestLayerShellBadRequests(t *testing.T) {
	s, dir := start(t)
	getLayer := func(r *raw, layer uint32) {
		r.req(3, 0, func(e *wire.Encoder) { e.NewID(20) })
		r.req(11, 0, func(e *wire.Encoder) { e.NewID(21); e.Object(20); e.Object(0); e.Uint(layer); e.String("bad") })
	}
	bind := func(r *raw) {
		r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface,
			5: protocol.XdgWmBaseInterface, 11: protocol.ZwlrLayerShellV1Interface})
	}
	checkBadRequests(t, s, dir, []badCase{
		{"layer out of range", func(t *testing.T, r *raw) { bind(r); getLayer(r, 4) }, 11, protocol.ZwlrLayerShellV1ErrorInvalidLayer},
		{"surface is not a surface", func(t *testing.T, r *raw) {
			bind(r)
			r.req(11, 0, func(e *wire.Encoder) { e.NewID(21); e.Object(5); e.Object(0); e.Uint(0); e.String("x") })
		}, 11, protocol.WlDisplayErrorInvalidObject},
		{"output is not an output", func(t *testing.T, r *raw) {
			bind(r)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(20) })
			r.req(11, 0, func(e *wire.Encoder) { e.NewID(21); e.Object(20); e.Object(20); e.Uint(0); e.String("x") })
		}, 11, protocol.WlDisplayErrorInvalidObject},
		{"surface with a role", func(t *testing.T, r *raw) {
			bind(r)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(20) })
			r.req(5, 2, func(e *wire.Encoder) { e.NewID(22); e.Object(20) })
			r.req(11, 0, func(e *wire.Encoder) { e.NewID(21); e.Object(20); e.Object(0); e.Uint(0); e.String("x") })
		}, 11, protocol.ZwlrLayerShellV1ErrorRole},
		{"twice on one surface", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(11, 0, func(e *wire.Encoder) { e.NewID(22); e.Object(20); e.Object(0); e.Uint(0); e.String("x") })
		}, 11, protocol.ZwlrLayerShellV1ErrorRole},
		{"bad anchor", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 1, func(e *wire.Encoder) { e.Uint(16) })
		}, 21, protocol.ZwlrLayerSurfaceV1ErrorInvalidAnchor},
		{"bad keyboard interactivity", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 4, func(e *wire.Encoder) { e.Uint(3) })
		}, 21, protocol.ZwlrLayerSurfaceV1ErrorInvalidKeyboardInteractivity},
		{"set_layer out of range", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 8, func(e *wire.Encoder) { e.Uint(9) })
		}, 21, protocol.ZwlrLayerShellV1ErrorInvalidLayer},
		{"huge size", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 0, func(e *wire.Encoder) { e.Uint(1 << 31); e.Uint(10) })
		}, 21, protocol.ZwlrLayerSurfaceV1ErrorInvalidSize},
		{"huge margin", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 3, func(e *wire.Encoder) { e.Int(0); e.Int(-1 << 30); e.Int(0); e.Int(0) })
		}, 21, protocol.ZwlrLayerSurfaceV1ErrorInvalidSize},
		{"width 0 without both side anchors", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 0, func(e *wire.Encoder) { e.Uint(0); e.Uint(10) })
			r.req(21, 1, func(e *wire.Encoder) { e.Uint(protocol.ZwlrLayerSurfaceV1AnchorLeft) })
			r.req(20, 6, nil)
		}, 21, protocol.ZwlrLayerSurfaceV1ErrorInvalidSize},
		{"ack of a serial never sent", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 6, func(e *wire.Encoder) { e.Uint(77) })
		}, 21, protocol.ZwlrLayerSurfaceV1ErrorInvalidSurfaceState},
		{"buffer before the configure", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 0, func(e *wire.Encoder) { e.Uint(10); e.Uint(10) })
			fd := memfd(t, 400)
			r.shmBuffer(30, 31, fd, 10, 10, 40)
			unix.Close(fd)
			r.req(20, 1, func(e *wire.Encoder) { e.Object(31); e.Int(0); e.Int(0) })
			r.req(20, 6, nil)
		}, 21, protocol.ZwlrLayerSurfaceV1ErrorInvalidSurfaceState},
		{"get_popup of a non-popup", func(t *testing.T, r *raw) {
			bind(r)
			getLayer(r, 0)
			r.req(21, 5, func(e *wire.Encoder) { e.Object(20) })
		}, 21, protocol.WlDisplayErrorInvalidObject},
	})
}

// Keyboard interactivity: an overlay layer surface asking for exclusive
// keyboard focus takes it from the toplevel while it is mapped and so
// asks; dropping the request gives the toplevel the keyboard back.
func TestLayerShellKeyboardExclusive(t *testing.T) {
	events := make(chan backend.Event)
	s, dir, _ := startWith(t, events)
	seatName := globalName(s, protocol.WlSeatInterface)
	keyboard := func(r *raw) map[uint32]bool {
		r.req(2, 0, func(e *wire.Encoder) { e.Uint(seatName); e.String("wl_seat"); e.Uint(7); e.NewID(60) })
		r.req(60, 1, func(e *wire.Encoder) { e.NewID(62) })
		return map[uint32]bool{62: true}
	}
	win := showSolid(t, s, dir, 100, 100, 0xff0000) // surface 6
	ww := keyboard(win)
	win.expect(ww, 62, 0) // keymap
	win.expect(ww, 62, 5) // repeat_info
	if enter := win.expect(ww, 62, 1); enter.args[1] != 6 {
		t.Fatalf("keyboard enter on %d, want the toplevel", enter.args[1])
	}
	osk := layerClient(t, s, dir)
	osk.mapLayer(20, 21, 30, protocol.ZwlrLayerShellV1LayerOverlay, 50, 50, 0x0000ff, func() {
		osk.req(21, 0, func(e *wire.Encoder) { e.Uint(50); e.Uint(50) })
		osk.req(21, 4, func(e *wire.Encoder) { e.Uint(protocol.ZwlrLayerSurfaceV1KeyboardInteractivityExclusive) })
	})
	win.expect(ww, 62, 4) // modifiers
	win.expect(ww, 62, 2) // leave
	// Its keyboard (made now: mapLayer read past earlier events) enters
	// the focused layer surface.
	ow := keyboard(osk)
	osk.expect(ow, 62, 0)
	osk.expect(ow, 62, 5)
	if enter := osk.expect(ow, 62, 1); enter.args[1] != 20 {
		t.Fatalf("keyboard enter on %d, want the layer surface", enter.args[1])
	}
	osk.req(21, 4, func(e *wire.Encoder) { e.Uint(protocol.ZwlrLayerSurfaceV1KeyboardInteractivityNone) })
	osk.req(20, 6, nil)
	osk.expect(ow, 62, 4)
	osk.expect(ow, 62, 2)
	if enter := win.expect(ww, 62, 1); enter.args[1] != 6 {
		t.Fatalf("keyboard back on %d, want the toplevel", enter.args[1])
	}
}

// lastOutputLayer is a layerClient with the last wl_output announced
// bound at 12 and layer surface 21 (wl_surface 20) in layer on it, not
// committed yet.
func lastOutputLayer(t *testing.T, s *Server, dir string, layer uint32, namespace string) *raw {
	t.Helper()
	var last uint32
	for _, g := range s.globals {
		if g.iface == protocol.WlOutputInterface {
			last = g.name
		}
	}
	r := layerClient(t, s, dir)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(last); e.String("wl_output"); e.Uint(4); e.NewID(12) })
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(20) })
	r.req(11, 0, func(e *wire.Encoder) {
		e.NewID(21)
		e.Object(20)
		e.Object(12)
		e.Uint(layer)
		e.String(namespace)
	})
	return r
}

// A layer surface asking for the second output is anchored to that
// output's edges, and its exclusive zone leaves the toplevels (on the
// first output) alone.
func TestLayerShellOtherOutput(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, dir, _ := startServer(t, hb, Options{})
	r := lastOutputLayer(t, s, dir, protocol.ZwlrLayerShellV1LayerTop, "corner")
	r.req(21, 0, func(e *wire.Encoder) { e.Uint(50); e.Uint(50) })
	r.req(21, 1, func(e *wire.Encoder) {
		e.Uint(protocol.ZwlrLayerSurfaceV1AnchorBottom | protocol.ZwlrLayerSurfaceV1AnchorRight)
	})
	r.req(21, 2, func(e *wire.Encoder) { e.Int(50) })
	r.req(20, 6, nil)
	serial, size := r.layerConfigure(21)
	if size != image.Pt(50, 50) {
		t.Fatalf("configured %v", size)
	}
	r.req(21, 6, func(e *wire.Encoder) { e.Uint(serial) })
	r.attachSolid(20, 30, 50, 50, 0x00ff00)
	// Its corner is the second output's (320×240), not the first's; grim
	// puts the second output right of the first.
	expectPixels(t, "corner of output 2", grimShot(t, dir), map[image.Point]uint32{
		{640 + 270, 190}: 0x00ff00, {640 + 319, 239}: 0x00ff00,
		{640 + 269, 189}: uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B),
	})
	// A toplevel still gets the whole first output.
	out := startTestclient(t, dir)
	from := 0
	if l := out.wait(t, &from, prefix("configure "), "the toplevel's configure"); l != "configure 640 480" {
		t.Fatalf("toplevel %q, want the whole first output", l)
	}
}

// A layer surface's popup (xdg_popup made without a parent, then
// zwlr_layer_surface_v1.get_popup) is placed from the layer surface and
// drawn above the toplevels with it.
func TestLayerShellPopup(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	s, dir := start(t)
	showSolid(t, s, dir, 640, 480, 0xff0000) // a toplevel under everything here
	r := layerClient(t, s, dir)
	r.mapLayer(20, 21, 30, protocol.ZwlrLayerShellV1LayerTop, 640, 40, 0x00ff00, func() {
		r.req(21, 0, func(e *wire.Encoder) { e.Uint(0); e.Uint(40) })
		r.req(21, 1, func(e *wire.Encoder) {
			e.Uint(protocol.ZwlrLayerSurfaceV1AnchorTop | protocol.ZwlrLayerSurfaceV1AnchorLeft | protocol.ZwlrLayerSurfaceV1AnchorRight)
		})
	})
	// 100×100 below the panel's left end.
	if at := r.openPopup(0, 21, image.Rect(0, 0, 640, 40), protocol.XdgPositionerAnchorBottomLeft, protocol.XdgPositionerGravityBottomRight,
		100, 100, 0x0000ff); at != image.Pt(0, 40) {
		t.Fatalf("popup configured at %v relative to the panel, want 0,40", at)
	}
	expectPixels(t, "panel popup", grimShot(t, dir), map[image.Point]uint32{
		{0, 0}: 0x00ff00, {0, 40}: 0x0000ff, {99, 139}: 0x0000ff, {100, 140}: 0xff0000,
	})
	// A popup with a parent cannot be given another.
	r.req(21, 5, func(e *wire.Encoder) { e.Object(43) })
	if obj, code, msg := r.waitErrorObj(); obj != 21 || code != protocol.ZwlrLayerSurfaceV1ErrorInvalidSurfaceState {
		t.Fatalf("get_popup of a parented popup: error on %d code %d (%s)", obj, code, msg)
	}
}

// A layer surface on an output that closes (a nested window closed) is
// told closed and leaves the screen; one asking for the closed output
// later is closed at once.
func TestLayerShellOutputClosed(t *testing.T) {
	events := make(chan backend.Event)
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 64, Height: 64}, {Width: 64, Height: 64}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, dir, _ := startServer(t, inputBackend{hb, events}, Options{})
	r := lastOutputLayer(t, s, dir, protocol.ZwlrLayerShellV1LayerBackground, "bg")
	r.req(21, 0, func(e *wire.Encoder) { e.Uint(10); e.Uint(10) })
	r.req(20, 6, nil)
	r.layerConfigure(21)
	events <- backend.Event{Kind: backend.OutputClosed, Output: hb.Outputs()[1]}
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 21 && op == 1 })
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(22) })
	r.req(11, 0, func(e *wire.Encoder) { e.NewID(23); e.Object(22); e.Object(12); e.Uint(0); e.String("late") })
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 23 && op == 1 })
}

// A panel appearing moves the toplevel down, and its open popup with it.
func TestLayerShellMovesPopups(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	s, dir := start(t)
	win := showSolid(t, s, dir, 640, 480, 0xff0000) // toplevel: xdg_surface 7
	win.openPopup(7, 0, image.Rect(10, 10, 11, 11), protocol.XdgPositionerAnchorTopLeft, protocol.XdgPositionerGravityBottomRight, 50, 50, 0x0000ff)
	expectPixels(t, "popup", grimShot(t, dir), map[image.Point]uint32{{10, 10}: 0x0000ff, {59, 59}: 0x0000ff, {60, 60}: 0xff0000})
	panel := layerClient(t, s, dir)
	panel.mapLayer(20, 21, 30, protocol.ZwlrLayerShellV1LayerTop, 640, 40, 0x00ff00, func() {
		panel.req(21, 0, func(e *wire.Encoder) { e.Uint(0); e.Uint(40) })
		panel.req(21, 1, func(e *wire.Encoder) {
			e.Uint(protocol.ZwlrLayerSurfaceV1AnchorTop | protocol.ZwlrLayerSurfaceV1AnchorLeft | protocol.ZwlrLayerSurfaceV1AnchorRight)
		})
		panel.req(21, 2, func(e *wire.Encoder) { e.Int(40) })
	})
	// The window (not yet redrawn at its new size) starts at y 40, its
	// popup at 40+10.
	expectPixels(t, "moved", grimShot(t, dir), map[image.Point]uint32{
		{10, 10}: 0x00ff00, {10, 45}: 0xff0000, {10, 50}: 0x0000ff, {59, 99}: 0x0000ff, {60, 100}: 0xff0000,
	})
}
