package backend

import "errors"

// Transformable is implemented by outputs whose transform can be
// changed while they run (wlr-output-management, `wlr-randr
// --transform`). As with ModeSetter, the caller changes it only between
// frames and then draws a whole frame: once SetTransform returned nil,
// Transform reports t and RenderTransform (Composed) what the
// compositor must now draw turned; the targets and the display follow
// at the next Next.
type Transformable interface {
	Transformed
	Composed
	SetTransform(t Transform) error
}

// ErrBadTransform is wrapped by SetTransform's errors for a transform
// the output cannot take.
var ErrBadTransform = errors.New("transform not supported")
