package server

import (
	"time"

	"github.com/minicomp/minicomp/backend"
)

// Blanking after idle (Options.IdleTimeout): with no input for that long
// every output with power control is turned off (the KMS CRTC's ACTIVE,
// the path wlr-output-power-management uses); the next input turns back
// on what idling turned off.

// blankCheck is the server's own event kind: the idle timer fired.
const blankCheck backend.EventKind = -2

type blankState struct {
	timeout time.Duration
	last    time.Time
	armed   bool
	blanked []*output // turned off by idling
}

// armBlank starts the idle timer for the time left until the timeout.
func (s *Server) armBlank() {
	id := s.blank
	if id == nil || id.armed {
		return
	}
	id.armed = true
	time.AfterFunc(time.Until(id.last.Add(id.timeout)), func() { s.loop.postEvent(backend.Event{Kind: blankCheck}) })
}

// blankFired blanks the outputs when the timeout has passed since the
// last input, else waits for the rest of it.
func (s *Server) blankFired() {
	id := s.blank
	id.armed = false
	if s.idleInhibited() { // a shown surface holds idling off (idle-inhibit)
		id.last = time.Now()
	}
	if time.Since(id.last) < id.timeout {
		s.armBlank()
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

// blankInput records input: it restarts the idle time and turns back on
// what idling blanked.
func (s *Server) blankInput() {
	id := s.blank
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
	s.armBlank()
}

// internalEvent handles the server's own event kinds (SetPointerPresent,
// the idle timer); it reports whether ev was one.
func (s *Server) internalEvent(ev backend.Event) bool {
	switch ev.Kind {
	case pointerPresence:
		s.seat.cursor.setPresent(ev.Pressed)
	case blankCheck:
		s.blankFired()
	default:
		return false
	}
	return true
}
