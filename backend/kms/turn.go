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
// with: Options.Transform when the display's plane cannot turn the
// picture, else normal.
func (o *Output) RenderTransform() backend.Transform { return o.turn }

var _ backend.Composed = (*Output)(nil)

// logicalSize is the size of the picture the output shows: its mode
// turned by Options.Transform.
func (o *Output) logicalSize() (float64, float64) {
	m := o.Mode()
	w, h := o.Transform().LogicalSize(m.Width, m.Height)
	return float64(w), float64(h)
}

// absolute maps an absolute pointer position (0..1 on both axes) to
// the layout. A device absolute over one output (a tablet or a
// touchscreen that drives the pointer) is mounted on that panel: the
// position is the panel's, shown turned (Transform.ToLogical). Over
// several outputs it spans the layout.
func (in *inputSource) absolute(x, y float64) (float64, float64) {
	if outs := in.outputs(); len(outs) == 1 {
		m := outs[0].Mode()
		return outs[0].Transform().ToLogical(m.Width, m.Height, x*float64(m.Width), y*float64(m.Height))
	}
	w, h := in.layout()
	return x * w, y * h
}
