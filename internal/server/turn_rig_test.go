package server

import (
	"encoding/binary"
	"image"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// wlr-randr turns a KMS output over vkms at run time, and back: by 90
// degrees (the plane cannot: the compositor draws the picture turned
// into the panel's framebuffer), by 180 (the plane turns it where vkms
// offers its rotation, else composed), then normal. Each time the
// kiosk toplevel is configured to the turned picture's size, the
// scanned-out framebuffer shows the marker where the panel shows the
// picture's points as drawn (RenderTransform), and grim's screenshot
// is upright.
func TestRigWlrRandrTurn(t *testing.T) {
	requireGuestPrograms(t, "wlr-randr", "grim")
	rigtest.CheckFDs(t)
	s, dir, o := startKMS(t, false)
	r := showPixels(t, s, dir, 100, 60, marker)
	m := o.Mode()
	for _, step := range []struct {
		arg string
		tr  backend.Transform
	}{{"90", backend.Transform90}, {"180", backend.Transform180}, {"normal", backend.TransformNormal}} {
		f0 := o.Info().Stats.Frames
		if out, err := client(t, dir, "wlr-randr", "--output", o.Name(), "--transform", step.arg).CombinedOutput(); err != nil {
			t.Fatalf("wlr-randr --transform %s: %v\n%s", step.arg, err, out)
		}
		lw, lh := step.tr.LogicalSize(m.Width, m.Height)
		var configured [2]int32
		r.events(func(obj uint32, op uint16, body []byte) bool {
			if obj == 8 && op == 0 { // xdg_toplevel.configure
				d := wire.NewDecoder(body, nil)
				configured = [2]int32{d.Int(), d.Int()}
			}
			return configured == [2]int32{int32(lw), int32(lh)}
		})
		settle(t, o, f0)
		if got := o.(backend.Transformed).Transform(); got != step.tr {
			t.Fatalf("--transform %s: the output is mounted %v", step.arg, got)
		}
		if b := s.outputs[0].bounds; b != image.Rect(0, 0, lw, lh) {
			t.Fatalf("--transform %s: picture %v, want %dx%d", step.arg, b, lw, lh)
		}
		drawn := o.(backend.Composed).RenderTransform()
		pix := func(px []byte, pitch int, lx, ly int) uint32 {
			x, y := drawn.FromLogical(m.Width, m.Height, float64(lx)+0.5, float64(ly)+0.5)
			return binary.LittleEndian.Uint32(px[int(y)*pitch+int(x)*4:]) & 0xffffff
		}
		want := map[image.Point]uint32{{0, 0}: 0x00ff00, {9, 9}: 0x00ff00, {10, 0}: 0xff0000, {49, 59}: 0xff0000, {50, 0}: 0x0000ff,
			{99, 59}: 0x0000ff, {100, 0}: bgRGB(), {0, 60}: bgRGB(), {lw - 1, lh - 1}: bgRGB()}
		waitFor(t, "the marker on screen drawn "+drawn.String(), func() bool {
			px, pitch := scannedOutPixels(t, o) // the mode's size: the panel's framebuffer
			for p, c := range want {
				if pix(px, pitch, p.X, p.Y) != c {
					return false
				}
			}
			return true
		})
		expectUpright(t, grimShot(t, dir), lw, lh)
		t.Logf("--transform %s: picture %dx%d, turned by the compositor: %v (the plane turns what remains); %s", step.arg, lw, lh, drawn, pathOf(o.Info()))
	}
}
