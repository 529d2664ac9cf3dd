package server

import (
	"strings"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// Debian's wlr-randr turns a headless 640×480 output by 90 degrees and
// back at run time: a client's wl_output hears the new transform, its
// toplevel is configured to the turned picture's size (480×640, then
// 640×480 again), wlr-randr lists the transform, and grim's screenshot
// (turned upright by wl_output.transform) shows the toplevel at the top
// left each time.
func TestWlrRandrTurnAtRunTime(t *testing.T) {
	bin := realProgram(t, "wlr-randr", "wlr-randr")
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, dir, _ := startOn(t, hb, nil)
	r := showPixels(t, s, dir, 100, 60, marker)
	r.bindGlobal(globalName(s, protocol.WlOutputInterface), "wl_output", 4, 11)
	r.roundtrip(51)
	randr := func(args ...string) string { t.Helper(); return mustWlrRandr(t, dir, bin, args...) }
	for i, step := range []struct {
		arg    string
		t      backend.Transform
		lw, lh int
	}{{"90", backend.Transform90, 480, 640}, {"normal", backend.TransformNormal, 640, 480}, {"flipped-270", backend.TransformFlipped270, 480, 640}} {
		randr("--output", "HEADLESS-1", "--transform", step.arg)
		geometry, configured := backend.Transform(-1), [2]int32{}
		var serial uint32
		r.events(func(obj uint32, op uint16, body []byte) bool {
			d := wire.NewDecoder(body, nil)
			switch {
			case obj == 11 && op == 0:
				geometry = geometryTransform(body)
			case obj == 8 && op == 0: // xdg_toplevel.configure
				configured = [2]int32{d.Int(), d.Int()}
			case obj == 7 && op == 0: // xdg_surface.configure
				serial = d.Uint()
			}
			return geometry >= 0 && serial != 0
		})
		if geometry != step.t || configured != [2]int32{int32(step.lw), int32(step.lh)} {
			t.Fatalf("--transform %s: wl_output transform %v, toplevel configured %v; want %v, [%d %d]", step.arg, geometry, configured, step.t, step.lw, step.lh)
		}
		r.req(7, 4, func(e *wire.Encoder) { e.Uint(serial) }) // ack_configure
		r.commit(6)
		r.roundtrip(uint32(52 + i))
		if l := randr(); !strings.Contains(l, "Transform: "+step.arg) {
			t.Fatalf("--transform %s: wlr-randr lists\n%s", step.arg, l)
		}
		expectUpright(t, grimShot(t, dir), step.lw, step.lh)
	}
}

// unturnable is a headless backend whose outputs cannot turn (no
// backend.Transformable, nor anything else but backend.Output).
type unturnable struct{ *headless.Backend }

func (b unturnable) Outputs() []backend.Output {
	var outs []backend.Output
	for _, o := range b.Backend.Outputs() {
		outs = append(outs, struct{ backend.Output }{o})
	}
	return outs
}

// An output that cannot turn refuses another transform (wlr-randr
// fails, nothing changes) and accepts the one it has.
func TestWlrRandrTurnRefused(t *testing.T) {
	bin := realProgram(t, "wlr-randr", "wlr-randr")
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, dir, _ := startOn(t, unturnable{hb}, nil)
	if b, err := client(t, dir, bin, "--output", "HEADLESS-1", "--transform", "90").CombinedOutput(); err == nil {
		t.Fatalf("wlr-randr --transform 90 on an output that cannot turn succeeded: %s", b)
	}
	if b, err := client(t, dir, bin, "--output", "HEADLESS-1", "--transform", "normal").CombinedOutput(); err != nil {
		t.Fatalf("wlr-randr --transform normal (as it is): %v\n%s", err, b)
	}
	if b := grimShot(t, dir).Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Fatalf("grim's picture is %v after a refused turn, want 640x480", b)
	}
}

// geometryTransform reads the transform of a wl_output.geometry event.
func geometryTransform(body []byte) backend.Transform {
	d := wire.NewDecoder(body, nil)
	for range 5 { // x, y, physical width and height, subpixel
		d.Int()
	}
	_, _ = d.String(), d.String() // make, model
	return backend.Transform(d.Int())
}
