package server

import (
	"os"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// The steady-state frame loop allocates nothing: a real client
// (weston-simple-shm: attach, damage, a frame callback and a commit every
// frame) runs for a while, and the process's heap allocations per frame
// are counted (the client is another process: what is counted is the
// server's, plus the runtime's own). MINICOMP_ALLOC_PROFILE=file writes
// a heap profile of the measured part.
func TestFrameLoopAllocations(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	if raceEnabled {
		t.Skip("the race detector allocates on its own")
	}
	s, dir := start(t)
	cmd := client(t, dir, "weston-simple-shm")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(time.Second) // mapped, buffers made, steady state
	if p := os.Getenv("MINICOMP_ALLOC_PROFILE"); p != "" {
		runtime.MemProfileRate = 1
		defer func() { f, _ := os.Create(p); pprof.WriteHeapProfile(f); f.Close() }()
	}
	var m0, m1 runtime.MemStats
	f0 := s.Stats().Frames
	runtime.ReadMemStats(&m0)
	time.Sleep(2 * time.Second)
	runtime.ReadMemStats(&m1)
	frames := s.Stats().Frames - f0
	if frames < 30 {
		t.Fatalf("only %d frames in 2 s", frames)
	}
	per := float64(m1.Mallocs-m0.Mallocs) / float64(frames)
	t.Logf("%d frames, %.2f allocations per frame (%d bytes per frame)", frames, per, (m1.TotalAlloc-m0.TotalAlloc)/frames)
	if per > 0.5 {
		t.Errorf("%.2f heap allocations per frame, want none (0.5 allowed for the runtime's own)", per)
	}
}
