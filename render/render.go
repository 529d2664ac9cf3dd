// Package render defines how minicomp draws frames into render targets
// (scanout.Buffers): one Renderer interface with CPU implementations
// (render/pixman, render/soft) and a GLES one (render/gles); render/auto
// picks one.
//
// How it fits: the GPU renderer draws with the render device the targets
// were imported into (backend.Backend.RenderDevice, or
// scanout.Devices.Render: pass its Path to auto.Options.Device). A frame
// is Begin on a target from backend.Output.Next with the damage to
// redraw, drawing calls (Clear, FillRect, Draw of Textures made by
// NewTexture, views of client memory through TextureViewer, client
// dma-bufs through DMABufImporter), then End, whose fence goes to
// backend.Output.Present (the caller closes it afterwards). An embedder
// may bring its own Renderer; nothing in the buffer path depends on
// these.
package render

import (
	"fmt"
	"image"
	"image/color"
	"os"

	"github.com/minicomp/minicomp/scanout"
)

// Renderer draws into render targets.
//
// A frame is Begin, any number of drawing calls, End. Drawing is clipped to
// the damage given to Begin, so a renderer redraws only what changed.
// A Renderer is used from one goroutine at a time (any goroutine).
type Renderer interface {
	// Name says which renderer this is ("soft", "gles").
	Name() string
	// NewTexture makes a w×h texture for 32-bit pixels in format
	// (scanout.ARGB8888: premultiplied alpha; scanout.XRGB8888: opaque).
	NewTexture(w, h int, format scanout.Format) (Texture, error)
	// Begin starts a frame into target; damage (nil: all of it) clips
	// every drawing call until End.
	Begin(target *scanout.Buffer, damage []image.Rectangle) error
	// Clear fills the damaged region with c (made opaque).
	Clear(c color.NRGBA)
	// FillRect fills r (clipped to the damage) with c, blending when c is
	// translucent.
	FillRect(r image.Rectangle, c color.NRGBA)
	// Draw draws the src rectangle of t (texture pixels) scaled into dst
	// (target pixels), clipped to the frame's damage; opaque textures are
	// copied, others blended (premultiplied "over"); alpha (0..1)
	// multiplies the whole texture. Scaling is bilinear (texel centres,
	// clamped to the texture's edge); an unscaled draw copies texels.
	Draw(t Texture, src, dst image.Rectangle, alpha float32)
	// End finishes the frame. fence, when not nil, is a sync_file that
	// signals when the GPU is done (for the Presenter's IN_FENCE_FD, or to
	// wait on before a CPU read); CPU renderers return nil.
	End() (fence *os.File, err error)
	// Close releases every GPU object; the Renderer is unusable after.
	Close() error
}

// Texture is an image a Renderer can Draw, owned by that Renderer.
type Texture interface {
	// Size returns the texture's size in pixels.
	Size() (w, h int)
	// Update copies the parts of pix (w×h pixels, stride bytes a row, the
	// texture's format) inside damage (texture pixels; nil = all).
	Update(pix []byte, stride int, damage []image.Rectangle) error
	// Release frees the texture. It must not be drawn afterwards;
	// releasing twice is harmless.
	Release()
}

// TextureViewer is implemented by CPU renderers, whose textures can be
// views of the caller's memory instead of copies of it.
type TextureViewer interface {
	// NewTextureView makes a w×h texture that reads pix (w*4 bytes a row)
	// whenever it is drawn: what the caller writes there is what is
	// drawn, with no Update. pix must stay valid until Release.
	NewTextureView(pix []byte, w, h int, format scanout.Format) (Texture, error)
}

// DMABufImporter is implemented by renderers that can sample client
// dma-bufs without a copy.
type DMABufImporter interface {
	// ImportDMABuf makes a texture that samples b directly. The texture
	// holds no reference to b's file after ImportDMABuf returns; b must
	// stay unchanged while drawn.
	ImportDMABuf(b *scanout.Buffer) (Texture, error)
	// CanImportDMABuf reports whether ImportDMABuf can work at all (the
	// driver has dma-buf import and the context is not lost): callers
	// advertise implicit-modifier buffers, which only an import can read,
	// only then.
	CanImportDMABuf() bool
}

// AppendDisjoint appends to dst the parts of rects (clipped to bounds)
// that no earlier rectangle in dst or rects covers, so that no pixel is
// in two of the results (blending twice over an overlap would be wrong).
// Pieces beyond max are merged into their bounding box, which stays
// correct (drawing clipped to a larger region) but draws more.
func AppendDisjoint(dst []image.Rectangle, rects []image.Rectangle, bounds image.Rectangle, max int) []image.Rectangle {
	start := len(dst)
	for _, r := range rects {
		r = r.Intersect(bounds)
		if r.Empty() {
			continue
		}
		dst = addDisjoint(dst, start, r, 0)
	}
	if len(dst)-start > max {
		var u image.Rectangle
		for _, r := range dst[start:] {
			u = u.Union(r)
		}
		dst = append(dst[:start], u)
	}
	return dst
}

// addDisjoint adds the parts of r not covered by dst[i:] (for i ≥ from).
func addDisjoint(dst []image.Rectangle, start int, r image.Rectangle, from int) []image.Rectangle {
	for i := start + from; i < len(dst); i++ {
		d := dst[i]
		if !r.Overlaps(d) {
			continue
		}
		if r.In(d) {
			return dst
		}
		// Split r into the up to four pieces around d and add each.
		pieces := [4]image.Rectangle{
			{r.Min, image.Pt(r.Max.X, d.Min.Y)},                                                  // above
			{image.Pt(r.Min.X, d.Max.Y), r.Max},                                                  // below
			{image.Pt(r.Min.X, max(r.Min.Y, d.Min.Y)), image.Pt(d.Min.X, min(r.Max.Y, d.Max.Y))}, // left
			{image.Pt(d.Max.X, max(r.Min.Y, d.Min.Y)), image.Pt(r.Max.X, min(r.Max.Y, d.Max.Y))}, // right
		}
		next := i - start + 1
		for _, p := range pieces {
			if p = p.Intersect(r); !p.Empty() {
				dst = addDisjoint(dst, start, p, next)
			}
		}
		return dst
	}
	return append(dst, r)
}

// CheckPixels checks that pix holds w×h 32-bit pixels, stride bytes a
// row; every renderer's Texture.Update refuses the same bad input.
func CheckPixels(pix []byte, stride, w, h int) error {
	if w <= 0 || h <= 0 || stride < w*4 || len(pix) < stride*(h-1)+w*4 {
		return fmt.Errorf("render: texture update: %d bytes at stride %d do not hold %dx%d pixels", len(pix), stride, w, h)
	}
	return nil
}

// UpdatePixels is Texture.Update for a CPU texture whose pixels are dst
// (w×h, w*4 bytes a row): it checks pix like every renderer
// (CheckPixels) and copies the parts of pix inside damage (nil: all).
// When pix is dst itself (a view), nothing is copied.
func UpdatePixels(dst []byte, w, h int, pix []byte, stride int, damage []image.Rectangle) error {
	if err := CheckPixels(pix, stride, w, h); err != nil {
		return err
	}
	if stride == w*4 && &pix[0] == &dst[0] {
		return nil // a view of this very memory: nothing to copy
	}
	bounds := image.Rect(0, 0, w, h)
	if damage == nil {
		copyRows(dst, w, pix, stride, bounds)
	}
	for _, d := range damage {
		if d = d.Intersect(bounds); !d.Empty() {
			copyRows(dst, w, pix, stride, d)
		}
	}
	return nil
}

func copyRows(dst []byte, w int, pix []byte, stride int, r image.Rectangle) {
	if stride == w*4 && r.Min.X == 0 && r.Max.X == w {
		copy(dst[r.Min.Y*stride:r.Max.Y*stride], pix[r.Min.Y*stride:])
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(dst[y*w*4+r.Min.X*4:y*w*4+r.Max.X*4], pix[y*stride+r.Min.X*4:y*stride+r.Max.X*4])
	}
}
