package kms

import (
	"context"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/libinput"
	"github.com/minicomp/minicomp/scanout"
)

// The translation from libinput's events: relative motion clamped to the
// output, absolute motion and touch scaled to it, wheel detents in
// wl_pointer units and 120ths, capabilities from the devices present.
func TestInputTranslation(t *testing.T) {
	o := &Output{b: &Backend{}, info: backend.Info{Mode: scanout.Mode{Width: 800, Height: 600}}}
	var devs []*libinput.Device
	in := &inputSource{ctx: context.Background(), outputs: func() []*Output { return []*Output{o} }, events: make(chan backend.Event, 16), devices: func() []*libinput.Device { return devs },
		touches: map[int32]bool{}, x: 400, y: 300}
	get := func() backend.Event { t.Helper(); return nextEvent(t, in.events) }
	in.handle(&libinput.Event{Type: libinput.PointerMotion, DX: 10, DY: -5})
	if e := get(); e.Kind != backend.PointerMotion || e.Output != o || e.X != 410 || e.Y != 295 {
		t.Errorf("motion %+v", e)
	}
	in.handle(&libinput.Event{Type: libinput.PointerMotion, DX: -5000, DY: 5000})
	if e := get(); e.X != 0 || e.Y != 600-1.0/256 {
		t.Errorf("clamped to (%v, %v), want (0, %v)", e.X, e.Y, 600-1.0/256)
	}
	in.handle(&libinput.Event{Type: libinput.PointerMotionAbsolute, X: 0.5, Y: 0.25})
	if e := get(); e.X != 400 || e.Y != 150 {
		t.Errorf("absolute to (%v, %v), want (400, 150)", e.X, e.Y)
	}
	in.handle(&libinput.Event{Type: libinput.PointerScrollWheel, HasAxis: [2]bool{true, false}, V120: [2]float64{-120, 0}, Scroll: [2]float64{-15, 0}})
	if e := get(); e.Kind != backend.PointerAxis || e.AxisY != -10 || e.DiscreteY != -1 || e.V120Y != -120 || e.AxisSource != 0 {
		t.Errorf("wheel %+v", e)
	}
	in.handle(&libinput.Event{Type: libinput.PointerScrollFinger, HasAxis: [2]bool{true, false}, Scroll: [2]float64{7.5, 0}})
	if e := get(); e.AxisY != 7.5 || e.AxisSource != 1 || e.DiscreteY != 0 || e.AxisStopY || e.AxisStopX {
		t.Errorf("finger scroll %+v", e)
	}
	// libinput's end of a scroll: zero on the axes that scrolled.
	in.handle(&libinput.Event{Type: libinput.PointerScrollFinger, HasAxis: [2]bool{true, false}})
	if e := get(); e.Kind != backend.PointerAxis || !e.AxisStopY || e.AxisStopX || e.AxisSource != 1 {
		t.Errorf("finger scroll stop %+v, want a vertical stop", e)
	}
	in.handle(&libinput.Event{Type: libinput.PointerScrollContinuous, HasAxis: [2]bool{false, true}})
	if e := get(); !e.AxisStopX || e.AxisStopY || e.AxisSource != 2 {
		t.Errorf("continuous scroll stop %+v, want a horizontal stop", e)
	}
	in.handle(&libinput.Event{Type: libinput.TouchDown, Slot: 2, X: 0.25, Y: 0.5})
	if e := get(); e.Kind != backend.TouchDown || e.ID != 2 || e.X != 200 || e.Y != 300 || e.Output != o {
		t.Errorf("touch %+v", e)
	}
	devs = []*libinput.Device{{Caps: libinput.CapTouch}, {Caps: libinput.CapKeyboard | libinput.CapPointer}}
	in.handle(&libinput.Event{Type: libinput.DeviceAdded, Device: devs[1]})
	if e := get(); e.Kind != backend.SeatChanged || e.Caps != backend.CapTouch|backend.CapKeyboard|backend.CapPointer {
		t.Errorf("caps %+v", e)
	}
	// The touchscreen goes with a finger down: the touch is cancelled.
	gone := devs[0]
	devs = devs[1:]
	in.handle(&libinput.Event{Type: libinput.DeviceRemoved, Device: gone})
	if e := get(); e.Kind != backend.TouchCancel {
		t.Errorf("%+v, want a touch cancel", e)
	}
	if e := get(); e.Kind != backend.SeatChanged || e.Caps != backend.CapKeyboard|backend.CapPointer {
		t.Errorf("caps %+v", e)
	}
}

// Settings are checked before libinput is loaded.
func TestInputOptionsRefused(t *testing.T) {
	bad := 2.0
	for _, o := range []InputOptions{{AccelProfile: "fast"}, {AccelSpeed: &bad}} {
		if _, err := newInput(o, nil, nil, nil); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
