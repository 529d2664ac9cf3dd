package server

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// monotonic reads CLOCK_MONOTONIC (the clock of frame times) without a
// system call; it must agree with the system call.
func TestMonotonicIsClockMonotonic(t *testing.T) {
	for range 5 {
		var a, b unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &a)
		m := monotonic()
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &b)
		lo, hi := time.Duration(a.Nano()), time.Duration(b.Nano())
		if m < lo-50*time.Microsecond || m > hi+50*time.Microsecond {
			t.Fatalf("monotonic() = %v, CLOCK_MONOTONIC read %v and %v around it", m, lo, hi)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
