package server

import (
	"errors"
	"image"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/keymap"
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
	// The cursor as the devices found on return have it (hidden when the
	// pointer went while the session was away).
	s.seat.cursor.update()
	s.scheduleFrames()
}

// pausedFailure reports whether a frame failed because the session is
// paused (the event may not have reached Run yet): the damage stays and
// nothing is retried until SessionActive.
func pausedFailure(err error) bool { return errors.Is(err, backend.ErrPaused) }

// vtKey handles Ctrl+Alt+F1..F12 (Options.SwitchVT): the press switches
// VT, and neither it nor its release reaches clients. It reports whether
// it took the key.
func (s *Server) vtKey(ev backend.Event) bool {
	if s.switchVT == nil {
		return false
	}
	if !ev.Pressed {
		if s.vtHeld != 0 && ev.Key == s.vtHeld {
			s.vtHeld = 0
			return true
		}
		return false
	}
	if ev.Key == s.vtHeld {
		// Pressed again: the release of the switch's key never came (the
		// session went away with the key down and its input with it), so
		// this press and its release are the client's.
		s.vtHeld = 0
	}
	vt := functionKeyVT(ev.Key)
	if vt == 0 {
		return false
	}
	const ctrlAlt = keymap.Control | keymap.Mod1
	if dep, _, _, _ := s.seat.kb.Mods(); dep&ctrlAlt != ctrlAlt {
		return false
	}
	s.vtHeld = ev.Key
	s.log.Info("VT switch key", "vt", vt)
	s.switchVT(vt)
	return true
}

// functionKeyVT returns n for the evdev code of F<n> (F1..F12), else 0.
func functionKeyVT(code uint32) int {
	switch {
	case code >= keyF1 && code <= keyF10:
		return int(code-keyF1) + 1
	case code == keyF11:
		return 11
	case code == keyF12:
		return 12
	}
	return 0
}

// Linux evdev codes (input-event-codes.h) of the function keys.
const (
	keyF1  = 59
	keyF10 = 68
	keyF11 = 87
	keyF12 = 88
)
