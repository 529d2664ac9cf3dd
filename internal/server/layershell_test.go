package server

import (
	"image"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// wvkbd, Debian's on-screen keyboard, is a layer surface anchored to the
// bottom edge with an exclusive zone: the toplevel is configured to the
// area above it, grim sees both, and a click on one of its keys (through
// a virtual pointer, as a touch screen or VNC would) types that key into
// the toplevel through wvkbd's virtual keyboard.
func TestWvkbdTypesIntoClient(t *testing.T) {
	bin := realProgram(t, "wvkbd-mobintl", "wvkbd")
	s, dir := start(t)
	out := startTestclient(t, dir)
	from := 0
	kbd := exec.Command(bin, "-L", "180")
	kbd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	kbd.Stdout, kbd.Stderr = os.Stderr, os.Stderr
	if err := kbd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { kbd.Process.Kill(); kbd.Wait() })

	// The toplevel shrinks to the area above the keyboard.
	line := out.wait(t, &from, func(l string) bool { return strings.HasPrefix(l, "configure 640 ") && l != "configure 640 480" }, "configure above the keyboard")
	h, _ := strconv.Atoi(strings.Fields(line)[2])
	zone := 480 - h
	if zone < 100 || zone > 300 {
		t.Fatalf("toplevel configured to height %d: a keyboard zone of %d", h, zone)
	}
	out.wait(t, &from, prefix("drawn 640 "+strconv.Itoa(h)), "a frame at the new size")
	kfrom := 0
	out.wait(t, &kfrom, prefix("keyboard enter"), "keyboard focus on the toplevel")
	var img image.Image
	deadline := time.Now().Add(10 * time.Second)
	for {
		img = grimShot(t, dir)
		if rgbAt(img, 320, 480-zone/2) != [3]uint8{background.R, background.G, background.B} || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range []image.Point{{0, 0}, {639, h - 1}} {
		if got := rgbAt(img, p.X, p.Y); got != [3]uint8{0x33, 0x66, 0xcc} {
			t.Errorf("pixel %v = %v, want the toplevel's 0x3366cc", p, got)
		}
	}
	if got := rgbAt(img, 320, h+zone/2); got == [3]uint8{0x33, 0x66, 0xcc} || got == [3]uint8{background.R, background.G, background.B} {
		t.Errorf("pixel (320,%d) = %v: the keyboard is not drawn there", h+zone/2, got)
	}

	// Click the key in the middle of the home row ("h": wvkbd's full
	// layout has six rows; its home row is the fourth).
	r := dial(t, dir)
	vpm := globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface)
	r.bind(vpm, "zwlr_virtual_pointer_manager_v1", 2, 3)
	r.req(3, 0, func(e *wire.Encoder) { e.Object(0); e.NewID(4) })
	r.roundtrip(5)
	time.Sleep(300 * time.Millisecond) // wvkbd gets its wl_pointer when the seat gains one
	x, y := 397, h+zone*7/12
	// Enter, then a motion (wvkbd takes the position from motion events).
	for _, dx := range []int{-2, 0} {
		r.req(4, 1, func(e *wire.Encoder) { e.Uint(1); e.Uint(uint32(x + dx)); e.Uint(uint32(y)); e.Uint(640); e.Uint(480) })
		r.req(4, 4, nil)
	}
	r.req(4, 2, func(e *wire.Encoder) { e.Uint(2); e.Uint(0x110); e.Uint(1) })
	r.req(4, 4, nil)
	r.req(4, 2, func(e *wire.Encoder) { e.Uint(3); e.Uint(0x110); e.Uint(0) })
	r.req(4, 4, nil)
	r.roundtrip(6)
	if got := keysFrom(t, out, &from, 1); got[0] != "h" {
		t.Fatalf("clicking (%d,%d) on wvkbd typed %v, want h", x, y, got)
	}
}

func rgbAt(img image.Image, x, y int) [3]uint8 {
	r, g, b, _ := img.At(x, y).RGBA()
	return [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
}
