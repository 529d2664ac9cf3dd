package headless

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// Outputs past Options.Enabled start off with no targets; turned on they
// get targets of their mode (a mode set while off included), turned off
// they release them and Next says so.
func TestOutputToggle(t *testing.T) {
	b, err := New(Options{Outputs: []backend.Size{{Width: 64, Height: 64}, {Width: 32, Height: 16}}, Enabled: 1,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	outs := b.Outputs()
	first, second := outs[0].(backend.OutputToggler), outs[1].(backend.OutputToggler)
	if !first.Enabled() || second.Enabled() {
		t.Fatalf("enabled %v %v, want true false", first.Enabled(), second.Enabled())
	}
	if _, _, err := outs[1].Next(); !errors.Is(err, errOff) {
		t.Fatalf("Next on an output that is off: %v", err)
	}
	if err := outs[1].(backend.ModeSetter).SetMode(scanout.Mode{Width: 48, Height: 24}); err != nil {
		t.Fatal(err)
	}
	for range 2 { // on twice: once is enough
		if err := second.SetEnabled(true); err != nil {
			t.Fatal(err)
		}
	}
	buf, _, err := outs[1].Next()
	if err != nil || buf.Width != 48 || buf.Height != 24 {
		t.Fatalf("Next after on: %v, %v; want a 48x24 target", buf, err)
	}
	if _, err := outs[1].Present(buf, nil, nil); err != nil {
		t.Fatal(err)
	}
	// Off with a frame presented (the caller no longer waits for it).
	if err := second.SetEnabled(false); err != nil || second.Enabled() {
		t.Fatalf("off: %v, enabled %v", err, second.Enabled())
	}
	if err := second.SetEnabled(true); err != nil {
		t.Fatal(err)
	}
	if buf, _, err = outs[1].Next(); err != nil {
		t.Fatal(err)
	}
	if _, err := outs[1].Present(buf, nil, nil); err != nil {
		t.Fatalf("present after off and on again: %v (a frame pending from before)", err)
	}
	if n := outs[1].Info().Stats.Frames; n != 2 {
		t.Fatalf("frames %d, want 2", n)
	}
}

// Enabled beyond the outputs, or 0, means all.
func TestEnabledAll(t *testing.T) {
	for _, n := range []int{0, 5} {
		b, err := New(Options{Outputs: []backend.Size{{Width: 8, Height: 8}, {Width: 8, Height: 8}}, Enabled: n,
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range b.Outputs() {
			if !o.(backend.OutputToggler).Enabled() {
				t.Errorf("Enabled %d: %s is off", n, o.Name())
			}
		}
		b.Close()
	}
}
