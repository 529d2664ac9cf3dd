package wayland

import (
	"testing"

	"github.com/neurlang/wayland/wl"
	"github.com/neurlang/wayland/xdg"

	"github.com/minicomp/minicomp/backend"
)

func xdgConfigure(w, h int32) xdg.ToplevelConfigureEvent {
	return xdg.ToplevelConfigureEvent{Width: w, Height: h}
}

func xdgSurfaceConfigure(serial uint32) xdg.SurfaceConfigureEvent {
	return xdg.SurfaceConfigureEvent{Serial: serial}
}

func xdgClose() xdg.ToplevelCloseEvent { return xdg.ToplevelCloseEvent{} }

// TestInputEvents feeds wl_pointer and wl_keyboard events (neither test
// parent has input devices) through the listeners.
func TestInputEvents(t *testing.T) {
	s1, s2 := &wl.Surface{}, &wl.Surface{}
	b := &Backend{events: newEventQueue(64), seatVer: 5}
	defer b.events.stop()
	o1, o2 := &Output{b: b, name: "WL-1", surface: s1}, &Output{b: b, name: "WL-2", surface: s2}
	b.outputs = []*Output{o1, o2}
	p, k := pointerListener{b}, keyboardListener{b}

	p.HandlePointerEnter(wl.PointerEnterEvent{Surface: s2, SurfaceX: 10.5, SurfaceY: 20})
	p.HandlePointerMotion(wl.PointerMotionEvent{SurfaceX: 11, SurfaceY: 21.25})
	p.HandlePointerButton(wl.PointerButtonEvent{Button: 0x110, State: wl.PointerButtonStatePressed})
	p.HandlePointerButton(wl.PointerButtonEvent{Button: 0x110, State: wl.PointerButtonStateReleased})
	p.HandlePointerAxisDiscrete(wl.PointerAxisDiscreteEvent{Axis: wl.PointerAxisVerticalScroll, Discrete: 1})
	p.HandlePointerAxis(wl.PointerAxisEvent{Axis: wl.PointerAxisVerticalScroll, Value: 10})
	p.HandlePointerAxis(wl.PointerAxisEvent{Axis: wl.PointerAxisHorizontalScroll, Value: -5})
	p.HandlePointerFrame(wl.PointerFrameEvent{})
	p.HandlePointerAxisSource(wl.PointerAxisSourceEvent{AxisSource: wl.PointerAxisSourceFinger})
	p.HandlePointerAxis(wl.PointerAxisEvent{Axis: wl.PointerAxisVerticalScroll, Value: 2.5})
	p.HandlePointerFrame(wl.PointerFrameEvent{})
	p.HandlePointerAxisSource(wl.PointerAxisSourceEvent{AxisSource: wl.PointerAxisSourceFinger})
	p.HandlePointerAxisStop(wl.PointerAxisStopEvent{Axis: wl.PointerAxisVerticalScroll})
	p.HandlePointerFrame(wl.PointerFrameEvent{})
	p.HandlePointerLeave(wl.PointerLeaveEvent{Surface: s2})
	p.HandlePointerMotion(wl.PointerMotionEvent{SurfaceX: 1, SurfaceY: 1}) // no focus: dropped
	k.HandleKeyboardEnter(wl.KeyboardEnterEvent{Surface: s1, Keys: []int32{30, 42}})
	k.HandleKeyboardKey(wl.KeyboardKeyEvent{Key: 30, State: wl.KeyboardKeyStateReleased})
	k.HandleKeyboardKey(wl.KeyboardKeyEvent{Key: 31, State: wl.KeyboardKeyStatePressed})
	k.HandleKeyboardLeave(wl.KeyboardLeaveEvent{Surface: s1})

	want := []backend.Event{
		{Kind: backend.PointerEnter, Output: o2, X: 10.5, Y: 20},
		{Kind: backend.PointerMotion, Output: o2, X: 11, Y: 21.25},
		{Kind: backend.PointerButton, Output: o2, Button: 0x110, Pressed: true},
		{Kind: backend.PointerButton, Output: o2, Button: 0x110},
		{Kind: backend.PointerAxis, Output: o2, AxisY: 10, AxisX: -5, DiscreteY: 1},
		{Kind: backend.PointerAxis, Output: o2, AxisY: 2.5, AxisSource: 1},
		{Kind: backend.PointerAxis, Output: o2, AxisSource: 1, AxisStopY: true},
		{Kind: backend.PointerLeave, Output: o2},
		{Kind: backend.KeyboardEnter, Output: o1, Keys: []uint32{30, 42}},
		{Kind: backend.Key, Output: o1, Key: 30},
		{Kind: backend.Key, Output: o1, Key: 31, Pressed: true},
		{Kind: backend.KeyboardLeave, Output: o1},
	}
	for i, w := range want {
		got := <-b.Events()
		if got.Time == 0 {
			t.Errorf("event %d: no time", i)
		}
		got.Time = 0
		if got.Kind != w.Kind || got.Output != w.Output || got.X != w.X || got.Y != w.Y || got.Button != w.Button ||
			got.Pressed != w.Pressed || got.Key != w.Key || got.AxisX != w.AxisX || got.AxisY != w.AxisY ||
			got.DiscreteX != w.DiscreteX || got.DiscreteY != w.DiscreteY || len(got.Keys) != len(w.Keys) ||
			got.AxisSource != w.AxisSource || got.AxisStopX != w.AxisStopX || got.AxisStopY != w.AxisStopY {
			t.Errorf("event %d: got %+v, want %+v", i, got, w)
		}
		for j := range w.Keys {
			if got.Keys[j] != w.Keys[j] {
				t.Errorf("event %d keys %v, want %v", i, got.Keys, w.Keys)
			}
		}
	}
}

// TestEventQueue checks that events are delivered in order, that finish
// closes the channel after the queued events, and that stop never hangs
// with an unread channel.
func TestEventQueue(t *testing.T) {
	q := newEventQueue(2)
	go func() {
		for i := range 10 {
			q.push(backend.Event{Kind: backend.Key, Key: uint32(i)})
		}
		q.push(backend.Event{Kind: backend.EventLost})
		q.finish()
	}()
	for i := range 10 {
		if ev := <-q.out; ev.Key != uint32(i) {
			t.Fatalf("event %d: key %d", i, ev.Key)
		}
	}
	if ev := <-q.out; ev.Kind != backend.EventLost {
		t.Fatalf("got %v, want EventLost", ev.Kind)
	}
	if _, ok := <-q.out; ok {
		t.Fatal("not closed after finish")
	}
	q.stop()

	q = newEventQueue(2)
	q.push(backend.Event{Kind: backend.Key})
	q.push(backend.Event{Kind: backend.Key})
	done := make(chan struct{})
	go func() { q.push(backend.Event{Kind: backend.Key}); close(done) }() // blocks: full, unread
	q.stop()
	<-done
}
