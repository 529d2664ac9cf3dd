package backend

import (
	"context"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Ticks come a period apart; a canceled context ends the wait.
func TestRefreshClock(t *testing.T) {
	c := RefreshClock{Period: 5 * time.Millisecond}
	start := time.Now()
	for range 4 {
		if err := c.Wait(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Errorf("4 ticks of 5 ms took %v", d)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	c.Period = time.Hour
	if err := c.Wait(ctx); err != context.Canceled {
		t.Errorf("Wait with a canceled context: %v", err)
	}
	if a, b := Monotonic(), Monotonic(); b < a {
		t.Error("CLOCK_MONOTONIC went back")
	}
}

// A context cancelled during a long wait ends it at once, a Wait after
// Stop starts the clock again, and ticks are Period apart on
// CLOCK_MONOTONIC (the clock of Presented.Time).
func TestRefreshClockCancelStop(t *testing.T) {
	c := RefreshClock{Period: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	start := time.Now()
	if err := c.Wait(ctx); err != context.Canceled {
		t.Fatalf("Wait cancelled after 20 ms: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("a cancelled Wait returned after %v", d)
	}
	c.Stop()
	c.Period = 10 * time.Millisecond
	restart := Monotonic()
	for i := range 3 {
		if err := c.Wait(context.Background()); err != nil {
			t.Fatalf("Wait after Stop: %v", err)
		}
		// Never early (late is the machine's load).
		if now, due := Monotonic(), restart+time.Duration(i+1)*c.Period; now < due {
			t.Errorf("tick %d came %v after the restart, want at least %v", i+1, now-restart, due-restart)
		}
	}
	c.Stop()
	c.Stop()
}

// Monotonic is CLOCK_MONOTONIC itself (the clock clients compare
// presentation times with), not some other clock of the runtime's.
func TestMonotonicIsClockMonotonic(t *testing.T) {
	var ts unix.Timespec
	for range 3 {
		a := Monotonic()
		if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
			t.Fatal(err)
		}
		b := Monotonic()
		if c := time.Duration(ts.Nano()); c >= a && c <= b {
			return
		}
	}
	t.Errorf("clock_gettime(CLOCK_MONOTONIC) %v is not between two Monotonic readings around it", time.Duration(ts.Nano()))
}

// A Wait on a context that can be cancelled allocates nothing (it runs
// once a frame): the cancellation is registered once per context.
func TestRefreshClockWaitAllocs(t *testing.T) {
	c := RefreshClock{Period: 50 * time.Microsecond}
	defer c.Stop()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c.Wait(ctx) // registers ctx
	if n := testing.AllocsPerRun(100, func() {
		if err := c.Wait(ctx); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Errorf("Wait allocates %v times", n)
	}
}

// Cancelling a context the clock waited on before does not end a Wait
// on another context early.
func TestRefreshClockOldContext(t *testing.T) {
	c := RefreshClock{Period: time.Millisecond}
	defer c.Stop()
	old, cancel := context.WithCancel(context.Background())
	if err := c.Wait(old); err != nil {
		t.Fatal(err)
	}
	c.Period = 50 * time.Millisecond
	time.AfterFunc(5*time.Millisecond, cancel)
	start := Monotonic()
	if err := c.Wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Never early (late is the machine's load); the tick is at least
	// Period after the previous one, about 49 ms from start.
	if d := Monotonic() - start; d < 40*time.Millisecond {
		t.Errorf("Wait returned after %v: the old context's cancel fired it", d)
	}
}
