package server

import (
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/drm"
)

// checkCursorAcross points a virtual pointer 4 pixels left of the first
// output's right edge (at y 100): the arrow crosses onto the second
// output, so each output's CRTC has its own cursor plane showing it, the
// first's with the hotspot at 796-ish, the second's off its left edge
// (a negative CRTC_X, clipped by the kernel). Moved back into the
// first, the second's plane is off again.
func checkCursorAcross(t *testing.T, s *Server, dir string, outs []backend.Output) {
	t.Helper()
	s.SetPointerPresent(true)
	r := dial(t, dir)
	r.globals()
	makeVirtualPointer(r, s, 0)
	m1 := outs[0].Mode()
	pointTo := func(x, y int) {
		virtualMoveTo(r, x, y, m1)
		r.roundtrip(91)
	}
	x := m1.Width - 4
	pointTo(x, 100)
	var p1, p2 crtcCursor
	waitFor(t, "cursor planes on both CRTCs", func() bool {
		p1, p2 = cursorPlaneOf(t, outs[0]), cursorPlaneOf(t, outs[1])
		return p1.fb != 0 && p1.x == x && p1.y == 100 && p2.fb != 0 && p2.x == x-m1.Width && p2.y == 100
	})
	t.Logf("pointer at %d,100 on %s: cursor plane of %s at %d,%d (fb %d), of %s at %d,%d (fb %d)",
		x, outs[0].Name(), outs[0].Name(), p1.x, p1.y, p1.fb, outs[1].Name(), p2.x, p2.y, p2.fb)
	pointTo(100, 100)
	waitFor(t, "the second output's cursor plane off", func() bool {
		p1, p2 = cursorPlaneOf(t, outs[0]), cursorPlaneOf(t, outs[1])
		return p1.fb != 0 && p1.x == 100 && p2.fb == 0
	})
}

// crtcCursor is the cursor plane on one output's CRTC.
type crtcCursor struct {
	fb   uint64
	x, y int
}

// cursorPlaneOf reads the cursor plane on o's CRTC (fb 0: none shown).
func cursorPlaneOf(t *testing.T, o backend.Output) crtcCursor {
	t.Helper()
	d := openDisplay(t, o)
	crtc := outputCRTC(t, d, o)
	var c crtcCursor
	for _, p := range planeProps(t, d) {
		if p.Values["type"] == drm.PlaneCursor && p.Values["CRTC_ID"] == crtc {
			c.fb = p.Values["FB_ID"]
			c.x, c.y = int(int64(p.Values["CRTC_X"])), int(int64(p.Values["CRTC_Y"]))
		}
	}
	return c
}
