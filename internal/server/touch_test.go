package server

import (
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// wl_touch and capabilities that follow the backend's devices: the seat
// gains touch and loses its pointer when the backend says so, touch
// points go to the surface they went down on with surface coordinates,
// frames close each set, a cancel voids them, and v120 wheel steps
// reach a v8 wl_pointer.
func TestSeatTouchAndCapabilities(t *testing.T) {
	events := make(chan backend.Event)
	s, dir, _ := startWith(t, events)
	out := s.outputs[0].o
	r := showSolid(t, s, dir, 100, 100, 0x00ff0000) // surface 6 at the origin
	const seatID, touchID, ptr = 60, 61, 62
	seatName := globalName(s, protocol.WlSeatInterface)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(seatName); e.String("wl_seat"); e.Uint(8); e.NewID(seatID) })
	watch := map[uint32]bool{seatID: true, touchID: true, ptr: true}
	r.expect(watch, seatID, 0) // the initial capabilities
	r.expect(watch, seatID, 1) // name

	events <- backend.Event{Kind: backend.SeatChanged, Caps: backend.CapKeyboard | backend.CapTouch}
	if c := r.expect(watch, seatID, 0); c.args[0] != protocol.WlSeatCapabilityKeyboard|protocol.WlSeatCapabilityTouch {
		t.Fatalf("capabilities %#x, want keyboard|touch", c.args[0])
	}
	r.req(seatID, 2, func(e *wire.Encoder) { e.NewID(touchID) })

	at := func(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
	events <- backend.Event{Kind: backend.TouchDown, Output: out, Time: at(5), ID: 3, X: 10.5, Y: 20.25}
	d := r.expect(watch, touchID, 0) // down: serial, time, surface, id, x, y
	if d.args[1] != 5 || d.args[2] != 6 || d.args[3] != 3 || wire.Fixed(d.args[4]).Float() != 10.5 || wire.Fixed(d.args[5]).Float() != 20.25 {
		t.Errorf("down %v", d.args)
	}
	events <- backend.Event{Kind: backend.TouchFrame, Time: at(5)}
	r.expect(watch, touchID, 3)
	// Motion outside the surface still goes to it (the point went down there).
	events <- backend.Event{Kind: backend.TouchMotion, Output: out, Time: at(6), ID: 3, X: 150, Y: 30}
	if m := r.expect(watch, touchID, 2); m.args[1] != 3 || wire.Fixed(m.args[2]).Float() != 150 {
		t.Errorf("motion %v", m.args)
	}
	events <- backend.Event{Kind: backend.TouchFrame, Time: at(6)}
	r.expect(watch, touchID, 3)
	events <- backend.Event{Kind: backend.TouchUp, Time: at(7), ID: 3}
	if u := r.expect(watch, touchID, 1); u.args[1] != 7 || u.args[2] != 3 {
		t.Errorf("up %v", u.args)
	}
	events <- backend.Event{Kind: backend.TouchFrame, Time: at(7)}
	r.expect(watch, touchID, 3)
	// A touch outside every surface goes nowhere; a frame after it is
	// sent to nobody.
	events <- backend.Event{Kind: backend.TouchDown, Output: out, Time: at(8), ID: 4, X: 500, Y: 500}
	events <- backend.Event{Kind: backend.TouchFrame, Time: at(8)}
	events <- backend.Event{Kind: backend.TouchDown, Output: out, Time: at(9), ID: 5, X: 1, Y: 1}
	if d := r.expect(watch, touchID, 0); d.args[3] != 5 {
		t.Errorf("down %v, want id 5", d.args)
	}
	events <- backend.Event{Kind: backend.TouchCancel, Time: at(10)}
	r.expect(watch, touchID, 4)

	// A pointer arrives: the v8 wl_pointer gets value120 steps (half a
	// detent here) and the source.
	events <- backend.Event{Kind: backend.SeatChanged, Caps: backend.CapKeyboard | backend.CapTouch | backend.CapPointer}
	if c := r.expect(watch, seatID, 0); c.args[0]&protocol.WlSeatCapabilityPointer == 0 {
		t.Fatalf("capabilities %#x, want a pointer", c.args[0])
	}
	r.req(seatID, 0, func(e *wire.Encoder) { e.NewID(ptr) })
	events <- backend.Event{Kind: backend.PointerMotion, Output: out, Time: at(11), X: 5, Y: 5}
	r.expect(watch, ptr, 0) // enter
	r.expect(watch, ptr, 5)
	events <- backend.Event{Kind: backend.PointerAxis, Output: out, Time: at(12), AxisY: 5, V120Y: 60}
	if src := r.expect(watch, ptr, 6); src.args[0] != protocol.WlPointerAxisSourceWheel {
		t.Errorf("axis source %v", src.args)
	}
	if v := r.expect(watch, ptr, 9); v.args[0] != protocol.WlPointerAxisVerticalScroll || int32(v.args[1]) != 60 {
		t.Errorf("axis_value120 %v, want 60", v.args)
	}
	r.expect(watch, ptr, 4)
	r.expect(watch, ptr, 5)
	// The pointer goes: capabilities without it, and a leave.
	events <- backend.Event{Kind: backend.SeatChanged, Caps: backend.CapKeyboard | backend.CapTouch}
	if c := r.expect(watch, seatID, 0); c.args[0]&protocol.WlSeatCapabilityPointer != 0 {
		t.Fatalf("capabilities %#x still with a pointer", c.args[0])
	}
	if l := r.expect(watch, ptr, 1); l.args[1] != 6 {
		t.Errorf("leave %v", l.args)
	}
}

func TestRepeatSettings(t *testing.T) {
	for _, tc := range []struct{ rate, delay, wantRate, wantDelay int }{
		{0, 0, 25, 600}, {40, 250, 40, 250}, {-1, 0, 0, 600},
	} {
		var st seated
		st.setRepeat(tc.rate, tc.delay)
		if int(st.repeatRate) != tc.wantRate || int(st.repeatDelay) != tc.wantDelay {
			t.Errorf("setRepeat(%d, %d): %d/%d, want %d/%d", tc.rate, tc.delay, st.repeatRate, st.repeatDelay, tc.wantRate, tc.wantDelay)
		}
	}
}
