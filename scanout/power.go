package scanout

import (
	"fmt"

	"github.com/minicomp/minicomp/internal/drm"
)

// SetActive turns the CRTC off (blanks the screen, as DPMS off does) or
// back on, keeping its mode and planes: on again, the last frame shows
// until the next Present. Before the first frame it does nothing (the
// first Present lights the screen). No frame may be presented while it
// is off (the kernel refuses a flip event on an inactive CRTC). A flip in
// flight completes first (the commit is a blocking one).
func (p *Presenter) SetActive(on bool) error {
	if p.needModeset || p.off == !on {
		return nil
	}
	r := &p.req
	r.Reset()
	v := uint64(0)
	if on {
		v = 1
	}
	r.Add(p.pipe.CRTC, p.prop.active, v)
	if err := p.dev.dev.Atomic(r, drm.AtomicAllowModeset, 0); err != nil {
		return fmt.Errorf("%s CRTC %d: set ACTIVE=%d: %w", p.dev, p.pipe.CRTC, v, err)
	}
	p.off = !on
	return nil
}

// Active reports whether the CRTC is on (false after SetActive(false)).
func (p *Presenter) Active() bool { return !p.off }
