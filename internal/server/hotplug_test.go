package server

import (
	"encoding/binary"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// closeCounter is a headless output whose Close is counted.
type closeCounter struct {
	backend.Output
	closed atomic.Int32
}

func (c *closeCounter) Close() error { c.closed.Add(1); return nil }

// An output added while running is announced to existing registries and
// binds with its name and mode; removed, its global is withdrawn, and the
// backend output is closed.
func TestOutputHotplug(t *testing.T) {
	extra, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 200}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { extra.Close() }) // after the server stopped
	events := make(chan backend.Event)
	s, dir, _ := startWith(t, events)
	first := globalName(s, protocol.WlOutputInterface)
	r := dial(t, dir)
	r.req(1, 1, func(e *wire.Encoder) { e.NewID(2) })
	r.roundtrip(3)
	added := &closeCounter{Output: extra.Outputs()[0]}
	events <- backend.Event{Kind: backend.OutputAdded, Output: added}
	name := r.globalAdded("wl_output", first)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(name); e.String("wl_output"); e.Uint(4); e.NewID(10) })
	var mode [2]uint32
	var outName string
	r.events(func(obj uint32, op uint16, body []byte) bool {
		switch {
		case obj == 10 && op == 1: // mode
			mode = [2]uint32{binary.NativeEndian.Uint32(body[4:]), binary.NativeEndian.Uint32(body[8:])}
		case obj == 10 && op == 4: // name
			d := wire.NewDecoder(body, nil)
			outName = d.String()
		}
		return obj == 10 && op == 2 // done
	})
	if mode != [2]uint32{320, 200} || outName != added.Name() {
		t.Errorf("new output: mode %v name %q, want 320x200 %q", mode, outName, added.Name())
	}
	events <- backend.Event{Kind: backend.OutputRemoved, Output: added}
	r.events(func(obj uint32, op uint16, body []byte) bool {
		return obj == 2 && op == 1 && binary.NativeEndian.Uint32(body) == name // global_remove
	})
	// A registry made now does not list it.
	r.req(1, 1, func(e *wire.Encoder) { e.NewID(11) })
	r.req(1, 0, func(e *wire.Encoder) { e.NewID(12) })
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 11 && op == 0 && binary.NativeEndian.Uint32(body) == name {
			t.Error("a new registry lists the removed output")
		}
		return obj == 12
	})
	deadline := time.Now().Add(5 * time.Second)
	for added.closed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := added.closed.Load(); n != 1 {
		t.Errorf("removed output closed %d times, want 1", n)
	}
}

// turned is a headless output mounted upside down.
type turned struct{ backend.Output }

func (turned) Transform() backend.Transform { return backend.Transform90 }

type turnedBackend struct {
	*headless.Backend
	out turned
}

func (b turnedBackend) Outputs() []backend.Output { return []backend.Output{b.out} }

// A transformed output tells clients in wl_output.geometry, and
// xdg_output's logical size is the turned one.
func TestOutputTransformTold(t *testing.T) {
	h, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 200}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	s, dir, _ := startServer(t, turnedBackend{h, turned{h.Outputs()[0]}}, Options{})
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlOutputInterface, 4: protocol.ZxdgOutputManagerV1Interface})
	var transform int32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 3 && op == 0 {
			transform = int32(geometryTransform(body))
			return true
		}
		return false
	})
	if transform != int32(backend.Transform90) {
		t.Errorf("wl_output.geometry transform %d, want 90's %d", transform, backend.Transform90)
	}
	r.req(4, 1, func(e *wire.Encoder) { e.NewID(5); e.Object(3) })
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 5 && op == 1 {
			if w, h := int32(binary.NativeEndian.Uint32(body)), int32(binary.NativeEndian.Uint32(body[4:])); w != 200 || h != 320 {
				t.Errorf("xdg_output logical size %dx%d, want 200x320", w, h)
			}
			return true
		}
		return false
	})
}
