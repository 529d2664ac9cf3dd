package server

import (
	"encoding/binary"
	"errors"
	"image"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/keymap"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/internal/xkb"
	"github.com/minicomp/minicomp/scanout"
)

// event is one decoded event for the seat test.
type event struct {
	obj  uint32
	op   uint16
	args []uint32
}

// expect reads events until one on obj with opcode op arrives, failing on
// a different event of the objects watched.
func (r *raw) expect(watch map[uint32]bool, obj uint32, op uint16) event {
	r.t.Helper()
	for {
		o, code, body, ok := r.next()
		if !ok {
			r.t.Fatalf("hung up waiting for %d.%d", obj, op)
		}
		if !watch[o] {
			continue
		}
		ev := event{obj: o, op: code}
		for i := 0; i+4 <= len(body); i += 4 {
			ev.args = append(ev.args, binary.NativeEndian.Uint32(body[i:]))
		}
		if o == obj && code == op {
			return ev
		}
		r.t.Fatalf("got event %d.%d %v, want %d.%d", o, code, ev.args, obj, op)
	}
}

// Input from the backend reaches the focused client: the keymap (sealed
// memfd), keyboard focus on the mapped toplevel, pointer enter/motion/
// button/axis/leave with surface coordinates, keys with modifiers; the
// backend losing its parent ends Run with the reason.
func TestSeatInput(t *testing.T) {
	events := make(chan backend.Event)
	s, dir, wait := startWith(t, events)
	out := s.outputs[0].o
	r := showSolid(t, s, dir, 100, 100, 0x00ff0000) // surface 6
	const seatID, ptr, kbd = 60, 61, 62
	seatName := globalName(s, protocol.WlSeatInterface)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(seatName); e.String("wl_seat"); e.Uint(7); e.NewID(seatID) })
	watch := map[uint32]bool{seatID: true, ptr: true, kbd: true}
	caps := r.expect(watch, seatID, 0)
	if caps.args[0] != protocol.WlSeatCapabilityPointer|protocol.WlSeatCapabilityKeyboard {
		t.Fatalf("capabilities %v", caps.args)
	}
	r.expect(watch, seatID, 1) // name
	r.req(seatID, 0, func(e *wire.Encoder) { e.NewID(ptr) })
	r.req(seatID, 1, func(e *wire.Encoder) { e.NewID(kbd) })

	km := r.expect(watch, kbd, 0)
	if km.args[0] != protocol.WlKeyboardKeymapFormatXkbV1 || len(r.fds) == 0 {
		t.Fatalf("keymap %v fds %v", km.args, r.fds)
	}
	text, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(r.fds[len(r.fds)-1]))
	if err != nil || !strings.HasPrefix(string(text), "xkb_keymap") || len(text) != int(km.args[1]) {
		t.Fatalf("keymap file: %d bytes (size %d), %v", len(text), km.args[1], err)
	}
	if _, err := unix.Pwrite(r.fds[len(r.fds)-1], []byte("x"), 0); err == nil {
		t.Error("the client could write the shared keymap")
	}
	rep := r.expect(watch, kbd, 5) // repeat_info
	if rep.args[0] != 25 || rep.args[1] != 600 {
		t.Errorf("repeat info %v", rep.args)
	}
	enter := r.expect(watch, kbd, 1)
	if enter.args[1] != 6 {
		t.Fatalf("keyboard enter on %d, want surface 6", enter.args[1])
	}
	r.expect(watch, kbd, 4) // modifiers

	at := func(ms int) time.Duration { return time.Duration(ms) * time.Millisecond }
	events <- backend.Event{Kind: backend.PointerMotion, Output: out, Time: at(10), X: 10.5, Y: 20}
	pe := r.expect(watch, ptr, 0)
	if pe.args[1] != 6 || wire.Fixed(pe.args[2]).Float() != 10 || wire.Fixed(pe.args[3]).Float() != 20 {
		t.Errorf("pointer enter %v", pe.args)
	}
	r.expect(watch, ptr, 5) // frame
	events <- backend.Event{Kind: backend.PointerMotion, Output: out, Time: at(11), X: 50, Y: 60}
	mo := r.expect(watch, ptr, 2)
	if mo.args[0] != 11 || wire.Fixed(mo.args[1]).Float() != 50 || wire.Fixed(mo.args[2]).Float() != 60 {
		t.Errorf("motion %v", mo.args)
	}
	r.expect(watch, ptr, 5)
	events <- backend.Event{Kind: backend.PointerButton, Output: out, Time: at(12), Button: 0x110, Pressed: true}
	bu := r.expect(watch, ptr, 3)
	if bu.args[1] != 12 || bu.args[2] != 0x110 || bu.args[3] != protocol.WlPointerButtonStatePressed {
		t.Errorf("button %v", bu.args)
	}
	r.expect(watch, ptr, 5)
	events <- backend.Event{Kind: backend.PointerAxis, Output: out, Time: at(13), AxisY: 10, DiscreteY: 1}
	r.expect(watch, ptr, 6) // axis_source
	if d := r.expect(watch, ptr, 8); d.args[0] != protocol.WlPointerAxisVerticalScroll || d.args[1] != 1 {
		t.Errorf("axis_discrete %v", d.args)
	}
	if a := r.expect(watch, ptr, 4); wire.Fixed(a.args[2]).Float() != 10 {
		t.Errorf("axis %v", a.args)
	}
	r.expect(watch, ptr, 5)
	// Two-finger scrolling: axis_source finger with the values, then
	// libinput's final zero is an axis_stop, each in its frame.
	events <- backend.Event{Kind: backend.PointerAxis, Output: out, Time: at(13), AxisY: 4.5, AxisSource: 1}
	if src := r.expect(watch, ptr, 6); src.args[0] != protocol.WlPointerAxisSourceFinger {
		t.Errorf("axis_source %v, want finger", src.args)
	}
	if a := r.expect(watch, ptr, 4); a.args[1] != protocol.WlPointerAxisVerticalScroll || wire.Fixed(a.args[2]).Float() != 4.5 {
		t.Errorf("finger axis %v", a.args)
	}
	r.expect(watch, ptr, 5)
	events <- backend.Event{Kind: backend.PointerAxis, Output: out, Time: at(13), AxisSource: 1, AxisStopY: true}
	r.expect(watch, ptr, 6)
	if st := r.expect(watch, ptr, 7); st.args[0] != 13 || st.args[1] != protocol.WlPointerAxisVerticalScroll {
		t.Errorf("axis_stop %v, want time 13 on the vertical axis", st.args)
	}
	r.expect(watch, ptr, 5)

	events <- backend.Event{Kind: backend.Key, Output: out, Time: at(14), Key: keymap.KeyLeftShift, Pressed: true}
	if k := r.expect(watch, kbd, 3); k.args[2] != keymap.KeyLeftShift || k.args[3] != 1 {
		t.Errorf("shift key %v", k.args)
	}
	if m := r.expect(watch, kbd, 4); m.args[1] != keymap.Shift {
		t.Errorf("modifiers %v, want shift depressed", m.args)
	}
	events <- backend.Event{Kind: backend.Key, Output: out, Time: at(15), Key: 30, Pressed: true}
	if k := r.expect(watch, kbd, 3); k.args[1] != 15 || k.args[2] != 30 {
		t.Errorf("key a %v", k.args)
	}
	events <- backend.Event{Kind: backend.PointerMotion, Output: out, Time: at(16), X: 300, Y: 300}
	if l := r.expect(watch, ptr, 1); l.args[1] != 6 {
		t.Errorf("leave %v", l.args)
	}
	r.expect(watch, ptr, 5)
	events <- backend.Event{Kind: backend.KeyboardLeave, Output: out}
	r.expect(watch, kbd, 2)

	events <- backend.Event{Kind: backend.EventLost, Err: errors.New("x11: lost connection to X server :9")}
	if err := wait(); err == nil || !strings.Contains(err.Error(), "lost connection to X server :9") {
		t.Errorf("Run after EventLost: %v", err)
	}
	if _, _, _, ok := r.next(); ok {
		for {
			if _, _, _, ok := r.next(); !ok {
				break
			}
		}
	}
}

// A toplevel mapped (or clicked) while the backend's window does not have
// the keyboard (after KeyboardLeave) gets no wl_keyboard.enter until the
// window gets it back (KeyboardEnter).
func TestSeatNoKeyboardFocusWhileWindowUnfocused(t *testing.T) {
	events := make(chan backend.Event)
	s, dir, _ := startWith(t, events)
	out := s.outputs[0].o
	events <- backend.Event{Kind: backend.KeyboardLeave, Output: out}
	// The second send returns only once the first is queued for Run.
	events <- backend.Event{Kind: backend.PointerLeave, Output: out}
	r := showSolid(t, s, dir, 100, 100, 0x00ff0000) // surface 6
	const seatID, kbd, sync, sync2 = 60, 62, 63, 64
	seatName := globalName(s, protocol.WlSeatInterface)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(seatName); e.String("wl_seat"); e.Uint(7); e.NewID(seatID) })
	r.req(seatID, 1, func(e *wire.Encoder) { e.NewID(kbd) })
	watch := map[uint32]bool{kbd: true, sync: true, sync2: true}
	r.expect(watch, kbd, 0) // keymap
	r.expect(watch, kbd, 5) // repeat_info
	// Nor does a click on it give it the keyboard.
	events <- backend.Event{Kind: backend.PointerMotion, Output: out, X: 10, Y: 10}
	events <- backend.Event{Kind: backend.PointerButton, Output: out, Button: 0x110, Pressed: true}
	events <- backend.Event{Kind: backend.PointerButton, Output: out, Button: 0x110, Pressed: false}
	// A keyboard enter (the focus given at map or click) would come
	// before the second sync's done: the events are taken by the time
	// the first is answered.
	r.req(1, 0, func(e *wire.Encoder) { e.NewID(sync) })
	r.expect(watch, sync, 0)
	r.req(1, 0, func(e *wire.Encoder) { e.NewID(sync2) })
	r.expect(watch, sync2, 0)

	events <- backend.Event{Kind: backend.KeyboardEnter, Output: out}
	if enter := r.expect(watch, kbd, 1); enter.args[1] != 6 {
		t.Fatalf("keyboard enter on %d, want surface 6", enter.args[1])
	}
	r.expect(watch, kbd, 4) // modifiers
}

// failingBackend is headless with Present failing on chosen calls.
type failingBackend struct {
	*headless.Backend
	out *failingOutput
}

type failingOutput struct {
	backend.Output
	calls            atomic.Int32
	failFrom, failTo int32
}

func (b failingBackend) Outputs() []backend.Output { return []backend.Output{b.out} }

func (o *failingOutput) Present(t *scanout.Buffer, d []image.Rectangle, f *os.File) (scanout.Verdict, error) {
	if n := o.calls.Add(1); n >= o.failFrom && n <= o.failTo {
		return scanout.Verdict{}, errors.New("injected present failure")
	}
	return o.Output.Present(t, d, f)
}

// A frame whose Present fails keeps its frame callbacks: they fire with
// the next frame that reaches the screen (retried a refresh later).
func TestFailedPresentKeepsCallbacks(t *testing.T) {
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	out := &failingOutput{Output: hb.Outputs()[0], failFrom: 2, failTo: 4}
	s, dir, _ := startOn(t, failingBackend{hb, out}, nil)
	r := showSolid(t, s, dir, 50, 50, 0x00ff0000)
	r.req(6, 3, func(e *wire.Encoder) { e.NewID(70) })
	r.req(6, 6, nil)
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 70 && op == 0 })
	if n := out.calls.Load(); n <= 4 {
		t.Errorf("%d presents, want the failing ones retried", n)
	}
}

// A keymap compiled by libxkbcommon (here German, Caps Lock as a
// layout toggle) is what clients get, and its modifier state and groups
// are what they are told.
func TestSeatXKBKeymap(t *testing.T) {
	kb, err := keymap.NewXKB(xkb.Names{Layout: "de,us", Options: "grp:caps_toggle"})
	if errors.Is(err, xkb.ErrNoXKB) && os.Getenv("MINICOMP_REQUIRE_XKB") != "1" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatal(err)
	}
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan backend.Event)
	s, dir, _ := startServer(t, inputBackend{hb, events}, Options{Keyboard: kb})
	out := s.outputs[0].o
	r := showSolid(t, s, dir, 100, 100, 0x00ff0000)
	const seatID, kbd = 60, 62
	r.req(2, 0, func(e *wire.Encoder) {
		e.Uint(globalName(s, protocol.WlSeatInterface))
		e.String("wl_seat")
		e.Uint(7)
		e.NewID(seatID)
	})
	watch := map[uint32]bool{seatID: true, kbd: true}
	r.expect(watch, seatID, 0)
	r.expect(watch, seatID, 1)
	r.req(seatID, 1, func(e *wire.Encoder) { e.NewID(kbd) })
	km := r.expect(watch, kbd, 0)
	text, err := os.ReadFile("/proc/self/fd/" + strconv.Itoa(r.fds[len(r.fds)-1]))
	if err != nil || len(text) != int(km.args[1]) || !strings.Contains(string(text), `name[Group1]="German"`) || !strings.Contains(string(text), `name[Group2]="English (US)"`) {
		t.Fatalf("keymap: %d bytes (size %d), %v; want the de,us keymap", len(text), km.args[1], err)
	}
	r.expect(watch, kbd, 5) // repeat_info
	r.expect(watch, kbd, 1) // enter
	r.expect(watch, kbd, 4) // modifiers
	key := func(code uint32, pressed bool) {
		events <- backend.Event{Kind: backend.Key, Output: out, Key: code, Pressed: pressed}
		r.expect(watch, kbd, 3)
	}
	key(keymap.KeyLeftShift, true)
	if m := r.expect(watch, kbd, 4); m.args[1] != keymap.Shift {
		t.Errorf("modifiers %v, want shift depressed", m.args)
	}
	key(keymap.KeyLeftShift, false)
	r.expect(watch, kbd, 4)
	key(keymap.KeyCapsLock, true) // grp:caps_toggle: the second layout
	if m := r.expect(watch, kbd, 4); m.args[4] != 1 {
		t.Errorf("modifiers %v, want group 1 (us)", m.args)
	}
}
