// Package soft is minicomp's CPU renderer: it draws into a render target's
// mapping, with CPU access bracketed by DMA_BUF_IOCTL_SYNC, only inside the
// damage it is given.
package soft

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"

	"github.com/minicomp/minicomp/scanout"
)

// Renderer is the CPU renderer for 32-bit XRGB/ARGB targets.
type Renderer struct {
	target *scanout.Buffer
	mem    []byte
	clip   []image.Rectangle
	clipA  [8]image.Rectangle
}

// New returns a CPU renderer.
func New() *Renderer { return &Renderer{} }

// Name returns "soft".
func (r *Renderer) Name() string { return "soft" }

// Begin maps target and starts CPU write access.
func (r *Renderer) Begin(target *scanout.Buffer, damage []image.Rectangle) error {
	if r.target != nil {
		return errors.New("soft: Begin inside a frame")
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
	if err := target.BeginCPUAccess(scanout.Write); err != nil {
		return err
	}
	r.target, r.mem = target, mem[target.Offset:]
	bounds := image.Rect(0, 0, target.Width, target.Height)
	r.clip = r.clipA[:0]
	if damage == nil {
		r.clip = append(r.clip, bounds)
	}
	for _, d := range damage {
		if d = d.Intersect(bounds); !d.Empty() {
			r.clip = append(r.clip, d)
		}
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
// ARGB8888 is).
func (r *Renderer) Image(at image.Point, pix []byte, stride, w, h int, opaque bool) {
	rect := image.Rect(at.X, at.Y, at.X+w, at.Y+h)
	dstStride := int(r.target.Stride)
	le := binary.LittleEndian
	for _, d := range r.clip {
		x := rect.Intersect(d)
		if x.Empty() {
			continue
		}
		for y := x.Min.Y; y < x.Max.Y; y++ {
			src := pix[(y-at.Y)*stride+(x.Min.X-at.X)*4 : (y-at.Y)*stride+(x.Max.X-at.X)*4]
			dst := r.mem[y*dstStride+x.Min.X*4 : y*dstStride+x.Max.X*4]
			if opaque {
				copy(dst, src)
				continue
			}
			for i := 0; i < len(src); i += 4 {
				s := le.Uint32(src[i:])
				a := s >> 24
				if a == 255 {
					le.PutUint32(dst[i:], s)
					continue
				}
				dv := le.Uint32(dst[i:])
				out := uint32(0xff000000)
				for _, sh := range [3]uint{16, 8, 0} {
					c := (s>>sh)&0xff + ((dv>>sh)&0xff*(255-a)+127)/255
					out |= min(c, 255) << sh
				}
				le.PutUint32(dst[i:], out)
			}
		}
	}
}

// End ends CPU access. The CPU is done when End returns: no fence.
func (r *Renderer) End() (*os.File, error) {
	if r.target == nil {
		return nil, errors.New("soft: End outside a frame")
	}
	err := r.target.EndCPUAccess(scanout.Write)
	r.target, r.mem = nil, nil
	return nil, err
}
