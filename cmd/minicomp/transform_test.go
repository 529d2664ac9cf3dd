package main

import (
	"context"
	"strings"
	"testing"
)

// --transform: headless runs turned, a bad name is refused naming the
// flag, and a nested backend (whose window is the screen) refuses a turn.
func TestRunTransform(t *testing.T) {
	f := runFlags{backend: "headless", size: "320x200", outputs: 1, refresh: 120, frames: 3, renderNode: "none", pattern: true, transform: "90"}
	if infos, err := runMinicomp(context.Background(), f, quiet()); err != nil || len(infos) != 1 || infos[0].Stats.Frames != 3 {
		t.Fatalf("headless --transform 90: %+v, %v", infos, err)
	}
	f.transform = "45"
	if _, err := runMinicomp(context.Background(), f, quiet()); err == nil || !strings.Contains(err.Error(), "--transform") {
		t.Errorf("--transform 45: %v", err)
	}
	for _, name := range []string{"x11", "wayland"} {
		if _, err := (runFlags{transform: "flipped-90"}).transformFor(name); err == nil {
			t.Errorf("%s accepted --transform flipped-90", name)
		}
		if _, err := (runFlags{transform: "normal"}).transformFor(name); err != nil {
			t.Errorf("%s refused --transform normal: %v", name, err)
		}
	}
}
