package server

import (
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// Drawing shm buffers in place. A CPU renderer (render.TextureViewer) can
// draw a client's buffer straight from its pool instead of from a copy
// made at commit, and a GPU renderer can upload its damage from there,
// when reading the pool cannot fault: its file is sealed
// against shrinking (F_SEAL_SHRINK; an unsealed file truncated by its
// client would raise SIGBUS inside the renderer's C code, where no Go
// recover reaches). Such a buffer is not released at commit but when the
// surface no longer shows it (the next buffer, a null attach, the
// surface's end), as weston's pixman renderer does; everything else is
// still copied at commit and released at once.
//
// The buffer keeps the mapping it is read from (a pool resize maps anew
// and the old mapping stays while drawn) and the renderer's view of it
// for its whole life, so a client flipping between two buffers costs no
// allocation per frame.
type shmView struct {
	surfaces int     // surfaces showing the buffer in place
	m        *shmMap // the mapping read (a reference), nil before the first view
	tex      render.Texture
	owner    render.Renderer
	format   scanout.Format
}

// canView reports whether the buffer can be read in place: drawn from
// its pool by a CPU renderer, or uploaded from its pool by a GPU one
// (weston's GL renderer uploads from the client's buffer too; a copy at
// commit then an upload was two copies of every frame).
func (b *shmBuffer) canView(r render.Renderer) bool {
	return r != nil && b.pool.sealed && b.stride == b.width*4 && b.offset%4 == 0
}

// pixelsInPlace returns the buffer's bytes in the mapping its views read.
func (b *shmBuffer) pixelsInPlace() []byte {
	if b.view.m == nil {
		b.view.m = b.pool.m
		b.view.m.refs++
	}
	return b.view.m.mem[b.offset : b.offset+b.stride*b.height]
}

// maybeFreeView lets the view's texture and mapping go once the buffer
// is destroyed and no surface shows it.
func (b *shmBuffer) maybeFreeView() {
	if !b.destroyed || b.view.surfaces > 0 {
		return
	}
	if b.view.tex != nil {
		b.view.tex.Release()
		b.view.tex = nil
	}
	if b.view.m != nil {
		b.view.m.unref()
		b.view.m = nil
	}
}

// viewTexture returns r's texture view of the buffer, made once.
func (b *shmBuffer) viewTexture(r render.Renderer, format scanout.Format) (render.Texture, error) {
	if b.view.tex != nil && (b.view.owner != r || b.view.format != format) {
		if b.view.owner == r {
			b.view.tex.Release()
		} // else: made by a renderer replaced (and closed) since
		b.view.tex = nil
	}
	if b.view.tex == nil {
		t, err := r.(render.TextureViewer).NewTextureView(b.pixelsInPlace(), b.width, b.height, format)
		if err != nil {
			return nil, err
		}
		b.view.tex, b.view.owner, b.view.format = t, r, format
	}
	return b.view.tex, nil
}

// takeInPlace makes b the surface's content without a copy.
func (sf *surface) takeInPlace(b *shmBuffer) {
	sf.heldAll, sf.heldDamage = false, sf.heldDamage[:0]
	sf.dropHeld()
	if sf.viewBuf != b {
		sf.dropView()
		sf.viewBuf = b
		b.view.surfaces++
	}
	sf.content = b.pixelsInPlace()
	sf.width, sf.height = b.width, b.height
	sf.opaque = b.isOpaque()
}

// dropView stops showing the buffer in place; the client gets it back
// when no surface shows it any more.
func (sf *surface) dropView() {
	b := sf.viewBuf
	if b == nil {
		return
	}
	sf.viewBuf = nil
	if sf.texBorrowed {
		sf.tex, sf.texBorrowed = nil, false
	}
	sf.content = nil
	b.view.surfaces--
	if b.view.surfaces == 0 {
		if !b.destroyed && sf.c.s.clients[b.c] {
			b.c.send(protocol.WlBufferRelease(b.c.conn, b.id))
		}
		b.maybeFreeView()
	}
}

// updateViewTexture gives a surface drawn in place the buffer's texture
// view; false: r cannot view, the caller copies.
func (sf *surface) updateViewTexture(r render.Renderer, format scanout.Format) (bool, error) {
	b := sf.viewBuf
	if b == nil {
		return false, nil
	}
	if _, ok := r.(render.TextureViewer); !ok {
		return false, nil
	}
	t, err := b.viewTexture(r, format)
	if err != nil {
		return true, err
	}
	if sf.tex != t {
		sf.releaseTexture()
		sf.tex, sf.texBorrowed = t, true
	}
	sf.texFormat, sf.texOwner, sf.texView = format, r, &sf.content[0]
	sf.texAll, sf.texDamage = false, sf.texDamage[:0]
	return true, nil
}
