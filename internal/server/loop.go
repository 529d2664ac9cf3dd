package server

import (
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
)

// loop is the server's one event loop: a single epoll set holds the
// listening socket, every client socket, a timerfd for delayed repaints and
// an eventfd other goroutines use to hand work in (shown frames, backend
// events, the end of the context). Run does all work on its own goroutine,
// so a client's request costs no goroutine switch and no channel hop.
//
// Run does not block in epoll_wait itself: the epoll fd is pollable, so it
// waits for it through Go's netpoller (RawConn.Read). A goroutine blocked
// in a raw syscall keeps the runtime's sysmon thread polling every few
// microseconds, which cost more CPU per frame than the compositing; parked
// in the netpoller, the process sleeps when nothing happens.
type loop struct {
	epfd   int
	file   *os.File        // epfd, registered with the netpoller
	raw    syscall.RawConn // of file
	tryFn  func(fd uintptr) bool
	ready  int // events found by tryFn
	err    error
	wakeFD int // eventfd
	timeFD int // timerfd, CLOCK_MONOTONIC
	events [64]unix.EpollEvent

	mu      sync.Mutex
	closed  bool
	posted  []frameDone // from the frame goroutines
	taken   []frameDone
	evIn    []backend.Event // from the backend's event goroutine
	evOut   []backend.Event
	timerAt time.Time // when timeFD fires; zero: disarmed
}

// The epoll data of the loop's own fds (clients use their socket's fd,
// which is never one of these while they are open).
func newLoop() (*loop, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("epoll_create1: %w", err)
	}
	l := &loop{epfd: epfd, wakeFD: -1, timeFD: -1}
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		return nil, fmt.Errorf("epoll fd non-blocking: %w", err)
	}
	l.file = os.NewFile(uintptr(epfd), "epoll")
	if l.raw, err = l.file.SyscallConn(); err != nil {
		l.file.Close()
		return nil, fmt.Errorf("epoll fd: %w", err)
	}
	l.tryFn = l.try
	if l.wakeFD, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		l.close()
		return nil, fmt.Errorf("eventfd: %w", err)
	}
	if l.timeFD, err = unix.TimerfdCreate(unix.CLOCK_MONOTONIC, unix.TFD_CLOEXEC|unix.TFD_NONBLOCK); err != nil {
		l.close()
		return nil, fmt.Errorf("timerfd_create: %w", err)
	}
	for _, fd := range []int{l.wakeFD, l.timeFD} {
		if err := l.add(fd); err != nil {
			l.close()
			return nil, err
		}
	}
	return l, nil
}

// add watches fd for input.
func (l *loop) add(fd int) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(fd)}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("epoll_ctl add %d: %w", fd, err)
	}
	return nil
}

// remove stops watching fd (before it is closed).
func (l *loop) remove(fd int) {
	unix.EpollCtl(l.epfd, unix.EPOLL_CTL_DEL, fd, nil)
}

// wait parks until something is ready and returns the ready events.
func (l *loop) wait() ([]unix.EpollEvent, error) {
	if err := l.raw.Read(l.tryFn); err != nil {
		return nil, fmt.Errorf("wait for epoll fd: %w", err)
	}
	if l.err != nil {
		return nil, fmt.Errorf("epoll_wait: %w", l.err)
	}
	return l.events[:l.ready], nil
}

// try collects ready events without blocking; false sends RawConn.Read
// back to the netpoller to wait.
func (l *loop) try(fd uintptr) bool {
	n, err := epollPoll(int(fd), l.events[:])
	for err == unix.EINTR {
		n, err = epollPoll(int(fd), l.events[:])
	}
	l.ready, l.err = n, err
	return err != nil || n > 0
}

// The loop's own system calls never block (epoll_wait with no timeout,
// the eventfd and timerfd non-blocking), so they are made raw: a
// syscall.Syscall tells the runtime the thread may block, and the first
// one after an idle spell wakes the runtime's sysmon thread, which then
// polls every 20 µs until the process is idle again (the wake-ups that
// cost a frame more CPU than its compositing). The Go runtime makes its
// own non-blocking calls (netpoll) the same way.

// epollPoll is epoll_wait(2) with a zero timeout. epoll_pwait with no
// signal mask is epoll_wait, and is the call every architecture has.
func epollPoll(epfd int, events []unix.EpollEvent) (int, error) {
	n, _, e := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, uintptr(epfd), uintptr(unsafe.Pointer(&events[0])), uintptr(len(events)), 0, 0, 0)
	if e != 0 {
		return 0, e
	}
	return int(n), nil
}

// rawRW reads or writes (sysno) 8 bytes of an eventfd or timerfd, which
// never blocks: both are non-blocking.
func rawRW(sysno uintptr, fd int, buf *[8]byte) {
	unix.RawSyscall(sysno, uintptr(fd), uintptr(unsafe.Pointer(buf)), 8)
}

// wake makes wait return; any goroutine may call it.
func (l *loop) wake() {
	one := [8]byte{1}
	l.mu.Lock()
	if !l.closed {
		rawRW(unix.SYS_WRITE, l.wakeFD, &one)
	}
	l.mu.Unlock()
}

// drainWake resets the eventfd after a wake.
func (l *loop) drainWake() {
	var buf [8]byte
	rawRW(unix.SYS_READ, l.wakeFD, &buf)
}

// postFrame hands a shown frame to the loop (from a frame goroutine).
func (l *loop) postFrame(f frameDone) {
	l.mu.Lock()
	if !l.closed {
		l.posted = append(l.posted, f)
	}
	l.mu.Unlock()
	l.wake()
}

// takeFrames returns the frames posted since the last call; the slice is
// valid until the next call.
func (l *loop) takeFrames() []frameDone {
	l.mu.Lock()
	l.taken, l.posted = l.posted, l.taken[:0]
	l.mu.Unlock()
	return l.taken
}

// postEvent hands a backend event to the loop.
func (l *loop) postEvent(ev backend.Event) {
	l.mu.Lock()
	if !l.closed {
		l.evIn = append(l.evIn, ev)
	}
	l.mu.Unlock()
	l.wake()
}

// takeEvents returns the events posted since the last call; the slice is
// valid until the next call.
func (l *loop) takeEvents() []backend.Event {
	l.mu.Lock()
	l.evOut, l.evIn = l.evIn, l.evOut[:0]
	l.mu.Unlock()
	return l.evOut
}

// armTimer makes timeFD fire at t, unless it already fires earlier.
func (l *loop) armTimer(t time.Time) {
	if !l.timerAt.IsZero() && !t.Before(l.timerAt) {
		return
	}
	l.timerAt = t
	d := max(time.Until(t), time.Microsecond)
	spec := unix.ItimerSpec{Value: unix.NsecToTimespec(d.Nanoseconds())}
	unix.RawSyscall6(unix.SYS_TIMERFD_SETTIME, uintptr(l.timeFD), 0, uintptr(unsafe.Pointer(&spec)), 0, 0, 0)
}

// timerFired resets timeFD after it fired.
func (l *loop) timerFired() {
	var buf [8]byte
	rawRW(unix.SYS_READ, l.timeFD, &buf)
	l.timerAt = time.Time{}
}

func (l *loop) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	for _, fd := range []int{l.wakeFD, l.timeFD} {
		if fd >= 0 {
			unix.Close(fd)
		}
	}
	if l.file != nil {
		l.file.Close()
	} else {
		unix.Close(l.epfd)
	}
}
