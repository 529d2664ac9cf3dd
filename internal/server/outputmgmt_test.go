package server

import (
	"image"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// wlr-randr (Debian's) lists the headless output's modes and changes the
// mode, to a listed one and to a custom size: clients' wl_output and a
// toplevel's configure follow, grim's picture has the new size. What the
// kiosk layout cannot do (a transform, turning the only output off) fails
// and changes nothing.
func TestWlrRandr(t *testing.T) {
	bin := realProgram(t, "wlr-randr", "wlr-randr")
	s, dir := start(t)
	out := startTestclient(t, dir)
	from := 0
	randr := func(args ...string) (string, error) {
		cmd := client(t, dir, bin, args...)
		b, err := cmd.CombinedOutput()
		return string(b), err
	}
	list, err := randr()
	if err != nil {
		t.Fatalf("wlr-randr: %v\n%s", err, list)
	}
	for _, want := range []string{"HEADLESS-1", "640x480 px, 60.000000 Hz (preferred, current)", "1280x720 px, 60.000000 Hz", "Position: 0,0", "Transform: normal", "Scale: 1.000000"} {
		if !strings.Contains(list, want) {
			t.Errorf("wlr-randr lacks %q:\n%s", want, list)
		}
	}
	// A client that stays (as wayvnc does) hears the new size through
	// xdg-output.
	xo := dial(t, dir)
	xo.bind(globalName(s, protocol.WlOutputInterface), "wl_output", 4, 3)
	xo.req(2, 0, func(e *wire.Encoder) {
		e.Uint(globalName(s, protocol.ZxdgOutputManagerV1Interface))
		e.String("zxdg_output_manager_v1")
		e.Uint(3)
		e.NewID(4)
	})
	xo.req(4, 1, func(e *wire.Encoder) { e.NewID(5); e.Object(3) })
	logicalSize := func() image.Point {
		var p image.Point
		xo.events(func(obj uint32, op uint16, body []byte) bool {
			if obj == 5 && op == 1 {
				d := wire.NewDecoder(body, nil)
				p = image.Pt(int(d.Int()), int(d.Int()))
				return true
			}
			return false
		})
		return p
	}
	if p := logicalSize(); p != image.Pt(640, 480) {
		t.Fatalf("xdg_output logical size %v", p)
	}
	if b, err := randr("--output", "HEADLESS-1", "--mode", "1280x720"); err != nil {
		t.Fatalf("wlr-randr --mode 1280x720: %v\n%s", err, b)
	}
	out.wait(t, &from, prefix("configure 1280 720"), "the toplevel configured to the new mode")
	if p := logicalSize(); p != image.Pt(1280, 720) {
		t.Fatalf("xdg_output logical size %v after the mode change", p)
	}
	if img := grimShot(t, dir); img.Bounds().Dx() != 1280 || img.Bounds().Dy() != 720 {
		t.Fatalf("grim's picture is %v after --mode 1280x720", img.Bounds())
	}
	if b, err := randr("--output", "HEADLESS-1", "--custom-mode", "1000x500"); err != nil {
		t.Fatalf("wlr-randr --custom-mode: %v\n%s", err, b)
	}
	out.wait(t, &from, prefix("configure 1000 500"), "the toplevel configured to the custom mode")
	list, _ = randr()
	if !strings.Contains(list, "1000x500 px, 60.000000 Hz (current)") {
		t.Errorf("the custom mode is not current:\n%s", list)
	}
	if img := grimShot(t, dir); img.Bounds().Dx() != 1000 || img.Bounds().Dy() != 500 {
		t.Fatalf("grim's picture is %v after --custom-mode 1000x500", img.Bounds())
	}
	for _, args := range [][]string{{"--transform", "90"}, {"--off"}, {"--pos", "10,0"}, {"--scale", "2"}, {"--custom-mode", "1000x500@30Hz"}} {
		if b, err := randr(append([]string{"--output", "HEADLESS-1"}, args...)...); err == nil {
			t.Errorf("wlr-randr %v succeeded: %s", args, b)
		}
	}
	if list, _ := randr(); !strings.Contains(list, "1000x500 px, 60.000000 Hz (current)") || !strings.Contains(list, "Enabled: yes") {
		t.Errorf("a refused configuration changed the output:\n%s", list)
	}
}

func TestOutputManagementBadRequests(t *testing.T) {
	s, dir := start(t)
	mgr := globalName(s, protocol.ZwlrOutputManagerV1Interface)
	// bind the manager at 3 and read its head's and first mode's ids
	setup := func(r *raw) (head, mode uint32) {
		r.bind(mgr, "zwlr_output_manager_v1", 2, 3)
		r.events(func(obj uint32, op uint16, body []byte) bool {
			d := wire.NewDecoder(body, nil)
			switch {
			case obj == 3 && op == 0:
				head = d.Uint()
			case obj == head && op == 3 && mode == 0:
				mode = d.Uint()
			case obj == 3 && op == 1:
				return true
			}
			return false
		})
		r.req(3, 0, func(e *wire.Encoder) { e.NewID(4); e.Uint(1) }) // configuration 4 (any serial)
		return head, mode
	}
	enable := func(r *raw, head uint32) { r.req(4, 0, func(e *wire.Encoder) { e.NewID(5); e.Object(head) }) }
	checkBadRequests(t, s, dir, []badCase{
		{"head twice", func(t *testing.T, r *raw) {
			h, _ := setup(r)
			enable(r, h)
			r.req(4, 1, func(e *wire.Encoder) { e.Object(h) })
		}, 4, protocol.ZwlrOutputConfigurationV1ErrorAlreadyConfiguredHead},
		{"apply without every head", func(t *testing.T, r *raw) { setup(r); r.req(4, 2, nil) }, 4, protocol.ZwlrOutputConfigurationV1ErrorUnconfiguredHead},
		{"test after apply", func(t *testing.T, r *raw) {
			h, _ := setup(r)
			enable(r, h)
			r.req(4, 2, nil)
			r.req(4, 3, nil)
		}, 4, protocol.ZwlrOutputConfigurationV1ErrorAlreadyUsed},
		{"head is not a head", func(t *testing.T, r *raw) { setup(r); enable(r, 3) }, 4, protocol.WlDisplayErrorInvalidObject},
		{"mode twice", func(t *testing.T, r *raw) {
			h, m := setup(r)
			enable(r, h)
			r.req(5, 0, func(e *wire.Encoder) { e.Object(m) })
			r.req(5, 1, func(e *wire.Encoder) { e.Int(100); e.Int(100); e.Int(0) })
		}, 5, protocol.ZwlrOutputConfigurationHeadV1ErrorAlreadySet},
		{"mode is not a mode", func(t *testing.T, r *raw) {
			h, _ := setup(r)
			enable(r, h)
			r.req(5, 0, func(e *wire.Encoder) { e.Object(h) })
		}, 5, protocol.WlDisplayErrorInvalidObject},
		{"custom mode of width 0", func(t *testing.T, r *raw) {
			h, _ := setup(r)
			enable(r, h)
			r.req(5, 1, func(e *wire.Encoder) { e.Int(0); e.Int(100); e.Int(60000) })
		}, 5, protocol.ZwlrOutputConfigurationHeadV1ErrorInvalidCustomMode},
		{"transform 8", func(t *testing.T, r *raw) {
			h, _ := setup(r)
			enable(r, h)
			r.req(5, 3, func(e *wire.Encoder) { e.Int(8) })
		}, 5, protocol.ZwlrOutputConfigurationHeadV1ErrorInvalidTransform},
		{"scale 0", func(t *testing.T, r *raw) {
			h, _ := setup(r)
			enable(r, h)
			r.req(5, 4, func(e *wire.Encoder) { e.Fixed(0) })
		}, 5, protocol.ZwlrOutputConfigurationHeadV1ErrorInvalidScale},
		{"position twice", func(t *testing.T, r *raw) {
			h, _ := setup(r)
			enable(r, h)
			r.req(5, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0) })
			r.req(5, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0) })
		}, 5, protocol.ZwlrOutputConfigurationHeadV1ErrorAlreadySet},
	})
	// A configuration made for an old serial is cancelled, not applied.
	r := dial(t, dir)
	h, _ := setup(r)
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(6); e.Uint(0xfffffff) })
	r.req(6, 0, func(e *wire.Encoder) { e.NewID(7); e.Object(h) })
	r.req(7, 1, func(e *wire.Encoder) { e.Int(320); e.Int(200); e.Int(0) })
	r.req(6, 2, nil)
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 6 {
			if op != 2 {
				t.Fatalf("stale configuration: event %d, want cancelled (2)", op)
			}
			return true
		}
		return false
	})
}

// Two outputs stand side by side: wlr-randr sees the second at the
// first's width, and when the first changes size the second moves.
func TestWlrRandrTwoOutputs(t *testing.T) {
	bin := realProgram(t, "wlr-randr", "wlr-randr")
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, dir, _ := startServer(t, hb, Options{})
	randr := func(args ...string) string {
		t.Helper()
		b, err := client(t, dir, bin, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("wlr-randr %v: %v\n%s", args, err, b)
		}
		return string(b)
	}
	second := func(list string) string {
		_, rest, _ := strings.Cut(list, "HEADLESS-2")
		return rest
	}
	if l := randr(); !strings.Contains(second(l), "Position: 640,0") {
		t.Fatalf("second output not at 640,0:\n%s", l)
	}
	randr("--output", "HEADLESS-1", "--mode", "800x600")
	if l := randr(); !strings.Contains(second(l), "Position: 800,0") {
		t.Fatalf("second output not moved to 800,0:\n%s", l)
	}
	randr("--output", "HEADLESS-2", "--pos", "800,0") // where it is: fine
	if b, err := client(t, dir, bin, "--output", "HEADLESS-2", "--pos", "0,0").CombinedOutput(); err == nil {
		t.Fatalf("moving the second output onto the first succeeded: %s", b)
	}
}
