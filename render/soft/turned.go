package soft

import (
	"encoding/binary"
	"image"
)

// Frames drawn turned (BeginTransformed): the target is the panel's
// buffer, drawing calls are in the picture's coordinates. Fills map
// their rectangle; draws walk the target's pixels and sample the
// picture pixel each shows (the same bilinear sampling at the same
// picture pixel centres as upright draws, so a turned frame is the
// upright frame's pixels moved). The upright paths are untouched.

// turnTile is the side of the target tiles a turned draw walks.
const turnTile = 64

// turnScratch is memory reused by turned frames.
type turnScratch struct {
	damage     []image.Rectangle
	cols, rows []col
}

// turnDamage maps the frame's damage (picture) to the target.
func (r *Renderer) turnDamage(damage []image.Rectangle) []image.Rectangle {
	if r.xf == 0 {
		return damage
	}
	d := r.turned.damage[:0]
	for _, x := range damage {
		d = append(d, r.xf.RectFromLogical(r.bounds.Dx(), r.bounds.Dy(), x))
	}
	r.turned.damage = d
	return d
}

// drawTurned draws src of a tw×th picture into dst (picture
// coordinates) of a turned frame, clipped to the damage.
func (r *Renderer) drawTurned(pix []byte, stride, tw, th int, opaque bool, src, dst image.Rectangle, a8 uint32) {
	bw, bh := r.bounds.Dx(), r.bounds.Dy()
	bdst := r.xf.RectFromLogical(bw, bh, dst)
	xx, xy, x0, yx, yy, y0 := r.xf.Affine(bw, bh)
	unscaled := src.Dx() == dst.Dx() && src.Dy() == dst.Dy() && src.In(image.Rect(0, 0, tw, th))
	le := binary.LittleEndian
	dstStride := int(r.target.Stride)
	for _, d := range r.clip {
		x := bdst.Intersect(d)
		if x.Empty() {
			continue
		}
		l := r.xf.RectToLogical(bw, bh, x)
		cols := r.samples(&r.turned.cols, l.Min.X, l.Dx(), dst.Min.X, dst.Dx(), src.Min.X, src.Dx(), tw)
		rows := r.samples(&r.turned.rows, l.Min.Y, l.Dy(), dst.Min.Y, dst.Dy(), src.Min.Y, src.Dy(), th)
		if cap(r.row) < turnTile*4 {
			r.row = make([]byte, turnTile*4)
		}
		// Tiles of the target keep the texels they read (a column of the
		// texture when turned by 90 degrees) in the cache.
		for ty := x.Min.Y; ty < x.Max.Y; ty += turnTile {
			for tx := x.Min.X; tx < x.Max.X; tx += turnTile {
				t := image.Rect(tx, ty, min(tx+turnTile, x.Max.X), min(ty+turnTile, x.Max.Y))
				n := t.Dx()
				row := r.row[:n*4]
				for by := t.Min.Y; by < t.Max.Y; by++ {
					// The picture pixel shown by the target pixel (t.Min.X, by):
					// its centre's image, floored; one step right in the target
					// is a step of (xx, yx) in the picture.
					lx := (xx*(2*t.Min.X+1)+xy*(2*by+1)+2*x0-1)>>1 - l.Min.X
					ly := (yx*(2*t.Min.X+1)+yy*(2*by+1)+2*y0-1)>>1 - l.Min.Y
					if unscaled { // texels one step apart: a walk through pix
						off, step := int(rows[ly].x0)*stride+int(cols[lx].x0)*4, yx*stride+xx*4
						for i := 0; i < n; i, off = i+1, off+step {
							le.PutUint32(row[i*4:], le.Uint32(pix[off:]))
						}
						blendRow(r.mem[by*dstStride+t.Min.X*4:by*dstStride+t.Max.X*4], row, opaque, a8)
						continue
					}
					for i := 0; i < n; i, lx, ly = i+1, lx+xx, ly+yx {
						c, v := cols[lx], rows[ly]
						r0, r1 := pix[int(v.x0)*stride:], pix[int(v.x1)*stride:]
						a0, b0 := le.Uint32(r0[c.x0*4:]), le.Uint32(r0[c.x1*4:])
						a1, b1 := le.Uint32(r1[c.x0*4:]), le.Uint32(r1[c.x1*4:])
						le.PutUint32(row[i*4:], bilerp(a0, b0, a1, b1, c.f, v.f))
					}
					blendRow(r.mem[by*dstStride+t.Min.X*4:by*dstStride+t.Max.X*4], row, opaque, a8)
				}
			}
		}
	}
}
