package server

import (
	"image"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// A panel's exclusive zone shrinks the output it is on: a top panel on
// the second output moves and shrinks the window fullscreen there (and
// gives it the whole output back when it goes); the window maximized on
// the first output keeps its whole output.
func TestExclusiveZoneSecondOutput(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim and testclient run on the host")
	}
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, dir, _ := startServer(t, hb, Options{})
	const red, green, blue = 0xff0000, 0x00ff00, 0x0000ff

	maxi := runTestclient(t, dir, "-color", "0xff0000")
	mfrom := 0
	if l := maxi.wait(t, &mfrom, prefix("configure "), "the maximized window's configure"); l != "configure 640 480" {
		t.Fatalf("maximized window: %q, want the first output's 640x480", l)
	}
	maxi.wait(t, &mfrom, prefix("drawn "), "the maximized window's frame")
	fs := runTestclient(t, dir, "-color", "0x00ff00", "-fullscreen", "HEADLESS-2")
	from := 0
	if l := fs.wait(t, &from, prefix("configure "), "configure"); l != "configure 320 240" {
		t.Fatalf("fullscreen window: %q, want the second output's 320x240", l)
	}
	fs.wait(t, &from, func(l string) bool { return l == "drawn 320 240" }, "its frame")

	// A 30-pixel top panel on the second output, exclusive zone 30.
	panel := lastOutputLayer(t, s, dir, protocol.ZwlrLayerShellV1LayerTop, "panel")
	panel.req(21, 0, func(e *wire.Encoder) { e.Uint(0); e.Uint(30) })
	panel.req(21, 1, func(e *wire.Encoder) {
		e.Uint(protocol.ZwlrLayerSurfaceV1AnchorTop | protocol.ZwlrLayerSurfaceV1AnchorLeft | protocol.ZwlrLayerSurfaceV1AnchorRight)
	})
	panel.req(21, 2, func(e *wire.Encoder) { e.Int(30) })
	panel.req(20, 6, nil)
	serial, size := panel.layerConfigure(21)
	if size != image.Pt(320, 30) {
		t.Fatalf("panel configured %v, want 320x30 (the second output's width)", size)
	}
	panel.req(21, 6, func(e *wire.Encoder) { e.Uint(serial) })
	panel.attachSolid(20, 30, 320, 30, blue)

	if l := fs.wait(t, &from, prefix("configure "), "configure after the panel"); l != "configure 320 210" {
		t.Fatalf("fullscreen window after the panel: %q, want 320x210 (the second output less the zone)", l)
	}
	fs.wait(t, &from, func(l string) bool { return l == "drawn 320 210" }, "its frame at the new size")
	waitPixel(t, dir, "HEADLESS-2", image.Pt(0, 30), green)
	expectPixels(t, "second output with the panel", grimShot(t, dir, "-o", "HEADLESS-2"), map[image.Point]uint32{
		{0, 0}: blue, {319, 29}: blue, // the panel
		{0, 30}: green, {319, 239}: green, // the window below it
	})
	expectPixels(t, "first output unchanged", grimShot(t, dir, "-o", "HEADLESS-1"), map[image.Point]uint32{
		{0, 0}: red, {639, 479}: red,
	})

	// The panel unmaps: the fullscreen window gets its whole output back.
	panel.req(20, 1, func(e *wire.Encoder) { e.Object(0); e.Int(0); e.Int(0) })
	panel.req(20, 6, nil)
	if l := fs.wait(t, &from, prefix("configure "), "configure after the panel went"); l != "configure 320 240" {
		t.Fatalf("fullscreen window after the panel went: %q, want 320x240", l)
	}
	fs.wait(t, &from, func(l string) bool { return l == "drawn 320 240" }, "its frame at the whole size")
	waitPixel(t, dir, "HEADLESS-2", image.Pt(0, 0), green)

	// Meanwhile the maximized window was never configured again.
	maxi.mu.Lock()
	got := append([]string(nil), maxi.all...)
	maxi.mu.Unlock()
	n := 0
	for _, l := range got {
		if strings.HasPrefix(l, "configure ") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the window on the first output got %d configures, want 1:\n%s", n, strings.Join(got, "\n"))
	}
}
