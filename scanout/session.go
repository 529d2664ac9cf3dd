package scanout

// ModesetNext makes the next Present set the mode again (connector,
// CRTC mode, active) in a commit that allows a modeset: after the session
// was away and another DRM master changed the display, the kernel's state
// is not what the Presenter last committed. Call it with no Present
// running.
func (p *Presenter) ModesetNext() { p.needModeset = true }
