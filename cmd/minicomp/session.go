package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/seat"
	"github.com/minicomp/minicomp/internal/server"
	"github.com/minicomp/minicomp/scanout"
)

// --session values.
const (
	sessionAuto    = "auto"    // libseat when it opens a seat, else the display opened directly
	sessionLibseat = "libseat" // libseat or an error
	sessionNone    = "none"    // the display opened directly (root, or a video group member; no VT handling)
)

// seatdSocket is where libseat's seatd backend connects ($SEATD_SOCK
// moves it); a test points it elsewhere.
var seatdSocket = "/run/seatd.sock"

// seatAvailable reports whether a seat provider is there for libseat
// without opening one (opening takes the VT): LIBSEAT_BACKEND named, or
// seatd's socket present.
func seatAvailable() (bool, string) {
	if b := os.Getenv("LIBSEAT_BACKEND"); b != "" {
		return true, "LIBSEAT_BACKEND=" + b
	}
	sock := seatdSocket
	if s := os.Getenv("SEATD_SOCK"); s != "" {
		sock = s
	}
	if _, err := os.Stat(sock); err == nil {
		return true, "seatd (" + sock + ")"
	}
	return false, ""
}

// seated is the session minicomp runs in: the display opened through
// libseat, VT switches, pause and resume. A nil *seated is no session.
type seated struct {
	sess *seat.Session
	log  *slog.Logger

	mu    sync.Mutex
	files []*os.File // opened through the session, not yet given back

	// The session's handler (registered at open, so no change is missed
	// while the backend and the server start) and what it pauses.
	wmu    sync.Mutex
	target pausable
	srv    *server.Server
	missed bool // disabled while nothing was attached: the display may have changed
}

// pausable is what the session pauses and resumes: the KMS backend.
type pausable interface {
	Pause()
	Resume() error
}

var _ pausable = (*kms.Backend)(nil)

// openSeat opens the session for --session=mode (nil for none; for auto
// also when libseat cannot open a seat, and the log says why). It waits,
// until ctx ends, for the seat to be enabled (its VT in front).
func openSeat(ctx context.Context, mode string, log *slog.Logger) (*seated, error) {
	switch mode {
	case sessionNone, "":
		return nil, nil
	case sessionAuto, sessionLibseat:
	default:
		return nil, fmt.Errorf("--session %q: want auto, libseat or none", mode)
	}
	log.Info("opening the seat through libseat (waits until this session's VT is in front)", "LIBSEAT_BACKEND", os.Getenv("LIBSEAT_BACKEND"))
	sess, err := seat.Open(ctx, seat.Options{Logger: log, Debug: log.Enabled(ctx, slog.LevelDebug)})
	if err != nil {
		if ctx.Err() != nil {
			// Stopped (SIGTERM) while waiting for the VT: not a reason
			// to open the display without the session.
			return nil, fmt.Errorf("stopped while waiting for the seat: %w", err)
		}
		if mode == sessionAuto {
			log.Warn("no session: opening the display directly (needs root or group video; no VT switching)", "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("--session=libseat: %w", err)
	}
	st := &seated{sess: sess, log: log}
	sess.Watch(st.changed)
	return st, nil
}

// openDisplay is scanout.DevicesConfig.OpenDisplay through the session
// (nil without one).
func (s *seated) openDisplay() func(string) (*os.File, error) {
	if s == nil {
		return nil
	}
	return func(path string) (*os.File, error) {
		f, err := s.sess.OpenDevice(path)
		if err == nil {
			s.mu.Lock()
			s.files = append(s.files, f)
			s.mu.Unlock()
		}
		return f, err
	}
}

// keepOnly gives back every device opened through the session except
// display (primary nodes tried and passed over).
func (s *seated) keepOnly(display *scanout.Device) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := s.files[:0]
	for _, f := range s.files {
		if display != nil && f.Name() == display.Path() {
			kept = append(kept, f)
			continue
		}
		if err := s.sess.CloseDevice(f); err != nil {
			s.log.Warn("giving a device back to the seat", "device", f.Name(), "err", err)
		}
	}
	s.files = kept
}

// close gives the devices back and closes the session: the seat provider
// restores the VT (text mode, keyboard).
func (s *seated) close() error {
	if s == nil {
		return nil
	}
	s.keepOnly(nil)
	return s.sess.Close()
}

// lost is closed when the seat provider went away (nil without a
// session: never).
func (s *seated) lost() <-chan struct{} {
	if s == nil {
		return nil
	}
	return s.sess.Lost()
}

// switchVT is server.Options.SwitchVT (nil without a session: the keys
// go to clients).
func (s *seated) switchVT() func(int) {
	if s == nil {
		return nil
	}
	return func(vt int) {
		if err := s.sess.SwitchSession(vt); err != nil {
			s.log.Warn("VT switch", "vt", vt, "err", err)
		}
	}
}

// watch pauses the KMS backend (and tells the server, nil for the
// pattern) when the session is disabled, and resumes both when it is
// enabled: the backend first takes the display back, then the server
// redraws. A change while nothing was attached (the backend and the
// server starting) is caught up at once: paused if the session is away
// now, a full modeset at the next frame if it was away meanwhile. The
// returned function stops watching.
func (s *seated) watch(be backend.Backend, srv *server.Server) func() {
	p, ok := be.(pausable)
	if s == nil || !ok {
		return func() {}
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	s.target, s.srv = p, srv
	switch {
	case !s.sess.Active():
		s.log.Info("the session went away while minicomp started: paused until it is back")
		s.pause()
	case s.missed:
		s.log.Info("the session was away while minicomp started: setting the mode again")
		p.Pause()
		s.resume()
	}
	s.missed = false
	return func() {
		s.wmu.Lock()
		s.target, s.srv = nil, nil
		s.wmu.Unlock()
	}
}

// changed is the session's handler (on its goroutine).
func (s *seated) changed(active bool) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	switch {
	case s.target == nil:
		s.missed = s.missed || !active
	case active:
		s.resume()
	default:
		s.pause()
	}
}

func (s *seated) pause() {
	if s.srv != nil {
		s.srv.SessionChanged(false)
	}
	s.target.Pause()
}

func (s *seated) resume() {
	if err := s.target.Resume(); err != nil {
		s.log.Error("resuming the display", "err", err)
	}
	if s.srv != nil {
		s.srv.SessionChanged(true)
	}
}

// untilSeatLost cancels ctx when the seat provider goes away, with the
// session's reason as the cause.
func untilSeatLost(ctx context.Context, s *seated) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancelCause(ctx)
	if s == nil {
		return ctx, func() { cancel(nil) }
	}
	go func() {
		select {
		case <-s.lost():
			// The seat provider took DRM master back as it went: stop
			// presenting (no failing commits, and closing the backend
			// does not try to turn the display off).
			s.wmu.Lock()
			if s.target != nil {
				s.pause()
			}
			s.wmu.Unlock()
			cancel(s.sess.LostErr())
		case <-ctx.Done():
		}
	}()
	return ctx, func() { cancel(nil) }
}

// seatLostErr is the session's loss when it ended ctx, else nil.
func seatLostErr(ctx context.Context) error {
	if err := context.Cause(ctx); err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}

// waitPaused waits a little (or until ctx ends) before the pattern tries
// a frame again while the session is away.
func waitPaused(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(50 * time.Millisecond):
	}
}
