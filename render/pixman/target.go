package pixman

import (
	"fmt"
	"unsafe"

	"github.com/minicomp/minicomp/scanout"
)

// target is a render target wrapped as a pixman image over its mapping,
// attached to the scanout.Buffer as the renderer's addon: made on the
// first Begin, freed when the buffer is released or the renderer closed.
type target struct {
	r   *Renderer
	buf *scanout.Buffer
	img uintptr // 0 once freed (guarded by r.mu)

	// The clip set on img, so that a frame with the damage of the last
	// one (or a whole frame after a whole frame) sets nothing: clipKnown
	// once set; then no clip region (clipNone), or clip's boxes.
	clipKnown, clipNone bool
	clip                []box32
}

// targetFor returns b's image, wrapping b's mapping on first use.
func (r *Renderer) targetFor(b *scanout.Buffer) (*target, error) {
	if a, ok := b.Addon(r).(*target); ok {
		return a, nil
	}
	format, _, err := pixmanFormat(b.Format)
	if err != nil {
		return nil, fmt.Errorf("pixman: cannot draw into %v", b.Format)
	}
	if b.Modifier != scanout.ModLinear {
		return nil, fmt.Errorf("pixman: cannot draw into %s", scanout.ModifierName(b.Modifier))
	}
	if b.Stride%4 != 0 || b.Offset%4 != 0 {
		return nil, fmt.Errorf("pixman: cannot draw into %v: stride %d and offset %d must be multiples of 4", b, b.Stride, b.Offset)
	}
	mem, err := b.Map()
	if err != nil {
		return nil, err
	}
	need := int(b.Offset) + int(b.Stride)*(b.Height-1) + b.Width*4
	if len(mem) < need {
		return nil, fmt.Errorf("pixman: %v: mapping of %d bytes, %d needed", b, len(mem), need)
	}
	// The mapping is not Go memory (mmap), and stays until the buffer is
	// released, which detaches this addon (freeing the image) first.
	img := r.createBits(format, b.Width, b.Height, uintptr(unsafe.Pointer(&mem[b.Offset])), int(b.Stride))
	if img == 0 {
		return nil, fmt.Errorf("pixman: pixman_image_create_bits for %v failed", b)
	}
	t := &target{r: r, buf: b, img: img}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.unref(img)
		return nil, ErrClosed
	}
	if err := b.SetAddon(r, t); err != nil {
		r.mu.Unlock()
		r.unref(img)
		return nil, err
	}
	r.targets[b] = t
	r.mu.Unlock()
	return t, nil
}

// DetachBuffer frees the image of a released buffer (scanout.Addon).
func (t *target) DetachBuffer(b *scanout.Buffer) error {
	r := t.r
	r.mu.Lock()
	if r.targets[b] == t {
		delete(r.targets, b)
	}
	r.mu.Unlock()
	r.dropTarget(t)
	return nil
}

// dropTarget frees t's image once.
func (r *Renderer) dropTarget(t *target) {
	r.mu.Lock()
	img := t.img
	t.img = 0
	r.mu.Unlock()
	r.unref(img)
}

// Forget frees the image kept for b now, rather than when the
// buffer is released or the renderer closed (as gles.Renderer.Forget).
func (r *Renderer) Forget(b *scanout.Buffer) {
	if t, ok := b.RemoveAddon(r).(*target); ok {
		t.DetachBuffer(b)
	}
}
