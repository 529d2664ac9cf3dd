package kms

import (
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// The session: when the seat is disabled (a VT switch away), the seat
// provider takes DRM master from the display's file; the backend must
// not present until it is enabled again. Pause and Resume are called by
// whoever holds the session (cmd/minicomp, from internal/seat's
// handlers); the server hears of it through its own SessionChanged.
//
// While paused, Next, Present and PresentBuffer fail at once with an
// error wrapping backend.ErrPaused (they do not block: the server's
// loop keeps serving clients, keeps the damage and draws nothing), and
// CanScanOut says blit without testing; WaitFrame still returns a flip
// that was queued before the pause (the kernel completes it). Resume
// re-reads the connectors and makes each output's next Present a full
// modeset with the mode it had; the caller redraws everything.

// session is the pause state shared by a Backend's outputs. Frames hold
// it for reading while they use the display; Pause takes it for writing,
// so it returns only once no frame is half committed.
type session struct {
	mu     sync.RWMutex
	paused bool
}

// enter starts using the display for a frame; leave must follow unless
// it fails.
func (s *session) enter(output string) error {
	s.mu.RLock()
	if s.paused {
		s.mu.RUnlock()
		return fmt.Errorf("kms output %s: %w", output, backend.ErrPaused)
	}
	return nil
}

func (s *session) leave() { s.mu.RUnlock() }

// Pause stops presenting on every output (the session was disabled): it
// waits for a frame being committed to finish, then every Next, Present
// and PresentBuffer fails with backend.ErrPaused until Resume. Nothing
// is turned off: the seat provider has taken (or takes now) DRM master.
func (b *Backend) Pause() {
	b.sess.mu.Lock()
	defer b.sess.mu.Unlock()
	if b.sess.paused {
		return
	}
	b.sess.paused = true
	for _, o := range b.list() {
		// Closing while paused must not try to turn the pipeline off
		// (no master); resuming sets the mode again in any case.
		o.p.ModesetNext()
	}
	if err := b.SuspendInput(); err != nil {
		b.log.Warn("kms: session paused: input devices", "err", err)
	}
	b.log.Info("kms: session paused: not presenting until it is back")
}

// Resume takes the display back (the session was enabled: DRM master
// again): it re-reads the connectors, logs an output whose connector was
// unplugged or lost its mode meanwhile, and makes every output's next
// Present a full modeset. The caller then redraws every output whole.
func (b *Backend) Resume() error {
	b.sess.mu.Lock()
	defer b.sess.mu.Unlock()
	if !b.sess.paused {
		return nil
	}
	b.sess.paused = false
	pipes, err := b.devs.Display.Pipelines(false)
	if err != nil {
		b.log.Warn("kms: session resumed, but the connectors cannot be read again; restoring the modes as they were", "err", err)
	}
	outs := b.list()
	for _, o := range outs {
		o.p.ModesetNext()
		if err != nil {
			continue
		}
		i := slices.IndexFunc(pipes, func(p scanout.Pipeline) bool { return p.Connector == o.p.Pipeline().Connector })
		switch {
		case i < 0:
			b.log.Warn("kms: session resumed: the output's connector is no longer connected", "output", o.Name())
		case !offers(pipes[i], o.Mode()):
			b.log.Warn("kms: session resumed: the output's connector no longer offers its mode; setting it anyway", "output", o.Name(),
				"mode", o.Mode().String())
		}
	}
	if err := b.ResumeInput(); err != nil {
		b.log.Warn("kms: session resumed, but the input devices did not all come back", "err", err)
	}
	b.log.Info("kms: session resumed: every output sets its mode again at its next frame", "outputs", len(outs))
	b.pokeHotplug() // connectors plugged or unplugged meanwhile come and go
	return nil
}

// Paused reports whether the backend is paused (between Pause and
// Resume).
func (b *Backend) Paused() bool {
	b.sess.mu.RLock()
	defer b.sess.mu.RUnlock()
	return b.sess.paused
}

// pausedVerdict is CanScanOut's answer while paused: nothing is tested
// (a test commit without DRM master fails) and nothing remembered.
func pausedVerdict() scanout.Verdict {
	return scanout.Verdict{Path: scanout.PathBlit, Step: scanout.StepTest, Reason: backend.ErrPaused.Error()}
}

// masterLost makes a commit refused with EACCES (the seat provider took
// DRM master: the session is being disabled, and Pause has not come yet)
// an error wrapping backend.ErrPaused as well, so the caller keeps its
// state for the resume instead of giving up on what failed (the cursor
// plane, a frame reported as an error).
func masterLost(err error) error {
	if err != nil && errors.Is(err, unix.EACCES) && !errors.Is(err, backend.ErrPaused) {
		return fmt.Errorf("%w (DRM master taken: %w)", backend.ErrPaused, err)
	}
	return err
}
