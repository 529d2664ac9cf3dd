package backend

import (
	"context"
	"time"

	"golang.org/x/sys/unix"
)

// RefreshClock paces an output that has no vertical blank of its own (a
// headless output, a window): one tick every Period. A caller that fell
// more than a period behind restarts the clock instead of bursting.
type RefreshClock struct {
	Period time.Duration
	next   time.Time
	timer  *time.Timer
}

// Wait blocks until the next tick, or until ctx ends (its error).
func (c *RefreshClock) Wait(ctx context.Context) error {
	now := time.Now()
	if c.next.IsZero() || c.next.Before(now.Add(-c.Period)) {
		c.next = now // first frame, or we fell behind: restart the clock
	}
	c.next = c.next.Add(c.Period)
	if c.timer == nil {
		c.timer = time.NewTimer(time.Until(c.next))
	} else {
		c.timer.Reset(time.Until(c.next))
	}
	select {
	case <-ctx.Done():
		c.timer.Stop()
		return ctx.Err()
	case <-c.timer.C:
		return nil
	}
}

// Stop releases the clock's timer (a Wait after Stop starts it again).
func (c *RefreshClock) Stop() {
	if c.timer != nil {
		c.timer.Stop()
	}
}

// Monotonic returns CLOCK_MONOTONIC, the clock of Presented.Time.
func Monotonic() time.Duration {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	return time.Duration(ts.Nano())
}
