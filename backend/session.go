package backend

import "errors"

// ErrPaused is wrapped by the errors of an output whose session is
// disabled (another VT is in front, the seat went to another session):
// nothing can be shown until the session is enabled again, and then
// everything must be drawn again.
var ErrPaused = errors.New("the session is paused (another VT or session is in front)")

// Session kinds of Event, apart from the input and output kinds so
// backends and the server can add theirs without renumbering.
const (
	// SessionPaused: the session was disabled; outputs return ErrPaused
	// until SessionActive. Draw nothing, keep the damage.
	SessionPaused EventKind = iota + 64
	// SessionActive: the session is back (DRM master again, the mode
	// restored at the next frame): draw every output whole.
	SessionActive
)
