package server

import (
	"slices"

	"github.com/minicomp/minicomp/backend"
)

// Outputs turned off and on through wlr-output-management (outputs that
// implement backend.OutputToggler: headless). Turning one off is what
// unplugging it is to clients (its wl_output global withdrawn, layer
// surfaces on it closed, toplevels configured to the outputs left), but
// it stays listed as a disabled head, and once its last frame is done it
// releases its targets instead of being closed. Turning it on again is
// plugging it in: a new wl_output global, frames again, placed to the
// right of the outputs that are on.

// disableOutput stops serving an output that was turned off.
func (s *Server) disableOutput(o *output) {
	s.log.Info("output turned off", "output", o.o.Name())
	if s.outMgmt.draining == nil {
		s.outMgmt.draining = map[backend.Output]bool{}
		s.outMgmt.again = map[backend.Output]bool{}
	}
	s.outMgmt.draining[o.o] = true
	s.outMgmt.off = append(s.outMgmt.off, o.o)
	s.unserveOutput(o)
}

// enableOutput serves an output that was turned on (its targets made).
func (s *Server) enableOutput(bo backend.Output) {
	s.log.Info("output turned on", "output", bo.Name(), "mode", bo.Mode().String())
	s.outMgmt.off = slices.DeleteFunc(s.outMgmt.off, func(o backend.Output) bool { return o == bo })
	s.serveOutput(bo)
}

// drained ends turning off an output whose last frame is done: its
// targets are released, or, turned on again meanwhile, it is served
// again.
func (s *Server) drained(bo backend.Output) {
	delete(s.outMgmt.draining, bo)
	if s.outMgmt.again[bo] {
		delete(s.outMgmt.again, bo)
		s.enableOutput(bo)
		s.headsChanged()
		return
	}
	if err := bo.(backend.OutputToggler).SetEnabled(false); err != nil {
		s.log.Warn("turning an output off", "output", bo.Name(), "err", err)
	}
}
