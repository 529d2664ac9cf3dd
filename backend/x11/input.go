package x11

import (
	"image"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/minicomp/minicomp/backend"
)

// Linux input codes (linux/input-event-codes.h).
const (
	btnLeft   = 0x110
	btnRight  = 0x111
	btnMiddle = 0x112
	btnSide   = 0x113
	btnExtra  = 0x114
)

// axisStep is one wheel click in wl_pointer axis units.
const axisStep = 10

// repeatWindow is how long a KeyRelease is held back to see whether the
// KeyPress of X's auto-repeat follows it. The server writes both in one
// go, so the pair arrives together; a real release is delayed this much
// (25 ms: long enough that a loaded machine does not split the pair).
const repeatWindow = 25 * time.Millisecond

// buttonMasks are the pointer button bits of an X event's state.
const buttonMasks = xproto.KeyButMaskButton1 | xproto.KeyButMaskButton2 | xproto.KeyButMaskButton3 |
	xproto.KeyButMaskButton4 | xproto.KeyButMaskButton5

// rawEvent is an X event and when it was read (CLOCK_MONOTONIC).
type rawEvent struct {
	ev   xgb.Event
	xerr xgb.Error
	t    time.Duration
}

// eventLoop reads X events on one goroutine and translates them on
// another (so a held-back KeyRelease can time out), until the connection
// closes or Close is called. It closes the Events channel on the way
// out.
func (b *Backend) eventLoop() {
	defer close(b.loopDone)
	raw := make(chan rawEvent, 64)
	pumpDone := make(chan struct{})
	go func() {
		defer close(pumpDone)
		defer close(raw)
		for {
			ev, xerr := b.conn.WaitForEvent()
			if ev == nil && xerr == nil {
				return // connection closed, by us or by the server
			}
			select {
			case raw <- rawEvent{ev, xerr, monotonic()}:
			case <-b.done:
				return
			}
		}
	}()
	b.translate(raw)
	close(b.events)
	<-pumpDone
}

// emit delivers ev unless the backend is closing.
func (b *Backend) emit(ev backend.Event) bool {
	select {
	case b.events <- ev:
		return true
	case <-b.done:
		return false
	}
}

// translate turns raw X events into backend events, dropping the
// release/press pairs of X's auto-repeat (clients repeat keys themselves
// from wl_keyboard.repeat_info).
func (b *Backend) translate(raw <-chan rawEvent) {
	var held *rawEvent // a KeyRelease that may be half of an auto-repeat
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		var r rawEvent
		var ok bool
		if held != nil {
			timer.Reset(repeatWindow)
			select {
			case r, ok = <-raw:
				timer.Stop()
			case <-timer.C:
				if !b.handle(*held) {
					return
				}
				held = nil
				continue
			case <-b.done:
				return
			}
		} else {
			select {
			case r, ok = <-raw:
			case <-b.done:
				return
			}
		}
		if !ok {
			if held != nil && !b.handle(*held) {
				return
			}
			if !b.closing.Load() {
				err := b.markLost(nil)
				b.log.Error("x11: lost the X server; outputs are gone", "err", err)
				b.emit(backend.Event{Kind: backend.EventLost, Time: monotonic(), Err: err})
			}
			return
		}
		if held != nil {
			h := *held
			held = nil
			if p, isPress := r.ev.(xproto.KeyPressEvent); isPress && isRepeat(h.ev.(xproto.KeyReleaseEvent), p) {
				b.repeats.Add(1)
				continue
			}
			if !b.handle(h) {
				return
			}
		}
		if _, isRelease := r.ev.(xproto.KeyReleaseEvent); isRelease {
			held = &r
			continue
		}
		if !b.handle(r) {
			return
		}
	}
}

// isRepeat reports whether release and press are X's auto-repeat: the
// same key, window and server time, back to back.
func isRepeat(release xproto.KeyReleaseEvent, press xproto.KeyPressEvent) bool {
	return release.Detail == press.Detail && release.Time == press.Time && release.Event == press.Event
}

// handle translates one X event; it returns false when the backend is
// closing.
func (b *Backend) handle(r rawEvent) bool {
	if r.xerr != nil {
		b.log.Warn("x11: X error", "err", r.xerr)
		return true
	}
	ev := backend.Event{Time: r.t}
	switch e := r.ev.(type) {
	case xproto.ExposeEvent:
		if o := b.byWin[e.Window]; o != nil {
			o.expose(image.Rect(int(e.X), int(e.Y), int(e.X)+int(e.Width), int(e.Y)+int(e.Height)))
		}
		return true
	case xproto.ConfigureNotifyEvent:
		o := b.byWin[e.Window]
		if o == nil || e.Window != e.Event {
			return true
		}
		w, h := int(e.Width), int(e.Height)
		o.mu.Lock()
		changed := w != o.mode.Width || h != o.mode.Height
		if changed {
			o.setMode(w, h)
		}
		o.mu.Unlock()
		if !changed {
			return true
		}
		ev.Kind, ev.Output, ev.Width, ev.Height = backend.OutputResized, o, w, h
	case xproto.ClientMessageEvent:
		o := b.byWin[e.Window]
		if o == nil || e.Type != b.atomProtocols || e.Format != 32 || len(e.Data.Data32) == 0 ||
			xproto.Atom(e.Data.Data32[0]) != b.atomDelete {
			return true
		}
		ev.Kind, ev.Output = backend.OutputClosed, o
	case xproto.EnterNotifyEvent:
		o := b.byWin[e.Event]
		// Crossings while a button is held belong to an implicit grab:
		// the client under the pointer keeps it until release.
		if o == nil || o.inside || e.State&buttonMasks != 0 {
			return true
		}
		o.inside = true
		ev.Kind, ev.Output, ev.X, ev.Y = backend.PointerEnter, o, float64(e.EventX), float64(e.EventY)
	case xproto.LeaveNotifyEvent:
		o := b.byWin[e.Event]
		if o == nil || !o.inside || e.State&buttonMasks != 0 {
			return true
		}
		o.inside = false
		ev.Kind, ev.Output = backend.PointerLeave, o
	case xproto.MotionNotifyEvent:
		o := b.byWin[e.Event]
		if o == nil {
			return true
		}
		x, y := int(e.EventX), int(e.EventY)
		if !o.inside && o.contains(x, y) {
			o.inside = true
			if !b.emit(backend.Event{Kind: backend.PointerEnter, Output: o, Time: r.t, X: float64(x), Y: float64(y)}) {
				return false
			}
		}
		ev.Kind, ev.Output, ev.X, ev.Y = backend.PointerMotion, o, float64(x), float64(y)
	case xproto.ButtonPressEvent:
		return b.button(r.t, b.byWin[e.Event], e.Detail, true, e.EventX, e.EventY, e.State)
	case xproto.ButtonReleaseEvent:
		return b.button(r.t, b.byWin[e.Event], e.Detail, false, e.EventX, e.EventY, e.State)
	case xproto.KeyPressEvent:
		return b.key(r.t, b.byWin[e.Event], e.Detail, true)
	case xproto.KeyReleaseEvent:
		return b.key(r.t, b.byWin[e.Event], e.Detail, false)
	case xproto.FocusInEvent:
		o := b.byWin[e.Event]
		if o == nil || o.focused || e.Mode == xproto.NotifyModeWhileGrabbed {
			return true
		}
		return b.focusIn(r.t, o, 0)
	case xproto.FocusOutEvent:
		o := b.byWin[e.Event]
		if o == nil || !o.focused || e.Mode == xproto.NotifyModeWhileGrabbed || e.Mode == xproto.NotifyModeUngrab {
			return true
		}
		o.focused = false
		ev.Kind, ev.Output = backend.KeyboardLeave, o
	default:
		return true
	}
	return b.emit(ev)
}

// contains reports whether x, y is inside the window. It does not take
// o.mu, which Present holds while it uploads.
func (o *Output) contains(x, y int) bool {
	s := o.size.Load()
	return x >= 0 && y >= 0 && x < int(s>>32) && y < int(s&0xffffffff)
}

// button translates a press or release of X button n.
func (b *Backend) button(t time.Duration, o *Output, n xproto.Button, pressed bool, x, y int16, state uint16) bool {
	if o == nil {
		return true
	}
	ev := backend.Event{Output: o, Time: t, X: float64(x), Y: float64(y), Pressed: pressed}
	switch n {
	case 1:
		ev.Button = btnLeft
	case 2:
		ev.Button = btnMiddle
	case 3:
		ev.Button = btnRight
	case 8:
		ev.Button = btnSide
	case 9:
		ev.Button = btnExtra
	case 4, 5, 6, 7:
		if !pressed {
			return true // a wheel click is a press and release; scroll once
		}
		ev.Kind = backend.PointerAxis
		switch n {
		case 4:
			ev.AxisY, ev.DiscreteY = -axisStep, -1
		case 5:
			ev.AxisY, ev.DiscreteY = axisStep, 1
		case 6:
			ev.AxisX, ev.DiscreteX = -axisStep, -1
		case 7:
			ev.AxisX, ev.DiscreteX = axisStep, 1
		}
		return b.emit(ev)
	default:
		b.log.Debug("x11: ignoring pointer button", "button", n)
		return true
	}
	ev.Kind = backend.PointerButton
	if !b.emit(ev) {
		return false
	}
	// Releasing the last button outside the window ends the implicit
	// grab; X's LeaveNotify for that still carries the button in its
	// state, so the leave is sent here.
	if !pressed && o.inside && !o.contains(int(x), int(y)) && state&buttonMasks&^(xproto.KeyButMaskButton1<<(n-1)) == 0 {
		o.inside = false
		return b.emit(backend.Event{Kind: backend.PointerLeave, Output: o, Time: t})
	}
	return true
}

// key translates X keycode kc (evdev code + 8).
func (b *Backend) key(t time.Duration, o *Output, kc xproto.Keycode, pressed bool) bool {
	if o == nil || kc < 8 {
		return true
	}
	if !o.focused {
		// Focus that follows the pointer (PointerRoot) delivers keys
		// without a FocusIn: the window has the keyboard now.
		if !b.focusIn(t, o, kc) {
			return false
		}
	}
	return b.emit(backend.Event{Kind: backend.Key, Output: o, Time: t, Key: uint32(kc) - 8, Pressed: pressed})
}

// focusIn sends KeyboardEnter with the keys already held (except
// skip, a key whose own event follows).
func (b *Backend) focusIn(t time.Duration, o *Output, skip xproto.Keycode) bool {
	o.focused = true
	var keys []uint32
	if r, err := xproto.QueryKeymap(b.conn).Reply(); err == nil {
		for kc := 8; kc < 256 && kc/8 < len(r.Keys); kc++ {
			if r.Keys[kc/8]&(1<<(kc%8)) != 0 && xproto.Keycode(kc) != skip {
				keys = append(keys, uint32(kc-8))
			}
		}
	} else {
		b.log.Debug("x11: query keymap", "err", err)
	}
	return b.emit(backend.Event{Kind: backend.KeyboardEnter, Output: o, Time: t, Keys: keys})
}
