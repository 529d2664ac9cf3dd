package headless

import (
	"errors"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// A mode change takes effect at the next Next: targets of the new size,
// Mode and Info report it; sizes and rates it cannot take are refused.
func TestSetMode(t *testing.T) {
	b, err := New(Options{Outputs: []backend.Size{{Width: 320, Height: 240}}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.outputs[0]
	var _ backend.ModeSetter = o
	modes := o.Modes()
	if modes[0].Width != 320 || modes[0].Height != 240 || !modes[0].Preferred || len(modes) != 1+len(standardSizes) {
		t.Fatalf("modes %v", modes)
	}
	if err := o.SetMode(scanout.Mode{Width: 500, Height: 300}); err != nil {
		t.Fatal(err)
	}
	buf, _, err := o.Next()
	if err != nil {
		t.Fatal(err)
	}
	if buf.Width != 500 || buf.Height != 300 || o.Mode().Width != 500 || o.Info().Mode.Height != 300 || o.Mode().RefreshMilliHz != 60000 {
		t.Fatalf("after SetMode(500x300): target %dx%d, mode %v, info %v", buf.Width, buf.Height, o.Mode(), o.Info().Mode)
	}
	if m := o.Modes(); m[len(m)-1].Width != 500 {
		t.Errorf("the custom mode is not listed: %v", m)
	}
	for _, bad := range []scanout.Mode{{Width: 0, Height: 10}, {Width: 10, Height: -1}, {Width: 9000, Height: 10}, {Width: 640, Height: 480, RefreshMilliHz: 30000}} {
		if err := o.SetMode(bad); !errors.Is(err, backend.ErrBadMode) {
			t.Errorf("SetMode(%v) = %v, want ErrBadMode", bad, err)
		}
	}
	if m := o.Mode(); m.Width != 500 {
		t.Errorf("a refused mode changed the mode to %v", m)
	}
}
