package server

import (
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
)

// Seated input end to end in the amd64 guest: uinput devices the test
// creates (a real kernel evdev device each) → libinput (the path backend
// and minicomp's hotplug, shipped by testdata/rig-programs) → the KMS
// backend on vkms → the server → wev, a real Wayland client that prints
// every wl_keyboard, wl_pointer and wl_touch event it gets.

func atof(t *testing.T, s string) float64 {
	t.Helper()
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// pointerFarDownRight moves the mouse far down and right and returns
// where wev's pointer went (clamped to the layout's last pixel).
func pointerFarDownRight(t *testing.T, mouse *rigtest.UInput, lines *testenv.Lines) (x, y float64) {
	t.Helper()
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 9000}, [3]int32{rigtest.EvRel, rigtest.RelY, 9000})
	xy := lines.Expect(t, `wl_pointer\] (?:enter|motion): .*x, y: ([0-9.]+), ([0-9.]+)`)
	return atof(t, xy[1]), atof(t, xy[2])
}

// touchDownAtHalfQuarter puts a finger at (2048, 1024) of the
// touchscreen's 0..4095 and returns where wev's touch went down.
func touchDownAtHalfQuarter(t *testing.T, ts *rigtest.UInput, lines *testenv.Lines) (x, y float64) {
	t.Helper()
	abs := func(code, v int32) [3]int32 { return [3]int32{rigtest.EvAbs, code, v} }
	ts.Emit(abs(rigtest.AbsMTSlot, 0), abs(rigtest.AbsMTTrackingID, 1), abs(rigtest.AbsMTPositionX, 2048),
		abs(rigtest.AbsMTPositionY, 1024), [3]int32{rigtest.EvKey, rigtest.BtnTouch, 1}, abs(rigtest.AbsX, 2048), abs(rigtest.AbsY, 1024))
	d := lines.Expect(t, `wl_touch\] down: .*id: (\d+); x, y: ([0-9.]+), ([0-9.]+)`)
	return atof(t, d[2]), atof(t, d[3])
}

// requireWevSeat needs wev and uinput in the guest.
func requireWevSeat(t *testing.T) {
	t.Helper()
	requireGuestPrograms(t, "wev")
	rigtest.RequireUInput(t)
	if why := os.Getenv("MINICOMP_RIG_PROGRAMS_UNAVAILABLE"); why != "" {
		t.Skip(why)
	}
}

func TestRigSeatedInput(t *testing.T) {
	requireWevSeat(t)
	kb := rigtest.Plug(t, rigtest.Keyboard("minicomp e2e keyboard"))
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp e2e mouse"))
	ts := rigtest.Plug(t, rigtest.Touchscreen("minicomp e2e touchscreen"))

	speed := 0.0 // flat at speed 0: a 1000-dpi mouse moves 1:1
	vts := make(chan int, 4)
	_, dir, o := startKMSWith(t, kms.Options{Input: &kms.InputOptions{AccelProfile: "flat", AccelSpeed: &speed}},
		Options{SwitchVT: func(vt int) { vts <- vt }, RepeatRate: 30, RepeatDelay: 400})
	m := o.Mode()
	lines := testenv.StartOnPTY(t, client(t, dir, "wev")) // wev never flushes: a pty makes it print each line
	lines.Expect(t, `wl_keyboard\] enter`)
	lines.ExpectSeen(t, `wl_keyboard\] repeat_info: rate: 30 keys/sec; delay: 400 ms`)
	lines.ExpectSeen(t, `wl_seat\] capabilities: pointer keyboard touch`)

	// Typing: KEY_A with the keymap the server sent.
	kb.Key(30, true)
	lines.Expect(t, `wl_keyboard\] key: .*key: 38; state: 1 \(pressed\)`) // XKB code: evdev + 8
	lines.Expect(t, `sym: a\s+\(97\)`)
	kb.Key(30, false)
	lines.Expect(t, `wl_keyboard\] key: .*state: 0 \(released\)`)
	// Shift+B: the modifiers reach the client.
	kb.Key(42, true)
	lines.Expect(t, `wl_keyboard\] modifiers`)
	lines.Expect(t, `depressed: 00000001: Shift`)
	kb.Key(48, true)
	lines.Expect(t, `sym: B\s+\(66\)`)
	kb.Key(48, false)
	kb.Key(42, false)
	lines.Expect(t, `depressed: 00000000`)

	// The pointer: far up-left clamps to the layout's corner, then 1:1.
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, -5000}, [3]int32{rigtest.EvRel, rigtest.RelY, -5000})
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 100}, [3]int32{rigtest.EvRel, rigtest.RelY, 50})
	xy := lines.Expect(t, `wl_pointer\] motion: .*x, y: ([0-9.]+), ([0-9.]+)`)
	if x, y := atof(t, xy[1]), atof(t, xy[2]); x != 100 || y != 50 {
		t.Errorf("pointer at (%v, %v), want (100, 50) after clamping to (0, 0)", x, y)
	}
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 1})
	lines.Expect(t, `wl_pointer\] button: .*button: 272 \(left\), state: 1 \(pressed\)`)
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 0})
	lines.Expect(t, `wl_pointer\] button: .*button: 272 \(left\), state: 0 \(released\)`)
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelWheel, -1}, [3]int32{rigtest.EvRel, rigtest.RelWheelHiRes, -120})
	lines.Expect(t, `wl_pointer\] axis: .*axis: 0 \(vertical\), value: 10\.0`)
	// Far down-right clamps inside the output.
	if x, y := pointerFarDownRight(t, mouse, lines); x != float64(m.Width-1) || y != float64(m.Height-1) {
		t.Errorf("pointer at (%v, %v), want the last pixel (%d, %d)", x, y, m.Width-1, m.Height-1)
	}

	// Touch: one finger at (2048, 1024) of 0..4095 is (W/2, H/4).
	abs := func(code, v int32) [3]int32 { return [3]int32{rigtest.EvAbs, code, v} }
	if x, y := touchDownAtHalfQuarter(t, ts, lines); x != float64(m.Width)/2 || y != float64(m.Height)/4 {
		t.Errorf("touch down at (%v, %v), want (%d, %d)", x, y, m.Width/2, m.Height/4)
	}
	lines.Expect(t, `wl_touch\] frame`)
	ts.Emit(abs(rigtest.AbsMTPositionX, 1024), abs(rigtest.AbsX, 1024))
	d := lines.Expect(t, `wl_touch\] motion: .*id: (\d+); x, y: ([0-9.]+), ([0-9.]+)`)
	if x := atof(t, d[2]); x != float64(m.Width)/4 {
		t.Errorf("touch moved to x %v, want %d", x, m.Width/4)
	}
	lines.Expect(t, `wl_touch\] frame`)
	ts.Emit(abs(rigtest.AbsMTTrackingID, -1), [3]int32{rigtest.EvKey, rigtest.BtnTouch, 0})
	lines.Expect(t, `wl_touch\] up: `)
	lines.Expect(t, `wl_touch\] frame`)

	// Unplug the mouse: the seat loses its pointer; re-plug: it comes
	// back and moves the pointer again.
	if err := mouse.Close(); err != nil {
		t.Fatal(err)
	}
	lines.Expect(t, `wl_seat\] capabilities: keyboard touch\s*$`)
	mouse2 := rigtest.Plug(t, rigtest.Mouse("minicomp e2e mouse 2"))
	lines.Expect(t, `wl_seat\] capabilities: pointer keyboard touch`)
	mouse2.Emit([3]int32{rigtest.EvRel, rigtest.RelX, -10})
	lines.Expect(t, `wl_pointer\] (enter|motion): `)

	// Ctrl+Alt+F2 goes to the VT hook, not to the client.
	kb.Key(29, true)
	kb.Key(56, true)
	kb.Key(60, true)
	kb.Key(60, false)
	kb.Key(56, false)
	kb.Key(29, false)
	select {
	case vt := <-vts:
		if vt != 2 {
			t.Errorf("VT hook got %d, want 2", vt)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Ctrl+Alt+F2 did not reach the VT hook")
	}
	lines.Expect(t, `depressed: 00000000`)

	// Latency: a key press written to uinput until wev prints it.
	const n = 40
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		kb.Key(30, true)
		lines.Expect(t, `wl_keyboard\] key: .*state: 1 \(pressed\)`)
		lat = append(lat, time.Since(t0))
		kb.Key(30, false)
		lines.Expect(t, `wl_keyboard\] key: .*state: 0 \(released\)`)
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("uinput key press → wev prints it: median %v, p90 %v, min %v, max %v over %d presses",
		lat[n/2], lat[n*9/10], lat[0], lat[n-1], n)
}
