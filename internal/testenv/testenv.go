// Package testenv gives tests the real programs they run against: a
// private X server (Xvfb) and minicomp's own binaries built once per test
// process. Missing programs skip the test, or fail it when the matching
// MINICOMP_REQUIRE_* variable is 1 (test/all.sh sets them).
package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// EnvRequireX11 makes a missing Xvfb a failure instead of a skip.
const EnvRequireX11 = "MINICOMP_REQUIRE_X11"

// Xvfb is a private X server for one test.
type Xvfb struct {
	Display string // ":N"
	Stderr  *strings.Builder
	cmd     *exec.Cmd
	exited  chan struct{}
}

// StartXvfb starts `Xvfb -displayfd` with a 1920x1080x24 screen (the
// server picks a free display and writes its number once it accepts
// connections) and kills it at cleanup. Extra arguments go to Xvfb
// ("-extension", "MIT-SHM" turns MIT-SHM off).
func StartXvfb(tb testing.TB, extra ...string) *Xvfb {
	tb.Helper()
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		if os.Getenv(EnvRequireX11) == "1" {
			tb.Fatalf("Xvfb not found and %s=1: install the Debian package xvfb (test/rig/deps.sh does)", EnvRequireX11)
		}
		tb.Skipf("Xvfb not installed (Debian package xvfb); set %s=1 to make this a failure", EnvRequireX11)
	}
	r, w, err := os.Pipe()
	if err != nil {
		tb.Fatal(err)
	}
	defer r.Close()
	args := append([]string{"-displayfd", "3", "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = []*os.File{w}
	x := &Xvfb{Stderr: &strings.Builder{}, cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = lockedWriter{b: x.Stderr}
	if err := cmd.Start(); err != nil {
		w.Close()
		tb.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	go func() { cmd.Wait(); close(x.exited) }()
	tb.Cleanup(x.Kill)
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			<-x.exited
			tb.Fatalf("Xvfb exited before it was ready: %s", x.stderr())
		}
		x.Display = ":" + n
	case <-time.After(20 * time.Second):
		tb.Fatalf("Xvfb not ready after 20 s: %s", x.stderr())
	}
	return x
}

var stderrMu sync.Mutex

// lockedWriter lets Xvfb's stderr be read while it still writes.
type lockedWriter struct{ b *strings.Builder }

func (w lockedWriter) Write(p []byte) (int, error) {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	return w.b.Write(p)
}

func (x *Xvfb) stderr() string {
	stderrMu.Lock()
	defer stderrMu.Unlock()
	return x.Stderr.String()
}

// Kill kills the server (SIGKILL: as if it crashed) and waits until it is
// gone; killing it twice is harmless.
func (x *Xvfb) Kill() {
	select {
	case <-x.exited:
		return
	default:
	}
	x.cmd.Process.Kill()
	<-x.exited
}

var (
	buildMu   sync.Mutex
	buildDir  string
	built     = map[string]string{}
	buildErrs = map[string]error{}
)

// Build builds a package of this module (e.g. "./cmd/minicomp") once per
// test process, into a temporary directory, and returns the binary's path;
// a failed build fails the test.
func Build(tb testing.TB, pkg string) string {
	tb.Helper()
	path, err := BuildPath(pkg)
	if err != nil {
		tb.Fatal(err)
	}
	return path
}

// BuildPath is Build for callers without a test (TestMain).
func BuildPath(pkg string) (string, error) {
	buildMu.Lock()
	defer buildMu.Unlock()
	if err, ok := buildErrs[pkg]; ok {
		return "", err
	}
	if path, ok := built[pkg]; ok {
		return path, nil
	}
	path, err := build(pkg)
	if err != nil {
		buildErrs[pkg] = err
		return "", err
	}
	built[pkg] = path
	return path, nil
}

func build(pkg string) (string, error) {
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "minicomp-test-bin")
		if err != nil {
			return "", err
		}
		buildDir = dir
	}
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	out := filepath.Join(buildDir, filepath.Base(pkg))
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// Cleanup removes what Build made; call it from TestMain after m.Run.
func Cleanup() {
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir != "" {
		os.RemoveAll(buildDir)
		buildDir = ""
	}
}
