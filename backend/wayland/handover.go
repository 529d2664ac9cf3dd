package wayland

import (
	"fmt"

	"github.com/minicomp/minicomp/scanout"
)

// Handover is how a rendered frame reaches the parent compositor.
type Handover int

// Hand-over methods, best first.
const (
	// HandoverDmabuf: each render target, a real dma-buf, is a wl_buffer
	// made once with zwp_linux_buffer_params_v1.create_immed. Zero copy.
	HandoverDmabuf Handover = iota + 1
	// HandoverShmZeroCopy: each render target, a memfd, is a wl_buffer in
	// a wl_shm pool on that same memfd. Zero copy.
	HandoverShmZeroCopy
	// HandoverShmCopy: the damaged part of each frame is copied from the
	// render target into a wl_shm buffer paired with it.
	HandoverShmCopy
)

// String returns "dmabuf", "shm (zero-copy memfd)" or "shm (copy)".
func (h Handover) String() string {
	switch h {
	case HandoverDmabuf:
		return "dmabuf"
	case HandoverShmZeroCopy:
		return "shm (zero-copy memfd)"
	case HandoverShmCopy:
		return "shm (copy)"
	}
	return "none"
}

// parentCaps is what the parent accepts: linux-dmabuf format/modifier
// pairs (nil map: no zwp_linux_dmabuf_v1) and wl_shm formats (DRM
// fourccs, already translated from wl_shm's codes).
type parentCaps struct {
	dmabuf map[scanout.Format][]uint64
	shm    map[scanout.Format]bool
}

// targetDesc is what decides a target's hand-over.
type targetDesc struct {
	format   scanout.Format
	modifier uint64
	isDmabuf bool // a real dma-buf (heap, render node, udmabuf); false: memfd
}

// handoverPrefs are the user's overrides.
type handoverPrefs struct {
	noDMABuf  bool // never hand over dma-bufs
	forceCopy bool // copy into wl_shm buffers even when zero copy is possible
}

// chooseHandover decides how a target reaches the parent, with the reason
// for logs. It fails when not even a copy into wl_shm is possible.
func chooseHandover(t targetDesc, p parentCaps, prefs handoverPrefs) (Handover, string, error) {
	var why string
	switch {
	case !t.isDmabuf:
		why = "the render targets are memfd, not dma-bufs"
	case prefs.noDMABuf:
		why = "dma-buf hand-over disabled (NoDMABuf)"
	case p.dmabuf == nil:
		why = "the parent has no zwp_linux_dmabuf_v1"
	case !hasModifier(p.dmabuf[t.format], t.modifier):
		why = fmt.Sprintf("the parent's linux-dmabuf does not list %v with modifier %s", t.format, scanout.ModifierName(t.modifier))
	case prefs.forceCopy:
		why = "copy forced (ForceCopy)"
	default:
		return HandoverDmabuf, fmt.Sprintf("the parent accepts %v %s dma-bufs", t.format, scanout.ModifierName(t.modifier)), nil
	}
	if !p.shm[t.format] {
		return 0, "", fmt.Errorf("%s, and the parent's wl_shm lacks %v", why, t.format)
	}
	if !t.isDmabuf && t.modifier == scanout.ModLinear && !prefs.forceCopy {
		return HandoverShmZeroCopy, why + ": a wl_shm pool on the memfd itself", nil
	}
	if prefs.forceCopy && !t.isDmabuf {
		why = "copy forced (ForceCopy)"
	}
	return HandoverShmCopy, why, nil
}

func hasModifier(mods []uint64, m uint64) bool {
	for _, x := range mods {
		if x == m {
			return true
		}
	}
	return false
}

// wl_shm format codes that differ from the DRM fourcc (wayland.xml).
const (
	shmARGB8888 = 0
	shmXRGB8888 = 1
)

// shmToFormat translates a wl_shm format code into a DRM fourcc.
func shmToFormat(code uint32) scanout.Format {
	switch code {
	case shmARGB8888:
		return scanout.ARGB8888
	case shmXRGB8888:
		return scanout.XRGB8888
	}
	return scanout.Format(code)
}

// formatToShm translates a DRM fourcc into a wl_shm format code.
func formatToShm(f scanout.Format) uint32 {
	switch f {
	case scanout.ARGB8888:
		return shmARGB8888
	case scanout.XRGB8888:
		return shmXRGB8888
	}
	return uint32(f)
}
