package server

import (
	"encoding/binary"
	"image"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// copyWithDamage asks for a copy_with_damage of output 13 through the
// screencopy manager mgr (frame id frame, its pool and buffer at frame+1
// and frame+2); wait, when set, is called between the request and the
// reading of the result. It returns the damage the server reported.
func copyWithDamage(t *testing.T, r *raw, mgr, frame uint32, wait func()) image.Rectangle {
	t.Helper()
	r.req(mgr, 0, func(e *wire.Encoder) { e.NewID(frame); e.Int(0); e.Object(13) })
	var w, h, stride uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == frame && op == 0 {
			w, h, stride = binary.NativeEndian.Uint32(body[4:]), binary.NativeEndian.Uint32(body[8:]), binary.NativeEndian.Uint32(body[12:])
			return true
		}
		return false
	})
	fd := memfd(t, int64(stride*h))
	r.shmBuffer(frame+1, frame+2, fd, int(w), int(h), int(stride))
	r.req(frame, 2, func(e *wire.Encoder) { e.Object(frame + 2) }) // copy_with_damage
	if wait != nil {
		wait()
	}
	var d image.Rectangle
	damaged := false
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj != frame {
			return false
		}
		switch op {
		case 3:
			t.Fatal("screencopy failed")
		case 4:
			u := func(i int) int { return int(binary.NativeEndian.Uint32(body[4*i:])) }
			d, damaged = image.Rect(u(0), u(1), u(0)+u(2), u(1)+u(3)), true
		}
		return op == 2
	})
	if !damaged {
		t.Errorf("frame %d: ready without a damage event", frame)
	}
	r.req(frame, 1, nil)
	r.req(frame+2, 0, nil)
	r.req(frame+1, 1, nil)
	return d
}

// copy_with_damage reports the damage since the previous copy made
// through the same zwlr_screencopy_manager_v1 object, as the protocol
// says ("derived from the current screencopy manager instance") and
// wlroots does: a second manager object of the same client sees the
// whole output at its first copy although the first one's copy took
// that damage, and each sees a later commit's damage.
func TestScreencopyDamagePerManager(t *testing.T) {
	s, dir := start(t)
	r := showSolid(t, s, dir, 200, 200, 0x00ff0000)
	name := globalName(s, protocol.ZwlrScreencopyManagerV1Interface)
	for _, id := range []uint32{12, 14} {
		r.req(2, 0, func(e *wire.Encoder) {
			e.Uint(name)
			e.String(protocol.ZwlrScreencopyManagerV1Interface.Name)
			e.Uint(3)
			e.NewID(id)
		})
	}
	r.req(2, 0, func(e *wire.Encoder) {
		e.Uint(globalName(s, protocol.WlOutputInterface))
		e.String(protocol.WlOutputInterface.Name)
		e.Uint(4)
		e.NewID(13)
	})
	r.roundtrip(20)
	all := image.Rect(0, 0, 640, 480)
	if d := copyWithDamage(t, r, 12, 30, nil); d != all {
		t.Errorf("first copy through manager A: damage %v, want %v", d, all)
	}
	small := image.Rect(10, 20, 15, 27)
	commit := func() { // new content in small
		r.req(6, 1, func(e *wire.Encoder) { e.Object(10); e.Int(0); e.Int(0) })
		r.req(6, 2, func(e *wire.Encoder) { e.Int(10); e.Int(20); e.Int(5); e.Int(7) })
		r.req(6, 6, nil)
	}
	// Manager B's first copy: everything, not only what changed since A's
	// copy (the commit lets a per-client tracking finish instead of hang).
	if d := copyWithDamage(t, r, 14, 40, commit); d != all {
		t.Errorf("first copy through manager B after A's: damage %v, want %v", d, all)
	}
	if d := copyWithDamage(t, r, 12, 50, nil); d != small {
		t.Errorf("second copy through manager A: damage %v, want the commit's %v", d, small)
	}
	commit()
	r.roundtrip(21)
	if d := copyWithDamage(t, r, 14, 60, nil); d != small {
		t.Errorf("second copy through manager B: damage %v, want the commit's %v", d, small)
	}
	// A destroyed manager object's watch goes (its frames would stay
	// valid, as the protocol says); B's stays.
	r.req(12, 2, nil)
	commit()
	if d := copyWithDamage(t, r, 14, 70, nil); d != small {
		t.Errorf("copy through manager B after A's destroy: damage %v, want %v", d, small)
	}
}

// grim, a real client, leaves the cursor out by default and has it with
// -c (overlay_cursor), for a composed cursor (headless has no cursor
// plane) and for one on a cursor plane.
func TestGrimCursor(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	for _, c := range []struct {
		name  string
		plane bool
	}{{"composed", false}, {"plane", true}} {
		t.Run(c.name, func(t *testing.T) {
			events := make(chan backend.Event)
			h, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
			if err != nil {
				t.Fatal(err)
			}
			var out backend.Output = h.Outputs()[0]
			var be backend.Backend = inputBackend{h, events}
			if c.plane {
				po := &planeOutput{Output: out}
				out, be = po, planeBackend{inputBackend{h, events}, po}
			}
			s, dir, _ := startServer(t, be, Options{})
			s.SetPointerPresent(true)
			r, watch := cursorClient(t, s, dir)
			move(t, r, watch, events, out, 50, 60, true)
			const red, black, white = 0xff0000, 0, 0xffffff
			expectPixels(t, "grim", grimShot(t, dir), map[image.Point]uint32{{50, 60}: red, {51, 62}: red})
			expectPixels(t, "grim -c", grimShot(t, dir, "-c"), map[image.Point]uint32{{50, 60}: black, {51, 62}: white, {49, 60}: red})
		})
	}
}
