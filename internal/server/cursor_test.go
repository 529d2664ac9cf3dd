package server

import (
	"encoding/binary"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// pixelAt reads an XRGB pixel of a capture.
func pixelAt(pix []byte, stride, x, y int) uint32 {
	return binary.LittleEndian.Uint32(pix[y*stride+x*4:]) & 0xffffff
}

// checkArrow checks a capture of the red window for the default arrow
// with its tip at x, y (shown), or for the window's red there.
func checkArrow(t *testing.T, what string, pix []byte, stride, x, y int, shown bool) {
	t.Helper()
	const red = 0xff0000
	tip, inside := uint32(red), uint32(red)
	if shown {
		tip, inside = 0, 0xffffff
	}
	for _, c := range []struct {
		x, y int
		want uint32
		name string
	}{{x, y, tip, "at the pointer"}, {x + 1, y + 2, inside, "inside the arrow"}, {x - 1, y, red, "left of the arrow"}} {
		if got := pixelAt(pix, stride, c.x, c.y); got != c.want {
			t.Errorf("%s: pixel %s (%d,%d) %06x, want %06x", what, c.name, c.x, c.y, got, c.want)
		}
	}
}

// cursorClient is a client with a red 200×200 toplevel (surface 6), a
// wl_pointer (61), screencopy (12) and the output (13) bound.
func cursorClient(t *testing.T, s *Server, dir string) (*raw, map[uint32]bool) {
	r := showSolid(t, s, dir, 200, 200, 0x00ff0000)
	for id, g := range map[uint32]*protocol.Interface{12: protocol.ZwlrScreencopyManagerV1Interface,
		13: protocol.WlOutputInterface, 60: protocol.WlSeatInterface} {
		name, iface, v := globalName(s, g), g.Name, min(g.Version, 7)
		r.req(2, 0, func(e *wire.Encoder) { e.Uint(name); e.String(iface); e.Uint(v); e.NewID(id) })
	}
	r.req(60, 0, func(e *wire.Encoder) { e.NewID(61) })
	r.roundtrip(62)
	return r, map[uint32]bool{61: true}
}

// move sends a pointer motion and waits for the client to hear it (so
// everything posted before it was handled too); it returns the enter's
// serial when the pointer entered.
func move(t *testing.T, r *raw, watch map[uint32]bool, events chan backend.Event, out backend.Output, x, y float64, enter bool) uint32 {
	t.Helper()
	events <- backend.Event{Kind: backend.PointerMotion, Output: out, X: x, Y: y, Time: time.Millisecond}
	var serial uint32
	if enter {
		serial = r.expect(watch, 61, 0).args[0]
	} else {
		r.expect(watch, 61, 2)
	}
	r.expect(watch, 61, 5) // frame
	return serial
}

// The cursor, composed (headless has no cursor plane): none without a
// pointer device; the default arrow at the pointer once one exists; the
// client's cursor surface at the pointer minus its hotspot after
// set_cursor, following moves and new content; hidden by a null
// set_cursor; a surface with another role is a protocol error.
func TestCursorComposed(t *testing.T) {
	events := make(chan backend.Event)
	s, dir, _ := startWith(t, events)
	out := s.outputs[0].o
	r, watch := cursorClient(t, s, dir)
	const red, green, blue = 0xff0000, 0x00ff00, 0x0000ff
	serial := move(t, r, watch, events, out, 50, 60, true)
	pix, stride := r.capture(t)
	if got := pixelAt(pix, stride, 50, 60); got != red {
		t.Errorf("no pointer device: pixel at the pointer %06x, want the window's red", got)
	}

	s.SetPointerPresent(true)
	move(t, r, watch, events, out, 50, 60, false)
	// overlay_cursor 0 (grim's default): the frame drawn without the
	// composed cursor is what the capture gets; the one shown has it.
	pix, stride = r.capture(t)
	checkArrow(t, "overlay_cursor 0, composed cursor", pix, stride, 50, 60, false)
	pix, stride = r.captureCursor(t, true)
	checkArrow(t, "overlay_cursor 1, composed cursor", pix, stride, 50, 60, true)

	// A 16×16 cursor surface (70), hotspot 2,3.
	fd := memfd(t, 16*16*4*2)
	fill := func(off int, c uint32) {
		b := make([]byte, 16*16*4)
		for i := 0; i < len(b); i += 4 {
			binary.LittleEndian.PutUint32(b[i:], c)
		}
		unix.Pwrite(fd, b, int64(off))
	}
	fill(0, green)
	fill(16*16*4, blue)
	r.req(4, 0, func(e *wire.Encoder) { e.NewID(71); e.Int(16 * 16 * 4 * 2) }, fd)
	for i, id := range []uint32{72, 73} {
		r.req(71, 0, func(e *wire.Encoder) {
			e.NewID(id)
			e.Int(int32(i * 16 * 16 * 4))
			e.Int(16)
			e.Int(16)
			e.Int(64)
			e.Uint(protocol.WlShmFormatXrgb8888)
		})
	}
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(70) })
	r.req(61, 0, func(e *wire.Encoder) { e.Uint(serial); e.Object(70); e.Int(2); e.Int(3) })
	r.req(70, 1, func(e *wire.Encoder) { e.Object(72); e.Int(0); e.Int(0) })
	r.req(70, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(16); e.Int(16) })
	r.req(70, 3, func(e *wire.Encoder) { e.NewID(74) }) // frame callback
	r.req(70, 6, nil)
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 74 }) // the cursor's frame callback fired
	pix, stride = r.captureCursor(t, true)
	for _, c := range []struct {
		x, y int
		want uint32
	}{{48, 57, green}, {63, 72, green}, {47, 57, red}, {64, 72, red}, {48, 56, red}, {48, 73, red}} {
		if got := pixelAt(pix, stride, c.x, c.y); got != c.want {
			t.Errorf("cursor surface at 50,60 hotspot 2,3: pixel %d,%d = %06x, want %06x", c.x, c.y, got, c.want)
		}
	}

	move(t, r, watch, events, out, 100, 100, false)
	r.req(70, 1, func(e *wire.Encoder) { e.Object(73); e.Int(0); e.Int(0) })
	r.req(70, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(16); e.Int(16) })
	r.req(70, 6, nil)
	pix, stride = r.captureCursor(t, true)
	if got := pixelAt(pix, stride, 98, 97); got != blue {
		t.Errorf("moved cursor with new content at 98,97: %06x, want blue", got)
	}
	if got := pixelAt(pix, stride, 50, 60); got != red {
		t.Errorf("where the cursor was: %06x, want red", got)
	}

	r.req(61, 0, func(e *wire.Encoder) { e.Uint(serial); e.Uint(0); e.Int(0); e.Int(0) })
	pix, stride = r.captureCursor(t, true)
	if got := pixelAt(pix, stride, 98, 97); got != red {
		t.Errorf("hidden cursor: %06x, want red", got)
	}

	r.req(61, 0, func(e *wire.Encoder) { e.Uint(serial); e.Object(6); e.Int(0); e.Int(0) })
	if code, msg := r.waitError(); code != protocol.WlPointerErrorRole {
		t.Errorf("set_cursor with a toplevel: error %d %q, want wl_pointer.error.role", code, msg)
	}
}

// HideCursor: a pointer device and a moving pointer, and no cursor.
func TestCursorHidden(t *testing.T) {
	events := make(chan backend.Event)
	h, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, dir, _ := startServer(t, inputBackend{h, events}, Options{HideCursor: true})
	s.SetPointerPresent(true)
	r, watch := cursorClient(t, s, dir)
	move(t, r, watch, events, s.outputs[0].o, 50, 60, true)
	pix, stride := r.capture(t)
	if got := pixelAt(pix, stride, 50, 60); got != 0xff0000 {
		t.Errorf("HideCursor: pixel at the pointer %06x, want the window's red", got)
	}
}

// planeBackend is headless whose output has a cursor plane that records
// what it was told.
type planeBackend struct {
	inputBackend
	out *planeOutput
}

func (b planeBackend) Outputs() []backend.Output { return []backend.Output{b.out} }

type planeOutput struct {
	backend.Output
	mu      sync.Mutex
	img     *backend.CursorImage
	x, y    int
	dirty   bool
	commits int
}

func (o *planeOutput) SetCursor(img *backend.CursorImage) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.img, o.dirty = img, true
	return nil
}

func (o *planeOutput) MoveCursor(x, y int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.x, o.y, o.dirty = x, y, true
}

func (o *planeOutput) CommitCursor() (bool, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.dirty {
		return false, nil
	}
	o.dirty = false
	o.commits++
	return true, nil
}

func (o *planeOutput) state() (img *backend.CursorImage, x, y, commits int) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.img, o.x, o.y, o.commits
}

// With a cursor plane, the cursor goes there: moves are plane commits,
// not composed frames, and the frame has no cursor in it.
func TestCursorPlane(t *testing.T) {
	events := make(chan backend.Event)
	h, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	out := &planeOutput{Output: h.Outputs()[0]}
	s, dir, _ := startServer(t, planeBackend{inputBackend{h, events}, out}, Options{})
	s.SetPointerPresent(true)
	r, watch := cursorClient(t, s, dir)
	move(t, r, watch, events, out, 50, 60, true)
	r.roundtrip(80)
	time.Sleep(50 * time.Millisecond)
	frames := out.Info().Stats.Frames
	for i := range 5 {
		move(t, r, watch, events, out, float64(60+i), 70, false)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		img, x, y, commits := out.state()
		if img != nil && x == 64 && y == 70 && commits > 0 {
			if img.Width != 12 || img.Height != 19 {
				t.Errorf("plane image %dx%d, want the 12x19 arrow", img.Width, img.Height)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("plane: image %v at %d,%d after %d commits", img != nil, x, y, commits)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := out.Info().Stats.Frames; n != frames {
		t.Errorf("cursor moves on the plane made %d composed frames", n-frames)
	}
	pix, stride := r.capture(t)
	if got := pixelAt(pix, stride, 64, 70); got != 0xff0000 {
		t.Errorf("overlay_cursor 0: frame under the plane's cursor: %06x, want red", got)
	}
	// overlay_cursor 1: the plane's cursor is blended into the copy.
	frames = out.Info().Stats.Frames
	pix, stride = r.captureCursor(t, true)
	for _, c := range []struct {
		x, y int
		want uint32
	}{{64, 70, 0}, {65, 72, 0xffffff}, {63, 70, 0xff0000}} {
		if got := pixelAt(pix, stride, c.x, c.y); got != c.want {
			t.Errorf("overlay_cursor 1, cursor on the plane at 64,70: pixel %d,%d = %06x, want %06x", c.x, c.y, got, c.want)
		}
	}
	if img, _, _, _ := out.state(); img == nil {
		t.Error("the cursor left the plane for the capture")
	}
	if n := out.Info().Stats.Frames - frames; n != 1 {
		t.Errorf("overlay_cursor capture made %d composed frames, want 1", n)
	}
}
