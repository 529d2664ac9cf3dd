package kms

import (
	"errors"
	"fmt"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/drm"
	"golang.org/x/sys/unix"
)

// A commit refused for want of DRM master counts as the session going
// away (and keeps its errno); other failures stay what they are.
func TestMasterLost(t *testing.T) {
	eacces := fmt.Errorf("cursor commit: %w", &drm.Error{Op: "MODE_ATOMIC", Device: "/dev/dri/card1", Err: unix.EACCES})
	if err := masterLost(eacces); !errors.Is(err, backend.ErrPaused) || !errors.Is(err, unix.EACCES) {
		t.Errorf("EACCES: %v", err)
	}
	einval := fmt.Errorf("commit: %w", &drm.Error{Op: "MODE_ATOMIC", Device: "/dev/dri/card1", Err: unix.EINVAL})
	if err := masterLost(einval); errors.Is(err, backend.ErrPaused) || err != einval {
		t.Errorf("EINVAL: %v", err)
	}
	if masterLost(nil) != nil {
		t.Error("nil became an error")
	}
}
