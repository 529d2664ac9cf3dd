package server

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/keymap"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/internal/xkb"
)

// Virtual input (remote desktops such as wayvnc, and wtype): a client
// drives seat0's pointer (zwlr_virtual_pointer_v1) and keyboard
// (zwp_virtual_keyboard_v1) as if it were a device. Their events take the
// same path as a backend's input (focus, enter/leave, frames). A virtual
// keyboard brings its own keymap: clients are sent it before its keys,
// and the seat's keymap again before the next key of another keyboard
// (as wlroots does when a seat's keyboard changes).

// maxKeymapSize bounds a virtual keyboard's keymap (a full XKB keymap
// is ~60 KiB).
const maxKeymapSize = 1 << 20

// keymapBlob is a keymap clients are sent: a sealed memfd and its size.
type keymapBlob struct {
	f    *os.File
	size int
	// orphan: its keyboard is gone but clients still have it as the
	// seat's keymap (no default keymap to go back to): closed when the
	// seat's keymap changes.
	orphan bool
}

func (k *keymapBlob) close() {
	if k != nil && k.f != nil {
		k.f.Close()
		k.f = nil
	}
}

func (s *Server) bindVirtualPointerManager(c *Client, id, version uint32) error {
	_, err := register[protocol.ZwlrVirtualPointerManagerV1Handler](c, id, protocol.ZwlrVirtualPointerManagerV1Interface, version,
		&virtualPointerManager{c: c, id: id, version: version}, protocol.DispatchZwlrVirtualPointerManagerV1)
	return err
}

type virtualPointerManager struct {
	c       *Client
	id      uint32
	version uint32
}

func (m *virtualPointerManager) Destroy() error { return nil }

func (m *virtualPointerManager) CreateVirtualPointer(seat, id uint32) error {
	return m.CreateVirtualPointerWithOutput(seat, 0, id)
}

func (m *virtualPointerManager) CreateVirtualPointerWithOutput(seatID, outputID, id uint32) error {
	p := &virtualPointer{c: m.c, id: id}
	if seatID != 0 {
		if _, err := m.c.lookup(m.id, seatID, protocol.WlSeatInterface); err != nil {
			return err
		}
	}
	if outputID != 0 {
		o, err := m.c.lookup(m.id, outputID, protocol.WlOutputInterface)
		if err != nil {
			return err
		}
		p.out = o.handler.(*outputResource).o
	}
	if _, err := register[protocol.ZwlrVirtualPointerV1Handler](m.c, id, protocol.ZwlrVirtualPointerV1Interface, m.version, p, protocol.DispatchZwlrVirtualPointerV1); err != nil {
		return err
	}
	m.c.s.seat.addCaps(protocol.WlSeatCapabilityPointer)
	return nil
}

// virtualPointer is one zwlr_virtual_pointer_v1: absolute motion maps
// the extent onto its output (the first output without one).
type virtualPointer struct {
	c      *Client
	id     uint32
	out    *output
	source uint32 // axis_source of the frame being built (wheel until set)
}

func (p *virtualPointer) output() *output {
	if p.out != nil {
		return p.out
	}
	if outs := p.c.s.outputs; len(outs) > 0 {
		return outs[0]
	}
	return nil
}

func (p *virtualPointer) moveTo(ms uint32, x, y float64) {
	o := p.output()
	if o == nil {
		return
	}
	b := o.bounds
	x = min(max(x, float64(b.Min.X)), float64(b.Max.X-1))
	y = min(max(y, float64(b.Min.Y)), float64(b.Max.Y-1))
	p.c.s.seat.input(backend.Event{Kind: backend.PointerMotion, Output: o.o, X: x, Y: y, Time: msDuration(ms)})
}

func (p *virtualPointer) Motion(ms uint32, dx, dy wire.Fixed) error {
	st := p.c.s.seat
	o := p.output()
	if o == nil {
		return nil
	}
	at := st.pointerPos.Sub(o.origin()) // kept on the virtual pointer's output
	p.moveTo(ms, float64(at.X)+dx.Float(), float64(at.Y)+dy.Float())
	return nil
}

func (p *virtualPointer) MotionAbsolute(ms uint32, x, y, xExtent, yExtent uint32) error {
	o := p.output()
	if o == nil || xExtent == 0 || yExtent == 0 {
		return nil // nowhere to map it (wlroots ignores a zero extent too)
	}
	fx := float64(x) / float64(xExtent) * float64(o.bounds.Dx())
	fy := float64(y) / float64(yExtent) * float64(o.bounds.Dy())
	p.moveTo(ms, fx, fy)
	return nil
}

func (p *virtualPointer) Button(ms, button, state uint32) error {
	if state > protocol.WlPointerButtonStatePressed {
		return errorf(p.id, protocol.WlDisplayErrorInvalidMethod, "button state %d is not a wl_pointer.button_state", state)
	}
	p.c.s.seat.input(backend.Event{Kind: backend.PointerButton, Button: button, Pressed: state == protocol.WlPointerButtonStatePressed, Time: msDuration(ms)})
	return nil
}

func (p *virtualPointer) axis(ms, axis uint32, v wire.Fixed, discrete int32) error {
	ev := backend.Event{Kind: backend.PointerAxis, Time: msDuration(ms), AxisSource: p.source}
	switch axis {
	case protocol.WlPointerAxisVerticalScroll:
		ev.AxisY, ev.DiscreteY = v.Float(), discrete
	case protocol.WlPointerAxisHorizontalScroll:
		ev.AxisX, ev.DiscreteX = v.Float(), discrete
	default:
		return errorf(p.id, protocol.ZwlrVirtualPointerV1ErrorInvalidAxis, "axis %d", axis)
	}
	p.c.s.seat.input(ev)
	return nil
}

func (p *virtualPointer) Axis(ms, axis uint32, v wire.Fixed) error { return p.axis(ms, axis, v, 0) }

func (p *virtualPointer) AxisDiscrete(ms, axis uint32, v wire.Fixed, discrete int32) error {
	return p.axis(ms, axis, v, discrete)
}

func (p *virtualPointer) AxisStop(ms, axis uint32) error {
	if axis > protocol.WlPointerAxisHorizontalScroll {
		return errorf(p.id, protocol.ZwlrVirtualPointerV1ErrorInvalidAxis, "axis %d", axis)
	}
	ev := backend.Event{Kind: backend.PointerAxis, Time: msDuration(ms), AxisSource: p.source}
	if axis == protocol.WlPointerAxisVerticalScroll {
		ev.AxisStopY = true
	} else {
		ev.AxisStopX = true
	}
	p.c.s.seat.input(ev)
	return nil
}

func (p *virtualPointer) AxisSource(src uint32) error {
	if src > protocol.WlPointerAxisSourceWheelTilt {
		return errorf(p.id, protocol.ZwlrVirtualPointerV1ErrorInvalidAxisSource, "axis source %d", src)
	}
	p.source = src
	return nil
}

// Frame: every event above is sent to clients with its own frame; the
// axis source lasts until the frame.
func (p *virtualPointer) Frame() error {
	p.source = 0
	return nil
}

func (p *virtualPointer) Destroy() error { return nil }

func msDuration(ms uint32) time.Duration { return time.Duration(ms) * time.Millisecond }

func (s *Server) bindVirtualKeyboardManager(c *Client, id, version uint32) error {
	_, err := register[protocol.ZwpVirtualKeyboardManagerV1Handler](c, id, protocol.ZwpVirtualKeyboardManagerV1Interface, version,
		&virtualKeyboardManager{c: c, id: id}, protocol.DispatchZwpVirtualKeyboardManagerV1)
	return err
}

type virtualKeyboardManager struct {
	c  *Client
	id uint32
}

func (m *virtualKeyboardManager) CreateVirtualKeyboard(seatID, id uint32) error {
	if _, err := m.c.lookup(m.id, seatID, protocol.WlSeatInterface); err != nil {
		return err
	}
	k := &virtualKeyboard{c: m.c, id: id}
	o, err := register[protocol.ZwpVirtualKeyboardV1Handler](m.c, id, protocol.ZwpVirtualKeyboardV1Interface, 1, k, protocol.DispatchZwpVirtualKeyboardV1)
	if err != nil {
		return err
	}
	o.onDestroy = k.destroyed
	m.c.s.seat.addCaps(protocol.WlSeatCapabilityKeyboard)
	return nil
}

// virtualKeyboard is one zwp_virtual_keyboard_v1: its keymap, held keys
// and modifiers.
type virtualKeyboard struct {
	c                               *Client
	id                              uint32
	km                              *keymapBlob
	held                            []uint32
	depressed, latched, locked, grp uint32
}

// Keymap copies the client's keymap into a sealed memfd of the
// compositor's: clients are never handed an fd another client can still
// write or shrink. The fd must be a regular file (or memfd) at least size
// bytes long; it is read with pread, so a short file is an error, not a
// SIGBUS.
func (k *virtualKeyboard) Keymap(format uint32, fd int, size uint32) error {
	defer unix.Close(fd)
	km, err := readKeymap(format, fd, size)
	if err != nil {
		return errorf(k.id, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap, "keymap: %v", err)
	}
	old := k.km
	k.km = km
	st := k.c.s.seat
	if st.current == old && old != nil {
		st.useKeymap(km) // this keyboard's keymap is the one clients have: they get the new one now
	}
	old.close()
	return nil
}

func readKeymap(format uint32, fd int, size uint32) (*keymapBlob, error) {
	if format != protocol.WlKeyboardKeymapFormatXkbV1 {
		return nil, fmt.Errorf("format %d is not xkb_v1", format)
	}
	if size == 0 || size > maxKeymapSize {
		return nil, fmt.Errorf("size %d not in 1..%d", size, maxKeymapSize)
	}
	var stat unix.Stat_t
	if err := unix.Fstat(fd, &stat); err != nil {
		return nil, fmt.Errorf("fstat: %w", err)
	}
	if stat.Mode&unix.S_IFMT != unix.S_IFREG {
		return nil, fmt.Errorf("fd is not a regular file or memfd (mode %#o)", stat.Mode)
	}
	if stat.Size < int64(size) {
		return nil, fmt.Errorf("file of %d bytes is shorter than size %d", stat.Size, size)
	}
	buf := make([]byte, size)
	n, err := unix.Pread(fd, buf, 0)
	if err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if n != int(size) {
		return nil, fmt.Errorf("read %d of %d bytes", n, size)
	}
	text := string(buf)
	if i := strings.IndexByte(text, 0); i >= 0 {
		text = text[:i]
	}
	// A keymap that does not compile would be passed on to every client
	// that gets this keyboard's keys: refuse it here. Without libxkbcommon
	// it cannot be checked, and is passed on as it is.
	if k, err := xkb.NewKeymapFromString(text); err == nil {
		k.Close()
	} else if !errors.Is(err, xkb.ErrNoXKB) {
		return nil, err
	}
	f, n2, err := keymap.File(text)
	if err != nil {
		return nil, err
	}
	return &keymapBlob{f: f, size: n2}, nil
}

func (k *virtualKeyboard) Key(ms, key, state uint32) error {
	if k.km == nil {
		return errorf(k.id, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap, "key before keymap")
	}
	if state > protocol.WlKeyboardKeyStatePressed {
		return errorf(k.id, protocol.WlDisplayErrorInvalidMethod, "key state %d is not a wl_keyboard.key_state", state)
	}
	pressed := state == protocol.WlKeyboardKeyStatePressed
	i := slices.Index(k.held, key)
	switch {
	case pressed && i < 0:
		if len(k.held) >= 256 {
			return errorf(k.id, protocol.WlDisplayErrorInvalidMethod, "more than 256 keys held")
		}
		k.held = append(k.held, key)
	case !pressed && i >= 0:
		k.held = slices.Delete(k.held, i, i+1)
	}
	k.c.s.seat.virtualKey(k, ms, key, state)
	return nil
}

func (k *virtualKeyboard) Modifiers(depressed, latched, locked, group uint32) error {
	if k.km == nil {
		return errorf(k.id, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap, "modifiers before keymap")
	}
	k.depressed, k.latched, k.locked, k.grp = depressed, latched, locked, group
	k.c.s.seat.virtualModifiers(k)
	return nil
}

func (k *virtualKeyboard) Destroy() error { return nil }

// destroyed releases the keys the keyboard still holds (a VNC viewer
// that went away mid-press) and its keymap once nobody uses it.
func (k *virtualKeyboard) destroyed() {
	st := k.c.s.seat
	for len(k.held) > 0 {
		key := k.held[len(k.held)-1]
		k.held = k.held[:len(k.held)-1]
		st.virtualKey(k, st.s.nowMS(), key, protocol.WlKeyboardKeyStateReleased)
	}
	if st.virt == k {
		st.virt = nil
	}
	switch {
	case k.km == nil:
	case st.current == k.km && st.defaultKeymap == nil:
		k.km.orphan = true
	case st.current == k.km:
		st.useKeymap(st.defaultKeymap)
		k.km.close()
	default:
		k.km.close()
	}
	k.km = nil
}
