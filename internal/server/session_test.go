package server

import (
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/keymap"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// While the session is paused nothing is drawn, whatever clients commit;
// when it is back every output is drawn (whole) without a client asking.
func TestSessionPausedDrawsNothing(t *testing.T) {
	s, dir := start(t)
	waitFrames := func(min uint64) uint64 {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Frames < min {
			if time.Now().After(deadline) {
				t.Fatalf("frames: %d, want at least %d", s.Stats().Frames, min)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return s.Stats().Frames
	}
	waitFrames(1)
	s.SessionChanged(false)
	time.Sleep(100 * time.Millisecond) // the loop takes the event at its next wake-up
	before := s.Stats().Frames
	r := showSolid(t, s, dir, 100, 100, 0xffff0000)
	r.roundtrip(100)
	time.Sleep(200 * time.Millisecond)
	if got := s.Stats().Frames; got != before {
		t.Fatalf("%d frames drawn while the session was paused", got-before)
	}
	s.SessionChanged(true)
	waitFrames(before + 1)
}

// Ctrl+Alt+F2 asks Options.SwitchVT for VT 2 and neither its press nor
// its release reaches the focused client; F2 without Ctrl+Alt does.
func TestCtrlAltFnSwitchesVT(t *testing.T) {
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan backend.Event)
	switched := make(chan int, 4)
	s, dir, _ := startServer(t, inputBackend{hb, events}, Options{SwitchVT: func(vt int) { switched <- vt }})
	out := s.outputs[0].o
	r := showSolid(t, s, dir, 100, 100, 0x00ff0000)
	const seatID, kbd = 60, 62
	seatName := globalName(s, protocol.WlSeatInterface)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(seatName); e.String("wl_seat"); e.Uint(7); e.NewID(seatID) })
	r.req(seatID, 1, func(e *wire.Encoder) { e.NewID(kbd) })
	watch := map[uint32]bool{kbd: true}
	r.expect(watch, kbd, 0) // keymap
	r.expect(watch, kbd, 5) // repeat_info
	r.expect(watch, kbd, 1) // enter
	r.expect(watch, kbd, 4) // modifiers
	key := func(code uint32, pressed bool) {
		events <- backend.Event{Kind: backend.Key, Output: out, Key: code, Pressed: pressed}
	}
	wantKey := func(code uint32) {
		t.Helper()
		if k := r.expect(watch, kbd, 3); k.args[2] != code {
			t.Fatalf("client got key %d, want %d", k.args[2], code)
		}
	}
	// A modifier key reaches the client, then the modifiers it changes.
	modKey := func(code uint32, pressed bool) {
		t.Helper()
		key(code, pressed)
		wantKey(code)
		r.expect(watch, kbd, 4)
	}
	modKey(keymap.KeyLeftCtrl, true)
	modKey(keymap.KeyLeftAlt, true)
	key(keyF1+1, true)
	key(keyF1+1, false)
	select {
	case vt := <-switched:
		if vt != 2 {
			t.Fatalf("switched to VT %d, want 2", vt)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Ctrl+Alt+F2 did not switch VT")
	}
	modKey(keymap.KeyLeftAlt, false) // not F2: its press and release were taken
	key(keyF12, true)
	wantKey(keyF12) // Ctrl+F12 is the client's
	if len(switched) != 0 {
		t.Fatalf("Ctrl+F12 switched VT %d", <-switched)
	}
	// Ctrl+Alt+F3 whose release never comes (the session went away with
	// the key down): F3 pressed later is the client's, press and release.
	modKey(keymap.KeyLeftAlt, true)
	key(keyF1+2, true)
	if vt := <-switched; vt != 3 {
		t.Fatalf("switched to VT %d, want 3", vt)
	}
	modKey(keymap.KeyLeftAlt, false)
	modKey(keymap.KeyLeftCtrl, false)
	key(keyF1+2, true)
	wantKey(keyF1 + 2)
	key(keyF1+2, false)
	if k := r.expect(watch, kbd, 3); k.args[2] != keyF1+2 || k.args[3] != 0 {
		t.Fatalf("client got key %d state %d, want F3's release", k.args[2], k.args[3])
	}
	for code, vt := range map[uint32]int{keyF1: 1, keyF10: 10, keyF11: 11, keyF12: 12, keyF1 - 1: 0, keyF12 + 1: 0} {
		if got := functionKeyVT(code); got != vt {
			t.Errorf("functionKeyVT(%d) = %d, want %d", code, got, vt)
		}
	}
}
