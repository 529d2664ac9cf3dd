package headless

import (
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/minicomp/minicomp/backend"
)

// SetTransform mounts the virtual panel turned: Transform and
// RenderTransform report it at once, the targets keep the mode's size,
// and a value that is no transform is refused with ErrBadTransform and
// changes nothing.
func TestSetTransform(t *testing.T) {
	b, err := New(Options{Outputs: []backend.Size{{Width: 64, Height: 32}}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.Outputs()[0].(backend.Transformable)
	if err := o.SetTransform(backend.Transform90); err != nil {
		t.Fatal(err)
	}
	if o.Transform() != backend.Transform90 || o.RenderTransform() != backend.Transform90 {
		t.Fatalf("after SetTransform(90): mounted %v, drawn %v", o.Transform(), o.RenderTransform())
	}
	buf, _, err := b.Outputs()[0].Next()
	if err != nil || buf.Width != 64 || buf.Height != 32 {
		t.Fatalf("Next after SetTransform(90): %v, %v; want a 64x32 target (the panel's size)", buf, err)
	}
	for _, bad := range []backend.Transform{-1, 8} {
		if err := o.SetTransform(bad); !errors.Is(err, backend.ErrBadTransform) {
			t.Errorf("SetTransform(%d): %v, want ErrBadTransform", bad, err)
		}
	}
	if o.Transform() != backend.Transform90 {
		t.Errorf("a refused transform changed it to %v", o.Transform())
	}
}
