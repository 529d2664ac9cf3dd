package pixman

import (
	"fmt"
	"image"
	"runtime"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// Texture is a pixman image: pixels pixman allocated (NewTexture), or the
// caller's memory (NewTextureView).
type Texture struct {
	r      *Renderer
	w, h   int
	opaque bool
	img    uintptr        // 0 once released
	pix    []byte         // w*4 bytes a row: C memory, or the caller's (view)
	pin    runtime.Pinner // a view's memory, while pixman holds it

	// The sampling set on img, so that a Draw like the last one sets
	// nothing.
	filter int32
	xform  transform
	scaled bool
}

var _ render.Texture = (*Texture)(nil)

// maxSize bounds texture sizes (as render/soft).
const maxSize = 16384

func pixmanFormat(format scanout.Format) (uint32, bool, error) {
	switch format {
	case scanout.XRGB8888:
		return fmtX8R8G8B8, true, nil
	case scanout.ARGB8888:
		return fmtA8R8G8B8, false, nil
	}
	return 0, false, fmt.Errorf("pixman: texture format %v (want ARGB8888 or XRGB8888)", format)
}

// NewTexture makes a w×h texture (ARGB8888 premultiplied or XRGB8888),
// initially transparent black, its pixels allocated by pixman.
func (r *Renderer) NewTexture(w, h int, format scanout.Format) (render.Texture, error) {
	return r.newTexture(nil, w, h, format)
}

// NewTextureView makes a texture that draws straight from pix (w*4 bytes a
// row): no copy, no Update needed (see render.TextureViewer). pix is
// pinned (runtime.Pinner) until Release or Close, so that pixman may hold
// it; a view must be released, or the renderer closed.
func (r *Renderer) NewTextureView(pix []byte, w, h int, format scanout.Format) (render.Texture, error) {
	if pix == nil {
		return nil, fmt.Errorf("pixman: texture view of no memory")
	}
	return r.newTexture(pix, w, h, format)
}

func (r *Renderer) newTexture(view []byte, w, h int, format scanout.Format) (*Texture, error) {
	if r.closed {
		return nil, ErrClosed
	}
	if w <= 0 || h <= 0 || w > maxSize || h > maxSize {
		return nil, fmt.Errorf("pixman: texture size %dx%d", w, h)
	}
	pf, opaque, err := pixmanFormat(format)
	if err != nil {
		return nil, err
	}
	t := &Texture{r: r, w: w, h: h, opaque: opaque}
	if view != nil {
		if len(view) < w*h*4 {
			return nil, fmt.Errorf("pixman: %d bytes for a %dx%d texture", len(view), w, h)
		}
		if uintptr(unsafe.Pointer(&view[0]))%4 != 0 {
			return nil, fmt.Errorf("pixman: texture view memory is not 4-byte aligned")
		}
		t.pix = view[:w*h*4]
		t.pin.Pin(&t.pix[0]) // the whole object holding pix (a no-op for mmap'd memory)
		t.img = r.createBits(pf, w, h, uintptr(unsafe.Pointer(&t.pix[0])), w*4)
	} else {
		t.img = r.createBits(pf, w, h, 0, w*4)
	}
	if t.img == 0 {
		t.pin.Unpin()
		return nil, fmt.Errorf("pixman: pixman_image_create_bits %dx%d failed", w, h)
	}
	if view == nil {
		if stride := int(int32(dl.Call(r.l.imageGetStride, t.img))); stride != w*4 {
			r.unref(t.img)
			return nil, fmt.Errorf("pixman: texture stride %d, want %d", stride, w*4)
		}
		t.pix = cmem(dl.Call(r.l.imageGetData, t.img), w*h*4)
	}
	dl.Call(r.l.imageSetRepeat, t.img, repeatPad) // clamp to the edge
	dl.Call(r.l.imageSetFilter, t.img, filterNearest, 0, 0)
	t.filter = filterNearest
	r.textures[t] = struct{}{}
	return t, nil
}

// sample sets how t is sampled by the next composite: xf (nil: identity)
// and filter, when they changed.
func (t *Texture) sample(r *Renderer, xf *transform, filter int32) {
	if filter != t.filter {
		r.fc.Call(r.l.imageSetFilter, t.img, uintptr(filter), 0, 0)
		t.filter = filter
	}
	switch {
	case xf == nil && t.scaled:
		r.fc.Call(r.l.imageSetTransform, t.img, 0)
		t.scaled = false
	case xf != nil && (!t.scaled || *xf != t.xform):
		t.xform = *xf
		r.fc.Call(r.l.imageSetTransform, t.img, uintptr(unsafe.Pointer(&t.xform)))
		t.scaled = true
	}
}

// Size returns the texture's size.
func (t *Texture) Size() (int, int) { return t.w, t.h }

// Update copies the damaged parts of pix into the texture.
func (t *Texture) Update(pix []byte, stride int, damage []image.Rectangle) error {
	if t.img == 0 {
		return fmt.Errorf("pixman: Update of a released texture")
	}
	return render.UpdatePixels(t.pix, t.w, t.h, pix, stride, damage)
}

// Release frees the pixman image (and the pixels NewTexture allocated; a
// view unpins the caller's memory). Releasing twice is harmless.
func (t *Texture) Release() {
	if t.img == 0 {
		return
	}
	delete(t.r.textures, t)
	t.release()
}

func (t *Texture) release() {
	t.r.unref(t.img)
	t.img, t.pix = 0, nil
	t.pin.Unpin()
}
