package kms

import (
	"context"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/libinput"
	"github.com/minicomp/minicomp/scanout"
)

// nextEvent returns the next event the input source sent (failing after
// a second without one).
func nextEvent(t *testing.T, events chan backend.Event) backend.Event {
	t.Helper()
	select {
	case e := <-events:
		return e
	case <-time.After(time.Second):
		t.Fatal("no event")
	}
	return backend.Event{}
}

// On an 800×600 panel mounted turned by 90 degrees (picture 600×800),
// relative motion is clamped to the picture, and absolute pointer and
// touch positions (the panel's) land on the picture point the panel
// shows there: ToLogical.
func TestInputTurned(t *testing.T) {
	for _, c := range []struct {
		tr               backend.Transform
		w, h             float64 // the picture
		absX, absY       float64 // absolute (0.5, 0.25) = panel (400, 150)
		touchX, touchY   float64 // touch (0.25, 0.5) = panel (200, 300)
		cornerX, cornerY float64 // relative motion far to the bottom right
	}{
		{backend.TransformNormal, 800, 600, 400, 150, 200, 300, 800, 600},
		{backend.Transform90, 600, 800, 450, 400, 300, 200, 600, 800},
		{backend.Transform180, 800, 600, 400, 450, 600, 300, 800, 600},
		{backend.Transform270, 600, 800, 150, 400, 300, 600, 600, 800},
		{backend.TransformFlipped90, 600, 800, 150, 400, 300, 200, 600, 800},
	} {
		o := &Output{b: &Backend{opts: Options{Transform: c.tr}}, mounted: c.tr, info: backend.Info{Mode: scanout.Mode{Width: 800, Height: 600}}}
		in := &inputSource{ctx: context.Background(), outputs: func() []*Output { return []*Output{o} }, events: make(chan backend.Event, 16),
			touches: map[int32]bool{}}
		get := func() backend.Event { t.Helper(); return nextEvent(t, in.events) }
		if w, h := layout(in.outputs()); w != c.w || h != c.h {
			t.Errorf("%v: layout %vx%v, want %vx%v", c.tr, w, h, c.w, c.h)
		}
		in.handle(&libinput.Event{Type: libinput.PointerMotion, DX: 5000, DY: 5000})
		if e := get(); e.X != c.cornerX-1.0/256 || e.Y != c.cornerY-1.0/256 {
			t.Errorf("%v: relative motion clamped to (%v, %v), want the picture's corner (%v, %v)", c.tr, e.X, e.Y, c.cornerX, c.cornerY)
		}
		in.handle(&libinput.Event{Type: libinput.PointerMotionAbsolute, X: 0.5, Y: 0.25})
		if e := get(); e.X != c.absX || e.Y != c.absY {
			t.Errorf("%v: absolute (0.5, 0.25) to (%v, %v), want (%v, %v)", c.tr, e.X, e.Y, c.absX, c.absY)
		}
		in.handle(&libinput.Event{Type: libinput.TouchDown, Slot: 1, X: 0.25, Y: 0.5})
		if e := get(); e.Kind != backend.TouchDown || e.X != c.touchX || e.Y != c.touchY {
			t.Errorf("%v: touch (0.25, 0.5) to (%v, %v), want (%v, %v)", c.tr, e.X, e.Y, c.touchX, c.touchY)
		}
	}
}
