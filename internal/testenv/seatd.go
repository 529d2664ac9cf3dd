package testenv

import (
	"bufio"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// EnvRequireSeat makes a missing seatd (or libseat, or not being root,
// which seatd needs) a failure instead of a skip.
const EnvRequireSeat = "MINICOMP_REQUIRE_SEAT"

// SeatdSocket is where seatd 0.7 listens (it has no option for another
// place; libseat's SEATD_SOCK only moves the client's side).
const SeatdSocket = "/run/seatd.sock"

// Seatd is a real seatd daemon started for one test.
type Seatd struct {
	Log    *strings.Builder // seatd's debug log
	cmd    *exec.Cmd
	exited chan struct{}
}

// SkipOrFail skips the test with why, or fails it when EnvRequireSeat is 1.
func SkipOrFail(tb testing.TB, why string) {
	tb.Helper()
	if os.Getenv(EnvRequireSeat) == "1" {
		tb.Fatalf("%s=1 but: %s (test/rig/deps.sh installs seatd and libseat1)", EnvRequireSeat, why)
	}
	tb.Skipf("%s; set %s=1 to make this a failure", why, EnvRequireSeat)
}

// StartSeatd starts seatd on SeatdSocket (as root: seatd opens devices
// for its clients) and stops it at cleanup. vtBound false sets
// SEATD_VTBOUND=0: a seat whose sessions are seatd's own, not VTs, so a
// test on a machine with a real console never touches it. The test's
// process is pointed at it with LIBSEAT_BACKEND=seatd.
func StartSeatd(tb testing.TB, vtBound bool) *Seatd {
	tb.Helper()
	LockSeat(tb)
	bin, err := exec.LookPath("seatd")
	if err != nil {
		SkipOrFail(tb, "seatd not installed (Debian package seatd)")
	}
	if os.Geteuid() != 0 {
		SkipOrFail(tb, "seatd must run as root to open devices for its clients")
	}
	if c, err := net.Dial("unix", SeatdSocket); err == nil {
		c.Close()
		SkipOrFail(tb, "a seatd already listens on "+SeatdSocket+": the test needs a seat of its own")
	}
	os.Remove(SeatdSocket) // a stale socket of a killed seatd
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	// The socket stays root's (no -u/-g: the rig's guests have no
	// /etc/passwd to look names up in).
	cmd := exec.Command(bin, "-n", "3", "-l", "debug")
	vt := "1"
	if !vtBound {
		vt = "0"
	}
	cmd.Env = append(os.Environ(), "SEATD_VTBOUND="+vt)
	cmd.ExtraFiles = []*os.File{w}
	s := &Seatd{Log: &strings.Builder{}, cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = lockedWriter{b: s.Log}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		w.Close()
		tb.Fatalf("start seatd: %v", err)
	}
	w.Close()
	go func() { cmd.Wait(); close(s.exited) }()
	tb.Cleanup(func() {
		s.Stop()
		if tb.Failed() {
			tb.Logf("seatd's log:\n%s", s.LogText())
		}
	})
	ready := make(chan error, 1)
	go func() {
		_, err := bufio.NewReader(r).ReadString('\n')
		ready <- err
	}()
	select {
	case err := <-ready:
		if err != nil {
			<-s.exited
			tb.Fatalf("seatd exited before it was ready: %s", s.LogText())
		}
	case <-time.After(20 * time.Second):
		tb.Fatalf("seatd not ready after 20 s: %s", s.LogText())
	}
	tb.Setenv("LIBSEAT_BACKEND", "seatd")
	return s
}

// LockSeat makes the test the only one of this machine's test processes
// that uses SeatdSocket until it ends: go test runs packages in parallel,
// and a test of one package would otherwise connect to the seatd
// another package's test started (or find its socket there). StartSeatd
// takes it; a test that needs no seatd to be running takes it too.
func LockSeat(tb testing.TB) {
	tb.Helper()
	path := filepath.Join(os.TempDir(), "minicomp-test-seatd.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o666)
	if err != nil {
		tb.Fatalf("seat test lock: %v", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		tb.Fatalf("seat test lock %s: %v", path, err)
	}
	tb.Cleanup(func() { f.Close() }) // registered first: released after seatd stopped
}

// LogText returns what seatd logged so far.
func (s *Seatd) LogText() string {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	return s.Log.String()
}

// Stop ends seatd (SIGTERM, then SIGKILL after 5 s) and waits for it.
func (s *Seatd) Stop() {
	select {
	case <-s.exited:
		return
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.exited:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
	}
}
