package server

import (
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// IdleTimeout: with no input the output is turned off (an output-power
// watcher hears it) and no frame is drawn; input turns it back on.
func TestIdleBlanking(t *testing.T) {
	events := make(chan backend.Event)
	h, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 320, Height: 240}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	const idle = 300 * time.Millisecond
	start := time.Now()
	s, dir, _ := startServer(t, inputBackend{h, events}, Options{IdleTimeout: idle})
	out := h.Outputs()[0]
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlOutputInterface, 4: protocol.ZwlrOutputPowerManagerV1Interface})
	r.req(4, 0, func(e *wire.Encoder) { e.NewID(5); e.Object(3) })
	watch := map[uint32]bool{5: true}
	if ev := r.expect(watch, 5, 0); ev.args[0] != protocol.ZwlrOutputPowerV1ModeOn {
		t.Fatalf("initial mode %v", ev.args)
	}
	if ev := r.expect(watch, 5, 0); ev.args[0] != protocol.ZwlrOutputPowerV1ModeOff {
		t.Fatalf("mode after idling %v, want off", ev.args)
	}
	if d := time.Since(start); d < idle {
		t.Errorf("blanked after %v, before the %v timeout", d, idle)
	}
	frames := out.Info().Stats.Frames
	events <- backend.Event{Kind: backend.PointerMotion, Output: out, X: 5, Y: 5}
	if ev := r.expect(watch, 5, 0); ev.args[0] != protocol.ZwlrOutputPowerV1ModeOn {
		t.Fatalf("mode after input %v, want on", ev.args)
	}
	deadline := time.Now().Add(5 * time.Second)
	for out.Info().Stats.Frames == frames {
		if time.Now().After(deadline) {
			t.Fatal("no frame after unblanking")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// Idle again: off again.
	if ev := r.expect(watch, 5, 0); ev.args[0] != protocol.ZwlrOutputPowerV1ModeOff {
		t.Fatalf("mode after idling again %v, want off", ev.args)
	}
}
