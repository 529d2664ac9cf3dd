package headless

import "github.com/minicomp/minicomp/backend"

// Transform returns how the virtual panel is mounted (Options.Transform).
func (o *Output) Transform() backend.Transform { return o.turn }

// RenderTransform returns Options.Transform: nothing turns a headless
// picture but the compositor.
func (o *Output) RenderTransform() backend.Transform { return o.turn }

var (
	_ backend.Transformed = (*Output)(nil)
	_ backend.Composed    = (*Output)(nil)
)
