package main

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/rigtest"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Headless, anywhere: composed frames, and the client buffer composed
// (there is no display to scan it out), with the reason said.
func TestEmbedHeadless(t *testing.T) {
	rigtest.CheckFDs(t)
	sums, err := Run(context.Background(), Config{Backend: "headless", Frames: 12, ClientFrames: 4, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) != 1 {
		t.Fatalf("%d outputs", len(sums))
	}
	s := sums[0]
	t.Log(s)
	if s.Frames != 12 || s.Composed != 4 || s.Direct != 0 || !strings.HasPrefix(s.ClientPath, "composed: ") {
		t.Fatalf("summary %+v", s)
	}
}

// On a real display (vkms, pl111): the client's CMA dma-buf goes on the
// primary plane as it is, and everything is released after.
func TestRigEmbedKMS(t *testing.T) {
	rigtest.Require(t)
	rigtest.CheckFDs(t)
	sums, err := Run(context.Background(), Config{Backend: "kms", Frames: 20, ClientFrames: 5, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	if len(sums) == 0 {
		t.Fatal("no outputs")
	}
	for _, s := range sums {
		t.Log(s)
		if s.Frames != 20 || s.Direct != 5 || s.Composed != 0 || s.ClientPath != "direct scanout" || !strings.HasPrefix(s.Targets, "heap ") {
			t.Errorf("summary %+v, want the client buffer scanned out directly and heap targets", s)
		}
	}
}

func TestUnknownBackend(t *testing.T) {
	if _, err := Run(context.Background(), Config{Backend: "vnc", Logger: quiet()}); err == nil || !strings.Contains(err.Error(), "want headless or kms") {
		t.Fatalf("err = %v", err)
	}
}
