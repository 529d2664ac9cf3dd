package server

import (
	"encoding/binary"
	"fmt"
	"image"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// wlr-randr on the KMS backend over vkms: a real modeset. The output
// takes another of the connector's modes; the framebuffer vkms scans out
// has the new size and shows the client; grim's picture too.
func TestRigWlrRandrModeset(t *testing.T) {
	requireGuestPrograms(t, "wlr-randr", "grim")
	rigtest.CheckFDs(t)
	s, dir, o := startKMS(t, false)
	const colour = 0x00c04080
	f0 := o.Info().Stats.Frames
	showSolid(t, s, dir, 120, 90, colour)
	settle(t, o, f0)
	before := o.Mode()
	list, err := client(t, dir, "wlr-randr").CombinedOutput()
	if err != nil {
		t.Fatalf("wlr-randr: %v\n%s", err, list)
	}
	// Another size the connector offers, small enough to be quick.
	var w, h int
	for _, m := range regexp.MustCompile(`(?m)^\s+(\d+)x(\d+) px`).FindAllStringSubmatch(string(list), -1) {
		mw, _ := strconv.Atoi(m[1])
		mh, _ := strconv.Atoi(m[2])
		if (mw != before.Width || mh != before.Height) && mw >= 320 && mw <= 1024 && mh <= 768 {
			w, h = mw, mh
			break
		}
	}
	if w == 0 {
		t.Fatalf("no other mode of at most 1024x768 in:\n%s", list)
	}
	f1 := o.Info().Stats.Frames
	if out, err := client(t, dir, "wlr-randr", "--output", o.Name(), "--mode", fmt.Sprintf("%dx%d", w, h)).CombinedOutput(); err != nil {
		t.Fatalf("wlr-randr --mode %dx%d: %v\n%s", w, h, err, out)
	}
	settle(t, o, f1)
	if m := o.Mode(); m.Width != w || m.Height != h {
		t.Fatalf("mode %v after --mode %dx%d (was %v)", m, w, h, before)
	}
	px, pitch := scannedOutPixels(t, o) // fails unless the framebuffer is w×h
	bg := uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B)
	for p, c := range map[image.Point]uint32{{0, 0}: colour, {119, 89}: colour, {w - 1, h - 1}: bg} {
		if got := binary.LittleEndian.Uint32(px[p.Y*pitch+p.X*4:]) & 0xffffff; got != c {
			t.Errorf("scanned-out pixel %v = %06x, want %06x", p, got, c)
		}
	}
	if img := grimShot(t, dir); img.Bounds().Dx() != w || img.Bounds().Dy() != h {
		t.Errorf("grim's picture is %v, the mode %dx%d", img.Bounds(), w, h)
	}
	after, _ := client(t, dir, "wlr-randr").CombinedOutput()
	if !strings.Contains(string(after), fmt.Sprintf("%dx%d px", w, h)) {
		t.Errorf("wlr-randr after the modeset:\n%s", after)
	}
	t.Logf("%v → %dx%d: %s", before, w, h, pathOf(o.Info()))
}
