package drm

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// Error is a failed DRM operation: the operation's name, the device it ran
// on, and the underlying error (usually a unix.Errno).
type Error struct {
	Op     string // e.g. "PRIME_FD_TO_HANDLE"
	Device string // device node path, may be empty
	Err    error
}

func (e *Error) Error() string {
	if e.Device != "" {
		return fmt.Sprintf("drm %s on %s: %v", e.Op, e.Device, e.Err)
	}
	return fmt.Sprintf("drm %s: %v", e.Op, e.Err)
}

// Unwrap returns the underlying error, so errors.Is(err, unix.EINVAL) works.
func (e *Error) Unwrap() error { return e.Err }

// Errno returns the errno inside err, or 0 when there is none.
func Errno(err error) unix.Errno {
	var en unix.Errno
	if errors.As(err, &en) {
		return en
	}
	return 0
}
