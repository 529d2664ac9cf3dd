package server

import (
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
)

// Scrolling end to end in the amd64 guest: a uinput touchpad's
// two-finger scroll goes through libinput (path backend) and the KMS
// backend to wev as wl_pointer axis_source finger, axis values and, when
// the fingers lift, axis_stop; a mouse wheel detent is axis_source wheel
// with its axis value.
func TestRigTouchpadScroll(t *testing.T) {
	requireWevSeat(t)
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp scroll mouse"))
	pad := rigtest.Plug(t, rigtest.Touchpad("minicomp scroll touchpad"))
	_, dir, _ := startKMSWith(t, kms.Options{Input: &kms.InputOptions{}}, Options{})
	lines := testenv.StartOnPTY(t, client(t, dir, "wev"))
	lines.Expect(t, `wl_keyboard\] enter`) // wev's window is mapped
	// The pointer onto wev's window.
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 20}, [3]int32{rigtest.EvRel, rigtest.RelY, 20})
	lines.Expect(t, `wl_pointer\] enter`)

	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelWheel, -1}, [3]int32{rigtest.EvRel, rigtest.RelWheelHiRes, -120})
	lines.Expect(t, `wl_pointer\] axis_source: 0 \(wheel\)`)
	lines.Expect(t, `wl_pointer\] axis: .*axis: 0 \(vertical\), value: 10\.0`)
	lines.Expect(t, `wl_pointer\] frame`)

	// Two fingers down 20 mm apart, both moving down 2 mm every 12 ms for
	// 30 mm, then lifted.
	abs := func(code, v int32) [3]int32 { return [3]int32{rigtest.EvAbs, code, v} }
	key := func(code, v int32) [3]int32 { return [3]int32{rigtest.EvKey, code, v} }
	y := int32(150)
	pad.Emit(abs(rigtest.AbsMTSlot, 0), abs(rigtest.AbsMTTrackingID, 1), abs(rigtest.AbsMTPositionX, 400), abs(rigtest.AbsMTPositionY, y),
		abs(rigtest.AbsMTSlot, 1), abs(rigtest.AbsMTTrackingID, 2), abs(rigtest.AbsMTPositionX, 600), abs(rigtest.AbsMTPositionY, y),
		key(rigtest.BtnTouch, 1), key(rigtest.BtnToolDoubleTap, 1), abs(rigtest.AbsX, 400), abs(rigtest.AbsY, y))
	for range 15 {
		time.Sleep(12 * time.Millisecond)
		y += 20
		pad.Emit(abs(rigtest.AbsMTSlot, 0), abs(rigtest.AbsMTPositionY, y), abs(rigtest.AbsMTSlot, 1), abs(rigtest.AbsMTPositionY, y),
			abs(rigtest.AbsY, y))
	}
	time.Sleep(12 * time.Millisecond)
	pad.Emit(abs(rigtest.AbsMTSlot, 0), abs(rigtest.AbsMTTrackingID, -1), abs(rigtest.AbsMTSlot, 1), abs(rigtest.AbsMTTrackingID, -1),
		key(rigtest.BtnTouch, 0), key(rigtest.BtnToolDoubleTap, 0))
	lines.Expect(t, `wl_pointer\] axis_source: 1 \(finger\)`)
	lines.Expect(t, `wl_pointer\] axis: .*axis: 0 \(vertical\), value: [1-9]`)
	lines.Expect(t, `wl_pointer\] frame`)
	lines.Expect(t, `wl_pointer\] axis_stop: .*axis: 0 \(vertical\)`)
	lines.Expect(t, `wl_pointer\] frame`)
}
