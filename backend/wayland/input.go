package wayland

import (
	"github.com/neurlang/wayland/wl"
	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
)

// inputState is the seat's devices and focus; event loop only.
type inputState struct {
	pointer  *wl.Pointer
	keyboard *wl.Keyboard
	ptrFocus *Output
	kbdFocus *Output
	// Axis events of one wl_pointer.frame (version 5), sent together.
	axisPending          bool
	axisX, axisY         float64
	discreteX, discreteY int32
	axisSource           uint32
	stopX, stopY         bool
}

// HandleSeatCapabilities gets or releases the pointer and keyboard. It
// runs on the goroutine that dispatches, so handlers are in place before
// the new objects' first events.
func (b listener) HandleSeatCapabilities(ev wl.SeatCapabilitiesEvent) {
	in := &b.input
	hasPtr := ev.Capabilities&wl.SeatCapabilityPointer != 0
	hasKbd := ev.Capabilities&wl.SeatCapabilityKeyboard != 0
	if hasPtr && in.pointer == nil {
		p, err := b.seat.GetPointer()
		if err != nil {
			b.log.Warn("wl_seat.get_pointer failed", "err", err)
		} else {
			in.pointer = p
			h := pointerListener(b)
			p.AddEnterHandler(h)
			p.AddLeaveHandler(h)
			p.AddMotionHandler(h)
			p.AddButtonHandler(h)
			p.AddAxisHandler(h)
			p.AddAxisDiscreteHandler(h)
			p.AddAxisSourceHandler(h)
			p.AddAxisStopHandler(h)
			p.AddFrameHandler(h)
		}
	} else if !hasPtr && in.pointer != nil {
		if b.seatVer >= 3 {
			in.pointer.Release()
		}
		in.pointer, in.ptrFocus = nil, nil
		b.cursorLeft(true)
	}
	if hasKbd && in.keyboard == nil {
		k, err := b.seat.GetKeyboard()
		if err != nil {
			b.log.Warn("wl_seat.get_keyboard failed", "err", err)
		} else {
			in.keyboard = k
			h := keyboardListener(b)
			k.AddKeymapHandler(h)
			k.AddEnterHandler(h)
			k.AddLeaveHandler(h)
			k.AddKeyHandler(h)
		}
	} else if !hasKbd && in.keyboard != nil {
		if b.seatVer >= 3 {
			in.keyboard.Release()
		}
		in.keyboard, in.kbdFocus = nil, nil
	}
	b.log.Debug("parent seat", "pointer", hasPtr, "keyboard", hasKbd)
}

// outputOf returns the output whose window is s, or nil.
func (b *Backend) outputOf(s *wl.Surface) *Output {
	for _, o := range b.outputs {
		if o.surface == s {
			return o
		}
	}
	return nil
}

// pointerListener turns wl_pointer events into backend events.
type pointerListener struct{ *Backend }

// HandlePointerEnter reports the pointer entering a window.
func (b pointerListener) HandlePointerEnter(ev wl.PointerEnterEvent) {
	o := b.outputOf(ev.Surface)
	b.input.ptrFocus = o
	if o == nil {
		return
	}
	// The output's cursor (hidden until the server sets one: cursor.go).
	if b.input.pointer != nil {
		b.cursorEntered(b.input.pointer, ev.Serial, o)
	}
	b.events.push(backend.Event{Kind: backend.PointerEnter, Output: o, Time: now(), X: float64(ev.SurfaceX), Y: float64(ev.SurfaceY)})
}

// HandlePointerLeave reports the pointer leaving a window.
func (b pointerListener) HandlePointerLeave(ev wl.PointerLeaveEvent) {
	o := b.input.ptrFocus
	b.input.ptrFocus = nil
	b.cursorLeft(false)
	if o != nil {
		b.events.push(backend.Event{Kind: backend.PointerLeave, Output: o, Time: now()})
	}
}

// HandlePointerMotion reports motion in window pixels.
func (b pointerListener) HandlePointerMotion(ev wl.PointerMotionEvent) {
	if o := b.input.ptrFocus; o != nil {
		b.events.push(backend.Event{Kind: backend.PointerMotion, Output: o, Time: now(), X: float64(ev.SurfaceX), Y: float64(ev.SurfaceY)})
	}
}

// HandlePointerButton reports a button (already a Linux BTN_* code).
func (b pointerListener) HandlePointerButton(ev wl.PointerButtonEvent) {
	if o := b.input.ptrFocus; o != nil {
		b.events.push(backend.Event{Kind: backend.PointerButton, Output: o, Time: now(), Button: ev.Button,
			Pressed: ev.State == wl.PointerButtonStatePressed})
	}
}

// HandlePointerAxis collects scrolling; it is sent at the frame event
// (version 5) or at once.
func (b pointerListener) HandlePointerAxis(ev wl.PointerAxisEvent) {
	in := &b.input
	switch ev.Axis {
	case wl.PointerAxisVerticalScroll:
		in.axisY += float64(ev.Value)
	case wl.PointerAxisHorizontalScroll:
		in.axisX += float64(ev.Value)
	}
	in.axisPending = true
	if b.seatVer < 5 {
		b.flushAxis()
	}
}

// HandlePointerAxisDiscrete collects wheel steps for the frame.
func (b pointerListener) HandlePointerAxisDiscrete(ev wl.PointerAxisDiscreteEvent) {
	in := &b.input
	switch ev.Axis {
	case wl.PointerAxisVerticalScroll:
		in.discreteY += ev.Discrete
	case wl.PointerAxisHorizontalScroll:
		in.discreteX += ev.Discrete
	}
}

// HandlePointerAxisSource notes the frame's scroll source (finger,
// continuous, wheel).
func (b pointerListener) HandlePointerAxisSource(ev wl.PointerAxisSourceEvent) {
	b.input.axisSource = ev.AxisSource
}

// HandlePointerAxisStop notes the end of a finger or continuous scroll
// on an axis, sent with the frame.
func (b pointerListener) HandlePointerAxisStop(ev wl.PointerAxisStopEvent) {
	in := &b.input
	switch ev.Axis {
	case wl.PointerAxisVerticalScroll:
		in.stopY = true
	case wl.PointerAxisHorizontalScroll:
		in.stopX = true
	}
	in.axisPending = true
}

// HandlePointerFrame ends a group of pointer events.
func (b pointerListener) HandlePointerFrame(wl.PointerFrameEvent) { b.flushAxis() }

func (b pointerListener) flushAxis() {
	in := &b.input
	if !in.axisPending {
		return
	}
	ev := backend.Event{Kind: backend.PointerAxis, Output: in.ptrFocus, Time: now(),
		AxisX: in.axisX, AxisY: in.axisY, DiscreteX: in.discreteX, DiscreteY: in.discreteY,
		AxisSource: in.axisSource, AxisStopX: in.stopX, AxisStopY: in.stopY}
	in.axisPending, in.axisX, in.axisY, in.discreteX, in.discreteY = false, 0, 0, 0, 0
	in.axisSource, in.stopX, in.stopY = 0, false, false
	if ev.Output != nil {
		b.events.push(ev)
	}
}

// keyboardListener turns wl_keyboard events into backend events.
type keyboardListener struct{ *Backend }

// HandleKeyboardKeymap notes the parent's keymap and closes it: minicomp
// sends its own keymap to its clients.
func (b keyboardListener) HandleKeyboardKeymap(ev wl.KeyboardKeymapEvent) {
	if ev.FdError != nil {
		b.log.Debug("parent keymap without fd", "err", ev.FdError)
		return
	}
	b.log.Debug("parent keymap ignored", "format", ev.Format, "size", ev.Size)
	unix.Close(int(ev.Fd))
}

// HandleKeyboardEnter reports focus with the keys already held.
func (b keyboardListener) HandleKeyboardEnter(ev wl.KeyboardEnterEvent) {
	o := b.outputOf(ev.Surface)
	b.input.kbdFocus = o
	if o == nil {
		return
	}
	keys := make([]uint32, len(ev.Keys))
	for i, k := range ev.Keys {
		keys[i] = uint32(k)
	}
	b.events.push(backend.Event{Kind: backend.KeyboardEnter, Output: o, Time: now(), Keys: keys})
}

// HandleKeyboardLeave reports lost focus.
func (b keyboardListener) HandleKeyboardLeave(ev wl.KeyboardLeaveEvent) {
	o := b.input.kbdFocus
	b.input.kbdFocus = nil
	if o != nil {
		b.events.push(backend.Event{Kind: backend.KeyboardLeave, Output: o, Time: now()})
	}
}

// HandleKeyboardKey reports a key (an evdev code).
func (b keyboardListener) HandleKeyboardKey(ev wl.KeyboardKeyEvent) {
	if o := b.input.kbdFocus; o != nil {
		b.events.push(backend.Event{Kind: backend.Key, Output: o, Time: now(), Key: ev.Key,
			Pressed: ev.State == wl.KeyboardKeyStatePressed})
	}
}
