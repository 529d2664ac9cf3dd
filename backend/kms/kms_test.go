package kms

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/scanout"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// Without a display device New says so (and never looks for one itself).
func TestNoDisplayDevice(t *testing.T) {
	if _, err := New(Options{Logger: quiet()}); !errors.Is(err, backend.ErrNoDisplay) {
		t.Fatalf("err = %v, want backend.ErrNoDisplay", err)
	}
}

func rigDevices(t *testing.T) scanout.Devices {
	t.Helper()
	rigtest.Require(t)
	devs, err := scanout.OpenDevices(scanout.DevicesConfig{Display: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devs.Close() })
	return devs
}

// An embedder picks the mode per connector and the number of targets,
// names the devices, and learns which render device the targets live
// on; the devices stay open after the backend closes.
func TestRigModesBuffersDevices(t *testing.T) {
	rigtest.CheckFDs(t)
	devs := rigDevices(t)
	pipes, err := devs.Display.Pipelines(false)
	if err != nil || len(pipes) == 0 {
		t.Fatalf("pipelines: %v %v", pipes, err)
	}
	pipe := pipes[0]
	want := pipe.Modes[len(pipe.Modes)-1] // the last: not the preferred one where there are several
	be, err := New(Options{Devices: devs, Buffers: 2, Logger: quiet(),
		Modes: map[string]scanout.Mode{pipe.ConnectorName: {Width: want.Width, Height: want.Height, RefreshMilliHz: want.RefreshMilliHz}}})
	if err != nil {
		t.Fatal(err)
	}
	o := be.Outputs()[0]
	if m := o.Mode(); m.Width != want.Width || m.Height != want.Height || m.RefreshMilliHz != want.RefreshMilliHz {
		t.Errorf("mode %v, want %v", m, want)
	}
	if be.RenderDevice() != devs.Render || devs.Render == nil {
		t.Errorf("RenderDevice %v, want %v", be.RenderDevice(), devs.Render)
	}
	seen := map[*scanout.Buffer]bool{}
	for range 4 {
		target, _, err := o.Next()
		if err != nil {
			t.Fatal(err)
		}
		seen[target] = true
		if _, err := o.Present(target, nil, nil); err != nil {
			t.Fatal(err)
		}
		p, err := o.WaitFrame(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !p.VSync || p.Path != scanout.PathDirect {
			t.Errorf("presented %+v, want a vsynced direct frame", p)
		}
	}
	if len(seen) != 2 {
		t.Errorf("%d distinct targets, want the 2 asked for", len(seen))
	}
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}
	if err := devs.Display.EnableKMS(); err != nil {
		t.Fatalf("the display was closed with the backend: %v", err)
	}
}

// A mode the connector does not offer is a configuration error from New,
// not a refused commit later.
func TestRigUnknownMode(t *testing.T) {
	devs := rigDevices(t)
	pipes, _ := devs.Display.Pipelines(false)
	_, err := New(Options{Devices: devs, Logger: quiet(),
		Modes: map[string]scanout.Mode{pipes[0].ConnectorName: {Width: 1234, Height: 567}}})
	if !errors.Is(err, scanout.ErrMode) {
		t.Fatalf("err = %v, want scanout.ErrMode", err)
	}
	t.Log(err)
}
