package server

import (
	"time"

	"github.com/minicomp/minicomp/backend"
)

// Blanking after idle (Options.IdleTimeout): with no input for that long
// every output with power control is turned off (the KMS CRTC's ACTIVE,
// the path wlr-output-power-management uses); the next input turns back
// on what idling turned off.

type blankState struct {
	timeout time.Duration
	last    time.Time // the last input
	blanked []*output // turned off by idling
}

// armBlank arms the loop's timer for when the outputs blank.
func (s *Server) armBlank() {
	if id := s.blank; id != nil && len(id.blanked) == 0 {
		s.loop.armTimer(id.last.Add(id.timeout))
	}
}

// blankTick (the loop's timer fired) blanks the outputs when the timeout
// has passed since the last input, else waits for the rest of it.
func (s *Server) blankTick() {
	id := s.blank
	if id == nil || len(id.blanked) > 0 {
		return
	}
	if s.idleInhibited() { // a shown surface holds idling off (idle-inhibit)
		id.last = time.Now()
	}
	if time.Since(id.last) < id.timeout {
		s.armBlank()
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

// internalEvent handles the server's own event kinds (SetPointerPresent);
// it reports whether ev was one.
func (s *Server) internalEvent(ev backend.Event) bool {
	switch ev.Kind {
	case pointerPresence:
		s.seat.cursor.setPresent(ev.Pressed)
	default:
		return false
	}
	return true
}
