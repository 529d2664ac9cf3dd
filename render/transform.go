package render

import (
	"image"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// Transformer is implemented by renderers that draw a frame turned or
// flipped for a panel mounted that way (backend.Transform), when the
// display cannot turn the picture itself (backend.Composed). render/soft,
// render/pixman and render/gles implement it.
type Transformer interface {
	// BeginTransformed is Begin for a frame drawn turned by t: target
	// is the panel's buffer (w×h pixels) and the picture is
	// t.LogicalSize(w, h). damage and every drawing call of the frame
	// are in the picture's coordinates; each picture pixel lands on the
	// target pixel that shows it (backend.Transform.RectFromLogical).
	// Begin is BeginTransformed with backend.TransformNormal.
	BeginTransformed(target *scanout.Buffer, damage []image.Rectangle, t backend.Transform) error
}
