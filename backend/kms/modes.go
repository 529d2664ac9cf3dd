package kms

import (
	"fmt"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// Modes lists the connector's modes, preferred first
// (backend.ModeSetter).
func (o *Output) Modes() []scanout.Mode { return o.p.Pipeline().Modes }

// CustomModes is false: a connector shows only the modes it offers.
func (o *Output) CustomModes() bool { return false }

// SetMode picks one of the connector's modes (by size, refresh when not
// 0, and name when set). Mode and Info report it at once; the modeset
// itself happens before the next frame: the pipeline is turned off, the
// Presenter and the render targets are made again at the new size, and
// the first commit sets the mode.
func (o *Output) SetMode(m scanout.Mode) error {
	pipe := o.p.Pipeline()
	mode, err := pipe.FindMode(m)
	if err != nil {
		return fmt.Errorf("kms output %s: set mode: %w: %w", o.Name(), backend.ErrBadMode, err)
	}
	o.mu.Lock()
	o.info.Mode = mode
	o.wantMode = &mode
	o.mu.Unlock()
	return nil
}

// applyMode makes the mode SetMode asked for (called before a frame uses
// the Presenter or the targets, with no flip pending). When the new
// Presenter or targets cannot be made, the old mode is made again.
func (o *Output) applyMode() error {
	o.mu.Lock()
	want, turned := o.wantMode, o.wantTurn
	o.wantMode, o.wantTurn = nil, false
	o.mu.Unlock()
	if turned {
		if err := o.applyTurn(want); err != nil {
			return err
		}
		want = nil
	}
	if want == nil || *want == o.p.Mode() {
		return nil
	}
	old := o.p.Mode()
	if err := o.remake(*want); err != nil {
		o.log.Error("kms: modeset failed, back to the old mode", "output", o.Name(), "mode", want.String(), "err", err)
		o.mu.Lock()
		o.info.Mode = old
		o.mu.Unlock()
		if err2 := o.remake(old); err2 != nil {
			return fmt.Errorf("kms output %s: set mode %s: %w; and back to %s: %w", o.Name(), want, err, old, err2)
		}
		return nil
	}
	o.log.Info("kms output mode set", "output", o.Name(), "from", old.String(), "to", want.String())
	return nil
}

// remake replaces the Presenter and the swapchain with ones for mode.
func (o *Output) remake(mode scanout.Mode) error {
	pipe := o.p.Pipeline()
	stats := o.p.Stats()
	if err := o.p.Close(); err != nil {
		o.log.Warn("kms: turning the pipeline off for a modeset", "output", o.Name(), "err", err)
	}
	po := scanout.PresenterOptions{Mode: mode, DisableDirect: o.noDirect, Logger: o.log}
	if o.RenderTransform() == backend.TransformNormal { // the plane turns the picture, if anything does
		po.RotateDegrees, po.Flip = o.Transform().Rotation()
	}
	p, err := scanout.NewPresenter(o.dev, pipe, po)
	if err != nil {
		return err
	}
	o.b.allocMu.Lock() // hotplug's newOutput may allocate at the same time
	sc, err := scanout.NewSwapchain(o.alloc, len(o.sc.Buffers), mode.Width, mode.Height, o.fmt)
	o.b.allocMu.Unlock()
	if err != nil {
		p.Close()
		return err
	}
	if err := o.sc.Close(); err != nil {
		o.log.Warn("kms: releasing the old render targets", "output", o.Name(), "err", err)
	}
	o.mu.Lock()
	o.p, o.sc = p, sc
	o.statsBase = o.statsBase.Plus(stats)
	o.info.Strategy, o.info.Attempts = sc.Strategy, sc.Attempts
	o.mu.Unlock()
	o.triedReplace = nil
	return nil
}
