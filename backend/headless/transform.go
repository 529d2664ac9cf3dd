package headless

import (
	"fmt"

	"github.com/minicomp/minicomp/backend"
)

// Transform returns how the virtual panel is mounted (Options.Transform,
// or what SetTransform set).
func (o *Output) Transform() backend.Transform {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.turn
}

// RenderTransform returns Transform: nothing turns a headless picture
// but the compositor.
func (o *Output) RenderTransform() backend.Transform { return o.Transform() }

// SetTransform mounts the virtual panel as t (backend.Transformable):
// the next frames are drawn turned into targets of the mode's size.
func (o *Output) SetTransform(t backend.Transform) error {
	if !t.Valid() {
		return fmt.Errorf("headless %s: set transform %v: %w", o.name, t, backend.ErrBadTransform)
	}
	o.mu.Lock()
	o.turn = t
	o.mu.Unlock()
	return nil
}

var (
	_ backend.Transformed   = (*Output)(nil)
	_ backend.Composed      = (*Output)(nil)
	_ backend.Transformable = (*Output)(nil)
)
