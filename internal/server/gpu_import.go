package server

import (
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// importedTexture makes the held dma-buf's own import (dmabuf.go) the
// surface's texture when the renderer r imported it: the GPU samples the
// client's buffer, nothing is copied, and the buffer stays held (not
// released) while it is the surface's content. done is false when the
// content has to come through the CPU instead (no import, or r is not
// the renderer that imported it: after a lost GPU context), and then
// the held buffer is copied whole. A buffer only the GPU can read (the
// implicit modifier) is then not drawn at all, and the log says so once.
func (sf *surface) importedTexture(r render.Renderer) (done bool, err error) {
	b := sf.held
	var t render.Texture
	if b != nil {
		t = b.texture(r)
	}
	if t != nil {
		if !sf.texBorrowed {
			sf.releaseTexture()
		}
		sf.tex, sf.texOwner, sf.texBorrowed = t, r, true
		sf.texAll, sf.texDamage = false, sf.texDamage[:0]
		// content is stale from here: a later CPU path copies it all.
		sf.heldAll, sf.heldDamage = true, sf.heldDamage[:0]
		sf.implicitWarned = false
		return true, nil
	}
	if sf.texBorrowed {
		sf.releaseTexture()
		sf.texAll = true
	}
	if b != nil && b.buf.Modifier != scanout.ModLinear {
		if !sf.implicitWarned {
			sf.implicitWarned = true
			sf.c.log.Warn("surface not drawn: its buffer has the implicit modifier and the renderer cannot sample it",
				"renderer", r.Name(), "buffer", b.buf.String())
		}
		sf.releaseTexture() // never the content from before, nor a CPU read of this one
		return true, nil
	}
	return false, nil
}
