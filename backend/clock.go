package backend

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// RefreshClock paces an output that has no vertical blank of its own (a
// headless output, a window): one tick every Period. A caller that fell
// more than a period behind restarts the clock instead of bursting.
//
// The ticks come from a timerfd (CLOCK_MONOTONIC, absolute times) waited
// on in the runtime's netpoller, not from a Go timer: the runtime sleeps
// in epoll with millisecond timeouts and wakes up to a millisecond late
// for a timer, and its sysmon thread, which sleeps only until the next Go
// timer, polls every 20 µs through that late millisecond: about ten
// thread wake-ups a frame for nothing. A timerfd wakes the netpoller at
// the tick itself, and sysmon keeps sleeping.
type RefreshClock struct {
	Period time.Duration
	next   time.Duration // CLOCK_MONOTONIC of the next tick

	mu     sync.Mutex // guards next, file, fd, waiting, done and stopCtx (Stop and a cancelled ctx come from other goroutines)
	file   *os.File   // the timerfd, in the netpoller; nil until the first Wait
	fd     int        // file's (file.Fd would make it blocking)
	raw    syscall.RawConn
	readFn func(fd uintptr) bool
	err    error // readFn's
	// The context of the Waits: its cancellation fires the timer while
	// a Wait runs. Registered once per context (by its Done channel),
	// not once per Wait: a frame allocates nothing.
	waiting bool
	done    <-chan struct{}
	stopCtx func() bool
}

// errClockStopped is Wait's error when Stop closed the clock under it.
var errClockStopped = errors.New("refresh clock stopped")

// Wait blocks until the next tick, or until ctx ends (its error).
func (c *RefreshClock) Wait(ctx context.Context) error {
	raw, err := c.arm(ctx)
	if err != nil {
		return err
	}
	err = raw.Read(c.readFn)
	c.mu.Lock()
	c.waiting = false
	c.mu.Unlock()
	if err != nil {
		if errors.Is(err, os.ErrClosed) {
			return errClockStopped
		}
		return fmt.Errorf("refresh clock: wait for timerfd: %w", err)
	}
	if c.err != nil {
		return fmt.Errorf("refresh clock: read timerfd: %w", c.err)
	}
	return ctx.Err()
}

// arm sets the clock's timerfd (made at the first Wait, or after a Stop)
// to the next tick, or to now when ctx has ended, and makes ctx's
// cancellation fire it while the Wait runs.
func (c *RefreshClock) arm(ctx context.Context) (syscall.RawConn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file == nil {
		fd, err := unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK)
		if err != nil {
			return nil, fmt.Errorf("refresh clock: timerfd_create: %w", err)
		}
		f := os.NewFile(uintptr(fd), "refresh-clock")
		raw, err := f.SyscallConn()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("refresh clock: %w", err)
		}
		c.file, c.fd, c.raw = f, fd, raw
		c.readFn = c.read
	}
	if done := ctx.Done(); done != c.done {
		c.forgetCtxLocked()
		if done != nil {
			c.done = done
			c.stopCtx = context.AfterFunc(ctx, func() { c.cancelled(done) })
		}
	}
	now := Monotonic()
	if c.next == 0 || c.next < now-c.Period {
		c.next = now // first frame, or we fell behind: restart the clock
	}
	c.next += c.Period
	at := c.next
	if ctx.Err() != nil {
		at = 1 // ended before this Wait: return at once (cancelled saw no Wait)
	}
	c.waiting = true
	return c.raw, armTimerFD(c.fd, at)
}

// cancelled is what the end of the context with channel done does: fire
// the timer now, if a Wait on that context runs.
func (c *RefreshClock) cancelled(done <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file != nil && c.waiting && c.done == done {
		armTimerFD(c.fd, 1)
	}
}

// forgetCtxLocked drops the registration on the Waits' context; c.mu
// held.
func (c *RefreshClock) forgetCtxLocked() {
	if c.stopCtx != nil {
		c.stopCtx()
	}
	c.done, c.stopCtx = nil, nil
}

// read takes the timerfd's expirations; false (not expired yet) sends
// RawConn.Read to the netpoller to wait. The read is a raw system call:
// it never blocks, and a syscall.Syscall would wake sysmon.
func (c *RefreshClock) read(fd uintptr) bool {
	var buf [8]byte
	_, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&buf)), 8)
	switch e {
	case 0:
		c.err = nil
	case unix.EAGAIN:
		return false
	case unix.EINTR:
		return c.read(fd)
	default:
		c.err = e
	}
	return true
}

// armTimerFD makes the timerfd expire at CLOCK_MONOTONIC time at (at or
// before now: at once).
func armTimerFD(fd int, at time.Duration) error {
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(max(int64(at), 1))}
	_, _, e := unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(fd), unix.TFD_TIMER_ABSTIME, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
	if e != 0 {
		return fmt.Errorf("refresh clock: timerfd_settime: %w", e)
	}
	return nil
}

// Stop releases the clock's timerfd (a Wait after Stop makes a new one;
// a Wait it interrupts returns an error).
func (c *RefreshClock) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.file != nil {
		c.file.Close()
		c.file, c.fd, c.raw = nil, -1, nil
	}
	c.forgetCtxLocked()
	c.next = 0
}

// Monotonic returns CLOCK_MONOTONIC, the clock of Presented.Time.
func Monotonic() time.Duration { return time.Duration(nanotime()) }

// nanotime is the runtime's CLOCK_MONOTONIC, read through the vDSO as
// time.Now does: unix.ClockGettime is a real system call, and one made on
// a frame's path after an idle spell wakes the runtime's sysmon thread
// (see internal/server's loop). The runtime keeps this name for packages
// that link to it ("Do not remove or change the type signature").
//
//go:linkname nanotime runtime.nanotime
func nanotime() int64
