package wayland

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
)

// The tests nest the backend in real compositors: minicomp itself
// (headless) and weston's headless backend.

func TestMain(m *testing.M) {
	if name := rigtest.Name(); name != "" {
		// The guests have neither a parent compositor nor the go tool to
		// build one: these tests are host tests.
		fmt.Printf("backend/wayland: skipped in the %s rig (the tests nest in a real compositor, on the host)\n", name)
		os.Exit(0)
	}
	code := runWithExampleParent(m)
	testenv.Cleanup()
	os.Exit(code)
}

// runWithExampleParent runs the tests; the Examples connect to
// $WAYLAND_DISPLAY as a real program would, so a minicomp parent is
// started for them first.
func runWithExampleParent(m *testing.M) int {
	rt, err := os.MkdirTemp("", "wlnested-rt")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(rt)
	os.Chmod(rt, 0o700)
	var p *parent
	if bin, err := minicompBinary(); err == nil {
		p, err = startMinicompAt(rt, bin, "800x600", io.Discard)
		if err != nil {
			fmt.Fprintln(os.Stderr, "example parent:", err)
		}
	} else {
		fmt.Fprintln(os.Stderr, "build minicomp:", err)
	}
	if p != nil {
		os.Setenv("XDG_RUNTIME_DIR", rt)
		os.Setenv("WAYLAND_DISPLAY", p.display)
		defer p.stop()
	}
	return m.Run()
}

func minicompBinary() (string, error) { return testenv.BuildPath("./cmd/minicomp") }

// parent is a compositor process the backend nests in.
type parent struct {
	kind    string
	dir     string // its XDG_RUNTIME_DIR
	display string
	cmd     *exec.Cmd
	out     *syncBuffer
	exited  chan struct{}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
	w  io.Writer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if s.w != nil {
		s.w.Write(p)
	}
	return len(p), nil
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// runtimeDir makes a short private XDG_RUNTIME_DIR (socket paths are
// limited to 108 bytes) and points the test's environment at it.
func runtimeDir(t testing.TB) string {
	dir, err := os.MkdirTemp("", "wlrt")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o700)
	t.Setenv("XDG_RUNTIME_DIR", dir)
	t.Setenv("WAYLAND_DISPLAY", "")
	return dir
}

func startMinicompAt(dir, bin, size string, log io.Writer) (*parent, error) {
	p := &parent{kind: "minicomp", dir: dir, out: &syncBuffer{w: log}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--backend=headless", "--size", size, "--render-node", "none")
	p.cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start minicomp: %w", err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	return p, p.waitSocket("")
}

// waitSocket waits for the parent's socket (name, or any wayland-N).
func (p *parent) waitSocket(name string) error {
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited before listening:\n%s", p.kind, p.out)
		default:
		}
		ents, _ := os.ReadDir(p.dir)
		for _, e := range ents {
			n := e.Name()
			if e.Type()&os.ModeSocket != 0 && (n == name || name == "" && strings.HasPrefix(n, "wayland-")) {
				// The file appears at bind(), before listen(): wait
				// until a connection is accepted.
				if c, err := net.Dial("unix", filepath.Join(p.dir, n)); err == nil {
					c.Close()
					p.display = n
					return nil
				}
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return fmt.Errorf("%s: no socket in %s after 20s:\n%s", p.kind, p.dir, p.out)
}

// stop ends the parent (SIGTERM, then SIGKILL).
func (p *parent) stop() {
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.exited
	}
}

// kill ends the parent abruptly, as a crash would.
func (p *parent) kill() {
	p.cmd.Process.Kill()
	<-p.exited
}

func startMinicomp(t testing.TB, size string) *parent {
	t.Helper()
	bin, err := minicompBinary()
	if err != nil {
		t.Fatal(err)
	}
	p, err := startMinicompAt(runtimeDir(t), bin, size, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	t.Setenv("WAYLAND_DISPLAY", p.display)
	return p
}

func startWeston(t testing.TB, w, h int) *parent {
	t.Helper()
	bin, err := exec.LookPath("weston")
	if err != nil {
		if os.Getenv("MINICOMP_REQUIRE_WESTON") == "1" {
			t.Fatal("weston is required (MINICOMP_REQUIRE_WESTON=1) but not installed: run test/rig/deps.sh")
		}
		t.Skip("weston not installed (test/rig/deps.sh installs it): skipping the weston parent")
	}
	dir := runtimeDir(t)
	p := &parent{kind: "weston", dir: dir, out: &syncBuffer{}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "--backend=headless-backend.so", fmt.Sprintf("--width=%d", w), fmt.Sprintf("--height=%d", h),
		"--socket=wl-parent", "--idle-time=0")
	p.cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=")
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	if err := p.waitSocket("wl-parent"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.stop)
	t.Setenv("WAYLAND_DISPLAY", p.display)
	return p
}

// eachParent runs f nested in minicomp and in weston, as subtests.
func eachParent(t *testing.T, f func(t *testing.T, p *parent)) {
	t.Run("minicomp", func(t *testing.T) { f(t, startMinicomp(t, "800x600")) })
	t.Run("weston", func(t *testing.T) { f(t, startWeston(t, 800, 600)) })
}

// testLogger logs to the test and keeps the text for assertions.
func testLogger(t testing.TB) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{w: testWriter{t}}
	return slog.New(slog.NewTextHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// quietLogger logs nothing (benchmarks).
func quietLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
