package server

import (
	"time"

	"github.com/minicomp/minicomp/backend"
)

// Blanking after idle (Options.IdleTimeout): with no input for that long
// every output with power control is turned off (the KMS CRTC's ACTIVE,
// the path wlr-output-power-management uses); the next input turns back
// on what idling turned off.

// idleCheck is the server's own event kind: the idle timer fired.
const idleCheck backend.EventKind = -2

type idleState struct {
	timeout time.Duration
	last    time.Time
	armed   bool
	blanked []*output // turned off by idling
}

// armIdle starts the idle timer for the time left until the timeout.
func (s *Server) armIdle() {
	id := s.idle
	if id == nil || id.armed {
		return
	}
	id.armed = true
	time.AfterFunc(time.Until(id.last.Add(id.timeout)), func() { s.loop.postEvent(backend.Event{Kind: idleCheck}) })
}

// idleFired blanks the outputs when the timeout has passed since the
// last input, else waits for the rest of it.
func (s *Server) idleFired() {
	id := s.idle
	id.armed = false
	if time.Since(id.last) < id.timeout {
		s.armIdle()
		return
	}
	if len(id.blanked) > 0 {
		return
	}
	for _, o := range s.outputs {
		if !o.powerOff && o.setPower(true) == nil {
			id.blanked = append(id.blanked, o)
		}
	}
	if len(id.blanked) > 0 {
		s.log.Info("idle: screens blanked", "after", id.timeout, "outputs", len(id.blanked))
	}
}

// noteInput records input: it restarts the idle time and turns back on
// what idling blanked.
func (s *Server) noteInput() {
	id := s.idle
	if id == nil {
		return
	}
	id.last = time.Now()
	if len(id.blanked) > 0 {
		for _, o := range id.blanked {
			if !o.removed {
				o.setPower(false)
			}
		}
		id.blanked = id.blanked[:0]
		s.log.Info("input: screens unblanked")
	}
	s.armIdle()
}

// internalEvent handles the server's own event kinds (SetPointerPresent,
// the idle timer); it reports whether ev was one.
func (s *Server) internalEvent(ev backend.Event) bool {
	switch ev.Kind {
	case pointerPresence:
		s.seat.cursor.setPresent(ev.Pressed)
	case idleCheck:
		s.idleFired()
	default:
		return false
	}
	return true
}
