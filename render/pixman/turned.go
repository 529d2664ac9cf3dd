package pixman

import (
	"fmt"
	"image"
	"math"
)

// Frames drawn turned (BeginTransformed): the target is the panel's
// buffer, drawing calls are in the picture's coordinates. Fills and the
// clip map their rectangles to the target; a draw gives the texture a
// transform that maps target pixels to the picture and on to texels
// (the upright draw's scale composed with the turn), so pixman's own
// rotated paths (nearest for unscaled 90/180/270) do the work.

// toTarget maps a rectangle of the frame's picture to the target.
func (r *Renderer) toTarget(rect image.Rectangle) image.Rectangle {
	if r.xf == 0 {
		return rect
	}
	return r.xf.RectFromLogical(r.target.buf.Width, r.target.buf.Height, rect)
}

// drawTurned composites the part x (picture, inside dst) of a draw of
// src into dst with op and mask onto the turned target.
func (r *Renderer) drawTurned(tex *Texture, op, mask uintptr, src, dst, x image.Rectangle) {
	bw, bh := r.target.buf.Width, r.target.buf.Height
	bx := r.xf.RectFromLogical(bw, bh, x)
	xx, xy, x0, yx, yy, y0 := r.xf.Affine(bw, bh)
	// L maps a target point relative to bx.Min to the picture point
	// relative to dst.Min; S maps that to texels (the upright draw's).
	cx := xx*bx.Min.X + xy*bx.Min.Y + x0 - dst.Min.X
	cy := yx*bx.Min.X + yy*bx.Min.Y + y0 - dst.Min.Y
	filter := int32(filterNearest)
	sx, sy := int64(fixed1), int64(fixed1)
	ox, oy := int64(src.Min.X)*fixed1, int64(src.Min.Y)*fixed1
	if src.Dx() != dst.Dx() || src.Dy() != dst.Dy() {
		filter = filterBilinear
		sx, sy = int64(scale(src.Dx(), dst.Dx())), int64(scale(src.Dy(), dst.Dy()))
		ox, oy = int64(offset(src.Min.X, src.Dx(), dst.Dx())), int64(offset(src.Min.Y, src.Dy(), dst.Dy()))
	}
	m := [6]int64{sx * int64(xx), sx * int64(xy), sx*int64(cx) + ox, sy * int64(yx), sy * int64(yy), sy*int64(cy) + oy}
	for _, v := range m {
		if v > math.MaxInt32 || v < math.MinInt32 {
			if r.err == nil {
				r.err = fmt.Errorf("pixman: turned draw from %v to %v: transform beyond 16.16 fixed point", src, dst)
			}
			return
		}
	}
	r.xform = transform{m: [3][3]int32{
		{int32(m[0]), int32(m[1]), int32(m[2])},
		{int32(m[3]), int32(m[4]), int32(m[5])},
		{0, 0, fixed1},
	}}
	tex.sample(r, &r.xform, filter)
	r.fc.Call(r.l.imageComposite32, op, tex.img, mask, r.target.img,
		0, 0, 0, 0, i32(bx.Min.X), i32(bx.Min.Y), i32(bx.Dx()), i32(bx.Dy()))
}
