// Package pixman is a CPU renderer that draws with libpixman (the pixel
// library of X.org, cairo, weston and wlroots), loaded at run time through
// purego: its SIMD paths (NEON on the Raspberry Pi, SSE2/SSSE3 on x86) do
// the blending and scaling.
//
// It draws what render/soft draws, within render/internal/scenes'
// tolerance: render targets are the targets' own mappings wrapped as
// pixman images (kept per target as a scanout.Buffer addon), CPU access
// bracketed by DMA_BUF_IOCTL_SYNC, drawing clipped to the damage (a clip
// region on the target image). Scaled draws are bilinear at texel centres
// with the texture's edge repeated (PIXMAN_REPEAT_PAD: clamp to edge);
// unscaled opaque draws are copies (PIXMAN_OP_SRC); the rest blends
// premultiplied "over", alpha through a solid mask.
//
// The library is libpixman-1.so.0 (Debian package libpixman-1-0). Without
// it — or in a static -tags nogles build, which cannot load libraries —
// New returns an error wrapping ErrNoPixman; nothing crashes.
package pixman

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// ErrClosed is returned when a closed Renderer is used.
var ErrClosed = errors.New("pixman: renderer closed")

// Renderer is the pixman renderer for 32-bit XRGB/ARGB targets.
type Renderer struct {
	l  *lib
	fc dl.FastCall

	// live counts the pixman images this renderer made and has not yet
	// freed (textures, target images, the mask); atomic: a target's
	// image is freed by whoever releases the buffer.
	live atomic.Int64

	mu       sync.Mutex // guards targets (DetachBuffer runs on any goroutine)
	targets  map[*scanout.Buffer]*target
	textures map[*Texture]struct{}
	closed   bool

	// The frame.
	target *target
	bounds image.Rectangle
	err    error // first drawing error of the frame, returned by End
	noClip bool  // the damage could not be set as the clip: draw nothing
	// xf turns the frame (BeginTransformed, turned.go): bounds, the
	// damage and drawing calls are in the picture's coordinates.
	xf backend.Transform

	// Arguments handed to pixman by pointer: fields, so that they are on
	// the heap and calls allocate nothing.
	mask uintptr // 1×1 a8 image, repeated: the alpha of a Draw
	// maskAlpha is the alpha the mask holds (valid once maskSet).
	maskAlpha uint32
	maskSet   bool
	region    region32
	boxes     []box32
	box       box32
	color     pcolor
	xform     transform
}

var (
	_ render.Renderer      = (*Renderer)(nil)
	_ render.TextureViewer = (*Renderer)(nil)
)

// New loads libpixman (once per process) and returns a renderer.
func New() (*Renderer, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	r := &Renderer{l: l, targets: map[*scanout.Buffer]*target{}, textures: map[*Texture]struct{}{}}
	r.mask = r.createBits(fmtA8, 1, 1, 0, 0)
	if r.mask == 0 {
		return nil, errors.New("pixman: pixman_image_create_bits (1×1 a8 mask) failed")
	}
	dl.Call(l.imageSetRepeat, r.mask, repeatNormal)
	return r, nil
}

// Version returns libpixman's version ("0.42.2").
func Version() (string, error) {
	l, err := load()
	if err != nil {
		return "", err
	}
	return dl.GoString(dl.Call(l.versionString)), nil
}

// Name returns "pixman".
func (r *Renderer) Name() string { return "pixman" }

// createBits wraps pixels at bits (0: pixman allocates them, cleared) as
// a pixman image, counted in live.
func (r *Renderer) createBits(format uint32, w, h int, bits uintptr, stride int) uintptr {
	img := dl.Call(r.l.imageCreateBits, uintptr(format), i32(w), i32(h), bits, i32(stride))
	if img != 0 {
		r.live.Add(1)
	}
	return img
}

// unref drops an image this renderer made.
func (r *Renderer) unref(img uintptr) {
	if img != 0 && isTrue(dl.Call(r.l.imageUnref, img)) {
		r.live.Add(-1)
	}
}

// liveImages returns how many pixman images the renderer holds.
func (r *Renderer) liveImages() int { return int(r.live.Load()) }

// Close releases every pixman image: textures (views stop pinning the
// caller's memory), the images of render targets, the mask. Textures
// must not be drawn afterwards; releasing them is harmless.
func (r *Renderer) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	targets := r.targets
	r.targets = nil
	r.mu.Unlock()
	for b, t := range targets {
		b.RemoveAddon(r)
		r.dropTarget(t)
	}
	for t := range r.textures {
		t.release()
	}
	r.textures = nil
	r.unref(r.mask)
	r.mask = 0
	r.boxes = nil
	r.target = nil
	return nil
}

// Begin maps target (wrapped as a pixman image on first use), starts CPU
// write access and clips drawing to damage.
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
		return errors.New("pixman: Begin inside a frame")
	}
	if !t.Valid() {
		return fmt.Errorf("pixman: frame turned by %v", t)
	}
	tg, err := r.targetFor(target)
	if err != nil {
		return err
	}
	if err := target.BeginCPUAccess(scanout.ReadWrite); err != nil {
		return err
	}
	r.target, r.err, r.noClip, r.xf = tg, nil, false, t
	r.bounds = image.Rectangle{Max: image.Pt(t.LogicalSize(target.Width, target.Height))}
	r.setClip(damage)
	return nil
}

// setClip sets the target image's clip region to damage (nil, or a
// rectangle covering the target: none). Overlapping rectangles make one
// region: nothing is blended twice. A clip like the one the image
// already has is not set again.
func (r *Renderer) setClip(damage []image.Rectangle) {
	l, t := r.l, r.target
	r.boxes = r.boxes[:0]
	whole := damage == nil
	for _, d := range damage {
		if d = d.Intersect(r.bounds); d == r.bounds {
			whole = true
			break
		} else if !d.Empty() {
			d = r.toTarget(d)
			r.boxes = append(r.boxes, box32{int32(d.Min.X), int32(d.Min.Y), int32(d.Max.X), int32(d.Max.Y)})
		}
	}
	if whole {
		if !t.clipKnown || !t.clipNone {
			r.fc.Call(l.imageSetClipRegion32, t.img, 0)
			t.clipKnown, t.clipNone = true, true
		}
		return
	}
	if len(r.boxes) == 0 {
		r.boxes = append(r.boxes, box32{}) // an empty region: draw nothing
	}
	if t.clipKnown && !t.clipNone && slices.Equal(t.clip, r.boxes) {
		return
	}
	r.fc.Call(l.region32InitRects, uintptr(unsafe.Pointer(&r.region)), uintptr(unsafe.Pointer(&r.boxes[0])), i32(len(r.boxes)))
	// set_clip_region32 copies the region; a failure (out of memory)
	// leaves no clip, which would draw outside the damage: refuse then.
	if isTrue(r.fc.Call(l.imageSetClipRegion32, t.img, uintptr(unsafe.Pointer(&r.region)))) {
		t.clipKnown, t.clipNone, t.clip = true, false, append(t.clip[:0], r.boxes...)
	} else {
		r.err, r.noClip = errors.New("pixman: pixman_image_set_clip_region32 failed"), true
		t.clipKnown = false
	}
	r.fc.Call(l.region32Fini, uintptr(unsafe.Pointer(&r.region)))
}

// Clear fills the damage with c.
func (r *Renderer) Clear(c color.NRGBA) {
	if r.target == nil || r.noClip {
		return
	}
	c.A = 255
	r.fill(r.bounds, c)
}

// FillRect fills rect within the damage, blending when c is translucent.
func (r *Renderer) FillRect(rect image.Rectangle, c color.NRGBA) {
	if r.target == nil || r.noClip || c.A == 0 {
		return
	}
	if rect = rect.Intersect(r.bounds); rect.Empty() {
		return
	}
	r.fill(rect, c)
}

// fill fills rect (inside the target) with c: a copy when opaque, "over"
// otherwise; the target's clip region applies.
func (r *Renderer) fill(rect image.Rectangle, c color.NRGBA) {
	rect = r.toTarget(rect)
	a := uint32(c.A)
	pm := func(v uint8) uint16 { return uint16((uint32(v)*a + 127) / 255 * 257) }
	r.color = pcolor{pm(c.R), pm(c.G), pm(c.B), uint16(a * 257)}
	r.box = box32{int32(rect.Min.X), int32(rect.Min.Y), int32(rect.Max.X), int32(rect.Max.Y)}
	op := uintptr(opSrc)
	if c.A != 255 {
		op = opOver
	}
	if !isTrue(r.fc.Call(r.l.imageFillBoxes, op, r.target.img, uintptr(unsafe.Pointer(&r.color)), 1, uintptr(unsafe.Pointer(&r.box)))) && r.err == nil {
		r.err = errors.New("pixman: pixman_image_fill_boxes failed")
	}
}

// maxCoord bounds the rectangles of a Draw: pixman's coordinates and
// transforms are 16.16 fixed point (±32767), and a target is at most
// 16384 wide, so a sample offset stays below 2·maxCoord.
const maxCoord = 1 << 14

// Draw draws the src part of t scaled into dst (see render.Renderer).
func (r *Renderer) Draw(t render.Texture, src, dst image.Rectangle, alpha float32) {
	if r.target == nil || r.noClip {
		return
	}
	tex, ok := t.(*Texture)
	if !ok || tex.img == 0 {
		if r.err == nil {
			r.err = fmt.Errorf("pixman: Draw of a texture this renderer did not make, or released (%T)", t)
		}
		return
	}
	a8 := alpha8(alpha)
	if a8 == 0 || src.Empty() || dst.Empty() {
		return
	}
	if lim := image.Rect(-maxCoord, -maxCoord, maxCoord, maxCoord); !src.In(lim) || !dst.In(lim) {
		if r.err == nil {
			r.err = fmt.Errorf("pixman: Draw from %v to %v: coordinates beyond ±%d", src, dst, maxCoord)
		}
		return
	}
	x := dst.Intersect(r.bounds)
	if x.Empty() {
		return
	}
	l := r.l
	op := uintptr(opOver)
	if tex.opaque && a8 == 255 {
		op = opSrc
	}
	var mask uintptr
	if a8 != 255 {
		if !r.maskSet || r.maskAlpha != a8 { // refill the 1×1 mask only when the alpha changes
			r.color = pcolor{a: uint16(a8 * 257)}
			r.box = box32{0, 0, 1, 1}
			r.fc.Call(l.imageFillBoxes, opSrc, r.mask, uintptr(unsafe.Pointer(&r.color)), 1, uintptr(unsafe.Pointer(&r.box)))
			r.maskSet, r.maskAlpha = true, a8
		}
		mask = r.mask
	}
	if r.xf != backend.TransformNormal {
		r.drawTurned(tex, op, mask, src, dst, x)
		return
	}
	// The source position of the first drawn pixel, in the texture's
	// untransformed space (texels when unscaled, dst pixels from
	// dst.Min when scaled).
	var sx, sy int
	if src.Dx() == dst.Dx() && src.Dy() == dst.Dy() {
		tex.sample(r, nil, filterNearest)
		sx, sy = src.Min.X+x.Min.X-dst.Min.X, src.Min.Y+x.Min.Y-dst.Min.Y
	} else {
		r.xform = transform{m: [3][3]int32{
			{scale(src.Dx(), dst.Dx()), 0, offset(src.Min.X, src.Dx(), dst.Dx())},
			{0, scale(src.Dy(), dst.Dy()), offset(src.Min.Y, src.Dy(), dst.Dy())},
			{0, 0, fixed1},
		}}
		tex.sample(r, &r.xform, filterBilinear)
		sx, sy = x.Min.X-dst.Min.X, x.Min.Y-dst.Min.Y
	}
	r.fc.Call(l.imageComposite32, op, tex.img, mask, r.target.img,
		i32(sx), i32(sy), 0, 0, i32(x.Min.X), i32(x.Min.Y), i32(x.Dx()), i32(x.Dy()))
}

// scale is sn/dn in 16.16 fixed point, rounded: the texels a target
// pixel steps over.
func scale(sn, dn int) int32 {
	return int32((int64(sn)*fixed1 + int64(dn)/2) / int64(dn))
}

// offset is the translation that puts the sample of target pixel i (of
// dn pixels mapped onto s0..s0+sn texels) at s0 + (i+½)·sn/dn: exact
// in the middle of the span, the rounding of scale spread to both ends
// rather than accumulated towards one; plus weightBias.
func offset(s0, sn, dn int) int32 {
	return int32(int64(s0)*fixed1 + (int64(sn)*fixed1-int64(dn)*int64(scale(sn, dn)))/2 + weightBias)
}

// weightBias (1/512 texel) shifts every sample a little to the right and
// down. pixman truncates positions to 7-bit bilinear weights
// (BILINEAR_INTERPOLATION_BITS), render/soft to 8-bit ones: the bias
// centres pixman's error on soft's, and keeps a sample that falls on a
// texel centre, but that scale's rounding put a hair before it, on that
// texel alone (weight 0) as in soft, rather than taking 127/128 of the
// texel before. Measured on noise textures the two then differ by at
// most 3 per channel (TestMatchesSoft), by 2 on the scenes.
const weightBias = fixed1 >> 9

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

// End ends CPU access. The CPU is done when End returns: no fence. It
// returns the first drawing error of the frame, if any.
func (r *Renderer) End() (*os.File, error) {
	if r.target == nil {
		return nil, errors.New("pixman: End outside a frame")
	}
	err := r.target.buf.EndCPUAccess(scanout.ReadWrite)
	r.target = nil
	return nil, errors.Join(r.err, err)
}
