package server

import (
	"encoding/binary"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/scanout"
)

// cursorPlaneState reads the display's cursor plane: its framebuffer,
// position, and (when it shows one) the framebuffer's top-left pixel.
type cursorPlaneState struct {
	fb, crtc     uint64
	x, y         int
	tip, inside  uint32 // pixels (0,0) and (1,2) of the cursor image
	primaryFB    uint64
	cursorPlanes int
}

// openDisplay opens the output's display node with atomic properties
// visible (closed at cleanup).
func openDisplay(t *testing.T, o backend.Output) *drm.Device {
	t.Helper()
	_, node, ok := strings.Cut(o.Info().Display, "(")
	node = strings.TrimSuffix(node, ")")
	if !ok || !strings.HasPrefix(node, "/dev/dri/") {
		t.Fatalf("no device node in the output's display %q", o.Info().Display)
	}
	d, err := drm.Open(node)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	// FB_ID and CRTC_ID are atomic properties (atomic implies universal planes).
	if err := d.SetClientCap(drm.ClientCapAtomic, 1); err != nil {
		t.Fatal(err)
	}
	return d
}

// planeProps returns the atomic properties of every plane on d.
func planeProps(t *testing.T, d *drm.Device) []*drm.ObjectProps {
	t.Helper()
	ids, err := d.PlaneIDs()
	if err != nil {
		t.Fatal(err)
	}
	out := make([]*drm.ObjectProps, len(ids))
	for i, id := range ids {
		if out[i], err = d.Props(id, drm.ObjectPlane); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// fbPixels copies framebuffer fb's first plane out of d (GETFB2, which
// gives handles only to root; PRIME export; mmap inside a read access
// bracket), from its offset on, and returns it with the framebuffer's
// layout.
func fbPixels(t *testing.T, d *drm.Device, fb uint32) ([]byte, drm.ModeFBCmd2) {
	t.Helper()
	info, err := d.GetFB2(fb)
	if err != nil {
		t.Fatalf("GETFB2 %d: %v", fb, err)
	}
	if info.Handles[0] == 0 {
		t.Fatalf("GETFB2 %d returned no handle (needs CAP_SYS_ADMIN)", fb)
	}
	defer d.GemClose(info.Handles[0])
	fd, err := d.PrimeHandleToFD(info.Handles[0])
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "framebuffer")
	defer f.Close()
	size := int(info.Offsets[0]) + int(info.Pitches[0])*int(info.Height)
	m, err := dmabuf.Map(fd, size, false)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	dmabuf.BeginAccess(fd, dmabuf.Read)
	out := append([]byte(nil), m.Data[info.Offsets[0]:size]...)
	dmabuf.EndAccess(fd, dmabuf.Read)
	return out, info
}

func readCursorPlane(t *testing.T, o backend.Output) cursorPlaneState {
	t.Helper()
	d := openDisplay(t, o)
	var st cursorPlaneState
	for _, p := range planeProps(t, d) {
		switch p.Values["type"] {
		case drm.PlanePrimary:
			if p.Values["CRTC_ID"] != 0 {
				st.primaryFB = p.Values["FB_ID"]
			}
		case drm.PlaneCursor:
			st.cursorPlanes++
			st.fb, st.crtc = p.Values["FB_ID"], p.Values["CRTC_ID"]
			st.x, st.y = int(int64(p.Values["CRTC_X"])), int(int64(p.Values["CRTC_Y"]))
		}
	}
	if st.fb == 0 {
		return st
	}
	px, info := fbPixels(t, d, uint32(st.fb))
	st.tip = binary.LittleEndian.Uint32(px)
	st.inside = binary.LittleEndian.Uint32(px[2*int(info.Pitches[0])+4:])
	return st
}

// startCursorKMS runs a server on vkms with a pointer device and a
// client with a red 200×200 window and a virtual pointer (90) that moves
// it; pointTo moves the pointer and waits until the client heard it.
func startCursorKMS(t *testing.T, disablePlane bool) (s *Server, o backend.Output, pointTo func(x, y int)) {
	s, o, pointTo, _ = startCursorClient(t, disablePlane)
	return s, o, pointTo
}

// startCursorClient is startCursorKMS that also returns the client.
func startCursorClient(t *testing.T, disablePlane bool) (s *Server, o backend.Output, pointTo func(x, y int), r *raw) {
	rigtest.Require(t, "vkms") // a cursor plane (pl111 has none)
	be := openKMS(t, kms.Options{Logger: testLog(t), DisableCursorPlane: disablePlane})
	if n := len(be.Outputs()); n != 1 {
		be.Close()
		t.Fatalf("kms backend has %d outputs, want 1 (vkms)", n)
	}
	s, dir, _ := startServer(t, be, Options{})

	o = be.Outputs()[0]
	s.SetPointerPresent(true)
	r, watch := cursorClient(t, s, dir)
	makeVirtualPointer(r, s, 60)
	m := o.Mode()
	entered := false
	pointTo = func(x, y int) {
		t.Helper()
		virtualMoveTo(r, x, y, m)
		if !entered {
			r.expect(watch, 61, 0)
			entered = true
		} else {
			r.expect(watch, 61, 2)
		}
		r.expect(watch, 61, 5)
	}
	return s, o, pointTo, r
}

// makeVirtualPointer makes virtual pointer 90 on wl_seat seat (0: any)
// through the manager bound at 89 (registry 2).
func makeVirtualPointer(r *raw, s *Server, seat uint32) {
	r.req(2, 0, func(e *wire.Encoder) {
		e.Uint(globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface))
		e.String("zwlr_virtual_pointer_manager_v1")
		e.Uint(2)
		e.NewID(89)
	})
	r.req(89, 0, func(e *wire.Encoder) { e.Object(seat); e.NewID(90) })
}

// virtualMoveTo moves virtual pointer 90 to x, y of an output in mode m
// (motion_absolute, then frame).
func virtualMoveTo(r *raw, x, y int, m scanout.Mode) {
	r.req(90, 1, func(e *wire.Encoder) {
		e.Uint(1)
		e.Uint(uint32(x))
		e.Uint(uint32(y))
		e.Uint(uint32(m.Width))
		e.Uint(uint32(m.Height))
	})
	r.req(90, 4, nil) // frame
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 5 s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// On vkms the default cursor goes to the cursor plane: the plane shows
// the arrow with its tip at the pointer, moves are commits of the cursor
// plane alone (the composed frames' count and the primary plane's
// framebuffer stay), and the composed frame has no cursor in it.
func TestRigCursorOnPlane(t *testing.T) {
	_, o, pointTo := startCursorKMS(t, false)
	pointTo(150, 100)
	var st cursorPlaneState
	waitFor(t, "cursor plane at 150,100", func() bool { st = readCursorPlane(t, o); return st.fb != 0 && st.x == 150 && st.y == 100 })
	if st.tip != 0xff000000 || st.inside != 0xffffffff {
		t.Errorf("cursor plane image: tip %08x, inside %08x; want the arrow's black tip and white inside", st.tip, st.inside)
	}
	settle(t, o, 0)
	before, primary := o.Info().Stats, readCursorPlane(t, o).primaryFB
	var moves []time.Duration
	for i := range 20 {
		x, y := 20+i*7, 30+i*3
		t0 := time.Now()
		pointTo(x, y)
		waitFor(t, "cursor plane moved", func() bool { st = readCursorPlane(t, o); return st.x == x && st.y == y })
		moves = append(moves, time.Since(t0))
	}
	after := o.Info().Stats
	if after.Frames != before.Frames || after.CursorCommits < before.CursorCommits+20 {
		t.Errorf("20 moves: composed frames %d → %d (want no new ones), cursor commits %d → %d (want 20 more)",
			before.Frames, after.Frames, before.CursorCommits, after.CursorCommits)
	}
	if st.primaryFB != primary {
		t.Errorf("primary plane framebuffer changed %d → %d by cursor moves", primary, st.primaryFB)
	}
	px, pitch := scannedOutPixels(t, o)
	for _, p := range [][2]int{{st.x, st.y}, {st.x + 1, st.y + 2}} {
		if got := binary.LittleEndian.Uint32(px[p[1]*pitch+p[0]*4:]) & 0xffffff; got != 0xff0000 {
			t.Errorf("composed frame under the cursor at %v: %06x, want the window's red (the cursor is on its plane)", p, got)
		}
	}
	t.Logf("cursor moves (pointer event to plane position seen): median %v; stats %+v", median(moves), after)
}

// With the cursor plane refused (kms.Options.DisableCursorPlane), the
// cursor is composed: the scanned-out frame shows the arrow at the
// pointer, and the cursor plane stays off.
func TestRigCursorComposed(t *testing.T) {
	_, o, pointTo := startCursorKMS(t, true)
	pointTo(100, 80)
	check := func(x, y int) {
		t.Helper()
		waitFor(t, "composed arrow in the frame", func() bool {
			px, pitch := scannedOutPixels(t, o)
			at := func(x, y int) uint32 { return binary.LittleEndian.Uint32(px[y*pitch+x*4:]) & 0xffffff }
			return at(x, y) == 0 && at(x+1, y+2) == 0xffffff && at(x-1, y) == 0xff0000
		})
	}
	check(100, 80)
	frames := o.Info().Stats.Frames
	pointTo(150, 120)
	check(150, 120)
	if st := readCursorPlane(t, o); st.fb != 0 {
		t.Errorf("cursor plane shows framebuffer %d with the plane disabled", st.fb)
	}
	if n := o.Info().Stats.Frames; n == frames {
		t.Error("a composed cursor moved without a new frame")
	}
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
