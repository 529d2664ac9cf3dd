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

	mu     sync.Mutex // guards next, file, fd and gen (Stop and a cancelled ctx come from other goroutines)
	file   *os.File   // the timerfd, in the netpoller; nil until the first Wait
	fd     int        // file's (file.Fd would make it blocking)
	gen    uint64     // Waits finished: a late cancel of an earlier Wait fires nothing
	raw    syscall.RawConn
	readFn func(fd uintptr) bool
	err    error // readFn's
}

// errClockStopped is Wait's error when Stop closed the clock under it.
var errClockStopped = errors.New("refresh clock stopped")

// Wait blocks until the next tick, or until ctx ends (its error).
func (c *RefreshClock) Wait(ctx context.Context) error {
	raw, err := c.arm()
	if err != nil {
		return err
	}
	if ctx.Done() != nil {
		// Cancelling fires the timer now; the wait below then sees ctx.
		stop := context.AfterFunc(ctx, c.cancelled(c.gen))
		defer func() {
			stop()
			c.mu.Lock()
			c.gen++
			c.mu.Unlock()
		}()
	}
	if err := raw.Read(c.readFn); err != nil {
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
// to the next tick.
func (c *RefreshClock) arm() (syscall.RawConn, error) {
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
	now := Monotonic()
	if c.next == 0 || c.next < now-c.Period {
		c.next = now // first frame, or we fell behind: restart the clock
	}
	c.next += c.Period
	return c.raw, armTimerFD(c.fd, c.next)
}

// cancelled returns what a cancelled ctx does to Wait number gen: fire
// the timer now, if that Wait still runs.
func (c *RefreshClock) cancelled(gen uint64) func() {
	return func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.file != nil && c.gen == gen {
			armTimerFD(c.fd, 1)
		}
	}
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
