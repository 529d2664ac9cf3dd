package kms

import (
	"errors"
	"fmt"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// newPresenter makes the Presenter of a connector with the primary
// plane turning the picture (Options.Transform) when it can; when the
// plane refuses the turn (scanout.ErrRotation) the picture is shown as
// drawn and the returned transform is what the compositor must draw
// (RenderTransform).
func newPresenter(display *scanout.Device, pipe scanout.Pipeline, mode scanout.Mode, opts *Options) (*scanout.Presenter, backend.Transform, error) {
	po := scanout.PresenterOptions{Mode: mode, DisableDirect: opts.DisableDirect, DisableCursorPlane: opts.DisableCursorPlane, Logger: opts.Logger}
	if opts.Transform == backend.TransformNormal {
		p, err := scanout.NewPresenter(display, pipe, po)
		return p, backend.TransformNormal, err
	}
	po.RotateDegrees, po.Flip = opts.Transform.Rotation()
	p, err := scanout.NewPresenter(display, pipe, po)
	if err == nil {
		return p, backend.TransformNormal, nil
	}
	if !errors.Is(err, scanout.ErrRotation) {
		return nil, 0, err
	}
	opts.Logger.Info("kms: the plane cannot turn the picture; the compositor draws it turned", "output", pipe.ConnectorName, "transform", opts.Transform.String(), "why", err)
	po.RotateDegrees, po.Flip = 0, false
	p, err = scanout.NewPresenter(display, pipe, po)
	if err != nil {
		return nil, 0, fmt.Errorf("presenter without rotation: %w", err)
	}
	return p, opts.Transform, nil
}

// RenderTransform returns the transform the compositor draws frames
// with: Transform when the display's plane cannot turn the picture,
// else normal.
func (o *Output) RenderTransform() backend.Transform {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.turn
}

// SetTransform mounts the screen as t (backend.Transformable): the
// primary plane turns the picture when its rotation property offers t
// (180 degrees and flips on vc4), else the compositor draws it turned
// (RenderTransform reports which at once). Before the next frame the
// Presenter is made again with the plane's new rotation (a modeset, as
// for SetMode); the render targets keep the mode's size either way.
func (o *Output) SetTransform(t backend.Transform) error {
	if !t.Valid() {
		return fmt.Errorf("kms output %s: set transform %v: %w", o.Name(), t, backend.ErrBadTransform)
	}
	turn := backend.TransformNormal
	if t != backend.TransformNormal {
		o.mu.Lock()
		p := o.p
		o.mu.Unlock()
		err := p.CanRotate(t.Rotation())
		if err != nil && !errors.Is(err, scanout.ErrRotation) {
			return fmt.Errorf("kms output %s: set transform %v: %w", o.Name(), t, err)
		}
		if err != nil {
			o.log.Info("kms: the plane cannot turn the picture; the compositor draws it turned", "output", o.Name(), "transform", t.String(), "why", err)
			turn = t
		}
	}
	o.mu.Lock()
	o.mounted, o.turn, o.wantTurn = t, turn, true
	o.mu.Unlock()
	return nil
}

// applyTurn makes the Presenter again for the transform SetTransform
// set, at the mode SetMode asked for (want; nil: the current one).
// When that fails the old mode is made again, the plane turned as
// before the change when it can, else the compositor draws the turn.
func (o *Output) applyTurn(want *scanout.Mode) error {
	mode := o.p.Mode()
	if want != nil {
		mode = *want
	}
	old := o.p.Mode()
	err := o.remake(mode)
	if err == nil {
		o.log.Info("kms output transform set", "output", o.Name(), "transform", o.Transform().String(), "drawn", o.RenderTransform().String(), "mode", mode.String())
		return nil
	}
	o.log.Error("kms: a new Presenter for the transform failed; the compositor draws it turned at the old mode", "output", o.Name(), "err", err)
	o.mu.Lock()
	o.info.Mode, o.turn = old, o.mounted
	o.mu.Unlock()
	if err2 := o.remake(old); err2 != nil {
		return fmt.Errorf("kms output %s: transform %v at %s: %w; and back to %s: %w", o.Name(), o.Transform(), mode, err, old, err2)
	}
	return nil
}

var (
	_ backend.Composed      = (*Output)(nil)
	_ backend.Transformable = (*Output)(nil)
)

// logicalSize is the size of the picture the output shows: its mode
// turned by Options.Transform.
func (o *Output) logicalSize() (float64, float64) {
	o.mu.Lock()
	m, t := o.info.Mode, o.mounted // Mode and Transform, under one lock
	o.mu.Unlock()
	w, h := t.LogicalSize(m.Width, m.Height)
	return float64(w), float64(h)
}

// absolute maps an absolute pointer position (0..1 on both axes) to
// the layout of outs. A device absolute over one output (a tablet or a
// touchscreen that drives the pointer) is mounted on that panel: the
// position is the panel's, shown turned (Transform.ToLogical). Over
// several outputs it spans the layout.
func absolute(outs []*Output, x, y float64) (float64, float64) {
	if len(outs) == 1 {
		m := outs[0].Mode()
		return outs[0].Transform().ToLogical(m.Width, m.Height, x*float64(m.Width), y*float64(m.Height))
	}
	w, h := layout(outs)
	return x * w, y * h
}
