package server

import (
	"testing"
	"time"
)

// While the session is paused nothing is drawn, whatever clients commit;
// when it is back every output is drawn (whole) without a client asking.
func TestSessionPausedDrawsNothing(t *testing.T) {
	s, dir := start(t)
	waitFrames := func(min uint64) uint64 {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().Frames < min {
			if time.Now().After(deadline) {
				t.Fatalf("frames: %d, want at least %d", s.Stats().Frames, min)
			}
			time.Sleep(5 * time.Millisecond)
		}
		return s.Stats().Frames
	}
	waitFrames(1)
	s.SessionChanged(false)
	time.Sleep(100 * time.Millisecond) // the loop takes the event at its next wake-up
	before := s.Stats().Frames
	r := showSolid(t, s, dir, 100, 100, 0xffff0000)
	r.roundtrip(100)
	time.Sleep(200 * time.Millisecond)
	if got := s.Stats().Frames; got != before {
		t.Fatalf("%d frames drawn while the session was paused", got-before)
	}
	s.SessionChanged(true)
	waitFrames(before + 1)
}
