package scanout

import "github.com/minicomp/minicomp/internal/drm"

// offForeign adds to r, a modeset commit, every plane on the Presenter's
// CRTC other than the primary plane and keep (the cursor plane when the
// commit sets it; 0: none): another DRM master (the compositor of the VT
// we were away to, a boot splash) may have left an overlay or a cursor
// there, and a modeset that sets only the primary plane keeps them
// showing over our frames. As weston and wlroots do, the first commit
// after a session resume turns them off. Only planes on this CRTC go: a
// plane that could be here but shows another CRTC's picture (a second
// output's cursor on the same device) stays. log reports each plane
// turned off (false for TEST_ONLY commits).
func (p *Presenter) offForeign(r *drm.AtomicReq, keep uint32, log bool) {
	ids, err := p.dev.dev.PlaneIDs()
	if err != nil {
		p.log.Warn("listing planes to turn off those another DRM master left on", "output", p.pipe.ConnectorName, "err", err)
		return
	}
	for _, id := range ids {
		if id == p.pipe.Primary.ID || id == keep {
			continue
		}
		props, err := p.dev.dev.Props(id, drm.ObjectPlane)
		if err != nil {
			p.log.Warn("reading a plane's properties", "output", p.pipe.ConnectorName, "plane", id, "err", err)
			continue
		}
		fb, okFB := props.IDs["FB_ID"]
		crtc, okCRTC := props.IDs["CRTC_ID"]
		if !okFB || !okCRTC || props.Values["CRTC_ID"] != uint64(p.pipe.CRTC) {
			continue
		}
		r.Add(id, fb, 0)
		r.Add(id, crtc, 0)
		if log {
			p.log.Info("turning off a plane left on the CRTC", "output", p.pipe.ConnectorName, "plane", id, "framebuffer", props.Values["FB_ID"])
		}
	}
}
