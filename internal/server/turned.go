package server

import (
	"fmt"
	"image"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// Outputs whose panel is mounted turned (backend.Transformed): the
// layout, the damage, input and the cursor are in the picture's
// coordinates (o.bounds: the mode turned); when the display cannot turn
// the picture (backend.Composed) the renderer draws it turned into the
// panel-sized targets (render.Transformer), and what goes to the
// backend (Present's damage) or to screencopy (the target as it is,
// wl_output.transform telling clients how to turn it upright) is in the
// panel's coordinates. Such an output shows no client buffer directly
// and composes the cursor (the cursor plane would not turn).

// renderTurn is the transform frames for bo are drawn with.
func renderTurn(bo backend.Output) backend.Transform {
	if c, ok := bo.(backend.Composed); ok {
		return c.RenderTransform()
	}
	return backend.TransformNormal
}

// mountedAs is how bo's panel is mounted (backend.Transformed).
func mountedAs(bo backend.Output) backend.Transform {
	if t, ok := bo.(backend.Transformed); ok {
		return t.Transform()
	}
	return backend.TransformNormal
}

// logicalBounds is the picture bo shows: its mode, turned.
func logicalBounds(bo backend.Output) image.Rectangle {
	m := bo.Mode()
	return image.Rectangle{Max: image.Pt(mountedAs(bo).LogicalSize(m.Width, m.Height))}
}

// panelBounds is the output's mode: the targets' pixels.
func (o *output) panelBounds() image.Rectangle {
	m := o.o.Mode()
	return image.Rect(0, 0, m.Width, m.Height)
}

// begin starts the frame into target, turned when the output's frames
// are (damage in the picture's coordinates either way).
func (o *output) begin(r render.Renderer, target *scanout.Buffer, damage []image.Rectangle) error {
	t := renderTurn(o.o)
	if t == backend.TransformNormal {
		return r.Begin(target, damage)
	}
	tr, ok := r.(render.Transformer)
	if !ok {
		return fmt.Errorf("output %s is mounted %v, and renderer %s cannot draw turned frames (render.Transformer)", o.o.Name(), t, r.Name())
	}
	return tr.BeginTransformed(target, damage, t)
}

// toTarget maps a frame's damage (the picture's) to the target's
// coordinates (reusing a scratch slice); unturned frames' damage is
// returned as it is.
func (o *output) toTarget(damage []image.Rectangle) []image.Rectangle {
	t := renderTurn(o.o)
	if t == backend.TransformNormal {
		return damage
	}
	m := o.o.Mode()
	d := o.targetDamage[:0]
	for _, r := range damage {
		d = append(d, t.RectFromLogical(m.Width, m.Height, r))
	}
	o.targetDamage = d
	return d
}

// pictureToPanel maps a rectangle of the picture to the panel pixels
// that show it (what screencopy copies and reports as damage).
func (o *output) pictureToPanel(r image.Rectangle) image.Rectangle {
	m := o.o.Mode()
	return o.transform().RectFromLogical(m.Width, m.Height, r)
}

// capturedRow returns row y of a capture of the panel's rect from the
// shown target (mem, stride bytes a row): the target's own row when
// the target is what the panel shows (untransformed, or drawn turned);
// when the display's plane turns the picture, the panel's row gathered
// from the upright target into a scratch row.
func (o *output) capturedRow(mem []byte, stride int, rect image.Rectangle, y int) []byte {
	t := o.transform()
	if t == backend.TransformNormal || renderTurn(o.o) == t {
		return mem[(rect.Min.Y+y)*stride+rect.Min.X*4:]
	}
	m := o.o.Mode()
	xx, xy, x0, yx, yy, y0 := t.Affine(m.Width, m.Height)
	n := rect.Dx()
	if cap(o.captureRow) < n*4 {
		o.captureRow = make([]byte, n*4)
	}
	row := o.captureRow[:n*4]
	py := rect.Min.Y + y
	for i := range n {
		px := rect.Min.X + i
		// The picture pixel under the panel pixel's centre.
		lx := (xx*(2*px+1) + xy*(2*py+1) + 2*x0 - 1) >> 1
		ly := (yx*(2*px+1) + yy*(2*py+1) + 2*y0 - 1) >> 1
		copy(row[i*4:i*4+4], mem[ly*stride+lx*4:])
	}
	return row
}
