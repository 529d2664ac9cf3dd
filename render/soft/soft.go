// Package soft is minicomp's CPU renderer: it draws into a render target's
// mapping, with CPU access bracketed by DMA_BUF_IOCTL_SYNC, only inside the
// damage it is given.
//
// Scaled draws are bilinear with 8-bit weights at texel centres, clamped
// to the texture's edge — what GLES does with GL_LINEAR and
// GL_CLAMP_TO_EDGE, so render/soft and render/gles agree within a few
// units per channel. Unscaled opaque draws are row copies (memmove).
package soft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// maxClip bounds the damage rectangles a frame keeps; more are merged.
const maxClip = 32

// Renderer is the CPU renderer for 32-bit XRGB/ARGB targets.
type Renderer struct {
	target *scanout.Buffer
	mem    []byte
	bounds image.Rectangle
	clip   []image.Rectangle
	clipA  [maxClip + 4]image.Rectangle
	err    error // first drawing error of the frame, returned by End
	closed bool
	// xf turns the frame (BeginTransformed): drawing calls are in the
	// picture's coordinates, bounds and clip in the target's.
	xf     backend.Transform
	turned turnScratch

	// Scratch for scaled draws, grown as needed and reused.
	cols []col
	row  []byte
}

// col is a precomputed bilinear column: texel indices and the weight of x1.
type col struct {
	x0, x1 int32
	f      uint32
}

var _ render.Renderer = (*Renderer)(nil)

// ErrClosed is returned when a closed Renderer is used.
var ErrClosed = errors.New("soft: renderer closed")

// New returns a CPU renderer.
func New() *Renderer { return &Renderer{} }

// Name returns "soft".
func (r *Renderer) Name() string { return "soft" }

// Close marks the renderer unusable. The CPU renderer holds no resources
// beyond memory; textures keep working as plain memory until released.
func (r *Renderer) Close() error {
	r.closed = true
	r.cols, r.row = nil, nil
	return nil
}

// Begin maps target and starts CPU write access.
func (r *Renderer) Begin(target *scanout.Buffer, damage []image.Rectangle) error {
	return r.BeginTransformed(target, damage, backend.TransformNormal)
}

// BeginTransformed is Begin for a frame drawn turned by t (see
// render.Transformer).
func (r *Renderer) BeginTransformed(target *scanout.Buffer, damage []image.Rectangle, t backend.Transform) error {
	if r.closed {
		return ErrClosed
	}
	if r.target != nil {
		return errors.New("soft: Begin inside a frame")
	}
	if !t.Valid() {
		return fmt.Errorf("soft: frame turned by %v", t)
	}
	switch target.Format {
	case scanout.XRGB8888, scanout.ARGB8888:
	default:
		return fmt.Errorf("soft: cannot draw into %v", target.Format)
	}
	if target.Modifier != scanout.ModLinear {
		return fmt.Errorf("soft: cannot draw into %s", scanout.ModifierName(target.Modifier))
	}
	mem, err := target.Map()
	if err != nil {
		return err
	}
	if err := target.BeginCPUAccess(scanout.ReadWrite); err != nil {
		return err
	}
	r.target, r.mem, r.err = target, mem[target.Offset:], nil
	r.bounds = image.Rect(0, 0, target.Width, target.Height)
	r.clip = r.clipA[:0]
	r.xf = t
	if damage == nil {
		r.clip = append(r.clip, r.bounds)
	} else {
		r.clip = render.AppendDisjoint(r.clip, r.turnDamage(damage), r.bounds, maxClip)
	}
	return nil
}

// Clear fills the damage with c.
func (r *Renderer) Clear(c color.NRGBA) {
	c.A = 255
	for _, d := range r.clip {
		r.fill(d, c)
	}
}

// FillRect fills rect within the damage.
func (r *Renderer) FillRect(rect image.Rectangle, c color.NRGBA) {
	if r.xf != backend.TransformNormal {
		rect = r.xf.RectFromLogical(r.bounds.Dx(), r.bounds.Dy(), rect)
	}
	for _, d := range r.clip {
		if x := rect.Intersect(d); !x.Empty() {
			r.fill(x, c)
		}
	}
}

func pack(c color.NRGBA) uint32 {
	return uint32(c.A)<<24 | uint32(c.R)<<16 | uint32(c.G)<<8 | uint32(c.B)
}

func (r *Renderer) fill(rect image.Rectangle, c color.NRGBA) {
	stride := int(r.target.Stride)
	le := binary.LittleEndian
	if c.A == 255 {
		v := pack(c)
		// Fill the first row, then copy it down.
		first := r.mem[rect.Min.Y*stride+rect.Min.X*4 : rect.Min.Y*stride+rect.Max.X*4]
		for i := 0; i < len(first); i += 4 {
			le.PutUint32(first[i:], v)
		}
		for y := rect.Min.Y + 1; y < rect.Max.Y; y++ {
			copy(r.mem[y*stride+rect.Min.X*4:], first)
		}
		return
	}
	a := uint32(c.A)
	for y := rect.Min.Y; y < rect.Max.Y; y++ {
		row := r.mem[y*stride+rect.Min.X*4 : y*stride+rect.Max.X*4]
		for i := 0; i < len(row); i += 4 {
			d := le.Uint32(row[i:])
			blend := func(src uint8, shift uint) uint32 {
				dv := d >> shift & 0xff
				return (uint32(src)*a + dv*(255-a) + 127) / 255 << shift
			}
			le.PutUint32(row[i:], 0xff000000|blend(c.R, 16)|blend(c.G, 8)|blend(c.B, 0))
		}
	}
}

// Image draws a w×h picture of 32-bit XRGB/ARGB pixels (stride bytes a
// row) with its top-left corner at at, clipped to the damage; opaque
// pictures are copied, others blended (premultiplied alpha, as wl_shm
// ARGB8888 is). It is Draw of an unscaled picture the caller owns.
func (r *Renderer) Image(at image.Point, pix []byte, stride, w, h int, opaque bool) {
	src := image.Rect(0, 0, w, h)
	r.draw(pix, stride, w, h, opaque, src, src.Add(at), 255)
}

// Draw draws the src part of t scaled into dst (see render.Renderer).
func (r *Renderer) Draw(t render.Texture, src, dst image.Rectangle, alpha float32) {
	tex, ok := t.(*Texture)
	if !ok || tex.pix == nil {
		if r.err == nil {
			r.err = fmt.Errorf("soft: Draw of a texture this renderer did not make or released (%T)", t)
		}
		return
	}
	a8 := alpha8(alpha)
	if a8 == 0 {
		return
	}
	r.draw(tex.pix, tex.w*4, tex.w, tex.h, tex.opaque, src, dst, a8)
}

// alpha8 converts a 0..1 multiplier to 0..255.
func alpha8(a float32) uint32 {
	switch {
	case a >= 1:
		return 255
	case a <= 0:
		return 0
	}
	return uint32(a*255 + 0.5)
}

// draw draws src of a tw×th picture into dst, clipped to the damage.
func (r *Renderer) draw(pix []byte, stride, tw, th int, opaque bool, src, dst image.Rectangle, a8 uint32) {
	if r.target == nil || src.Empty() || dst.Empty() {
		return
	}
	if r.xf != backend.TransformNormal {
		r.drawTurned(pix, stride, tw, th, opaque, src, dst, a8)
		return
	}
	unscaled := src.Dx() == dst.Dx() && src.Dy() == dst.Dy() && src.In(image.Rect(0, 0, tw, th))
	dstStride := int(r.target.Stride)
	for _, d := range r.clip {
		x := dst.Intersect(d)
		if x.Empty() {
			continue
		}
		if unscaled {
			off := src.Min.Sub(dst.Min)
			for y := x.Min.Y; y < x.Max.Y; y++ {
				sy := y + off.Y
				s := pix[sy*stride+(x.Min.X+off.X)*4 : sy*stride+(x.Max.X+off.X)*4]
				blendRow(r.mem[y*dstStride+x.Min.X*4:y*dstStride+x.Max.X*4], s, opaque, a8)
			}
			continue
		}
		r.drawScaled(pix, stride, tw, th, opaque, src, dst, x, a8)
	}
}

// fix8 returns the sample coordinate (texel units, 8 fractional bits,
// texel centres at .5 subtracted) of target pixel i of a span of n
// pixels mapped onto s0..s0+sn texels.
func fix8(i, n, s0, sn int) int64 {
	return (int64(2*i+1)*int64(sn)*256)/(2*int64(n)) + int64(s0)*256 - 128
}

func clampi(v, hi int64) int32 {
	if v < 0 {
		return 0
	}
	if v > hi {
		return int32(hi)
	}
	return int32(v)
}

// samples fills *buf with the bilinear samples of the n target (or
// picture) pixels from p0 along one axis of a draw of d0..d0+dn from the
// texels s0..s0+sn of a texture tn texels long.
func (r *Renderer) samples(buf *[]col, p0, n, d0, dn, s0, sn, tn int) []col {
	if cap(*buf) < n {
		*buf = make([]col, n)
	}
	cs := (*buf)[:n]
	for i := range cs {
		u := fix8(p0+i-d0, dn, s0, sn)
		cs[i] = col{clampi(u>>8, int64(tn-1)), clampi(u>>8+1, int64(tn-1)), uint32(u & 255)}
	}
	return cs
}

// drawScaled draws the clip x of dst, sampling src bilinearly.
func (r *Renderer) drawScaled(pix []byte, stride, tw, th int, opaque bool, src, dst, x image.Rectangle, a8 uint32) {
	n := x.Dx()
	if cap(r.row) < n*4 {
		r.row = make([]byte, n*4)
	}
	cols, row := r.samples(&r.cols, x.Min.X, n, dst.Min.X, dst.Dx(), src.Min.X, src.Dx(), tw), r.row[:n*4]
	le := binary.LittleEndian
	dstStride := int(r.target.Stride)
	for y := x.Min.Y; y < x.Max.Y; y++ {
		v := fix8(y-dst.Min.Y, dst.Dy(), src.Min.Y, src.Dy())
		y0, y1, fy := int(clampi(v>>8, int64(th-1))), int(clampi(v>>8+1, int64(th-1))), uint32(v&255)
		r0, r1 := pix[y0*stride:], pix[y1*stride:]
		for i, c := range cols {
			a0, b0 := le.Uint32(r0[c.x0*4:]), le.Uint32(r0[c.x1*4:])
			a1, b1 := le.Uint32(r1[c.x0*4:]), le.Uint32(r1[c.x1*4:])
			le.PutUint32(row[i*4:], bilerp(a0, b0, a1, b1, c.f, fy))
		}
		blendRow(r.mem[y*dstStride+x.Min.X*4:y*dstStride+x.Max.X*4], row, opaque, a8)
	}
}

// bilerp interpolates four pixels, two channels at a time.
func bilerp(a0, b0, a1, b1, fx, fy uint32) uint32 {
	const m = 0x00ff00ff
	gx := 256 - fx
	lerp := func(p, q uint32) (rb, ag uint32) {
		rb = ((p&m)*gx + (q&m)*fx + 0x00800080) >> 8 & m
		ag = ((p>>8&m)*gx + (q>>8&m)*fx + 0x00800080) >> 8 & m
		return
	}
	trb, tag := lerp(a0, b0)
	brb, bag := lerp(a1, b1)
	gy := 256 - fy
	rb := (trb*gy + brb*fy + 0x00800080) >> 8 & m
	ag := (tag*gy + bag*fy + 0x00800080) >> 8 & m
	return rb | ag<<8
}

// blendRow puts src pixels (premultiplied) onto dst: a copy when opaque
// and a8 is 255, else "over" with src scaled by a8/255.
func blendRow(dst, src []byte, opaque bool, a8 uint32) {
	if opaque && a8 == 255 {
		copy(dst, src)
		return
	}
	le := binary.LittleEndian
	for i := 0; i+4 <= len(src); i += 4 {
		s := le.Uint32(src[i:])
		if opaque {
			s |= 0xff000000
		}
		if a8 != 255 {
			s = scale(s, a8)
		}
		a := s >> 24
		if a == 255 {
			le.PutUint32(dst[i:], s)
			continue
		}
		if s == 0 {
			continue
		}
		le.PutUint32(dst[i:], over(s, le.Uint32(dst[i:]), a))
	}
}

// over is s (premultiplied, alpha a) over the opaque pixel d: each
// channel s + d*(255-a)/255, rounded to nearest, saturated at 255; two
// channels at a time in 16-bit lanes (d*(255-a)+128 < 2^16), with
// Blinn's exact division by 255: (t + t>>8) >> 8.
func over(s, d, a uint32) uint32 {
	const m = 0x00ff00ff
	inv := 255 - a
	rb := (d&m)*inv + 0x00800080
	rb = (rb + rb>>8&m) >> 8 & m
	g := (d>>8&0xff)*inv + 0x80
	g = (g + g>>8) >> 8
	rb += s & m
	g += s >> 8 & 0xff
	rb |= (rb >> 8 & 0x00010001) * 0xff // saturate each lane
	g |= (g >> 8 & 1) * 0xff
	return 0xff000000 | rb&m | (g&0xff)<<8
}

// scale multiplies every channel of p by a/255, rounded.
func scale(p, a uint32) uint32 {
	var out uint32
	for _, sh := range [4]uint{24, 16, 8, 0} {
		out |= ((p>>sh&0xff)*a + 127) / 255 << sh
	}
	return out
}

// End ends CPU access. The CPU is done when End returns: no fence. It
// returns the first drawing error of the frame, if any.
func (r *Renderer) End() (*os.File, error) {
	if r.target == nil {
		return nil, errors.New("soft: End outside a frame")
	}
	err := r.target.EndCPUAccess(scanout.ReadWrite)
	r.target, r.mem = nil, nil
	return nil, errors.Join(r.err, err)
}
