package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/seat"
	"github.com/minicomp/minicomp/internal/testenv"
)

// A seat provider counts as a seat for the automatic backend choice:
// LIBSEAT_BACKEND named, or seatd's socket present.
func TestSeatAvailable(t *testing.T) {
	t.Setenv("LIBSEAT_BACKEND", "")
	sock := filepath.Join(t.TempDir(), "seatd.sock")
	t.Setenv("SEATD_SOCK", sock)
	if ok, _ := seatAvailable(); ok {
		t.Fatal("a seat without seatd or LIBSEAT_BACKEND")
	}
	os.WriteFile(sock, nil, 0o600)
	if ok, which := seatAvailable(); !ok || !strings.Contains(which, sock) {
		t.Errorf("seatd socket: %v %q", ok, which)
	}
	os.Remove(sock)
	t.Setenv("LIBSEAT_BACKEND", "builtin")
	if ok, which := seatAvailable(); !ok || which != "LIBSEAT_BACKEND=builtin" {
		t.Errorf("LIBSEAT_BACKEND: %v %q", ok, which)
	}
}

// --session: none opens nothing; libseat with no seat provider is an
// error naming it (or libseat's package when the library is missing);
// auto falls back to no session; anything else is a usage error.
func TestOpenSeatModes(t *testing.T) {
	ctx := context.Background()
	if st, err := openSeat(ctx, sessionNone, quiet()); st != nil || err != nil {
		t.Fatalf("none: %v %v", st, err)
	}
	if _, err := openSeat(ctx, "logind", quiet()); err == nil || !strings.Contains(err.Error(), "want auto, libseat or none") {
		t.Fatalf("bad mode: %v", err)
	}
	testenv.LockSeat(t)
	if _, err := os.Stat(testenv.SeatdSocket); err == nil {
		t.Skip("a seatd runs on this machine")
	}
	t.Setenv("LIBSEAT_BACKEND", "seatd")
	_, err := openSeat(ctx, sessionLibseat, quiet())
	switch {
	case errors.Is(err, seat.ErrNoLibseat):
		if !strings.Contains(err.Error(), "libseat1") {
			t.Errorf("missing libseat: %v does not name the package", err)
		}
		testenv.SkipOrFail(t, err.Error())
	case !errors.Is(err, seat.ErrNoSeat) || !strings.Contains(err.Error(), "--session=libseat"):
		t.Fatalf("libseat without seatd: %v", err)
	}
	if st, err := openSeat(ctx, sessionAuto, quiet()); st != nil || err != nil {
		t.Fatalf("auto without seatd: %v %v", st, err)
	}
}

// fakeDisplay records what the session does to the backend (the real
// one is kms.Backend, exercised in the rig): a Resume after a Pause is a
// full modeset at the next frame.
type fakeDisplay struct {
	mu       sync.Mutex
	paused   bool
	modesets int
}

func (d *fakeDisplay) Pause() { d.mu.Lock(); d.paused = true; d.mu.Unlock() }

func (d *fakeDisplay) Resume() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.paused {
		d.paused = false
		d.modesets++
	}
	return nil
}

func (d *fakeDisplay) state() (bool, int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.paused, d.modesets
}

// fakeBackend is a backend.Backend with fakeDisplay's Pause and Resume.
type fakeBackend struct {
	backend.Backend
	*fakeDisplay
}

// A session that is disabled while the backend and the server start
// (before watch attaches them) is not missed: attached while away, the
// backend is paused; when the session comes back the mode is set again.
// And a session that went away and came back before attaching makes the
// next frame a modeset (another master had the display meanwhile).
func TestWatchCatchesUpOnChangesBeforeAttach(t *testing.T) {
	sd := testenv.StartSeatd(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := mustOpenSeat(t, ctx)
	defer a.close()

	// b takes the seat (a is disabled) before a's backend is attached.
	b := takeSeat(t, ctx, sd, a, 1)
	d := &fakeDisplay{}
	stop := a.watch(fakeBackend{fakeDisplay: d}, nil)
	defer stop()
	if paused, _ := d.state(); !paused {
		t.Fatal("attached while the session is away: the backend is not paused")
	}
	b.close() // a is enabled again
	waitFor(t, func() bool { _, m := d.state(); return m == 1 }, "a modeset after the session came back")

	// Away and back while detached: the next frame is a modeset.
	stop()
	b = takeSeat(t, ctx, sd, a, 2)
	b.close()
	waitFor(t, a.sess.Active, "the session back")
	d2 := &fakeDisplay{}
	defer a.watch(fakeBackend{fakeDisplay: d2}, nil)()
	if paused, m := d2.state(); paused || m != 1 {
		t.Fatalf("attached after the session was away and back: paused %v, modesets %d; want a modeset", paused, m)
	}
}

// Stopped (ctx ended: SIGTERM) while waiting for the seat, --session=auto
// does not fall back to opening the display without a session, and run
// ends with no error (exit status 0, as a unit's stop expects).
func TestStoppedWhileWaitingForTheSeat(t *testing.T) {
	testenv.StartSeatd(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	a := mustOpenSeat(t, ctx) // holds the seat: the next session waits
	defer a.close()
	wctx, wcancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer wcancel()
	st, err := openSeat(wctx, sessionAuto, quiet())
	if st != nil || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("auto, stopped while waiting: %v, %v; want the wait's error, no fallback", st, err)
	}
	sctx, scancel := context.WithCancel(ctx)
	time.AfterFunc(300*time.Millisecond, scancel)
	if _, err := runMinicomp(sctx, runFlags{backend: "kms", session: sessionLibseat}, quiet()); err != nil {
		t.Fatalf("run stopped while waiting for the seat: %v, want no error", err)
	}
}

func mustOpenSeat(t *testing.T, ctx context.Context) *seated {
	t.Helper()
	st, err := openSeat(ctx, sessionLibseat, quiet())
	if errors.Is(err, seat.ErrNoLibseat) {
		testenv.SkipOrFail(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// takeSeat opens session n (seatd numbers its sessions, not VT-bound,
// in order of arrival) and switches the seat to it from a (a is
// disabled, its handlers run, before n is enabled).
func takeSeat(t *testing.T, ctx context.Context, sd *testenv.Seatd, a *seated, n int) *seated {
	t.Helper()
	ch := make(chan *seated, 1)
	go func() {
		st, err := openSeat(ctx, sessionLibseat, quiet())
		if err != nil {
			t.Error(err)
		}
		ch <- st
	}()
	waitFor(t, func() bool { return strings.Contains(sd.LogText(), fmt.Sprintf("Added client %d to seat0", n)) }, "second client at seatd")
	if err := a.sess.SwitchSession(n); err != nil {
		t.Fatal(err)
	}
	b := <-ch
	if b == nil {
		t.FailNow()
	}
	waitFor(t, func() bool { return !a.sess.Active() }, "the first session disabled")
	return b
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("no %s after 10 s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
