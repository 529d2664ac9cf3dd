package server

import (
	"encoding/binary"
	"image"
	"slices"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/keymap"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// seat is wl_seat "seat0": the pointer and keyboard a backend delivers
// (a window's input when nested, evdev when seated), routed to clients'
// wl_pointer and wl_keyboard objects with the focus rules they rely on:
// pointer focus is the surface under the pointer; keyboard focus is the
// active (top-most) toplevel; every enter has a leave before the next.
type seat struct {
	s    *Server
	caps uint32 // wl_seat.capability bits; 0 without an input backend

	// defaultKeymap is the backend's keyboard's (nil without input);
	// current is the one clients were last sent (a virtual keyboard's
	// after its keys); virt is the virtual keyboard that typed last,
	// whose held keys and modifiers clients see (nil: the backend's).
	defaultKeymap, current *keymapBlob
	virt                   *virtualKeyboard
	kb                     keymap.Keyboard // the backend keyboard's keymap and state
	seats                  []seatResource  // every client's wl_seat objects

	pointerOutput *output
	pointerPos    image.Point // in the layout
	pointerFocus  *surface
	keyboardFocus *surface
	// unfocused: the backend said its window lost the keyboard
	// (KeyboardLeave) and has not got it back; no toplevel gets it
	// meanwhile. Backends without focus events never set it.
	unfocused bool
	keysArray []byte // scratch: held keys for wl_keyboard.enter
	seated    seated // wl_touch, device capabilities, key repeat (touch.go)
	cursor    *cursorState
}

// seatResource is one client's wl_seat, wl_pointer or wl_keyboard.
type seatResource struct {
	c       *Client
	id      uint32
	version uint32
}

func newSeat(s *Server, input bool, kb keymap.Keyboard) (*seat, error) {
	if kb == nil {
		kb = keymap.NewUS()
	}
	st := &seat{s: s, kb: kb}
	if input {
		st.caps = protocol.WlSeatCapabilityPointer | protocol.WlSeatCapabilityKeyboard
		f, size, err := keymap.File(kb.Text())
		if err != nil {
			return nil, err
		}
		st.defaultKeymap = &keymapBlob{f: f, size: size}
		st.current = st.defaultKeymap
	}
	return st, nil
}

func (st *seat) close() {
	st.cursor.close()
	if st.current != nil && st.current.orphan {
		st.current.close()
	}
	st.defaultKeymap.close()
}

func (s *Server) bindSeat(c *Client, id, version uint32) error {
	res := &seatObj{st: s.seat, c: c, version: version}
	obj, err := register[protocol.WlSeatHandler](c, id, protocol.WlSeatInterface, version, res, protocol.DispatchWlSeat)
	if err != nil {
		return err
	}
	st := s.seat
	st.seats = append(st.seats, seatResource{c: c, id: id, version: version})
	obj.onDestroy = func() {
		st.seats = slices.DeleteFunc(st.seats, func(r seatResource) bool { return r.c == c && r.id == id })
	}
	c.send(protocol.WlSeatCapabilities(c.conn, id, s.seat.caps))
	if version >= 2 {
		c.send(protocol.WlSeatName(c.conn, id, "seat0"))
	}
	return nil
}

type seatObj struct {
	st      *seat
	c       *Client
	version uint32
}

func (o *seatObj) GetPointer(id uint32) error {
	r := seatResource{c: o.c, id: id, version: o.version}
	obj, err := register[protocol.WlPointerHandler](o.c, id, protocol.WlPointerInterface, o.version, &pointerObj{st: o.st, c: o.c, id: id}, protocol.DispatchWlPointer)
	if err != nil {
		return err
	}
	o.c.pointers = append(o.c.pointers, r)
	obj.onDestroy = func() {
		o.c.pointers = slices.DeleteFunc(o.c.pointers, func(r seatResource) bool { return r.id == id })
	}
	if f := o.st.pointerFocus; f != nil && f.c == o.c {
		sx, sy := o.st.surfaceLocal(f)
		o.c.send(protocol.WlPointerEnter(o.c.conn, id, o.st.s.nextSerial(), f.id, sx, sy))
		if o.version >= 5 {
			o.c.send(protocol.WlPointerFrame(o.c.conn, id))
		}
	}
	return nil
}

func (o *seatObj) GetKeyboard(id uint32) error {
	r := seatResource{c: o.c, id: id, version: o.version}
	obj, err := register[protocol.WlKeyboardHandler](o.c, id, protocol.WlKeyboardInterface, o.version, inert{}, protocol.DispatchWlKeyboard)
	if err != nil {
		return err
	}
	o.c.keyboards = append(o.c.keyboards, r)
	obj.onDestroy = func() {
		o.c.keyboards = slices.DeleteFunc(o.c.keyboards, func(r seatResource) bool { return r.id == id })
	}
	st := o.st
	st.sendKeymap(r)
	if o.version >= 4 {
		o.c.send(protocol.WlKeyboardRepeatInfo(o.c.conn, id, st.seated.repeatRate, st.seated.repeatDelay))
	}
	if f := st.keyboardFocus; f != nil && f.c == o.c {
		st.enterKeyboard(r, f)
	}
	return nil
}

func (o *seatObj) GetTouch(id uint32) error { return o.st.getTouch(o.c, id, o.version) }
func (o *seatObj) Release() error           { return nil }

// input routes one backend event.
func (st *seat) input(ev backend.Event) {
	st.s.inputActivity()
	ms := uint32(ev.Time.Milliseconds())
	switch ev.Kind {
	case backend.PointerEnter, backend.PointerMotion:
		st.pointerOutput = st.s.outputOf(ev.Output)
		x, y := st.s.toLayout(st.pointerOutput, ev.X, ev.Y)
		st.pointerPos = image.Pt(int(x), int(y))
		st.pointerMoved(ms, wire.FixedFromFloat(x), wire.FixedFromFloat(y))
	case backend.PointerLeave:
		st.setPointerFocus(nil)
		st.cursor.left()
	case backend.PointerButton:
		f := st.pointerFocus
		if f == nil {
			return
		}
		if ev.Pressed {
			st.focusToplevelOf(f) // click to activate
		}
		state := uint32(protocol.WlPointerButtonStateReleased)
		if ev.Pressed {
			state = protocol.WlPointerButtonStatePressed
		}
		serial := st.s.nextSerial()
		for _, p := range f.c.pointers {
			f.c.send(protocol.WlPointerButton(f.c.conn, p.id, serial, ms, ev.Button, state))
			st.frame(p)
		}
	case backend.PointerAxis:
		f := st.pointerFocus
		if f == nil {
			return
		}
		if ev.AxisX == 0 && ev.AxisY == 0 && !ev.AxisStopX && !ev.AxisStopY {
			return
		}
		for _, p := range f.c.pointers {
			if p.version >= 5 {
				f.c.send(protocol.WlPointerAxisSource(f.c.conn, p.id, ev.AxisSource)) // 0: wheel
			}
			for _, a := range [2]struct {
				axis           uint32
				v              float64
				discrete, v120 int32
				stop           bool
			}{{protocol.WlPointerAxisVerticalScroll, ev.AxisY, ev.DiscreteY, ev.V120Y, ev.AxisStopY},
				{protocol.WlPointerAxisHorizontalScroll, ev.AxisX, ev.DiscreteX, ev.V120X, ev.AxisStopX}} {
				if a.stop && p.version >= 5 {
					f.c.send(protocol.WlPointerAxisStop(f.c.conn, p.id, ms, a.axis))
				}
				if a.v == 0 {
					continue
				}
				if a.v120 == 0 {
					a.v120 = a.discrete * 120
				}
				switch {
				case p.version >= 8 && a.v120 != 0:
					f.c.send(protocol.WlPointerAxisValue120(f.c.conn, p.id, a.axis, a.v120))
				case p.version >= 5 && a.discrete != 0:
					f.c.send(protocol.WlPointerAxisDiscrete(f.c.conn, p.id, a.axis, a.discrete))
				}
				f.c.send(protocol.WlPointerAxis(f.c.conn, p.id, ms, a.axis, wire.FixedFromFloat(a.v)))
			}
			st.frame(p)
		}
	case backend.TouchDown, backend.TouchUp, backend.TouchMotion, backend.TouchFrame, backend.TouchCancel:
		st.touch(ev)
	case backend.SeatChanged:
		st.setBackendCaps(ev.Caps)
	case backend.Key:
		f := st.keyboardFocus
		if st.virt != nil || st.current != st.defaultKeymap {
			// Back from a virtual keyboard: clients get this keyboard's
			// keymap and modifiers before its key, which they read with
			// them.
			st.virt = nil
			st.useKeymap(st.defaultKeymap)
			if f != nil {
				st.sendModifiers(f)
			}
		}
		changed := st.kb.Key(ev.Key, ev.Pressed)
		if f == nil {
			return
		}
		state := uint32(protocol.WlKeyboardKeyStateReleased)
		if ev.Pressed {
			state = protocol.WlKeyboardKeyStatePressed
		}
		serial := st.s.nextSerial()
		for _, k := range f.c.keyboards {
			f.c.send(protocol.WlKeyboardKey(f.c.conn, k.id, serial, ms, ev.Key, state))
		}
		if changed {
			st.sendModifiers(f)
		}
	case backend.KeyboardEnter:
		st.unfocused = false
		st.kb.Reset()
		for _, k := range ev.Keys {
			st.kb.Key(k, true)
		}
		st.refocusKeyboard()
	case backend.KeyboardLeave:
		st.unfocused = true
		st.kb.Reset()
		st.setKeyboardFocus(nil)
	}
}

func (st *seat) frame(p seatResource) {
	if p.version >= 5 {
		p.c.send(protocol.WlPointerFrame(p.c.conn, p.id))
	}
}

// pointerMoved re-picks the surface under the pointer: enter/leave when it
// changed, motion otherwise.
func (st *seat) pointerMoved(ms uint32, x, y wire.Fixed) {
	defer st.cursor.moved()
	f := st.s.surfaceAt(st.pointerPos)
	if f != st.pointerFocus {
		st.setPointerFocus(f)
		return
	}
	if f == nil {
		return
	}
	sx, sy := st.surfaceLocal(f)
	for _, p := range f.c.pointers {
		f.c.send(protocol.WlPointerMotion(f.c.conn, p.id, ms, sx, sy))
		st.frame(p)
	}
}

// surfaceLocal is the pointer position relative to f.
func (st *seat) surfaceLocal(f *surface) (wire.Fixed, wire.Fixed) {
	o, _ := f.origin()
	return wire.FixedFromFloat(float64(st.pointerPos.X - o.X)), wire.FixedFromFloat(float64(st.pointerPos.Y - o.Y))
}

func (st *seat) setPointerFocus(f *surface) {
	defer st.cursor.focusChanged(st.pointerFocus, f)
	if old := st.pointerFocus; old != nil && !old.gone && old.c.s.clients[old.c] {
		serial := st.s.nextSerial()
		for _, p := range old.c.pointers {
			old.c.send(protocol.WlPointerLeave(old.c.conn, p.id, serial, old.id))
			st.frame(p)
		}
	}
	st.pointerFocus = f
	if f == nil {
		return
	}
	sx, sy := st.surfaceLocal(f)
	serial := st.s.nextSerial()
	for _, p := range f.c.pointers {
		f.c.send(protocol.WlPointerEnter(f.c.conn, p.id, serial, f.id, sx, sy))
		st.frame(p)
	}
}

// focusToplevelOf gives keyboard focus to the window f belongs to, when
// the backend's window has focus.
func (st *seat) focusToplevelOf(f *surface) {
	if st.unfocused {
		return
	}
	for f.sub != nil && f.sub.parent != nil {
		f = f.sub.parent
	}
	for f.role != nil && f.role.parent != nil {
		f = f.role.parent.surface
	}
	if f.takesKeyboard(false) && f != st.keyboardFocus {
		st.setKeyboardFocus(f)
	}
}

// refocusKeyboard gives keyboard focus to the top-most toplevel (the
// active one in the kiosk layout) or exclusive layer surface above it,
// when the backend's window has focus.
func (st *seat) refocusKeyboard() {
	if st.caps == 0 || st.unfocused {
		return
	}
	var top *surface
	for _, sf := range st.s.surfaces {
		if sf.takesKeyboard(true) {
			top = sf
		}
	}
	if top != st.keyboardFocus {
		st.setKeyboardFocus(top)
	}
}

func (st *seat) setKeyboardFocus(f *surface) {
	if old := st.keyboardFocus; old != nil && !old.gone && old.c.s.clients[old.c] {
		serial := st.s.nextSerial()
		for _, k := range old.c.keyboards {
			old.c.send(protocol.WlKeyboardLeave(old.c.conn, k.id, serial, old.id))
		}
	}
	st.keyboardFocus = f
	if f == nil {
		return
	}
	st.s.offerSelection(f.c) // the selection comes just before the keyboard focus
	for _, k := range f.c.keyboards {
		st.enterKeyboard(k, f)
	}
}

func (st *seat) enterKeyboard(k seatResource, f *surface) {
	keys := st.keysArray[:0]
	held := st.kb.Held()
	if st.virt != nil {
		held = st.virt.held
	}
	for _, key := range held {
		keys = binary.NativeEndian.AppendUint32(keys, key)
	}
	st.keysArray = keys
	k.c.send(protocol.WlKeyboardEnter(k.c.conn, k.id, st.s.nextSerial(), f.id, keys))
	dep, latch, lock, group := st.modifiers()
	k.c.send(protocol.WlKeyboardModifiers(k.c.conn, k.id, st.s.nextSerial(), dep, latch, lock, group))
}

// modifiers is the modifier state clients see: the virtual keyboard's
// that typed last, or the backend keyboard's.
func (st *seat) modifiers() (depressed, latched, locked, group uint32) {
	if v := st.virt; v != nil {
		return v.depressed, v.latched, v.locked, v.grp
	}
	return st.kb.Mods()
}

func (st *seat) sendModifiers(f *surface) {
	serial := st.s.nextSerial()
	dep, latch, lock, group := st.modifiers()
	for _, k := range f.c.keyboards {
		f.c.send(protocol.WlKeyboardModifiers(f.c.conn, k.id, serial, dep, latch, lock, group))
	}
}

// sendKeymap sends the seat's current keymap to one wl_keyboard.
func (st *seat) sendKeymap(k seatResource) {
	if km := st.current; km != nil && km.f != nil {
		k.c.send(protocol.WlKeyboardKeymap(k.c.conn, k.id, protocol.WlKeyboardKeymapFormatXkbV1, int(km.f.Fd()), uint32(km.size)))
		return
	}
	k.c.send(protocol.WlKeyboardKeymap(k.c.conn, k.id, protocol.WlKeyboardKeymapFormatNoKeymap, int(st.s.devNull.Fd()), 0))
}

// useKeymap makes km the keymap clients interpret keys with, sending it
// to every wl_keyboard when it changes.
func (st *seat) useKeymap(km *keymapBlob) {
	old := st.current
	if km == old {
		return
	}
	st.current = km
	for c := range st.s.clients {
		for _, k := range c.keyboards {
			st.sendKeymap(k)
		}
	}
	if old != nil && old.orphan {
		old.close()
	}
}

// addCaps adds capabilities (a virtual device appeared) and tells every
// wl_seat; the keyboard's focus is given out once there is a keyboard.
// They stay when the device goes (a remote desktop reconnecting keeps
// clients' wl_pointer and wl_keyboard).
func (st *seat) addCaps(bits uint32) {
	st.seated.virtCaps |= bits
	if st.caps&bits == bits {
		return
	}
	st.caps |= bits
	for _, r := range st.seats {
		r.c.send(protocol.WlSeatCapabilities(r.c.conn, r.id, st.caps))
	}
	if bits&protocol.WlSeatCapabilityKeyboard != 0 {
		st.refocusKeyboard()
	}
}

// virtualKey sends a virtual keyboard's key to the focused client, after
// its keymap (and modifiers) when the last key came from another keyboard.
func (st *seat) virtualKey(k *virtualKeyboard, ms, key, state uint32) {
	st.s.inputActivity()
	switched := st.switchTo(k)
	f := st.keyboardFocus
	if f == nil {
		return
	}
	if switched {
		st.sendModifiers(f)
	}
	serial := st.s.nextSerial()
	for _, kb := range f.c.keyboards {
		f.c.send(protocol.WlKeyboardKey(f.c.conn, kb.id, serial, ms, key, state))
	}
}

func (st *seat) virtualModifiers(k *virtualKeyboard) {
	st.switchTo(k)
	if f := st.keyboardFocus; f != nil {
		st.sendModifiers(f)
	}
}

// switchTo makes k the keyboard clients hear from; it reports whether
// that changed.
func (st *seat) switchTo(k *virtualKeyboard) bool {
	if st.virt == k && st.current == k.km {
		return false
	}
	st.virt = k
	st.useKeymap(k.km)
	return true
}

// surfaceGone drops focus from a surface being unmapped or destroyed;
// the pointer re-picks what is under it, the keyboard the next toplevel.
func (st *seat) surfaceGone(sf *surface) {
	st.cursor.surfaceGone(sf)
	if f := st.pointerFocus; f != nil && f.within(sf) {
		st.setPointerFocus(nil)
	}
	if st.keyboardFocus == sf {
		st.setKeyboardFocus(nil)
		st.refocusKeyboard()
	}
}

// within reports whether f is root or one of its subsurfaces (at any depth).
func (f *surface) within(root *surface) bool {
	for f != nil {
		if f == root {
			return true
		}
		if f.sub == nil {
			return false
		}
		f = f.sub.parent
	}
	return false
}

// surfaceAt is the top-most surface (window or subsurface) at p in the
// layout.
func (s *Server) surfaceAt(p image.Point) *surface {
	for i := len(s.surfaces) - 1; i >= 0; i-- {
		if f := s.surfaces[i].hit(p, s.surfaces[i].role.pos); f != nil {
			return f
		}
	}
	return nil
}

// hit returns the top-most surface of sf's tree (sf at layout position
// at) containing p.
func (sf *surface) hit(p, at image.Point) *surface {
	if sf.content == nil {
		return nil
	}
	for i := len(sf.stack) - 1; i >= 0; i-- {
		x := sf.stack[i]
		if x != sf {
			if f := x.hit(p, at.Add(x.sub.pos)); f != nil {
				return f
			}
			continue
		}
		if p.In(image.Rectangle{Min: at, Max: at.Add(sf.size())}) {
			return sf
		}
	}
	return nil
}

// outputOf finds the server's output for a backend output.
func (s *Server) outputOf(o backend.Output) *output {
	for _, x := range s.outputs {
		if x.o == o {
			return x
		}
	}
	return nil
}
