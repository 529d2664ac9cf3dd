package server

import "github.com/minicomp/minicomp/backend"

// Turning an output while running (wlr-output-management's transform,
// backend.Transformable): the backend output takes the new transform
// (and says whether the display turns the picture or the compositor
// draws it turned: backend.Composed), then everything follows as for a
// mode change (output.resized): the picture's bounds, wl_output's
// geometry and mode, xdg-output's logical size, toplevels configured
// to the new size, layer surfaces arranged again, a whole frame drawn.
// An output drawn turned shows no client buffer directly and composes
// the cursor; one the display turns again may.

// turnChange is a transform set on an output by a configuration.
type turnChange struct {
	out      backend.Output
	old, new backend.Transform
}

// turns reports whether out's transform can change (backend.Transformable).
func turns(out backend.Output) bool {
	_, ok := out.(backend.Transformable)
	return ok
}

// setTurn sets the transform t asks for (nil: none asked) on out when it
// is another; the change made (out nil: none).
func setTurn(out backend.Output, t *int32) (turnChange, error) {
	old := mountedAs(out)
	if t == nil || backend.Transform(*t) == old {
		return turnChange{}, nil
	}
	if err := out.(backend.Transformable).SetTransform(backend.Transform(*t)); err != nil {
		return turnChange{}, err
	}
	return turnChange{out: out, old: old, new: backend.Transform(*t)}, nil
}

// undoTurns sets the transforms before turned back.
func undoTurns(turned []turnChange) {
	for _, tc := range turned {
		tc.out.(backend.Transformable).SetTransform(tc.old)
	}
}

// turnedIn reports whether out is among turned.
func turnedIn(turned []turnChange, out backend.Output) bool {
	for _, tc := range turned {
		if tc.out == out {
			return true
		}
	}
	return false
}

// outputTurned makes the server follow a transform set on an output:
// direct scanout of client buffers only while the display turns the
// picture (or nothing does), the cursor's state on it made again (the
// cursor plane is not turned), then as for a new mode.
func (s *Server) outputTurned(tc turnChange) {
	s.log.Info("output transform set", "output", tc.out.Name(), "from", tc.old.String(), "to", tc.new.String(),
		"drawn", renderTurn(tc.out).String())
	o := s.outputOf(tc.out)
	if o == nil {
		return // off: served turned when it is turned on
	}
	o.setScanout()
	if oc := s.seat.cursor.outs[o]; oc != nil {
		if oc.planeShown {
			if err := oc.plane.SetCursor(nil); err != nil {
				s.log.Debug("hiding the cursor plane of a turned output", "output", tc.out.Name(), "err", err)
			}
		}
		delete(s.seat.cursor.outs, o) // made again by the next update
	}
	o.resized()
	s.seat.cursor.update()
}

// setScanout sets whether the output may show a client buffer directly
// (backend.ClientScanout): only while its frames are not drawn turned.
func (o *output) setScanout() {
	o.scanout = nil
	if cs, ok := o.o.(backend.ClientScanout); ok && renderTurn(o.o) == backend.TransformNormal {
		o.scanout = cs
		o.s.clientScanout = true
	}
}
