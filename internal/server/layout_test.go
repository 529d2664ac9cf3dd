package server

import (
	"encoding/binary"
	"image"
	"regexp"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// plugged is a hot-plugged headless output with a name of its own
// (every headless backend names its first output HEADLESS-1), closed
// when the server lets it go.
type plugged struct {
	backend.Output
	name   string
	closed atomic.Int32
}

func (p *plugged) Name() string { return p.name }
func (p *plugged) Close() error { p.closed.Add(1); return nil }

// Two outputs side by side, each composing its own part of the layout,
// with real clients: the second output is hot-plugged to the right of
// the first (wayland-info's xdg_output positions), swaybg draws on the
// output it names, weston-simple-shm stays on the first, a testclient
// fullscreen on the second fills it alone (grim -o per output shows
// different pictures), is told wl_surface.enter for it and gets the
// pointer there in its own coordinates; only the output a surface is on
// repaints for its frame callbacks; unplugged, the fullscreen window
// moves to the first output.
func TestTwoOutputsOwnContent(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	extra, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { extra.Close() }) // after the server stopped
	events := make(chan backend.Event)
	s, dir, _ := startServer(t, inputBackend{hb, events}, Options{})
	second := &plugged{Output: extra.Outputs()[0], name: "HDMI-A-2"}
	events <- backend.Event{Kind: backend.OutputAdded, Output: second}

	// Placed right of the first, in xdg_output and wl_output.geometry.
	info, err := client(t, dir, "wayland-info", "-i", "zxdg_output_manager_v1").CombinedOutput()
	if err != nil {
		t.Fatalf("wayland-info: %v\n%s", err, info)
	}
	xs := map[string]string{}
	for _, m := range regexp.MustCompile(`name: '([^']+)'\s+description: [^\n]*\n\s+logical_x: (-?\d+)`).FindAllStringSubmatch(string(info), -1) {
		xs[m[1]] = m[2]
	}
	if xs["HEADLESS-1"] != "0" || xs["HDMI-A-2"] != "640" {
		t.Fatalf("xdg_output positions %v, want HEADLESS-1 at 0 and HDMI-A-2 at 640:\n%s", xs, info)
	}
	if !regexp.MustCompile(`name: HDMI-A-2\s+description: [^\n]*\n\s+x: 640, y: 0,`).Match(info) {
		t.Fatalf("wl_output.geometry of HDMI-A-2 not at 640,0:\n%s", info)
	}

	bg := uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B)
	// A background on the second output only.
	swaybg := client(t, dir, "swaybg", "-o", "HDMI-A-2", "-c", "#0000ff")
	if err := swaybg.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { swaybg.Process.Kill(); swaybg.Wait() })
	waitPixel(t, dir, "HDMI-A-2", image.Pt(160, 120), 0x0000ff)
	expectPixels(t, "first output without the second's background", grimShot(t, dir, "-o", "HEADLESS-1"),
		map[image.Point]uint32{{0, 0}: bg, {639, 479}: bg})

	// weston-simple-shm (250×250, animated) on the first output.
	shm := client(t, dir, "weston-simple-shm")
	if err := shm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shm.Process.Kill(); shm.Wait() })
	waitNotPixel(t, dir, "HEADLESS-1", image.Pt(125, 125), bg)

	// A window fullscreen on the second output.
	fs := runTestclient(t, dir, "-color", "0x00ff00", "-fullscreen", "HDMI-A-2")
	from := 0
	if l := fs.wait(t, &from, prefix("configure "), "configure"); l != "configure 320 240" {
		t.Fatalf("fullscreen window: %q, want the second output's size", l)
	}
	fs.wait(t, &from, func(l string) bool { return l == "surface enter HDMI-A-2" }, "wl_surface.enter for HDMI-A-2")
	fs.wait(t, &from, func(l string) bool { return l == "drawn 320 240" }, "its frame")
	expectPixels(t, "second output", grimShot(t, dir, "-o", "HDMI-A-2"),
		map[image.Point]uint32{{0, 0}: 0x00ff00, {319, 239}: 0x00ff00})
	one := grimShot(t, dir, "-o", "HEADLESS-1")
	if b := one.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Fatalf("first output's shot is %v", b)
	}
	expectPixels(t, "first output", one, map[image.Point]uint32{{300, 300}: bg, {639, 479}: bg})
	if px := hexAt(one, image.Pt(125, 125)); px == bg || px == 0x00ff00 {
		t.Errorf("first output at 125,125 shows %06x, want weston-simple-shm", px)
	}

	// Frame callbacks: weston-simple-shm redraws on the first output's
	// frames; the second, with nothing changing, stays idle.
	o1, o2 := hb.Outputs()[0], second.Output
	f1, f2 := o1.Info().Stats.Frames, o2.Info().Stats.Frames
	time.Sleep(500 * time.Millisecond)
	d1, d2 := o1.Info().Stats.Frames-f1, o2.Info().Stats.Frames-f2
	t.Logf("frames in 500 ms: first output %d, second %d", d1, d2)
	if d1 < 5 || d2 > 1 {
		t.Errorf("frames in 500 ms: first output %d (want ≥ 5 for the animation), second %d (want ≤ 1)", d1, d2)
	}

	// The pointer on the second output is in the window's coordinates.
	events <- backend.Event{Kind: backend.PointerMotion, Output: second, X: 10, Y: 20}
	fs.wait(t, &from, func(l string) bool { return l == "pointer enter 10.00 20.00" }, "pointer enter on the second output")

	// Unplugged: the window goes to the first output, fullscreen there.
	events <- backend.Event{Kind: backend.OutputRemoved, Output: second}
	if l := fs.wait(t, &from, prefix("configure "), "configure after the unplug"); l != "configure 640 480" {
		t.Fatalf("after the unplug: %q, want the first output's size", l)
	}
	fs.wait(t, &from, func(l string) bool { return l == "surface enter HEADLESS-1" }, "wl_surface.enter for HEADLESS-1")
	fs.wait(t, &from, func(l string) bool { return l == "drawn 640 480" }, "its frame on the first output")
	expectPixels(t, "after the unplug", grimShot(t, dir, "-o", "HEADLESS-1"),
		map[image.Point]uint32{{0, 0}: 0x00ff00, {639, 479}: 0x00ff00})
	if s.outputOf(second) != nil {
		t.Error("the unplugged output is still served")
	}
}

// pixelAt is img's pixel at p as 0xRRGGBB.
func hexAt(img image.Image, p image.Point) uint32 {
	r, g, b, _ := img.At(p.X, p.Y).RGBA()
	return uint32(r>>8)<<16 | uint32(g>>8)<<8 | uint32(b>>8)
}

// waitPixel waits (5 s) until output's shot shows px at p.
func waitPixel(t *testing.T, dir, output string, p image.Point, px uint32) {
	t.Helper()
	waitShot(t, dir, output, p, func(got uint32) bool { return got == px })
}

// waitNotPixel waits (5 s) until output's shot shows anything but px at p.
func waitNotPixel(t *testing.T, dir, output string, p image.Point, px uint32) {
	t.Helper()
	waitShot(t, dir, output, p, func(got uint32) bool { return got != px })
}

func waitShot(t *testing.T, dir, output string, p image.Point, ok func(uint32) bool) {
	t.Helper()
	var seen []uint32
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		got := hexAt(grimShot(t, dir, "-o", output), p)
		if ok(got) {
			return
		}
		if !slices.Contains(seen, got) {
			seen = append(seen, got)
		}
	}
	t.Fatalf("%s at %v: only %06x within 5 s", output, p, seen)
}

// A popup goes with its parent: a window fullscreen on the second output
// opens one, drawn on that output only.
func TestPopupOnParentOutput(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, dir, _ := startServer(t, hb, Options{})
	win, size, x := showFullscreen(t, dir, solidShm(0x00ff00))
	if size != image.Pt(320, 240) || x != 640 {
		t.Fatalf("fullscreen on HEADLESS-2: %v at x %d, want 320x240 at 640", size, x)
	}
	if at := win.openPopup(7, 0, image.Rect(10, 10, 11, 11), protocol.XdgPositionerAnchorBottomRight, protocol.XdgPositionerGravityBottomRight,
		50, 50, 0x0000ff); at != image.Pt(11, 11) {
		t.Fatalf("popup configured at %v, want 11,11", at)
	}
	bg := uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B)
	expectPixels(t, "popup on the second output", grimShot(t, dir, "-o", "HEADLESS-2"),
		map[image.Point]uint32{{11, 11}: 0x0000ff, {60, 60}: 0x0000ff, {61, 61}: 0x00ff00, {5, 5}: 0x00ff00})
	expectPixels(t, "nothing on the first", grimShot(t, dir, "-o", "HEADLESS-1"),
		map[image.Point]uint32{{11, 11}: bg, {60, 60}: bg})
}

// A surface whose output is powered off gets its frame callbacks from
// an output that still draws: weston-simple-shm on the first output
// keeps animating on the second's frames once the first is off.
func TestFrameCallbacksOutputOff(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, dir, _ := startServer(t, hb, Options{})
	shm := client(t, dir, "weston-simple-shm")
	if err := shm.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { shm.Process.Kill(); shm.Wait() })
	bg := uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B)
	waitNotPixel(t, dir, "HEADLESS-1", image.Pt(125, 125), bg)
	o1, o2 := hb.Outputs()[0], hb.Outputs()[1]
	frames := func() (uint64, uint64) {
		f1, f2 := o1.Info().Stats.Frames, o2.Info().Stats.Frames
		time.Sleep(500 * time.Millisecond)
		return o1.Info().Stats.Frames - f1, o2.Info().Stats.Frames - f2
	}
	d1, d2 := frames()
	t.Logf("frames in 500 ms, both on: first output %d, second %d", d1, d2)
	if d1 < 5 || d2 > 1 {
		t.Fatalf("both on: first output %d frames (want ≥ 5), second %d (want ≤ 1)", d1, d2)
	}
	r := dial(t, dir)
	g := r.globals() // the first wl_output is the lowest name
	first := uint32(0)
	for _, gl := range s.globals {
		if gl.iface == protocol.WlOutputInterface && first == 0 {
			first = gl.name
		}
	}
	r.bindGlobal(first, "wl_output", 4, 10)
	r.bindGlobal(g["zwlr_output_power_manager_v1"], "zwlr_output_power_manager_v1", 1, 11)
	r.req(11, 0, func(e *wire.Encoder) { e.NewID(12); e.Object(10) })
	r.req(12, 0, func(e *wire.Encoder) { e.Uint(protocol.ZwlrOutputPowerV1ModeOff) })
	r.events(func(obj uint32, op uint16, body []byte) bool {
		return obj == 12 && op == 0 && binary.NativeEndian.Uint32(body) == protocol.ZwlrOutputPowerV1ModeOff
	})
	d1, d2 = frames()
	t.Logf("frames in 500 ms, first off: first output %d, second %d", d1, d2)
	if d1 > 1 || d2 < 5 {
		t.Errorf("first off: first output %d frames (want ≤ 1), second %d (want ≥ 5: the animation's callbacks)", d1, d2)
	}
}

// A window fullscreen on an output whose window closes (nested) goes to
// the first output.
func TestFullscreenOutputClosed(t *testing.T) {
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	events := make(chan backend.Event)
	_, dir, _ := startServer(t, inputBackend{hb, events}, Options{})
	win, size, _ := showFullscreen(t, dir, solidShm(0x00ff00))
	if size != image.Pt(320, 240) {
		t.Fatalf("fullscreen on HEADLESS-2: %v", size)
	}
	events <- backend.Event{Kind: backend.OutputClosed, Output: hb.Outputs()[1]}
	var got image.Point
	win.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 8 && op == 0 {
			got = image.Pt(int(int32(binary.NativeEndian.Uint32(body))), int(int32(binary.NativeEndian.Uint32(body[4:]))))
			return true
		}
		return false
	})
	if got != image.Pt(640, 480) {
		t.Fatalf("after HEADLESS-2 closed: configured %v, want the first output's 640x480", got)
	}
}
