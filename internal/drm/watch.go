package drm

import (
	"errors"
	"os"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EventWatcher reads a device's events as they arrive, waiting in the Go
// runtime's netpoller: no thread sits blocked in poll(2), which with one
// GOMAXPROCS meant a thread switch and a wake-up of the runtime's sysmon
// thread (then polling every 20 µs) for every page flip.
type EventWatcher struct {
	path   string
	f      *os.File // a duplicate of the device's fd
	raw    syscall.RawConn
	r      EventReader
	fn     func(FlipEvent)
	readFn func(fd uintptr) bool
	err    error
}

// Watch returns a watcher of d's events (on a duplicate of its fd, which
// shares its event queue). Close it before d.
func (d *Device) Watch() (*EventWatcher, error) {
	fd, err := unix.FcntlInt(uintptr(d.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Op: "dup for events", Device: d.Path, Err: err}
	}
	// Non-blocking for the netpoller (the flag is the open file's: the
	// device's own fd is non-blocking already).
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, &Error{Op: "set non-blocking", Device: d.Path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.Path)
	raw, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, &Error{Op: "watch events", Device: d.Path, Err: err}
	}
	w := &EventWatcher{path: d.Path, f: f, raw: raw}
	w.readFn = w.read
	return w, nil
}

// Run calls fn for each vblank or flip-complete event until Close (then
// it returns nil) or until reading fails. Run and fn run on the caller's
// goroutine.
func (w *EventWatcher) Run(fn func(FlipEvent)) error {
	w.fn = fn
	err := w.raw.Read(w.readFn)
	if errors.Is(err, os.ErrClosed) {
		return nil
	}
	if err != nil {
		return &Error{Op: "wait for events", Device: w.path, Err: err}
	}
	return w.err
}

// read reads every pending event; false (none left) sends RawConn.Read
// back to the netpoller. The reads are raw system calls: they never
// block, and a syscall.Syscall would wake sysmon.
func (w *EventWatcher) read(fd uintptr) bool {
	for {
		n, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&w.r.buf[0])), uintptr(len(w.r.buf)))
		switch {
		case e == unix.EAGAIN, e == 0 && n == 0:
			return false
		case e == unix.EINTR:
			continue
		case e != 0:
			w.err = &Error{Op: "read events", Device: w.path, Err: e}
			return true
		}
		ParseEvents(w.r.buf[:n], w.fn)
	}
}

// Close ends Run and closes the duplicate fd.
func (w *EventWatcher) Close() error { return w.f.Close() }
