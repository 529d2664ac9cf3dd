package server

import (
	"encoding/binary"
	"image"
	"path/filepath"
	"slices"
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
// kiosk layout cannot do (turning the only output off, a position, a
// scale) fails and changes nothing; a transform turns the picture.
func TestWlrRandr(t *testing.T) {
	bin := realProgram(t, "wlr-randr", "wlr-randr")
	s, dir := start(t)
	out := startTestclient(t, dir)
	from := 0
	randr := func(args ...string) (string, error) { return wlrRandr(t, dir, bin, args...) }
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
	if p := logicalSize(); p != image.Pt(1000, 500) {
		t.Fatalf("xdg_output logical size %v after the custom mode", p)
	}
	list, _ = randr()
	if !strings.Contains(list, "1000x500 px, 60.000000 Hz (current)") {
		t.Errorf("the custom mode is not current:\n%s", list)
	}
	if img := grimShot(t, dir); img.Bounds().Dx() != 1000 || img.Bounds().Dy() != 500 {
		t.Fatalf("grim's picture is %v after --custom-mode 1000x500", img.Bounds())
	}
	for _, args := range [][]string{{"--off"}, {"--pos", "10,0"}, {"--scale", "2"}, {"--custom-mode", "1000x500@30Hz"}} {
		if b, err := randr(append([]string{"--output", "HEADLESS-1"}, args...)...); err == nil {
			t.Errorf("wlr-randr %v succeeded: %s", args, b)
		}
	}
	if list, _ := randr(); !strings.Contains(list, "1000x500 px, 60.000000 Hz (current)") || !strings.Contains(list, "Enabled: yes") {
		t.Errorf("a refused configuration changed the output:\n%s", list)
	}
	// Turned (turn.go): the toplevel and xdg-output get the turned size.
	if b, err := randr("--output", "HEADLESS-1", "--transform", "90"); err != nil {
		t.Fatalf("wlr-randr --transform 90: %v\n%s", err, b)
	}
	out.wait(t, &from, prefix("configure 500 1000"), "the toplevel configured to the turned picture")
	if p := logicalSize(); p != image.Pt(500, 1000) {
		t.Fatalf("xdg_output logical size %v after --transform 90", p)
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
	randr := func(args ...string) string { t.Helper(); return mustWlrRandr(t, dir, bin, args...) }
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

// A second headless screen at run time, driven by Debian's wlr-randr:
// HEADLESS-2 starts off (listed, disabled, with its mode), --on brings a
// wl_output global a long-lived client sees (wayland-info too) and grim
// captures, --off withdraws it again, closes the layer surface on it and
// fails its power control,
// and turning the last output off fails and changes nothing.
func TestWlrRandrOutputOnOff(t *testing.T) {
	bin := realProgram(t, "wlr-randr", "wlr-randr")
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}, {Width: 320, Height: 240}}, Enabled: 1, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, dir, _ := startServer(t, hb, Options{})
	randr := func(args ...string) (string, error) { return wlrRandr(t, dir, bin, args...) }
	mustRandr := func(args ...string) string { t.Helper(); return mustWlrRandr(t, dir, bin, args...) }
	head := func(list, name string) string {
		_, rest, _ := strings.Cut("\n"+list, "\n"+name+" ")
		if i := strings.Index(rest, "\nHEADLESS-"); i >= 0 { // the next head
			rest = rest[:i]
		}
		return rest
	}
	outputs := func() int { // wl_output globals wayland-info lists
		t.Helper()
		b, err := client(t, dir, "wayland-info", "-i", "wl_output").CombinedOutput()
		if err != nil {
			t.Fatalf("wayland-info: %v\n%s", err, b)
		}
		return strings.Count(string(b), "interface: 'wl_output'")
	}
	grimFails := func(name string) bool {
		t.Helper()
		return client(t, dir, "grim", "-o", name, filepath.Join(t.TempDir(), "shot.png")).Run() != nil
	}

	list := mustRandr()
	if h2 := head(list, "HEADLESS-2"); !strings.Contains(h2, "Enabled: no") || !strings.Contains(h2, "320x240 px") {
		t.Fatalf("HEADLESS-2 not listed off with its mode:\n%s", list)
	}
	if n := outputs(); n != 1 {
		t.Fatalf("wayland-info lists %d wl_output, want 1", n)
	}
	if !grimFails("HEADLESS-2") {
		t.Fatal("grim captured HEADLESS-2 while it is off")
	}
	// A client that stays watches the registry.
	r := dial(t, dir)
	globals := r.globals()
	first, compositor, layerShell, powerMgr := globals["wl_output"], globals["wl_compositor"], globals["zwlr_layer_shell_v1"], globals["zwlr_output_power_manager_v1"]
	xdgMgr := globals["zxdg_output_manager_v1"]
	newOutput := func() uint32 { return r.globalAdded("wl_output", first) }

	mustRandr("--output", "HEADLESS-2", "--on")
	name := newOutput()
	r.bindGlobal(name, "wl_output", 4, 10)
	var mode [2]uint32
	var outName string
	r.events(func(obj uint32, op uint16, body []byte) bool {
		switch {
		case obj == 10 && op == 1:
			mode = [2]uint32{binary.NativeEndian.Uint32(body[4:]), binary.NativeEndian.Uint32(body[8:])}
		case obj == 10 && op == 4:
			d := wire.NewDecoder(body, nil)
			outName = d.String()
		}
		return obj == 10 && op == 2
	})
	if mode != [2]uint32{320, 240} || outName != "HEADLESS-2" {
		t.Fatalf("turned on: wl_output mode %v name %q, want [320 240] HEADLESS-2", mode, outName)
	}
	list = mustRandr()
	if h2 := head(list, "HEADLESS-2"); !strings.Contains(h2, "Enabled: yes") || !strings.Contains(h2, "Position: 640,0") || !strings.Contains(h2, "320x240 px, 60.000000 Hz (preferred, current)") {
		t.Fatalf("HEADLESS-2 not on at 640,0:\n%s", list)
	}
	if n := outputs(); n != 2 {
		t.Fatalf("wayland-info lists %d wl_output after --on, want 2", n)
	}
	if b := grimShot(t, dir, "-o", "HEADLESS-2").Bounds(); b.Dx() != 320 || b.Dy() != 240 {
		t.Fatalf("grim -o HEADLESS-2: %v, want 320x240", b)
	}

	// A layer surface on HEADLESS-2 is closed when it goes off.
	r.bindGlobal(compositor, "wl_compositor", 4, 3)
	r.bindGlobal(layerShell, "zwlr_layer_shell_v1", 4, 11)
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(20) })
	r.req(11, 0, func(e *wire.Encoder) { e.NewID(21); e.Object(20); e.Object(10); e.Uint(2); e.String("panel") })
	r.req(21, 0, func(e *wire.Encoder) { e.Uint(100); e.Uint(30) })
	r.commit(20)
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 21 && op == 0 }) // configure
	// and its power control fails.
	r.bindGlobal(powerMgr, "zwlr_output_power_manager_v1", 1, 12)
	r.req(12, 0, func(e *wire.Encoder) { e.NewID(22); e.Object(10) })
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 22 && op == 0 }) // mode

	mustRandr("--output", "HEADLESS-2", "--off")
	removed, closed, failed := false, false, false
	r.events(func(obj uint32, op uint16, body []byte) bool {
		removed = removed || obj == 2 && op == 1 && binary.NativeEndian.Uint32(body) == name
		closed = closed || obj == 21 && op == 1
		failed = failed || obj == 22 && op == 1
		return removed && closed && failed
	})
	list = mustRandr()
	if h2 := head(list, "HEADLESS-2"); !strings.Contains(h2, "Enabled: no") || !strings.Contains(h2, "320x240 px") {
		t.Fatalf("HEADLESS-2 not listed off with its mode after --off:\n%s", list)
	}
	if n := outputs(); n != 1 {
		t.Fatalf("wayland-info lists %d wl_output after --off, want 1", n)
	}
	if !grimFails("HEADLESS-2") {
		t.Fatal("grim captured HEADLESS-2 after --off")
	}

	// The last output on stays on.
	for _, args := range [][]string{{"--output", "HEADLESS-1", "--off"}, {"--output", "HEADLESS-1", "--off", "--output", "HEADLESS-2", "--off"}} {
		if b, err := randr(args...); err == nil {
			t.Errorf("wlr-randr %v succeeded: %s", args, b)
		}
	}
	if h1 := head(mustRandr(), "HEADLESS-1"); !strings.Contains(h1, "Enabled: yes") {
		t.Fatalf("a refused configuration turned HEADLESS-1 off:\n%s", h1)
	}
	// On again (a new global), with a new mode at once; then the first
	// off: the second alone is on, at 0,0, and cannot go off.
	mustRandr("--output", "HEADLESS-2", "--on", "--mode", "640x480")
	again := newOutput()
	if again == name {
		t.Errorf("HEADLESS-2 came back with the old global name %d", name)
	}
	// Its xdg-output position follows the layout.
	r.bindGlobal(again, "wl_output", 4, 30)
	r.bindGlobal(xdgMgr, "zxdg_output_manager_v1", 3, 31)
	r.req(31, 1, func(e *wire.Encoder) { e.NewID(32); e.Object(30) })
	xdgPos := func() [2]int32 {
		var p [2]int32
		r.events(func(obj uint32, op uint16, body []byte) bool {
			if obj == 32 && op == 0 {
				p = [2]int32{int32(binary.NativeEndian.Uint32(body)), int32(binary.NativeEndian.Uint32(body[4:]))}
				return true
			}
			return false
		})
		return p
	}
	if p := xdgPos(); p != [2]int32{640, 0} {
		t.Errorf("HEADLESS-2's xdg-output position %v on again, want 640,0", p)
	}
	if b := grimShot(t, dir, "-o", "HEADLESS-2").Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Fatalf("grim -o HEADLESS-2 on again: %v, want 640x480", b)
	}
	mustRandr("--output", "HEADLESS-1", "--off")
	if p := xdgPos(); p != [2]int32{0, 0} {
		t.Errorf("HEADLESS-2's xdg-output position %v with HEADLESS-1 off, want 0,0", p)
	}
	list = mustRandr()
	if h2 := head(list, "HEADLESS-2"); !strings.Contains(h2, "Enabled: yes") || !strings.Contains(h2, "Position: 0,0") {
		t.Fatalf("HEADLESS-2 not alone at 0,0:\n%s", list)
	}
	if b, err := randr("--output", "HEADLESS-2", "--off"); err == nil {
		t.Errorf("turning the last output off succeeded: %s", b)
	}
	if n := outputs(); n != 1 {
		t.Fatalf("wayland-info lists %d wl_output, want 1", n)
	}
}

// Outputs that come and go (KMS hotplug) get heads, and have them
// finished, on every output manager bound.
func TestOutputHeadsHotplug(t *testing.T) {
	extra, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 200}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { extra.Close() })
	events := make(chan backend.Event)
	s, dir, _ := startWith(t, events)
	mgrs := []*raw{dial(t, dir), dial(t, dir)}
	for _, r := range mgrs {
		r.bind(globalName(s, protocol.ZwlrOutputManagerV1Interface), "zwlr_output_manager_v1", 2, 3)
		if added, _ := r.headsDone(); len(added) != 1 {
			t.Fatalf("%d heads at first, want 1", len(added))
		}
	}
	added := &closeCounter{Output: extra.Outputs()[0]}
	events <- backend.Event{Kind: backend.OutputAdded, Output: added}
	var newHead [2]uint32
	for i, r := range mgrs {
		ids, _ := r.headsDone()
		if len(ids) != 1 {
			t.Fatalf("manager %d: %d new heads after a plug, want 1", i, len(ids))
		}
		newHead[i] = ids[0]
	}
	events <- backend.Event{Kind: backend.OutputRemoved, Output: added}
	for i, r := range mgrs {
		if ids, finished := r.headsDone(); len(ids) != 0 || len(finished) != 1 || finished[0] != newHead[i] {
			t.Errorf("manager %d after the unplug: heads added %v, finished %v; want none, [%d]", i, ids, finished, newHead[i])
		}
	}
}

// headsDone reads the events of the output manager bound at 3 up to its
// done: the heads it added and the heads finished.
func (r *raw) headsDone() (added, finished []uint32) {
	r.t.Helper()
	r.events(func(obj uint32, op uint16, body []byte) bool {
		switch {
		case obj == 3 && op == 0:
			added = append(added, binary.NativeEndian.Uint32(body))
		case obj >= serverIDStart && op == 9 && !slices.Contains(added, obj) && len(body) == 0:
			finished = append(finished, obj) // zwlr_output_head_v1.finished (a mode's op 9 does not exist)
		}
		return obj == 3 && op == 1
	})
	return added, finished
}

// Turned off and on again and again, faster than a frame (an output
// turned on again while its last frame is in flight comes back once it
// is done), HEADLESS-2 ends on, listed so, and captured by grim.
func TestOutputToggleQuickly(t *testing.T) {
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 200}, {Width: 160, Height: 100}}, Enabled: 1, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, dir, _ := startServer(t, hb, Options{})
	r := dial(t, dir)
	mgr := r.globals()["zwlr_output_manager_v1"] // (the test reads no s.globals: the server adds to them)
	r.bindGlobal(mgr, "zwlr_output_manager_v1", 2, 3)
	heads := map[string]uint32{}
	enabled := map[uint32]bool{}
	var last uint32 // head whose name event comes next
	var serial uint32
	fresh := false // a done came since the last configuration
	handle := func(obj uint32, op uint16, body []byte) {
		switch {
		case obj == 3 && op == 0:
			last = binary.NativeEndian.Uint32(body)
		case obj == last && op == 0:
			d := wire.NewDecoder(body, nil)
			heads[d.String()] = last
		case obj >= 0xff000000 && op == 4:
			enabled[obj] = binary.NativeEndian.Uint32(body) == 1
		case obj == 3 && op == 1:
			serial, fresh = binary.NativeEndian.Uint32(body), true
		}
	}
	done := func() {
		for !fresh {
			r.events(func(obj uint32, op uint16, body []byte) bool {
				handle(obj, op, body)
				return fresh
			})
		}
		fresh = false
	}
	done()
	h1, h2 := heads["HEADLESS-1"], heads["HEADLESS-2"]
	if h1 == 0 || h2 == 0 || enabled[h2] {
		t.Fatalf("heads %v enabled %v: want HEADLESS-1 on, HEADLESS-2 off", heads, enabled)
	}
	id := uint32(100)
	for i := 0; i < 41; { // ends on
		on := i%2 == 0
		cfg := id
		id += 3
		r.req(3, 0, func(e *wire.Encoder) { e.NewID(cfg); e.Uint(serial) })
		r.req(cfg, 0, func(e *wire.Encoder) { e.NewID(cfg + 1); e.Object(h1) })
		if on {
			r.req(cfg, 0, func(e *wire.Encoder) { e.NewID(cfg + 2); e.Object(h2) })
		} else {
			r.req(cfg, 1, func(e *wire.Encoder) { e.Object(h2) })
		}
		r.req(cfg, 2, nil) // apply
		var result uint16
		r.events(func(obj uint32, op uint16, body []byte) bool {
			handle(obj, op, body)
			result = op
			return obj == cfg
		})
		if result == 2 { // cancelled: a drained output came back meanwhile
			done()
			continue // the same toggle again (advancing would ask for what is already so: no done comes)
		}
		if result != 0 {
			t.Fatalf("toggle %d (on %v): configuration answered %d, want succeeded", i, on, result)
		}
		r.req(cfg, 4, nil) // destroy
		done()
		i++
	}
	for !enabled[h2] { // it may still be coming back
		done()
	}
	if b := grimShot(t, dir, "-o", "HEADLESS-2").Bounds(); b.Dx() != 160 || b.Dy() != 100 {
		t.Fatalf("grim -o HEADLESS-2 after the toggles: %v, want 160x100", b)
	}
}

// globals makes a registry (object 2) and returns its globals by
// interface (the last of each), after a sync (object 3).
func (r *raw) globals() map[string]uint32 {
	r.t.Helper()
	r.req(1, 1, func(e *wire.Encoder) { e.NewID(2) })
	r.req(1, 0, func(e *wire.Encoder) { e.NewID(3) })
	globals := map[string]uint32{}
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 2 && op == 0 {
			d := wire.NewDecoder(body, nil)
			n := d.Uint()
			globals[d.String()] = n
		}
		return obj == 3
	})
	return globals
}

// bindGlobal binds global name through registry 2 as object id.
func (r *raw) bindGlobal(name uint32, iface string, version, id uint32) {
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(name); e.String(iface); e.Uint(version); e.NewID(id) })
}

// globalAdded waits for registry 2 to announce a global of iface other
// than except and returns its name.
func (r *raw) globalAdded(iface string, except uint32) uint32 {
	r.t.Helper()
	var name uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj != 2 || op != 0 {
			return false
		}
		d := wire.NewDecoder(body, nil)
		n := d.Uint()
		if d.String() == iface && n != except {
			name = n
			return true
		}
		return false
	})
	return name
}

// wlrRandr runs Debian's wlr-randr (bin) with args against the server
// listening in dir: its output and error.
func wlrRandr(t *testing.T, dir, bin string, args ...string) (string, error) {
	t.Helper()
	b, err := client(t, dir, bin, args...).CombinedOutput()
	return string(b), err
}

// mustWlrRandr is wlrRandr, failing the test when wlr-randr fails.
func mustWlrRandr(t *testing.T, dir, bin string, args ...string) string {
	t.Helper()
	out, err := wlrRandr(t, dir, bin, args...)
	if err != nil {
		t.Fatalf("wlr-randr %v: %v\n%s", args, err, out)
	}
	return out
}
