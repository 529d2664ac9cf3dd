package server

import (
	"encoding/binary"
	"image"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
	"github.com/minicomp/minicomp/internal/wire"
)

// On vkms with --transform 90 (its plane cannot rotate: composed), the
// scanned-out framebuffer is the panel's (the mode's size) and shows the
// picture turned: the kiosk toplevel's marker and the composed cursor
// (the cursor plane stays off) land where the panel shows the picture's
// points (Transform.FromLogical), and the picture is the mode turned.
func TestRigTransformComposed(t *testing.T) {
	rigtest.Require(t, "vkms")
	tr := backend.Transform90
	be := openKMS(t, kms.Options{Logger: testLog(t), Transform: tr})
	s, dir, _ := startServer(t, be, Options{})
	o := be.Outputs()[0]
	m := o.Mode()
	lw, lh := tr.LogicalSize(m.Width, m.Height)
	if b := s.outputs[0].bounds; b != image.Rect(0, 0, lw, lh) {
		t.Fatalf("picture %v, want %dx%d (the %v mode turned)", b, lw, lh, m)
	}
	s.SetPointerPresent(true)
	r := showPixels(t, s, dir, 100, 60, marker)
	pix := func(px []byte, pitch int, lx, ly float64) uint32 {
		x, y := tr.FromLogical(m.Width, m.Height, lx+0.5, ly+0.5)
		return binary.LittleEndian.Uint32(px[int(y)*pitch+int(x)*4:]) & 0xffffff
	}
	want := map[image.Point]uint32{{0, 0}: 0x00ff00, {9, 9}: 0x00ff00, {10, 0}: 0xff0000, {49, 59}: 0xff0000, {50, 0}: 0x0000ff,
		{99, 59}: 0x0000ff, {100, 0}: bgRGB(), {0, 60}: bgRGB(), {lw - 1, lh - 1}: bgRGB()}
	waitFor(t, "the turned marker on screen", func() bool {
		px, pitch := scannedOutPixels(t, o)
		for p, c := range want {
			if pix(px, pitch, float64(p.X), float64(p.Y)) != c {
				return false
			}
		}
		return true
	})
	// The composed arrow (black tip, white inside) at the pointer, on
	// the marker's blue, turned like the rest.
	seat := protocol.WlSeatInterface
	r.req(2, 0, func(e *wire.Encoder) {
		e.Uint(globalName(s, seat))
		e.String(seat.Name)
		e.Uint(min(seat.Version, 7))
		e.NewID(60)
	})
	r.req(60, 0, func(e *wire.Encoder) { e.NewID(61) })
	makeVirtualPointer(r, s, 60)
	r.req(90, 1, func(e *wire.Encoder) { // motion_absolute over the picture
		e.Uint(1)
		e.Uint(70)
		e.Uint(30)
		e.Uint(uint32(lw))
		e.Uint(uint32(lh))
	})
	r.req(90, 4, nil) // frame
	r.roundtrip(62)
	waitFor(t, "the turned composed arrow", func() bool {
		px, pitch := scannedOutPixels(t, o)
		return pix(px, pitch, 70, 30) == 0 && pix(px, pitch, 71, 32) == 0xffffff && pix(px, pitch, 69, 30) == 0x0000ff
	})
	if st := readCursorPlane(t, o); st.fb != 0 {
		t.Errorf("cursor plane shows framebuffer %d on a turned output", st.fb)
	}
}

// Seated input on a panel mounted turned by 90 degrees (vkms, composed):
// uinput devices → libinput → the KMS backend → wev. A relative mouse
// is clamped to the turned picture (the mode's height wide), and
// the touchscreen's panel position lands on the picture point the panel
// shows there: panel (W/2, H/4) is picture (H - H/4, W/2).
func TestRigTurnedInput(t *testing.T) {
	requireWevSeat(t)
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp turned mouse"))
	ts := rigtest.Plug(t, rigtest.Touchscreen("minicomp turned touchscreen"))
	speed := 0.0 // flat: 1:1
	_, dir, o := startKMSWith(t, kms.Options{Transform: backend.Transform90, Input: &kms.InputOptions{AccelProfile: "flat", AccelSpeed: &speed}}, Options{})
	m := o.Mode()
	lines := testenv.StartOnPTY(t, client(t, dir, "wev"))
	lines.Expect(t, `wl_keyboard\] enter`) // wev's window is up

	if x, y := pointerFarDownRight(t, mouse, lines); x != float64(m.Height-1) || y != float64(m.Width-1) {
		t.Errorf("pointer at (%v, %v), want the turned picture's last pixel (%d, %d)", x, y, m.Height-1, m.Width-1)
	}

	if x, y := touchDownAtHalfQuarter(t, ts, lines); x != float64(m.Height)*3/4 || y != float64(m.Width)/2 {
		t.Errorf("touch down at (%v, %v), want (%v, %v): the panel's (W/2, H/4) turned", x, y, float64(m.Height)*3/4, float64(m.Width)/2)
	}
	ts.Emit([3]int32{rigtest.EvAbs, rigtest.AbsMTTrackingID, -1}, [3]int32{rigtest.EvKey, rigtest.BtnTouch, 0})
	lines.Expect(t, `wl_touch\] up: `)
}
