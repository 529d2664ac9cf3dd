package backend

import (
	"context"
	"testing"
	"time"
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
