package server

import (
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"

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
	if sf.texBorrowed && sf.viewBuf == nil { // a dma-buf's import, not an shm view
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

// mayScanOut reports whether b may be offered to o's display as it is.
// A buffer with an explicit modifier may (the display decides); one with
// the implicit modifier only when the display is the main device itself
// (virtio-gpu with virgl; vc4 with v3d are two devices): clients allocate
// for the main device, and only the driver that allocated a buffer knows
// its implicit layout.
func (o *output) mayScanOut(b *dmabufBuffer) bool {
	if b.buf.Modifier != scanout.ModInvalid {
		return true
	}
	if o.implicitDirect == 0 {
		o.implicitDirect = 1
		display, _ := o.scanout.ScanoutFormats()
		if sameDRMDevice(display, o.s.mainDevice) {
			o.implicitDirect = 2
		}
	}
	return o.implicitDirect == 2
}

// sameDRMDevice reports whether two DRM nodes (dev_t: a primary and a
// render node, say) belong to one device: sysfs links both to the same
// parent.
func sameDRMDevice(a, b uint64) bool {
	if a == 0 || b == 0 {
		return false
	}
	if a == b {
		return true
	}
	parent := func(d uint64) string {
		p, err := filepath.EvalSymlinks(fmt.Sprintf("/sys/dev/char/%d:%d/device", unix.Major(d), unix.Minor(d)))
		if err != nil {
			return ""
		}
		return p
	}
	pa := parent(a)
	return pa != "" && pa == parent(b)
}
