package server

import (
	"testing"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// A virtual pointer's axis_source and axis_stop reach the focused client
// (wayvnc and other remote desktops scroll with fingers too): the source
// with the values of its frame, then the stop.
func TestVirtualPointerScrollStop(t *testing.T) {
	s, dir := start(t)
	r, watch := cursorClient(t, s, dir)
	makeVirtualPointer(r, s, 60)
	r.req(90, 1, func(e *wire.Encoder) { e.Uint(1); e.Uint(50); e.Uint(60); e.Uint(640); e.Uint(480) }) // motion_absolute
	r.req(90, 4, nil)                                                                                   // frame
	r.expect(watch, 61, 0)                                                                              // enter
	r.expect(watch, 61, 5)
	r.req(90, 5, func(e *wire.Encoder) { e.Uint(protocol.WlPointerAxisSourceFinger) })
	r.req(90, 3, func(e *wire.Encoder) { e.Uint(5); e.Uint(0); e.Fixed(wire.FixedFromFloat(3.5)) })
	r.req(90, 4, nil)
	if src := r.expect(watch, 61, 6); src.args[0] != protocol.WlPointerAxisSourceFinger {
		t.Errorf("axis_source %v, want finger", src.args)
	}
	if a := r.expect(watch, 61, 4); wire.Fixed(a.args[2]).Float() != 3.5 {
		t.Errorf("axis %v, want 3.5", a.args)
	}
	r.expect(watch, 61, 5)
	r.req(90, 5, func(e *wire.Encoder) { e.Uint(protocol.WlPointerAxisSourceFinger) })
	r.req(90, 6, func(e *wire.Encoder) { e.Uint(6); e.Uint(1) }) // axis_stop, horizontal
	r.req(90, 4, nil)
	if src := r.expect(watch, 61, 6); src.args[0] != protocol.WlPointerAxisSourceFinger {
		t.Errorf("axis_source %v, want finger", src.args)
	}
	if st := r.expect(watch, 61, 7); st.args[0] != 6 || st.args[1] != protocol.WlPointerAxisHorizontalScroll {
		t.Errorf("axis_stop %v, want time 6 on the horizontal axis", st.args)
	}
	r.expect(watch, 61, 5)
}
