package backend

import (
	"fmt"
	"image"
	"strings"
)

// Transform is how an output's panel is mounted relative to the picture
// the compositor draws (wl_output.transform's values): rotated counter-
// clockwise by 90, 180 or 270 degrees, and flipped (mirrored left to
// right before the rotation).
type Transform int

// The transforms, numbered as wl_output.transform.
const (
	TransformNormal Transform = iota
	Transform90
	Transform180
	Transform270
	TransformFlipped
	TransformFlipped90
	TransformFlipped180
	TransformFlipped270
)

var transformNames = [...]string{"normal", "90", "180", "270", "flipped", "flipped-90", "flipped-180", "flipped-270"}

func (t Transform) String() string {
	if t < 0 || int(t) >= len(transformNames) {
		return fmt.Sprintf("Transform(%d)", int(t))
	}
	return transformNames[t]
}

// Valid reports whether t is one of the eight transforms.
func (t Transform) Valid() bool { return t >= TransformNormal && t <= TransformFlipped270 }

// ParseTransform reads a transform's name (normal, 90, 180, 270,
// flipped, flipped-90, flipped-180, flipped-270).
func ParseTransform(s string) (Transform, error) {
	for i, n := range transformNames {
		if strings.EqualFold(s, n) {
			return Transform(i), nil
		}
	}
	return 0, fmt.Errorf("transform %q: want one of %s", s, strings.Join(transformNames[:], ", "))
}

// Rotation returns the counter-clockwise rotation in degrees and whether
// the picture is flipped.
func (t Transform) Rotation() (degrees int, flipped bool) {
	return int(t%4) * 90, t >= TransformFlipped
}

// LogicalSize is the size of the picture drawn for a w×h panel: w and
// h swapped when the panel is turned by 90 or 270 degrees.
func (t Transform) LogicalSize(w, h int) (int, int) {
	if t%2 == 1 {
		return h, w
	}
	return w, h
}

// ToLogical maps a point on the w×h panel (what an absolute input
// device such as a touchscreen mounted on it reports, in panel pixels)
// to the point of the drawn picture shown there.
func (t Transform) ToLogical(w, h int, x, y float64) (float64, float64) {
	lw, _ := t.LogicalSize(w, h)
	fw, fh := float64(w), float64(h)
	// Undo the rotation: the panel point in the flipped picture.
	var rx, ry float64
	switch t % 4 {
	case 0:
		rx, ry = x, y
	case 1: // the picture's top right is at the panel's top left
		rx, ry = fh-y, x
	case 2:
		rx, ry = fw-x, fh-y
	case 3: // the picture's top left is at the panel's top right
		rx, ry = y, fw-x
	}
	if t >= TransformFlipped {
		rx = float64(lw) - rx
	}
	return rx, ry
}

// FromLogical maps a point of the drawn picture to the panel point that
// shows it (ToLogical's inverse).
func (t Transform) FromLogical(w, h int, lx, ly float64) (float64, float64) {
	lw, _ := t.LogicalSize(w, h)
	fw, fh := float64(w), float64(h)
	if t >= TransformFlipped {
		lx = float64(lw) - lx
	}
	switch t % 4 {
	case 1:
		return ly, fh - lx
	case 2:
		return fw - lx, fh - ly
	case 3:
		return fw - ly, lx
	}
	return lx, ly
}

// RectFromLogical maps r, a rectangle of the picture drawn for the w×h
// panel, to the rectangle of panel pixels that shows it.
func (t Transform) RectFromLogical(w, h int, r image.Rectangle) image.Rectangle {
	if t == TransformNormal {
		return r
	}
	x0, y0 := t.FromLogical(w, h, float64(r.Min.X), float64(r.Min.Y))
	x1, y1 := t.FromLogical(w, h, float64(r.Max.X), float64(r.Max.Y))
	return image.Rect(int(x0), int(y0), int(x1), int(y1)) // Rect orders the corners
}

// RectToLogical maps r, a rectangle of the w×h panel's pixels, to the
// rectangle of the picture it shows (RectFromLogical's inverse).
func (t Transform) RectToLogical(w, h int, r image.Rectangle) image.Rectangle {
	if t == TransformNormal {
		return r
	}
	x0, y0 := t.ToLogical(w, h, float64(r.Min.X), float64(r.Min.Y))
	x1, y1 := t.ToLogical(w, h, float64(r.Max.X), float64(r.Max.Y))
	return image.Rect(int(x0), int(y0), int(x1), int(y1))
}

// Affine returns ToLogical for the w×h panel as integer coefficients:
// the panel point (x, y) shows the picture point (xx·x + xy·y + x0,
// yx·x + yy·y + y0). Every coefficient but the offsets is 0, 1 or -1,
// and exactly one of xx, xy (and of yx, yy) is not 0.
func (t Transform) Affine(w, h int) (xx, xy, x0, yx, yy, y0 int) {
	ox, oy := t.ToLogical(w, h, 0, 0)
	ax, ay := t.ToLogical(w, h, 1, 0)
	bx, by := t.ToLogical(w, h, 0, 1)
	x0, y0 = int(ox), int(oy)
	return int(ax) - x0, int(bx) - x0, x0, int(ay) - y0, int(by) - y0, y0
}

// Transformed is implemented by outputs whose panel is mounted turned or
// flipped (KMS with Options.Transform): the server tells clients
// (wl_output.transform) and maps absolute input with ToLogical.
type Transformed interface {
	Transform() Transform
}

// Composed is implemented by outputs whose frames the compositor draws
// turned itself (the display cannot turn them): the renderer draws the
// picture with RenderTransform (render.Transformer) into targets of the
// panel's size. An output without it, or that returns TransformNormal,
// gets frames drawn upright (turned by the display, if at all).
type Composed interface {
	RenderTransform() Transform
}
