package headless

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// A frame with a render fence is not "shown" before the fence signals,
// even when the caller closed its fence right after Present (the output
// keeps its own duplicate); and headless reports that nothing scanned
// it out.
func TestWaitFrameWaitsForFence(t *testing.T) {
	b, err := New(Options{Outputs: []backend.Size{{Width: 64, Height: 64}}, RefreshMilliHz: 1000000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.Outputs()[0]
	target, _, err := o.Next()
	if err != nil {
		t.Fatal(err)
	}
	// A pipe polls like a fence: readable = signalled.
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	v, err := o.Present(target, nil, r)
	if err != nil || v.Path != scanout.PathNone {
		t.Fatalf("present: %v %v", v, err)
	}
	r.Close() // the caller keeps (and here drops) its fence
	done := make(chan backend.Presented, 1)
	go func() {
		f, err := o.WaitFrame(context.Background())
		if err != nil {
			t.Error(err)
		}
		done <- f
	}()
	select {
	case <-done:
		t.Fatal("WaitFrame returned before the render fence signalled")
	case <-time.After(50 * time.Millisecond):
	}
	w.Write([]byte{1})
	f := <-done
	if f.Path != scanout.PathNone || f.VSync || f.Sequence != 1 {
		t.Fatalf("presented %+v", f)
	}
	if st := o.Info().Stats; st.Frames != 1 || st.DirectFrames != 0 || st.BlitFrames != 0 {
		t.Fatalf("stats %+v", st)
	}
}
