package server

import (
	"image"
	"slices"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// seated is the seat's state for a seated backend (libinput on KMS):
// wl_touch, capabilities that follow the devices plugged in, key repeat.
type seated struct {
	// backendCaps are the backend's devices' (SeatChanged); virtCaps
	// those virtual devices added (they stay); the seat advertises both.
	backendCaps, virtCaps uint32

	touches map[*Client][]seatResource // wl_touch objects by client
	points  map[int32]*surface         // touch points down, by id, on the surface they went down on
	framed  []*Client                  // clients sent touch events since the last frame

	repeatRate, repeatDelay int32 // wl_keyboard.repeat_info
}

// setRepeat takes Options.RepeatRate and RepeatDelay (0: 25/s after 600
// ms; a negative rate: no repeat).
func (t *seated) setRepeat(rate, delay int) {
	t.repeatRate, t.repeatDelay = 25, 600
	if rate != 0 {
		t.repeatRate = int32(max(rate, 0))
	}
	if delay > 0 {
		t.repeatDelay = int32(delay)
	}
}

// getTouch is wl_seat.get_touch.
func (st *seat) getTouch(c *Client, id, version uint32) error {
	obj, err := register[protocol.WlTouchHandler](c, id, protocol.WlTouchInterface, version, inert{}, protocol.DispatchWlTouch)
	if err != nil {
		return err
	}
	t := &st.seated
	if t.touches == nil {
		t.touches = map[*Client][]seatResource{}
	}
	t.touches[c] = append(t.touches[c], seatResource{c: c, id: id, version: version})
	obj.onDestroy = func() {
		t.touches[c] = slices.DeleteFunc(t.touches[c], func(r seatResource) bool { return r.id == id })
		if len(t.touches[c]) == 0 {
			delete(t.touches, c)
			t.framed = slices.DeleteFunc(t.framed, func(x *Client) bool { return x == c })
		}
	}
	return nil
}

// touch routes a backend touch event to the wl_touch objects of the
// client whose surface the touch point went down on.
func (st *seat) touch(ev backend.Event) {
	t := &st.seated
	ms := uint32(ev.Time.Milliseconds())
	switch ev.Kind {
	case backend.TouchDown:
		ev.X, ev.Y = st.s.toLayout(st.s.outputOf(ev.Output), ev.X, ev.Y)
		f := st.s.surfaceAt(image.Pt(int(ev.X), int(ev.Y)))
		if f == nil {
			return
		}
		if t.points == nil {
			t.points = map[int32]*surface{}
		}
		t.points[ev.ID] = f
		st.focusToplevelOf(f) // a tap activates, as a click does
		o, _ := f.origin()
		serial := st.s.nextSerial()
		for _, r := range t.touches[f.c] {
			f.c.send(protocol.WlTouchDown(f.c.conn, r.id, serial, ms, f.id, ev.ID,
				wire.FixedFromFloat(ev.X-float64(o.X)), wire.FixedFromFloat(ev.Y-float64(o.Y))))
		}
		t.touched(f.c)
	case backend.TouchMotion:
		f := t.live(ev.ID)
		if f == nil {
			return
		}
		ev.X, ev.Y = st.s.toLayout(st.s.outputOf(ev.Output), ev.X, ev.Y)
		o, _ := f.origin()
		for _, r := range t.touches[f.c] {
			f.c.send(protocol.WlTouchMotion(f.c.conn, r.id, ms, ev.ID,
				wire.FixedFromFloat(ev.X-float64(o.X)), wire.FixedFromFloat(ev.Y-float64(o.Y))))
		}
		t.touched(f.c)
	case backend.TouchUp:
		f := t.live(ev.ID)
		delete(t.points, ev.ID)
		if f == nil {
			return
		}
		serial := st.s.nextSerial()
		for _, r := range t.touches[f.c] {
			f.c.send(protocol.WlTouchUp(f.c.conn, r.id, serial, ms, ev.ID))
		}
		t.touched(f.c)
	case backend.TouchFrame:
		for _, c := range t.framed {
			for _, r := range t.touches[c] {
				c.send(protocol.WlTouchFrame(c.conn, r.id))
			}
		}
		t.framed = t.framed[:0]
	case backend.TouchCancel:
		var sent []*Client
		for _, f := range t.points {
			if f.gone || !st.s.clients[f.c] || slices.Contains(sent, f.c) {
				continue
			}
			sent = append(sent, f.c)
			for _, r := range t.touches[f.c] {
				f.c.send(protocol.WlTouchCancel(f.c.conn, r.id))
			}
		}
		clear(t.points)
		t.framed = t.framed[:0]
	}
}

// live is the surface touch point id went down on, while it and its
// client exist.
func (t *seated) live(id int32) *surface {
	f := t.points[id]
	if f == nil || f.gone || !f.c.s.clients[f.c] {
		return nil
	}
	return f
}

func (t *seated) touched(c *Client) {
	if !slices.Contains(t.framed, c) {
		t.framed = append(t.framed, c)
	}
}

// setBackendCaps is SeatChanged: the backend's devices now give caps
// (backend.Cap* bits). Every wl_seat hears the new capabilities; the
// pointer's focus ends and the cursor hides when the last pointer goes,
// and the keyboard's focus is given out when a keyboard comes.
func (st *seat) setBackendCaps(bits uint32) {
	t := &st.seated
	var caps uint32
	if bits&backend.CapPointer != 0 {
		caps |= protocol.WlSeatCapabilityPointer
	}
	if bits&backend.CapKeyboard != 0 {
		caps |= protocol.WlSeatCapabilityKeyboard
	}
	if bits&backend.CapTouch != 0 {
		caps |= protocol.WlSeatCapabilityTouch
	}
	t.backendCaps = caps
	st.applyCaps(caps | t.virtCaps)
	// The backend's pointer devices are the cursor's: none, no cursor.
	st.cursor.setPresent(bits&backend.CapPointer != 0)
}

// applyCaps advertises caps to every wl_seat when they changed.
func (st *seat) applyCaps(caps uint32) {
	old := st.caps
	if caps == old {
		return
	}
	st.caps = caps
	for _, r := range st.seats {
		r.c.send(protocol.WlSeatCapabilities(r.c.conn, r.id, st.caps))
	}
	if old&^caps&protocol.WlSeatCapabilityPointer != 0 {
		st.setPointerFocus(nil)
	}
	if caps&^old&protocol.WlSeatCapabilityKeyboard != 0 {
		st.refocusKeyboard()
	}
}
