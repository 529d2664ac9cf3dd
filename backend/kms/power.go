package kms

import "github.com/minicomp/minicomp/backend"

// SetPower turns the screen off (the CRTC's ACTIVE property, as DPMS
// off) or back on; the caller presents nothing while it is off.
func (o *Output) SetPower(on bool) error {
	if err := o.sess.enter(o.Name()); err != nil {
		return err
	}
	defer o.sess.leave()
	return o.p.SetActive(on)
}

var _ backend.PowerControl = (*Output)(nil)

// Transform returns how the screen is mounted (Options.Transform, or
// what SetTransform set).
func (o *Output) Transform() backend.Transform {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mounted
}

var _ backend.Transformed = (*Output)(nil)
