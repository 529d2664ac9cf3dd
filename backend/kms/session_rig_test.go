package kms

import (
	"context"
	"errors"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/scanout"
)

// Paused, the outputs refuse frames at once with backend.ErrPaused (no
// commit, no test commit); resumed, they present again, the first frame a
// full modeset.
func TestRigPauseResume(t *testing.T) {
	rigtest.Require(t)
	devs := rigDevices(t)
	be, err := New(Options{Devices: devs, Buffers: 3, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	o := be.Outputs()[0]
	runFrames(t, o, 2)
	target, _, err := o.Next()
	if err != nil {
		t.Fatal(err)
	}
	before := o.Info().Stats
	be.Pause()
	if !be.Paused() {
		t.Fatal("not paused")
	}
	if _, _, err := o.Next(); !errors.Is(err, backend.ErrPaused) {
		t.Errorf("Next while paused: %v", err)
	}
	if _, err := o.Present(target, nil, nil); !errors.Is(err, backend.ErrPaused) {
		t.Errorf("Present while paused: %v", err)
	}
	ko := o.(*Output)
	if _, err := ko.PresentBuffer(target, nil, nil); !errors.Is(err, backend.ErrPaused) {
		t.Errorf("PresentBuffer while paused: %v", err)
	}
	if v := ko.CanScanOut(target); v.Path != scanout.PathBlit {
		t.Errorf("CanScanOut while paused: %v", v)
	}
	if after := o.Info().Stats; after.Frames != before.Frames || after.Tests != before.Tests {
		t.Errorf("the display was used while paused: %+v -> %+v", before, after)
	}
	if err := be.Resume(); err != nil {
		t.Fatal(err)
	}
	if be.Paused() {
		t.Fatal("still paused")
	}
	if _, err := o.Present(target, nil, nil); err != nil {
		t.Fatalf("Present after Resume (a modeset): %v", err)
	}
	if _, err := o.WaitFrame(context.Background()); err != nil {
		t.Fatal(err)
	}
	runFrames(t, o, 2)
}
