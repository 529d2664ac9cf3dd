// Package seat is minicomp's session: the seat's devices (DRM, evdev)
// opened through libseat (libseat.so.1, Debian package libseat1, loaded at
// run time through internal/dl: no cgo), as cage, labwc, sway and weston
// do, so that a user without root gets the display and the input devices
// of the seat they sit at, and gives them back when they switch to
// another VT.
//
// libseat picks its backend itself: seatd (the seatd daemon's socket),
// logind (systemd-logind over D-Bus) or builtin (an in-process seatd for
// root), in that order, or the one named by LIBSEAT_BACKEND, which
// libseat reads from the environment.
//
// The session is active (its devices usable, DRM master held) or
// disabled (another VT is in front). Handlers registered with Watch
// hear each change on the session's goroutine; a disable is acknowledged
// to libseat (libseat_disable_seat) only after every handler returned,
// so a handler stops using the devices before they go. When the session
// closes — Close, the process exiting or being killed — the seat
// provider restores the VT (text mode, keyboard mode): seatd and the
// builtin backend when the client's connection ends, logind when the
// session's controller goes away.
//
// Callbacks from libseat are made with purego.NewCallback, which works on
// linux/amd64, arm64 and 32-bit arm with CGO_ENABLED=0 (arm is purego's
// tier 2; callbacks there take only integer and pointer arguments, which
// is all libseat's listener has). Two callbacks are made per process, not
// per session.
package seat

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
	"golang.org/x/sys/unix"
)

// Library names.
const (
	LibName    = "libseat.so.1"
	DebPackage = "libseat1"
)

// ErrNoLibseat is wrapped by Open's error when libseat cannot be loaded.
var ErrNoLibseat = errors.New("libseat unavailable")

// ErrNoSeat is wrapped by Open's error when libseat is there but no
// backend could open a seat (no seatd, no logind session, not root for
// builtin).
var ErrNoSeat = errors.New("no seat could be opened")

// ErrClosed is returned by the methods of a closed Session.
var ErrClosed = errors.New("seat: session closed")

// ErrInactive wraps OpenDevice's error while the session is disabled
// (another VT is in front): devices open only on an active seat.
var ErrInactive = errors.New("seat: session is not active")

// libseat log levels (enum libseat_log_level).
const (
	logSilent = 0
	logError  = 1
	logInfo   = 2
	logDebug  = 3
)

type lib struct {
	openSeat, disableSeat, closeSeat, seatName uintptr
	openDevice, closeDevice, switchSession     uintptr
	getFD, dispatch, setLogLevel               uintptr
}

var load = sync.OnceValues(func() (*lib, error) { return open(LibName) })

func open(name string) (*lib, error) {
	h, err := dl.Open(name, false)
	if err != nil {
		return nil, fmt.Errorf("seat: load %s: %v (install the Debian package %s): %w", name, err, DebPackage, ErrNoLibseat)
	}
	l := &lib{}
	for _, s := range []struct {
		p    *uintptr
		name string
	}{
		{&l.openSeat, "libseat_open_seat"}, {&l.disableSeat, "libseat_disable_seat"},
		{&l.closeSeat, "libseat_close_seat"}, {&l.seatName, "libseat_seat_name"},
		{&l.openDevice, "libseat_open_device"}, {&l.closeDevice, "libseat_close_device"},
		{&l.switchSession, "libseat_switch_session"}, {&l.getFD, "libseat_get_fd"},
		{&l.dispatch, "libseat_dispatch"}, {&l.setLogLevel, "libseat_set_log_level"},
	} {
		if *s.p, err = dl.Sym(h, s.name); err != nil {
			return nil, fmt.Errorf("seat: %s: %v (install the Debian package %s): %w", s.name, err, DebPackage, ErrNoLibseat)
		}
	}
	return l, nil
}

// Available reports whether libseat can be loaded (nil) or why not (an
// error wrapping ErrNoLibseat that names the Debian package), without
// opening a seat.
func Available() error {
	_, err := load()
	return err
}

// listener is struct libseat_seat_listener: two function pointers.
type listener struct{ enable, disable uintptr }

// The process's two callbacks, and the sessions they route to (by the
// userdata libseat passes back: an id, never a Go pointer).
var (
	cbOnce    sync.Once
	cbs       listener
	sessMu    sync.Mutex
	sessions  = map[uintptr]*Session{}
	nextSessN uintptr
)

func callbacks() listener {
	cbOnce.Do(func() {
		cbs.enable = dl.NewCallback(func(_, userdata uintptr) { seatEvent(userdata, true) })
		cbs.disable = dl.NewCallback(func(_, userdata uintptr) { seatEvent(userdata, false) })
	})
	return cbs
}

// seatEvent runs inside libseat_open_seat or libseat_dispatch (with the
// session's lock held): it only records the change, which the caller acts
// on once libseat has returned.
func seatEvent(userdata uintptr, enable bool) {
	sessMu.Lock()
	s := sessions[userdata]
	sessMu.Unlock()
	if s != nil {
		s.pending = append(s.pending, enable)
	}
}

// Options configures Open.
type Options struct {
	// Logger gets the session's changes (nil: slog.Default()). libseat's
	// own messages go to stderr: errors, and everything when Debug is set.
	Logger *slog.Logger
	Debug  bool
}

// Handler hears the session being enabled (active true: devices usable,
// DRM master back; re-probe and redraw) or disabled (stop using the
// devices now: the disable is acknowledged when the handlers return).
type Handler func(active bool)

// Session is an open libseat seat.
type Session struct {
	l     *lib
	log   *slog.Logger
	level uintptr // libseat's log level (Options.Debug)
	id    uintptr
	name  string

	mu      sync.Mutex // libseat is not thread-safe: every call holds mu
	seat    uintptr    // struct libseat *, 0 once closed
	pinner  runtime.Pinner
	lis     *listener
	pending []bool // changes libseat reported during the last call, under mu
	devices map[*os.File]int32

	active atomic.Bool

	hmu      sync.Mutex
	handlers []*Handler

	wakeMu    sync.Mutex // guards wake against Close: a late kick must not write to a reused fd number
	wake      int        // eventfd that stops the dispatch goroutine, -1 once closed
	serving   bool       // serve runs (Open succeeded)
	closing   atomic.Bool
	closeOnce sync.Once
	closeErr  error
	done      chan struct{}
	lost      chan struct{}
	lostErr   error
	lostOnce  sync.Once
}

// Open opens the seat (libseat_open_seat, with the backend libseat
// picks or LIBSEAT_BACKEND names) and waits, until ctx ends, for the
// seat to be enabled. The session is served by a goroutine of its own
// until Close.
func Open(ctx context.Context, opts Options) (*Session, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	level := uintptr(logError)
	if opts.Debug {
		level = logDebug
	}
	dl.Call(l.setLogLevel, level)
	cb := callbacks()
	if cb.enable == 0 {
		return nil, fmt.Errorf("seat: no callbacks in a static build: %w", ErrNoLibseat)
	}
	s := &Session{l: l, log: log, level: level, devices: map[*os.File]int32{}, done: make(chan struct{}), lost: make(chan struct{}), wake: -1}
	s.lis = &listener{enable: cb.enable, disable: cb.disable}
	s.pinner.Pin(s.lis) // libseat keeps the listener's address for the seat's life
	sessMu.Lock()
	nextSessN++
	s.id = nextSessN
	sessions[s.id] = s
	sessMu.Unlock()

	s.mu.Lock()
	seat, errno := dl.CallErrno(l.openSeat, uintptr(unsafe.Pointer(s.lis)), s.id)
	if seat == 0 {
		s.mu.Unlock()
		s.forget()
		return nil, fmt.Errorf("seat: libseat_open_seat (backend %s): %w: %w (%s)", backendName(), ErrNoSeat, errno, openHint(errno))
	}
	s.seat = seat
	s.name = dl.GoString(dl.Call(l.seatName, seat))
	s.mu.Unlock()
	if s.wake, err = unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK); err != nil {
		s.closeSeat()
		s.wake = -1
		return nil, fmt.Errorf("seat: eventfd: %w", err)
	}
	// Wait for the first enable (seatd sends it at once on a free seat;
	// on a VT-bound seat whose VT is not in front it comes on switching
	// there).
	for !s.active.Load() {
		if err := s.dispatchWait(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("seat %s: waiting for the seat to be enabled: %w", s.name, err)
		}
	}
	log.Info("seat opened", "seat", s.name, "backend", backendName())
	s.serving = true
	go s.serve()
	return s, nil
}

// backendName is what LIBSEAT_BACKEND asks for, for messages (libseat
// itself reads the variable).
func backendName() string {
	if b := os.Getenv("LIBSEAT_BACKEND"); b != "" {
		return b
	}
	return "auto: seatd, logind, builtin"
}

func openHint(errno unix.Errno) string {
	switch errno {
	case unix.ENOENT:
		return "no seat backend answered: start seatd (Debian package seatd; its socket /run/seatd.sock), run from a logind session, or as root with LIBSEAT_BACKEND=builtin"
	case unix.EACCES, unix.EPERM:
		return "not allowed on the seat: with seatd, join the group seatd was started with (-g video or _seatd)"
	case unix.EBUSY:
		return "the seat already has an active session on this VT"
	case unix.ENOSYS:
		// libseat's own errno when none of seatd, logind, builtin opened one.
		return "no seat backend opened a seat: start seatd (Debian package seatd), run from a logind session on a console, or as root; LIBSEAT_BACKEND=seatd|logind|builtin names one"
	case unix.EINVAL:
		return "LIBSEAT_BACKEND names no backend this libseat has (seatd, logind, builtin)"
	}
	return "libseat's reason is on stderr"
}

// dispatchWait waits for the seat's fd (or ctx) and dispatches what came,
// then acts on the changes.
func (s *Session) dispatchWait(ctx context.Context) error {
	s.mu.Lock()
	fd := int(int32(dl.Call(s.l.getFD, s.seat)))
	s.mu.Unlock()
	if fd < 0 {
		return errors.New("libseat_get_fd failed")
	}
	if err := s.dispatch(); err != nil {
		return err
	}
	if s.active.Load() {
		return nil
	}
	for ctx.Err() == nil {
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, 100)
		if err != nil && err != unix.EINTR {
			return fmt.Errorf("poll: %w", err)
		}
		if n > 0 {
			return s.dispatch()
		}
	}
	return ctx.Err()
}

// dispatch reads and dispatches libseat's messages, then runs the
// handlers for what changed (and acknowledges a disable).
func (s *Session) dispatch() error {
	s.mu.Lock()
	if s.seat == 0 {
		s.mu.Unlock()
		return ErrClosed
	}
	r, errno := dl.CallErrno(s.l.dispatch, s.seat, 0)
	changes := s.pending
	s.pending = nil
	s.mu.Unlock()
	for _, enable := range changes {
		s.changed(enable)
	}
	if int32(r) < 0 {
		return fmt.Errorf("libseat_dispatch: %w", errno)
	}
	return nil
}

// changed runs the handlers for an enable or a disable (in registration
// order when enabled, the reverse when disabled) and acknowledges a
// disable.
func (s *Session) changed(enable bool) {
	if enable == s.active.Load() {
		return
	}
	s.hmu.Lock()
	hs := append([]*Handler(nil), s.handlers...)
	s.hmu.Unlock()
	if enable {
		s.active.Store(true)
		s.log.Info("seat enabled", "seat", s.name)
		for _, h := range hs {
			(*h)(true)
		}
		return
	}
	s.active.Store(false)
	s.log.Info("seat disabled: another session is in front", "seat", s.name)
	for i := len(hs) - 1; i >= 0; i-- {
		(*hs[i])(false)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seat == 0 {
		return
	}
	if r, errno := dl.CallErrno(s.l.disableSeat, s.seat); int32(r) < 0 {
		s.log.Warn("libseat_disable_seat", "seat", s.name, "err", errno)
	}
}

// serve dispatches the seat's messages until Close or until the seat's
// connection fails (seatd gone: Lost).
func (s *Session) serve() {
	defer close(s.done)
	s.mu.Lock()
	fd := int32(dl.Call(s.l.getFD, s.seat))
	s.mu.Unlock()
	pfd := []unix.PollFd{{Fd: fd, Events: unix.POLLIN}, {Fd: int32(s.wake), Events: unix.POLLIN}}
	for {
		pfd[0].Revents, pfd[1].Revents = 0, 0
		if _, err := unix.Poll(pfd, -1); err != nil && err != unix.EINTR {
			s.fail(fmt.Errorf("poll: %w", err))
			return
		}
		if pfd[1].Revents != 0 {
			var b [8]byte
			unix.Read(s.wake, b[:])
			if s.closing.Load() {
				return
			}
			// kicked: a request may have left changes behind.
			if err := s.dispatch(); err != nil && !errors.Is(err, ErrClosed) {
				s.fail(err)
				return
			}
			continue
		}
		if pfd[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
			s.fail(errors.New("the seat's connection failed"))
			return
		}
		if pfd[0].Revents != 0 {
			if err := s.dispatch(); err != nil {
				if errors.Is(err, ErrClosed) {
					return
				}
				s.fail(err)
				return
			}
			if pfd[0].Revents&unix.POLLHUP != 0 {
				s.fail(errors.New("the seat provider hung up"))
				return
			}
		}
	}
}

func (s *Session) fail(err error) {
	s.lostOnce.Do(func() {
		s.lostErr = fmt.Errorf("seat %s lost: %w", s.name, err)
		s.log.Error("seat lost", "seat", s.name, "err", err)
		close(s.lost)
	})
}

// hungUpLocked reports whether the seat's connection has hung up (the
// seatd daemon exited) before dispatch has noticed: a device revoked
// as seatd goes is closed by its user (libinput) first. s.mu is held.
func (s *Session) hungUpLocked() bool {
	fd := int32(dl.Call(s.l.getFD, s.seat))
	if fd < 0 {
		return false
	}
	pfd := []unix.PollFd{{Fd: fd, Events: unix.POLLIN}}
	n, err := unix.Poll(pfd, 0)
	return err == nil && n > 0 && pfd[0].Revents&(unix.POLLHUP|unix.POLLERR) != 0
}

func (s *Session) isLost() bool {
	select {
	case <-s.lost:
		return true
	default:
		return false
	}
}

// Lost is closed when the seat's connection fails (the seatd daemon
// exited): the devices are gone and will not come back; LostErr says
// why. A compositor exits then.
func (s *Session) Lost() <-chan struct{} { return s.lost }

// LostErr says why Lost was closed (nil before).
func (s *Session) LostErr() error {
	select {
	case <-s.lost:
		return s.lostErr
	default:
		return nil
	}
}

// Name is the seat's name ("seat0").
func (s *Session) Name() string { return s.name }

// Active reports whether the session is in front: its devices usable.
func (s *Session) Active() bool { return s.active.Load() }

// Watch registers h for the session's changes; the returned function
// removes it. Handlers run on the session's goroutine, one at a time,
// and must not block for long (a disable is acknowledged after them).
func (s *Session) Watch(h Handler) (remove func()) {
	p := &h
	s.hmu.Lock()
	s.handlers = append(s.handlers, p)
	s.hmu.Unlock()
	return func() {
		s.hmu.Lock()
		defer s.hmu.Unlock()
		for i, x := range s.handlers {
			if x == p {
				s.handlers = append(s.handlers[:i], s.handlers[i+1:]...)
				return
			}
		}
	}
}

// OpenDevice opens a device of the seat (a DRM node, an evdev device)
// through the seat provider, which makes a DRM node's file DRM master and
// takes it away (and revokes evdev) while the session is disabled. The
// file is the caller's; give it back with CloseDevice.
func (s *Session) OpenDevice(path string) (*os.File, error) {
	p := dl.CString(path)
	var fd int32 = -1
	defer s.kick() // after the unlock
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seat == 0 {
		return nil, fmt.Errorf("open %s: %w", path, ErrClosed)
	}
	id, errno := dl.CallErrno(s.l.openDevice, s.seat, uintptr(unsafe.Pointer(&p[0])), uintptr(unsafe.Pointer(&fd)))
	if int32(id) < 0 {
		err := fmt.Errorf("seat %s: open %s: %w", s.name, path, errno)
		if !s.active.Load() {
			err = fmt.Errorf("%w: %w", err, ErrInactive)
		}
		return nil, err
	}
	f := os.NewFile(uintptr(fd), path)
	s.devices[f] = int32(id)
	return f, nil
}

// CloseDevice gives a device from OpenDevice back to the seat and closes
// the file (a file already closed, e.g. by scanout.NewDevice which keeps
// a duplicate, is fine).
func (s *Session) CloseDevice(f *os.File) error {
	s.mu.Lock()
	id, ok := s.devices[f]
	delete(s.devices, f)
	var err error
	// Lost, or going (its connection hung up, not yet dispatched): the
	// seat provider took its devices back as it went, and a close
	// request would only fail to flush.
	if ok && s.seat != 0 && !s.isLost() && !s.hungUpLocked() {
		if r, errno := dl.CallErrno(s.l.closeDevice, s.seat, uintptr(id)); int32(r) < 0 {
			err = fmt.Errorf("seat %s: close %s: %w", s.name, f.Name(), errno)
		}
	}
	s.mu.Unlock()
	s.kick()
	if !ok {
		return fmt.Errorf("seat: close %s: not a device of this session: %w", f.Name(), os.ErrInvalid)
	}
	if cerr := f.Close(); cerr != nil && !errors.Is(cerr, os.ErrClosed) {
		err = errors.Join(err, cerr)
	}
	return err
}

// SwitchSession asks the seat to switch to session vt (on a VT-bound
// seat, the VT of that number: Ctrl+Alt+F<vt>). The switch happens
// later, if at all: this session is disabled first. Only an active
// session switches (ErrInactive otherwise).
func (s *Session) SwitchSession(vt int) error {
	if vt <= 0 {
		return fmt.Errorf("seat: switch to session %d: %w", vt, os.ErrInvalid)
	}
	defer s.kick() // after the unlock
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.seat == 0 {
		return ErrClosed
	}
	if !s.active.Load() {
		// seatd would refuse (EPERM), and libseat (0.7, 0.8) sends a
		// switch without waiting for the answer: the refusal would stay
		// unread in front of the next enable or disable, which then
		// never reaches the handlers (and the next request would take
		// the refusal for its own answer).
		return fmt.Errorf("seat %s: switch to session %d: %w", s.name, vt, ErrInactive)
	}
	if r, errno := dl.CallErrno(s.l.switchSession, s.seat, uintptr(vt)); int32(r) < 0 {
		return fmt.Errorf("seat %s: switch to session %d: %w", s.name, vt, errno)
	}
	s.log.Info("switching session", "seat", s.name, "to", vt)
	return nil
}

// kick wakes the session's goroutine to dispatch: a request (opening a
// device, switching) may have read an enable or disable from the seat's
// connection, which libseat runs at the next dispatch, not at once.
func (s *Session) kick() {
	if !s.serving {
		return
	}
	s.wakeMu.Lock()
	defer s.wakeMu.Unlock()
	if s.wake >= 0 {
		unix.Write(s.wake, []byte{1, 0, 0, 0, 0, 0, 0, 0})
	}
}

// Close gives every device back and closes the seat: the seat provider
// restores the VT. It is safe to call more than once, but not from a
// Handler.
func (s *Session) Close() error {
	s.closeOnce.Do(func() {
		if s.serving {
			s.closing.Store(true)
			s.kick()
			<-s.done
		}
		s.closeErr = s.closeSeat()
		s.wakeMu.Lock()
		if s.wake >= 0 {
			unix.Close(s.wake)
			s.wake = -1
		}
		s.wakeMu.Unlock()
	})
	return s.closeErr
}

func (s *Session) closeSeat() error {
	s.mu.Lock()
	var errs []error
	if s.seat != 0 {
		lost := s.isLost()
		for f, id := range s.devices {
			if !lost {
				dl.Call(s.l.closeDevice, s.seat, uintptr(id))
			}
			if err := f.Close(); err != nil && !errors.Is(err, os.ErrClosed) {
				errs = append(errs, err)
			}
		}
		clear(s.devices)
		if lost {
			// Only to free libseat's memory: the connection is gone, and
			// libseat would log that it cannot send the request.
			dl.Call(s.l.setLogLevel, logSilent)
			dl.Call(s.l.closeSeat, s.seat)
			dl.Call(s.l.setLogLevel, s.level)
		} else if r, errno := dl.CallErrno(s.l.closeSeat, s.seat); int32(r) < 0 {
			errs = append(errs, fmt.Errorf("seat %s: libseat_close_seat: %w", s.name, errno))
		}
		s.seat = 0
		s.active.Store(false)
	}
	s.mu.Unlock()
	s.forget()
	return errors.Join(errs...)
}

// forget drops the session from the callbacks' routing and unpins its
// listener.
func (s *Session) forget() {
	sessMu.Lock()
	delete(sessions, s.id)
	sessMu.Unlock()
	s.pinner.Unpin()
}
