package x11

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

// EnvRequireX11 makes the tests fail instead of skip when Xvfb is missing.
const EnvRequireX11 = "MINICOMP_REQUIRE_X11"

// xvfb is a private X server for one test or benchmark.
type xvfb struct {
	Display string
	cmd     *exec.Cmd
	exited  chan struct{}
}

// startXvfb starts `Xvfb -displayfd` (the server picks a free display
// and writes its number when it accepts connections) and kills it at
// cleanup. It skips the test when Xvfb is not installed, unless
// MINICOMP_REQUIRE_X11=1.
// Extra arguments go to Xvfb ("-extension", "MIT-SHM" turns it off).
func startXvfb(tb testing.TB, extra ...string) *xvfb {
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
	args := append([]string{"-displayfd", "3", "-screen", "0", "1920x1080x24", "-nolisten", "tcp", "-noreset"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.ExtraFiles = []*os.File{w}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		r.Close()
		w.Close()
		tb.Fatalf("start Xvfb: %v", err)
	}
	w.Close()
	x := &xvfb{cmd: cmd, exited: make(chan struct{})}
	go func() { cmd.Wait(); close(x.exited) }()
	tb.Cleanup(func() {
		x.Kill()
		r.Close()
	})
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case n := <-line:
		if n == "" {
			<-x.exited
			tb.Fatalf("Xvfb exited before it was ready: %s", stderr.String())
		}
		x.Display = ":" + n
	case <-time.After(20 * time.Second):
		tb.Fatalf("Xvfb not ready after 20 s: %s", stderr.String())
	}
	return x
}

// Kill kills the server and waits until it is gone.
func (x *xvfb) Kill() {
	select {
	case <-x.exited:
		return
	default:
	}
	x.cmd.Process.Kill()
	<-x.exited
}

// peer is a second X client: it plays the window manager and the user.
type peer struct {
	tb   testing.TB
	c    *xgb.Conn
	root xproto.Window
}

func newPeer(tb testing.TB, display string) *peer {
	tb.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		tb.Fatalf("peer connection to %s: %v", display, err)
	}
	tb.Cleanup(c.Close)
	if err := xtest.Init(c); err != nil {
		tb.Fatalf("XTEST: %v", err)
	}
	return &peer{tb: tb, c: c, root: xproto.Setup(c).DefaultScreen(c).Root}
}

// fake sends an XTEST event and waits until the server has processed it.
func (p *peer) fake(typ byte, detail byte, x, y int16) {
	p.tb.Helper()
	if err := xtest.FakeInputChecked(p.c, typ, detail, 0, p.root, x, y, 0).Check(); err != nil {
		p.tb.Fatalf("XTEST FakeInput type %d detail %d: %v", typ, detail, err)
	}
}

func (p *peer) move(x, y int16) { p.fake(xproto.MotionNotify, 0, x, y) }

// image reads the window's pixels (ZPixmap, 32 bits per pixel).
func (p *peer) image(win uint32, w, h int) []byte {
	p.tb.Helper()
	r, err := xproto.GetImage(p.c, xproto.ImageFormatZPixmap, xproto.Drawable(win), 0, 0, uint16(w), uint16(h), 0xffffffff).Reply()
	if err != nil {
		p.tb.Fatalf("GetImage of window 0x%x: %v", win, err)
	}
	if len(r.Data) < w*h*4 {
		p.tb.Fatalf("GetImage returned %d bytes, want %d", len(r.Data), w*h*4)
	}
	return r.Data
}

func (p *peer) String() string { return fmt.Sprintf("peer %p", p.c) }
