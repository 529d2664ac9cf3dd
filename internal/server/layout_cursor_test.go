package server

import (
	"encoding/binary"
	"fmt"
	"image"
	"slices"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/xcursor"
)

// A cursor crossing the edge between two outputs is drawn on both: the
// pointer near the first output's right edge puts the arrow's tip there
// and the rest of it on the second output's left edge (grim -c of each
// output); moved away, the second output shows its background again.
func TestCursorAcrossOutputs(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan backend.Event)
	s, dir, _ := startServer(t, inputBackend{hb, events}, Options{})
	s.SetPointerPresent(true)
	bg := uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B)

	// The arrow's tip (its hotspot) at 636,50: its columns 4 and on are
	// on the second output.
	const tipX, tipY = 636, 50
	arrow := xcursor.Arrow()
	if arrow.Width <= 640-tipX {
		t.Fatalf("the arrow is %d wide: it would not cross the edge", arrow.Width)
	}
	want1 := map[image.Point]uint32{}
	want2 := map[image.Point]uint32{}
	for y := range arrow.Height {
		for x := range arrow.Width {
			px := binary.LittleEndian.Uint32(arrow.Pix[(y*arrow.Width+x)*4:])
			if px>>24 != 0xff {
				continue
			}
			at := image.Pt(tipX+x-arrow.XHot, tipY+y-arrow.YHot)
			if at.X < 640 {
				want1[at] = px & 0xffffff
			} else {
				want2[at.Sub(image.Pt(640, 0))] = px & 0xffffff
			}
		}
	}
	if len(want2) == 0 {
		t.Fatal("no opaque arrow pixel on the second output")
	}
	events <- backend.Event{Kind: backend.PointerMotion, Output: hb.Outputs()[0], X: tipX, Y: tipY, Time: time.Millisecond}
	waitShotCursor(t, dir, "HEADLESS-2", want2)
	waitShotCursor(t, dir, "HEADLESS-1", want1)
	t.Logf("arrow pixels: %d on the first output, %d on the second", len(want1), len(want2))

	// Moved away: the second output's left edge is background again.
	events <- backend.Event{Kind: backend.PointerMotion, Output: hb.Outputs()[0], X: 300, Y: 300, Time: 2 * time.Millisecond}
	gone := map[image.Point]uint32{}
	for p := range want2 {
		gone[p] = bg
	}
	waitShotCursor(t, dir, "HEADLESS-2", gone)
}

// waitShotCursor waits (5 s) until grim -c of output (the cursor
// overlaid) shows want.
func waitShotCursor(t *testing.T, dir, output string, want map[image.Point]uint32) {
	t.Helper()
	var bad []string
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		img := grimShot(t, dir, "-c", "-o", output)
		bad = bad[:0]
		for p, px := range want {
			if got := hexAt(img, p); got != px {
				bad = append(bad, fmt.Sprintf("%v: %06x want %06x", p, got, px))
			}
		}
		if len(bad) == 0 {
			return
		}
	}
	slices.Sort(bad)
	t.Fatalf("%s within 5 s: %d of %d pixels differ: %v", output, len(bad), len(want), bad)
}
