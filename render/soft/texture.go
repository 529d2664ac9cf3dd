package soft

import (
	"fmt"
	"image"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// Texture is a CPU texture: the renderer's own copy of a picture's pixels.
type Texture struct {
	w, h   int
	opaque bool
	pix    []byte // w*4 bytes a row (the caller's for NewTextureView); nil once released
}

var _ render.Texture = (*Texture)(nil)

// NewTexture makes a w×h texture (ARGB8888 premultiplied or XRGB8888),
// initially transparent black.
func (r *Renderer) NewTexture(w, h int, format scanout.Format) (render.Texture, error) {
	if r.closed {
		return nil, ErrClosed
	}
	return NewTexture(w, h, format)
}

// NewTexture makes a texture not tied to a Renderer (CPU textures need
// none): any soft.Renderer can draw it.
func NewTexture(w, h int, format scanout.Format) (*Texture, error) {
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return nil, fmt.Errorf("soft: texture size %dx%d", w, h)
	}
	return newTexture(w, h, format, make([]byte, w*h*4))
}

// newTexture checks the size and format and wraps pix.
func newTexture(w, h int, format scanout.Format, pix []byte) (*Texture, error) {
	if len(pix) < w*h*4 {
		return nil, fmt.Errorf("soft: %d bytes for a %dx%d texture", len(pix), w, h)
	}
	if w <= 0 || h <= 0 || w > 16384 || h > 16384 {
		return nil, fmt.Errorf("soft: texture size %dx%d", w, h)
	}
	var opaque bool
	switch format {
	case scanout.XRGB8888:
		opaque = true
	case scanout.ARGB8888:
	default:
		return nil, fmt.Errorf("soft: texture format %v (want ARGB8888 or XRGB8888)", format)
	}
	return &Texture{w: w, h: h, opaque: opaque, pix: pix}, nil
}

// NewTextureView makes a texture that draws straight from pix (w*4 bytes a
// row): no copy, no Update needed (see render.TextureViewer).
func (r *Renderer) NewTextureView(pix []byte, w, h int, format scanout.Format) (render.Texture, error) {
	if r.closed {
		return nil, ErrClosed
	}
	t, err := newTexture(w, h, format, pix)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Size returns the texture's size.
func (t *Texture) Size() (int, int) { return t.w, t.h }

// Update copies the damaged parts of pix into the texture.
func (t *Texture) Update(pix []byte, stride int, damage []image.Rectangle) error {
	if t.pix == nil {
		return fmt.Errorf("soft: Update of a released texture")
	}
	return render.UpdatePixels(t.pix, t.w, t.h, pix, stride, damage)
}

// Release frees the pixels (a view only forgets the caller's memory).
func (t *Texture) Release() { t.pix = nil }
