package server

import (
	"image"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// More of Debian's layer-shell clients: swaybg draws the background layer
// under a window; slurp's overlay takes a region dragged with a (virtual)
// pointer and prints it.
func TestSwaybgAndSlurp(t *testing.T) {
	swaybg := realProgram(t, "swaybg", "swaybg")
	slurp := realProgram(t, "slurp", "slurp")
	s, dir := start(t)
	env := append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	bg := exec.Command(swaybg, "-c", "#ff8800")
	bg.Env = env
	if err := bg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bg.Process.Kill(); bg.Wait() })
	showSolid(t, s, dir, 100, 100, 0x3366cc)
	want := map[image.Point]uint32{{10, 10}: 0x3366cc, {99, 99}: 0x3366cc, {100, 100}: 0xff8800, {639, 479}: 0xff8800}
	var img image.Image
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		img = grimShot(t, dir)
		if rgbAt(img, 639, 479) == [3]uint8{0xff, 0x88, 0x00} || time.Now().After(deadline) {
			break
		}
	}
	expectPixels(t, "swaybg under the window", img, want)

	// A virtual pointer first: slurp finds the seat with a pointer.
	ptr := dial(t, dir)
	ptr.bind(globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface), "zwlr_virtual_pointer_manager_v1", 2, 3)
	ptr.req(3, 0, func(e *wire.Encoder) { e.Object(0); e.NewID(4) })
	ptr.roundtrip(5)
	sl := exec.Command(slurp)
	sl.Env = env
	var out strings.Builder
	sl.Stdout, sl.Stderr = &out, os.Stderr
	if err := sl.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- sl.Wait() }()
	t.Cleanup(func() { sl.Process.Kill(); <-done })
	// Wait for slurp's overlay: the screen gets lighter.
	for deadline := time.Now().Add(10 * time.Second); rgbAt(grimShot(t, dir), 639, 479) == [3]uint8{0xff, 0x88, 0x00}; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("slurp's overlay never showed")
		}
	}
	ms := uint32(0)
	move := func(x, y int) {
		ms += 10
		ptr.req(4, 1, func(e *wire.Encoder) { e.Uint(ms); e.Uint(uint32(x)); e.Uint(uint32(y)); e.Uint(640); e.Uint(480) })
		ptr.req(4, 4, nil)
	}
	button := func(pressed uint32) {
		ms += 10
		ptr.req(4, 2, func(e *wire.Encoder) { e.Uint(ms); e.Uint(0x110); e.Uint(pressed) })
		ptr.req(4, 4, nil)
	}
	move(19, 30)
	move(20, 30)
	button(1)
	move(60, 50)
	move(120, 90)
	button(0)
	ptr.roundtrip(6)
	select {
	case err := <-done:
		done <- err
		if err != nil {
			t.Fatalf("slurp: %v (printed %q)", err, out.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("slurp did not finish; printed %q", out.String())
	}
	// slurp counts both end pixels: 20..120 is 101 wide.
	if got := strings.TrimSpace(out.String()); got != "20,30 101x61" {
		t.Fatalf("slurp printed %q, want the dragged region 20,30 101x61", got)
	}
}
