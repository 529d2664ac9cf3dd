package seat

import (
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/testenv"
	"golang.org/x/sys/unix"
)

// openOrSkip opens a session on the test's seatd, or skips (fails with
// MINICOMP_REQUIRE_SEAT=1) when libseat is missing; the session closes
// at cleanup.
func openOrSkip(t *testing.T, ctx context.Context) *Session {
	t.Helper()
	s, err := Open(ctx, Options{Debug: testing.Verbose()})
	if errors.Is(err, ErrNoLibseat) {
		testenv.SkipOrFail(t, err.Error())
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// seatdSession starts a seatd of the test's own (not VT-bound) and opens
// a session on it.
func seatdSession(t *testing.T) (*Session, *testenv.Seatd, context.Context) {
	t.Helper()
	sd := testenv.StartSeatd(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return openOrSkip(t, ctx), sd, ctx
}

// recorder collects a session's changes.
type recorder struct {
	mu  sync.Mutex
	got []bool
	ch  chan bool
}

func newRecorder() *recorder { return &recorder{ch: make(chan bool, 16)} }

func (r *recorder) handle(active bool) {
	r.mu.Lock()
	r.got = append(r.got, active)
	r.mu.Unlock()
	r.ch <- active
}

func (r *recorder) wait(t *testing.T, want bool) {
	t.Helper()
	select {
	case got := <-r.ch:
		if got != want {
			t.Fatalf("session change: got active=%v, want %v", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("no session change (want active=%v) in 10 s", want)
	}
}

// Two sessions on one real seatd (not VT-bound: seatd's own sessions, so
// the host's console is never touched): the first is enabled, a switch
// to the second disables it (its handler runs before the ack: seatd only
// enables the second after it), closing the second enables the first
// again. Exercises libseat's callbacks through purego both ways.
func TestSeatdSwitchSessions(t *testing.T) {
	a, sd, ctx := seatdSession(t)
	if !a.Active() || a.Name() != "seat0" {
		t.Fatalf("first session: active %v, name %q", a.Active(), a.Name())
	}
	ra := newRecorder()
	var order []string
	var orderMu sync.Mutex
	note := func(s string) { orderMu.Lock(); order = append(order, s); orderMu.Unlock() }
	// Handlers run enable in order, disable in reverse.
	a.Watch(func(active bool) { note("first " + map[bool]string{true: "on", false: "off"}[active]) })
	a.Watch(func(active bool) {
		note("second " + map[bool]string{true: "on", false: "off"}[active])
		ra.handle(active)
	})

	type opened struct {
		s   *Session
		err error
	}
	bch := make(chan opened, 1)
	go func() {
		s, err := Open(ctx, Options{})
		bch <- opened{s, err}
	}()
	// seatd numbers its non-VT sessions from 0 in order of arrival.
	waitLog(t, sd, "Added client 1 to seat0")
	if err := a.SwitchSession(1); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, false)
	b := <-bch
	if b.err != nil {
		t.Fatalf("second session: %v", b.err)
	}
	if a.Active() || !b.s.Active() {
		t.Fatalf("after the switch: first active %v, second active %v", a.Active(), b.s.Active())
	}
	if err := a.SwitchSession(1); !errors.Is(err, ErrInactive) {
		// seatd would refuse it (EPERM), and its refusal, which libseat
		// does not wait for, would hide the next enable from a.
		t.Errorf("a disabled session switched sessions: %v, want ErrInactive", err)
	}
	if _, err := a.OpenDevice("/dev/dri/card0"); !errors.Is(err, ErrInactive) {
		t.Errorf("OpenDevice on a disabled session: %v, want ErrInactive", err)
	}
	if err := b.s.Close(); err != nil {
		t.Fatal(err)
	}
	ra.wait(t, true)
	if !a.Active() {
		t.Fatal("first session not active after the second closed")
	}
	orderMu.Lock()
	defer orderMu.Unlock()
	if want := []string{"second off", "first off", "first on", "second on"}; !slices.Equal(order, want) {
		t.Errorf("handler order %q, want %q", order, want)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if _, err := a.OpenDevice("/dev/null"); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenDevice after Close: %v", err)
	}
}

// A device seatd does not hand out is an error with the path and errno; a
// file that is not the session's is refused by CloseDevice.
func TestSeatdOpenDeviceErrors(t *testing.T) {
	s, _, _ := seatdSession(t)
	_, err := s.OpenDevice("/dev/null")
	if err == nil || !strings.Contains(err.Error(), "/dev/null") || !errors.Is(err, unix.ENOENT) {
		t.Errorf("OpenDevice(/dev/null): %v, want ENOENT naming the path", err)
	}
	if err := s.CloseDevice(os.Stdin); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("CloseDevice(stdin): %v", err)
	}
	if err := s.SwitchSession(0); !errors.Is(err, os.ErrInvalid) {
		t.Errorf("SwitchSession(0): %v", err)
	}
}

// When seatd goes away, Lost is closed with the reason.
func TestSeatdLost(t *testing.T) {
	s, sd, _ := seatdSession(t)
	if s.LostErr() != nil {
		t.Fatal("lost before seatd stopped")
	}
	sd.Stop()
	select {
	case <-s.Lost():
	case <-time.After(10 * time.Second):
		t.Fatal("Lost not closed 10 s after seatd stopped")
	}
	if s.LostErr() == nil {
		t.Fatal("LostErr nil after Lost")
	}
	// Closing a lost session is not an error: nothing is left to give back.
	if err := s.Close(); err != nil {
		t.Errorf("Close after the seat was lost: %v", err)
	}
}

// With no seat backend reachable (seatd asked for, none running), Open
// fails with ErrNoSeat and a hint, not a hang.
func TestOpenNoSeatd(t *testing.T) {
	testenv.LockSeat(t)
	if _, err := os.Stat(testenv.SeatdSocket); err == nil {
		t.Skip("a seatd socket exists on this machine")
	}
	t.Setenv("LIBSEAT_BACKEND", "seatd")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := Open(ctx, Options{})
	if errors.Is(err, ErrNoLibseat) {
		testenv.SkipOrFail(t, err.Error())
	}
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded with no seatd")
	}
	if !errors.Is(err, ErrNoSeat) || !strings.Contains(err.Error(), "seatd") {
		t.Errorf("Open: %v, want ErrNoSeat naming seatd", err)
	}
}

func waitLog(t *testing.T, sd *testenv.Seatd, want string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(sd.LogText(), want) {
		if time.Now().After(deadline) {
			t.Fatalf("seatd never logged %q:\n%s", want, sd.LogText())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Without the library the error names it and the Debian package, and
// wraps ErrNoLibseat (the command falls back or says what to install).
func TestMissingLibseat(t *testing.T) {
	_, err := open("libseat-minicomp-missing.so.1")
	if !errors.Is(err, ErrNoLibseat) || !strings.Contains(err.Error(), "libseat-minicomp-missing.so.1") || !strings.Contains(err.Error(), DebPackage) {
		t.Fatalf("missing library: %v", err)
	}
}

// After Close, a request (a late CloseDevice or SwitchSession from
// another goroutine) must not write to the session's wake-up eventfd:
// its number is free again and may be another file by then.
func TestRequestAfterCloseWritesNothing(t *testing.T) {
	s, _, _ := seatdSession(t)
	old := s.wake
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// Another file takes the closed eventfd's number.
	efd, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		t.Fatal(err)
	}
	if efd != old {
		if err := unix.Dup3(efd, old, unix.O_CLOEXEC); err != nil {
			t.Fatal(err)
		}
		unix.Close(efd)
	}
	defer unix.Close(old)
	if err := s.SwitchSession(2); !errors.Is(err, ErrClosed) {
		t.Errorf("SwitchSession after Close: %v, want ErrClosed", err)
	}
	if _, err := s.OpenDevice("/dev/null"); !errors.Is(err, ErrClosed) {
		t.Errorf("OpenDevice after Close: %v, want ErrClosed", err)
	}
	s.CloseDevice(os.Stdin)
	var b [8]byte
	if n, err := unix.Read(old, b[:]); !errors.Is(err, unix.EAGAIN) {
		t.Fatalf("the file that took the closed eventfd's number was written to (%d bytes, %v)", n, err)
	}
}

// libseat's own failures get a hint that says what to do: an unknown
// LIBSEAT_BACKEND (EINVAL) names the variable.
func TestOpenUnknownBackend(t *testing.T) {
	t.Setenv("LIBSEAT_BACKEND", "minicomp-no-such-backend")
	s, err := Open(context.Background(), Options{})
	if errors.Is(err, ErrNoLibseat) {
		testenv.SkipOrFail(t, err.Error())
	}
	if err == nil {
		s.Close()
		t.Fatal("Open succeeded with an unknown backend")
	}
	if !errors.Is(err, ErrNoSeat) || !errors.Is(err, unix.EINVAL) || !strings.Contains(err.Error(), "LIBSEAT_BACKEND names no backend") {
		t.Errorf("Open: %v, want ErrNoSeat, EINVAL and a hint naming LIBSEAT_BACKEND", err)
	}
	// libseat's errno when every backend of the automatic choice failed.
	if h := openHint(unix.ENOSYS); !strings.Contains(h, "seatd") || !strings.Contains(h, "logind") {
		t.Errorf("hint for ENOSYS: %q", h)
	}
}
