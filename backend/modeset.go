package backend

import (
	"errors"

	"github.com/minicomp/minicomp/scanout"
)

// ModeSetter is implemented by outputs whose mode can be changed while
// they run (wlr-output-management, `wlr-randr --mode`). The caller
// changes modes only between frames (nothing presented and not yet
// shown), and then draws a whole frame at the new size.
type ModeSetter interface {
	// Modes lists the modes the output offers (the current one among
	// them).
	Modes() []scanout.Mode
	// SetMode switches to m: one of Modes, or (where CustomModes) any
	// size. A refresh of 0 keeps the current rate. Mode reports m once
	// it returned nil; the render targets follow at the next Next.
	SetMode(m scanout.Mode) error
	// CustomModes reports whether SetMode takes sizes not in Modes.
	CustomModes() bool
}

// ErrBadMode is wrapped by SetMode's errors for a mode the output cannot
// take.
var ErrBadMode = errors.New("mode not supported")
