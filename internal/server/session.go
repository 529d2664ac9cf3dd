package server

import (
	"errors"
	"image"

	"github.com/minicomp/minicomp/backend"
)

// SessionChanged tells the server that the seat's session was disabled
// (active false: another VT is in front; draw nothing, keep the damage)
// or enabled again (draw every output whole: the display was someone
// else's meanwhile). It may be called from any goroutine; the change
// reaches Run as a backend.SessionPaused or backend.SessionActive event,
// which a backend may also send itself.
func (s *Server) SessionChanged(active bool) {
	kind := backend.SessionPaused
	if active {
		kind = backend.SessionActive
	}
	s.loop.postEvent(backend.Event{Kind: kind})
}

// sessionEvent handles SessionPaused and SessionActive on Run's goroutine.
func (s *Server) sessionEvent(ev backend.Event) {
	if ev.Kind == backend.SessionPaused {
		s.paused = true
		s.log.Info("session paused: not drawing until it is back")
		return
	}
	if !s.paused {
		return
	}
	s.paused = false
	for _, o := range s.outputs {
		o.history = [4][]image.Rectangle{} // targets' contents count as lost: draw all
		o.addDamage(o.bounds)
	}
	s.log.Info("session active: redrawing every output")
	s.scheduleFrames()
}

// pausedFailure reports whether a frame failed because the session is
// paused (the event may not have reached Run yet): the damage stays and
// nothing is retried until SessionActive.
func pausedFailure(err error) bool { return errors.Is(err, backend.ErrPaused) }
