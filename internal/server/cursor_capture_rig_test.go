package server

import (
	"encoding/binary"
	"testing"
)

// overlay_cursor on a real display (vkms, the renderer the rig picks):
// with the cursor on the cursor plane and composed (plane refused), a
// capture without overlay_cursor has the window's red under the pointer
// and one with it has the arrow (black tip, white inside); capturing
// without the cursor leaves the composed arrow on screen.
func TestRigCursorCapture(t *testing.T) {
	for _, c := range []struct {
		name    string
		refused bool
	}{{"plane", false}, {"composed", true}} {
		t.Run(c.name, func(t *testing.T) {
			_, o, pointTo, r := startCursorClient(t, c.refused)
			pointTo(100, 80)
			if c.refused {
				waitFor(t, "composed arrow in the frame", func() bool {
					px, pitch := scannedOutPixels(t, o)
					return binary.LittleEndian.Uint32(px[80*pitch+100*4:])&0xffffff == 0
				})
			} else {
				waitFor(t, "arrow on the cursor plane", func() bool {
					st := readCursorPlane(t, o)
					return st.fb != 0 && st.x == 100 && st.y == 80
				})
			}
			pix, stride := r.capture(t)
			checkArrow(t, "overlay_cursor 0", pix, stride, 100, 80, false)
			pix, stride = r.captureCursor(t, true)
			checkArrow(t, "overlay_cursor 1", pix, stride, 100, 80, true)
			if c.refused {
				px, pitch := scannedOutPixels(t, o)
				if got := binary.LittleEndian.Uint32(px[82*pitch+101*4:]) & 0xffffff; got != 0xffffff {
					t.Errorf("after the captures the scanned-out arrow's inside is %06x, want white", got)
				}
			}
		})
	}
}
