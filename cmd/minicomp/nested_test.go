package main

// End-to-end tests of the nested backends (issue 5): the minicomp binary
// runs as a window in a real X server (Xvfb) or in a real Wayland
// compositor (minicomp headless, weston headless), serves
// internal/testclient, and the tests look at what reaches the parent (X
// GetImage, grim) and what reaches the client (its stdout), then take
// the parent away.
//
// Every test has its own XDG_RUNTIME_DIR and its own Xvfb; every process
// is killed by its own handle at cleanup. Waits poll with generous
// deadlines (a loaded 2-core machine, the race detector).
//
//	go test -race -run 'Nested|AutoPicks|TestRun(ClientProtocolError|StopsClient)' -v ./cmd/minicomp
//
// Missing Xvfb, weston or grim skip the tests that need them, unless
// MINICOMP_REQUIRE_X11=1 / MINICOMP_REQUIRE_WESTON=1 (and
// MINICOMP_REQUIRE_GLES=1 for the GLES variant) make that a failure.

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/png"
	"io"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
)

// Environment switches that turn skips into failures.
const (
	envRequireWeston = "MINICOMP_REQUIRE_WESTON"
	envRequireGLES   = "MINICOMP_REQUIRE_GLES"
)

// Deadlines: generous, since everything is polled.
const (
	startTimeout = 30 * time.Second // a process up, a window mapped
	eventTimeout = 15 * time.Second // an input event through to the client
	exitTimeout  = 10 * time.Second // minicomp gone after its parent is
)

// e2eBinaries builds minicomp and internal/testclient once per test
// binary and returns their paths.
func e2eBinaries(t *testing.T) (minicomp, client string) {
	t.Helper()
	if rigtest.Name() != "" {
		t.Skip("the nested end-to-end tests run on the host, not in the rig's guests")
	}
	return testenv.Build(t, "./cmd/minicomp"), testenv.Build(t, "./internal/testclient")
}

func TestMain(m *testing.M) {
	if os.Getenv(envRunMain) == "1" {
		main() // the rig tests' minicomp child (seat_rig_test.go)
		os.Exit(0)
	}
	if len(os.Args) > 1 && os.Args[1] == probeGLESCmd {
		// run, in this test binary, probes GLES by starting itself.
		if err := probeGLES(os.Args[2:]); err != nil {
			os.Exit(1)
		}
		os.Exit(0)
	}
	code := m.Run()
	testenv.Cleanup()
	os.Exit(code)
}

// e2eRuntimeDir makes a private (0700), short XDG_RUNTIME_DIR: socket
// paths are limited to 108 bytes, which t.TempDir can exceed.
func e2eRuntimeDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "mce2e")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// e2eEnv is the test process's environment without any display or
// runtime dir of its own, plus kv ("NAME=value"; "NAME=" leaves it out).
func e2eEnv(kv ...string) []string {
	drop := map[string]bool{"DISPLAY": true, "WAYLAND_DISPLAY": true, "WAYLAND_SOCKET": true, "XDG_RUNTIME_DIR": true}
	var env []string
	for _, e := range os.Environ() {
		if k, _, _ := strings.Cut(e, "="); !drop[k] {
			env = append(env, e)
		}
	}
	for _, e := range kv {
		if !strings.HasSuffix(e, "=") {
			env = append(env, e)
		}
	}
	return env
}

// lines is a process's output, kept for polling, and echoed to the test
// log when the test is verbose.
type lines struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	partial string
	lines   []string
	t       *testing.T
	prefix  string
}

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	s := l.partial + string(p)
	parts := strings.Split(s, "\n")
	l.partial = parts[len(parts)-1]
	for _, line := range parts[:len(parts)-1] {
		l.lines = append(l.lines, line)
		if testing.Verbose() {
			l.t.Logf("%s%s", l.prefix, line)
		}
	}
	return len(p), nil
}

func (l *lines) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *lines) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.lines...)
}

// proc is a child process with its stdout and stderr.
type proc struct {
	t      *testing.T
	name   string
	cmd    *exec.Cmd
	out    *lines // stdout (for minicomp: the test client's lines)
	err    *lines // stderr (for minicomp: its log)
	exited chan struct{}
	state  *os.ProcessState
	cursor int // next stdout line expect looks at
}

// startProc starts bin and kills it at cleanup (if it is still running).
func startProc(t *testing.T, name string, env []string, bin string, args ...string) *proc {
	t.Helper()
	p := &proc{t: t, name: name, exited: make(chan struct{}),
		out: &lines{t: t, prefix: name + " stdout: "}, err: &lines{t: t, prefix: name + " stderr: "}}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = env
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.err
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		p.cmd.Wait()
		p.state = p.cmd.ProcessState
		close(p.exited)
	}()
	t.Cleanup(func() {
		if !p.done() {
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() && !testing.Verbose() {
			t.Logf("%s stdout:\n%s", p.name, p.out)
			t.Logf("%s stderr:\n%s", p.name, p.err)
		}
	})
	return p
}

func (p *proc) done() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// expect waits for a stdout line, after the ones already matched, for
// which match is true, and returns it. The test fails if it does not come
// within timeout, or the process exits without printing it.
func (p *proc) expect(what string, timeout time.Duration, match func(string) bool) string {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		exited := p.done()
		ls := p.out.snapshot()
		for i := p.cursor; i < len(ls); i++ {
			if match(ls[i]) {
				p.cursor = i + 1
				return ls[i]
			}
		}
		switch {
		case exited:
			p.t.Fatalf("%s exited (%v) before printing %s; stdout since the last match:\n%s", p.name, p.state, what,
				strings.Join(ls[min(p.cursor, len(ls)):], "\n"))
		case time.Now().After(deadline):
			p.t.Fatalf("%s did not print %s within %v; stdout since the last match:\n%s", p.name, what, timeout,
				strings.Join(ls[min(p.cursor, len(ls)):], "\n"))
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// printed reports whether any stdout line so far satisfies match.
func (p *proc) printed(match func(string) bool) bool {
	for _, s := range p.out.snapshot() {
		if match(s) {
			return true
		}
	}
	return false
}

// expectLine waits for the exact stdout line want.
func (p *proc) expectLine(want string) {
	p.t.Helper()
	p.expect(fmt.Sprintf("%q", want), eventTimeout, func(s string) bool { return s == want })
}

// waitLog waits until the stderr log contains every one of want.
func (p *proc) waitLog(timeout time.Duration, want ...string) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		exited := p.done()
		s := p.err.String()
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(s, w)
		}
		if ok {
			return
		}
		if exited || time.Now().After(deadline) {
			p.t.Fatalf("%s's log lacks %q (exited: %v)", p.name, want, exited)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitLogLine waits until one line of the stderr log contains every one
// of want.
func (p *proc) waitLogLine(timeout time.Duration, want ...string) {
	p.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		exited := p.done()
		for _, line := range p.err.snapshot() {
			ok := true
			for _, w := range want {
				ok = ok && strings.Contains(line, w)
			}
			if ok {
				return
			}
		}
		if exited || time.Now().After(deadline) {
			p.t.Fatalf("%s's log has no line with all of %q (exited: %v)", p.name, want, exited)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitExit waits for the process to exit by itself and returns how long
// that took.
func (p *proc) waitExit(timeout time.Duration) time.Duration {
	p.t.Helper()
	start := time.Now()
	select {
	case <-p.exited:
		return time.Since(start)
	case <-time.After(timeout):
		p.t.Fatalf("%s still running %v after its parent went away (hang)", p.name, timeout)
		return 0
	}
}

// poll retries f until it returns nil or timeout passes; it returns
// f's last error.
func poll(timeout time.Duration, f func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// ---- X11 ----

// e2eXvfb is a private X server.
// xUser is the test's own X connection: it finds minicomp's window,
// reads its pixels, moves and resizes it, and types and clicks with XTEST.
type xUser struct {
	t    *testing.T
	c    *xgb.Conn
	root xproto.Window
}

// xgbQuiet silences xgb's own messages (no ~/.Xauthority, and the like)
// once, before the first connection: its goroutines read xgb.Logger.
var xgbQuiet sync.Once

func newXUser(t *testing.T, display string) *xUser {
	t.Helper()
	xgbQuiet.Do(func() { xgb.Logger = log.New(io.Discard, "", 0) })
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		t.Fatalf("connect to %s: %v", display, err)
	}
	t.Cleanup(c.Close)
	if err := xtest.Init(c); err != nil {
		t.Fatalf("XTEST: %v", err)
	}
	return &xUser{t: t, c: c, root: xproto.Setup(c).DefaultScreen(c).Root}
}

// findWindow waits for a top-level window whose WM_NAME is title.
func (u *xUser) findWindow(title string) xproto.Window {
	u.t.Helper()
	var win xproto.Window
	err := poll(startTimeout, func() error {
		tree, err := xproto.QueryTree(u.c, u.root).Reply()
		if err != nil {
			return err
		}
		for _, w := range tree.Children {
			p, err := xproto.GetProperty(u.c, false, w, xproto.AtomWmName, xproto.AtomString, 0, 256).Reply()
			if err == nil && string(p.Value) == title {
				win = w
				return nil
			}
		}
		return fmt.Errorf("no top-level window named %q among %d", title, len(tree.Children))
	})
	if err != nil {
		u.t.Fatal(err)
	}
	return win
}

// fake sends an XTEST event and waits until the server has processed it.
func (u *xUser) fake(typ, detail byte, x, y int16) {
	u.t.Helper()
	if err := xtest.FakeInputChecked(u.c, typ, detail, 0, u.root, x, y, 0).Check(); err != nil {
		u.t.Fatalf("XTEST FakeInput type %d detail %d: %v", typ, detail, err)
	}
}

// focus gives win the X input focus and waits until the server did it.
func (u *xUser) focus(win xproto.Window) {
	u.t.Helper()
	if err := xproto.SetInputFocusChecked(u.c, xproto.InputFocusPointerRoot, win, xproto.TimeCurrentTime).Check(); err != nil {
		u.t.Fatalf("SetInputFocus: %v", err)
	}
}

// configure moves or resizes win and waits until the server did it.
func (u *xUser) configure(win xproto.Window, mask uint16, vals ...uint32) {
	u.t.Helper()
	if err := xproto.ConfigureWindowChecked(u.c, win, mask, vals).Check(); err != nil {
		u.t.Fatalf("ConfigureWindow: %v", err)
	}
}

// checkSolid reads win's w×h pixels and reports the first one that is not
// rgb, and how many are off.
func (u *xUser) checkSolid(win xproto.Window, w, h int, rgb uint32) error {
	g, err := xproto.GetGeometry(u.c, xproto.Drawable(win)).Reply()
	if err != nil {
		return err
	}
	if int(g.Width) != w || int(g.Height) != h {
		return fmt.Errorf("window is %dx%d, want %dx%d", g.Width, g.Height, w, h)
	}
	// One GetImage of a large window can exceed the maximum request
	// length for the reply; read it in bands.
	bad, first := 0, ""
	const band = 64
	for y0 := 0; y0 < h; y0 += band {
		bh := min(band, h-y0)
		r, err := xproto.GetImage(u.c, xproto.ImageFormatZPixmap, xproto.Drawable(win), 0, int16(y0), uint16(w), uint16(bh), 0xffffffff).Reply()
		if err != nil {
			return fmt.Errorf("GetImage: %w", err)
		}
		if len(r.Data) < w*bh*4 {
			return fmt.Errorf("GetImage returned %d bytes, want %d", len(r.Data), w*bh*4)
		}
		for i := 0; i < w*bh; i++ {
			px := uint32(r.Data[4*i]) | uint32(r.Data[4*i+1])<<8 | uint32(r.Data[4*i+2])<<16 // BGRX
			if px != rgb {
				if bad == 0 {
					first = fmt.Sprintf("(%d,%d) is 0x%06x", i%w, y0+i/w, px)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d pixels are not 0x%06x; first: %s", bad, w*h, rgb, first)
	}
	return nil
}

// X keycodes (evdev + 8) and buttons the test presses.
const (
	xKeyA      = 38 // KEY_A = 30
	xKeyShiftL = 50 // KEY_LEFTSHIFT = 42
	xButton1   = 1  // BTN_LEFT = 272
	xWheelDown = 5  // one step: axis 0 (vertical) +10
)

// x11Nested is minicomp --backend=x11 in a fresh Xvfb with testclient.
type x11Nested struct {
	x      *testenv.Xvfb
	u      *xUser
	mc     *proc
	win    xproto.Window
	rt     string
	client string // the testclient binary
}

func startX11Nested(t *testing.T, renderer, color string) *x11Nested {
	t.Helper()
	minicomp, client := e2eBinaries(t)
	x := testenv.StartXvfb(t)
	rt := e2eRuntimeDir(t)
	mc := startProc(t, "minicomp", e2eEnv("DISPLAY="+x.Display, "XDG_RUNTIME_DIR="+rt),
		minicomp, "run", "--backend=x11", "--size", "640x480", "--renderer="+renderer, "--render-node", "none",
		"--", client, "-color", color)
	n := &x11Nested{x: x, mc: mc, rt: rt, client: client}
	mc.expect(`"mapped"`, startTimeout, func(s string) bool { return s == "mapped" })
	n.u = newXUser(t, x.Display)
	n.win = n.u.findWindow("minicomp - X11-1")
	return n
}

// TestX11Nested: minicomp in Xvfb shows testclient's red frame, X input
// reaches it as wl_pointer/wl_keyboard events, resizing the X window
// reconfigures it, and killing the X server ends minicomp cleanly.
func TestX11Nested(t *testing.T) {
	const red = 0xff0000
	n := startX11Nested(t, "soft", "0xff0000")
	mc, u, win := n.mc, n.u, n.win
	mc.waitLog(startTimeout, "backend=x11", "renderer=soft")

	// Move the window off the origin so window-relative coordinates
	// differ from the root's (there is no window manager in Xvfb).
	const wx, wy = 100, 50
	u.configure(win, xproto.ConfigWindowX|xproto.ConfigWindowY, wx, wy)

	// The frame: every pixel of the 640x480 window is the client's red.
	if err := poll(startTimeout, func() error { return u.checkSolid(win, 640, 480, red) }); err != nil {
		t.Fatalf("screenshot of the minicomp window: %v", err)
	}

	// Pointer: into the window (enter), within it (motion), clicks and
	// the wheel, in window-relative coordinates.
	u.fake(xproto.MotionNotify, 0, wx+30, wy+40)
	mc.expectLine("pointer enter 30.00 40.00")
	u.fake(xproto.MotionNotify, 0, wx+321, wy+123)
	mc.expectLine("pointer motion 321.00 123.00")
	u.fake(xproto.ButtonPress, xButton1, 0, 0)
	mc.expectLine("pointer button 272 pressed")
	u.fake(xproto.ButtonRelease, xButton1, 0, 0)
	mc.expectLine("pointer button 272 released")
	u.fake(xproto.ButtonPress, xWheelDown, 0, 0)
	u.fake(xproto.ButtonRelease, xWheelDown, 0, 0)
	mc.expectLine("pointer axis 0 10.00")

	// Keyboard: X focus on the window gives the client keyboard focus
	// (a keymap came with the wl_keyboard); 'a' is KEY_A (30), and Shift
	// shows as depressed modifier 1.
	if !mc.printed(func(s string) bool { return strings.HasPrefix(s, "keyboard keymap xkb_v1 ") }) {
		t.Errorf("the client got no XKB keymap")
	}
	// minicomp's window started without X focus (the pointer was in
	// the middle of the screen, focus PointerRoot): no keyboard until now.
	if mc.printed(func(s string) bool { return strings.HasPrefix(s, "keyboard enter") }) {
		t.Errorf("the client got the keyboard before minicomp's window had X focus")
	}
	u.focus(win)
	mc.expectLine("keyboard enter")
	u.fake(xproto.KeyPress, xKeyA, 0, 0)
	u.fake(xproto.KeyRelease, xKeyA, 0, 0)
	mc.expectLine("keyboard key 30 pressed")
	mc.expectLine("keyboard key 30 released")
	u.fake(xproto.KeyPress, xKeyShiftL, 0, 0)
	mc.expectLine("keyboard key 42 pressed")
	mc.expectLine("keyboard modifiers 1 0 0 0")
	u.fake(xproto.KeyPress, xKeyA, 0, 0)
	u.fake(xproto.KeyRelease, xKeyA, 0, 0)
	mc.expectLine("keyboard key 30 pressed")
	mc.expectLine("keyboard key 30 released")
	u.fake(xproto.KeyRelease, xKeyShiftL, 0, 0)
	mc.expectLine("keyboard key 42 released")
	mc.expectLine("keyboard modifiers 0 0 0 0")

	// X focus gone (None; focus on the root would still send keys to the
	// window under the pointer): the client loses the keyboard, a key
	// reaches no one, and a client mapped meanwhile does not get the
	// keyboard either. Focus back: the top-most client has it.
	u.focus(xproto.InputFocusNone)
	mc.expectLine("keyboard leave")
	left := mc.cursor
	u.fake(xproto.KeyPress, xKeyA, 0, 0)
	u.fake(xproto.KeyRelease, xKeyA, 0, 0)
	second := startProc(t, "second testclient", e2eEnv("XDG_RUNTIME_DIR="+n.rt, "WAYLAND_DISPLAY=wayland-0"),
		n.client, "-color", "0xff0000")
	second.expectLine("drawn 640 480") // after any keyboard enter at its map
	if second.printed(func(s string) bool { return strings.HasPrefix(s, "keyboard enter") }) {
		t.Errorf("a client mapped while minicomp's window had no X focus got the keyboard")
	}
	u.focus(win)
	second.expectLine("keyboard enter")
	for _, s := range mc.out.snapshot()[left:] {
		if strings.HasPrefix(s, "keyboard key") {
			t.Errorf("a key reached the client while minicomp's window had no X focus: %s", s)
		}
	}
	u.fake(xproto.KeyPress, xKeyA, 0, 0)
	u.fake(xproto.KeyRelease, xKeyA, 0, 0)
	second.expectLine("keyboard key 30 pressed")
	second.cmd.Process.Signal(os.Interrupt)
	second.waitExit(exitTimeout)

	// Resize: the client is reconfigured to the window's new size and
	// the window shows red all over it.
	u.configure(win, xproto.ConfigWindowWidth|xproto.ConfigWindowHeight, 800, 600)
	mc.expectLine("configure 800 600")
	mc.expectLine("drawn 800 600")
	if err := poll(startTimeout, func() error { return u.checkSolid(win, 800, 600, red) }); err != nil {
		t.Fatalf("screenshot after the resize to 800x600: %v", err)
	}

	// The X server dies: minicomp says which server it lost, hangs up on
	// the client (which exits by itself), removes its socket and exits.
	n.x.Kill()
	took := mc.waitExit(exitTimeout)
	t.Logf("minicomp exited %v after the X server was killed (%v)", took.Round(time.Millisecond), mc.state)
	if mc.state.Success() {
		t.Errorf("minicomp exited with status 0 after losing its X server")
	}
	mc.waitLog(0, "lost connection to X server "+n.x.Display,
		"minicomp: backend lost: x11: lost connection to X server "+n.x.Display)
	mc.expect("disconnected", 0, func(s string) bool { return s == "disconnected: connection closed by the compositor" })
	mc.waitLog(0, `msg="client exited"`)
	if strings.Contains(mc.err.String(), "sending SIGTERM") {
		t.Errorf("the client had to be signalled: the compositor did not hang up on it")
	}
	if _, err := os.Stat(filepath.Join(n.rt, "wayland-0")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the Wayland socket is still there after exit: %v", err)
	}
}

// TestX11NestedWindowClosed: closing minicomp's window the way a window
// manager does (WM_DELETE_WINDOW) ends minicomp with a message saying so,
// after hanging up on the client.
func TestX11NestedWindowClosed(t *testing.T) {
	n := startX11Nested(t, "soft", "0x808080")
	atom := func(name string) xproto.Atom {
		r, err := xproto.InternAtom(n.u.c, false, uint16(len(name)), name).Reply()
		if err != nil {
			t.Fatalf("intern %s: %v", name, err)
		}
		return r.Atom
	}
	ev := xproto.ClientMessageEvent{Format: 32, Window: n.win, Type: atom("WM_PROTOCOLS"),
		Data: xproto.ClientMessageDataUnionData32New([]uint32{uint32(atom("WM_DELETE_WINDOW")), xproto.TimeCurrentTime, 0, 0, 0})}
	if err := xproto.SendEventChecked(n.u.c, false, n.win, xproto.EventMaskNoEvent, string(ev.Bytes())).Check(); err != nil {
		t.Fatalf("send WM_DELETE_WINDOW: %v", err)
	}
	took := n.mc.waitExit(exitTimeout)
	t.Logf("minicomp exited %v after its window was closed (%v)", took.Round(time.Millisecond), n.mc.state)
	n.mc.waitLog(0, `msg="output closed" output=X11-1`, "every output window was closed")
	if !n.mc.state.Success() {
		t.Errorf("minicomp exited %v after the user closed its window, want status 0", n.mc.state)
	}
	n.mc.expect("disconnected", 0, func(s string) bool { return s == "disconnected: connection closed by the compositor" })
}

// TestX11NestedGLES: the same frame and resize through the GLES renderer
// (llvmpipe here), when EGL works.
func TestX11NestedGLES(t *testing.T) {
	const blue = 0x0000ff
	minicomp, client := e2eBinaries(t)
	x := testenv.StartXvfb(t)
	rt := e2eRuntimeDir(t)
	mc := startProc(t, "minicomp", e2eEnv("DISPLAY="+x.Display, "XDG_RUNTIME_DIR="+rt),
		minicomp, "run", "--backend=x11", "--size", "640x480", "--renderer=gles", "--render-node", "none",
		"--", client, "-color", "0x0000ff")
	// Without EGL, minicomp exits at once (--renderer=gles is not a
	// preference); otherwise the client maps.
	mapped := func(s string) bool { return s == "mapped" }
	if err := poll(startTimeout, func() error {
		if mc.done() || mc.printed(mapped) {
			return nil
		}
		return errors.New("neither mapped nor exited")
	}); err != nil {
		t.Fatalf("minicomp --renderer=gles: %v after %v", err, startTimeout)
	}
	if !mc.printed(mapped) || !strings.Contains(mc.err.String(), "renderer=gles") {
		mc.waitExit(exitTimeout)
		if os.Getenv(envRequireGLES) == "1" {
			t.Fatalf("--renderer=gles failed and %s=1:\n%s", envRequireGLES, mc.err)
		}
		t.Skipf("EGL/GLES unavailable here (set %s=1 to make this a failure):\n%s", envRequireGLES, mc.err)
	}
	u := newXUser(t, x.Display)
	win := u.findWindow("minicomp - X11-1")
	if err := poll(startTimeout, func() error { return u.checkSolid(win, 640, 480, blue) }); err != nil {
		t.Fatalf("screenshot (gles): %v", err)
	}
	u.configure(win, xproto.ConfigWindowWidth|xproto.ConfigWindowHeight, 720, 400)
	mc.expectLine("configure 720 400")
	if err := poll(startTimeout, func() error { return u.checkSolid(win, 720, 400, blue) }); err != nil {
		t.Fatalf("screenshot after the resize (gles): %v", err)
	}
}

// ---- Wayland ----

// waylandParent is a compositor the nested minicomp connects to.
type waylandParent struct {
	p       *proc
	rt      string
	display string // socket name in rt
}

// waitSocket waits for a socket named name (or any wayland-N) in dir.
func waitSocket(t *testing.T, p *proc, dir, name string) string {
	t.Helper()
	var found string
	err := poll(startTimeout, func() error {
		if p.done() {
			return fmt.Errorf("%s exited before listening", p.name)
		}
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			n := e.Name()
			if e.Type()&os.ModeSocket != 0 && (n == name || name == "" && strings.HasPrefix(n, "wayland-")) {
				// The file exists from bind(2) on; connections are
				// refused until listen(2).
				c, err := net.Dial("unix", filepath.Join(dir, n))
				if err != nil {
					return fmt.Errorf("socket %s not accepting yet: %w", n, err)
				}
				c.Close()
				found = n
				return nil
			}
		}
		return fmt.Errorf("no socket in %s", dir)
	})
	if err != nil {
		t.Fatalf("%v:\n%s", err, p.err)
	}
	return found
}

// startMinicompParent runs minicomp headless 800x600 in rt.
func startMinicompParent(t *testing.T, rt string) *waylandParent {
	t.Helper()
	minicomp, _ := e2eBinaries(t)
	p := startProc(t, "parent minicomp", e2eEnv("XDG_RUNTIME_DIR="+rt), minicomp,
		"run", "--backend=headless", "--size", "800x600", "--render-node", "none", "--renderer=soft")
	return &waylandParent{p: p, rt: rt, display: waitSocket(t, p, rt, "")}
}

// startWestonParent runs weston's headless backend at 800x600 in rt, or
// skips without weston unless MINICOMP_REQUIRE_WESTON=1.
func startWestonParent(t *testing.T, rt string) *waylandParent {
	t.Helper()
	if rigtest.Name() != "" {
		// The amd64 guest has weston (for weston_drm_rig_test.go), but
		// the nested end-to-end tests are the host's.
		t.Skip("the nested end-to-end tests run on the host, not in the rig's guests")
	}
	bin, err := exec.LookPath("weston")
	if err != nil {
		if os.Getenv(envRequireWeston) == "1" {
			t.Fatalf("weston not found and %s=1: install the Debian package weston", envRequireWeston)
		}
		t.Skipf("weston not installed; set %s=1 to make this a failure", envRequireWeston)
	}
	p := startProc(t, "parent weston", e2eEnv("XDG_RUNTIME_DIR="+rt), bin,
		"--backend=headless-backend.so", "--width=800", "--height=600", "--socket=wl-parent", "--idle-time=0")
	return &waylandParent{p: p, rt: rt, display: waitSocket(t, p, rt, "wl-parent")}
}

// grim takes a screenshot of the parent.
func (wp *waylandParent) grim(bin string) (image.Image, error) {
	cmd := exec.Command(bin, "-t", "png", "-")
	cmd.Env = e2eEnv("XDG_RUNTIME_DIR="+wp.rt, "WAYLAND_DISPLAY="+wp.display)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("grim: %w: %s", err, stderr.String())
	}
	return png.Decode(bytes.NewReader(out))
}

// solidRGB checks that every pixel of r in img is rgb.
func solidRGB(img image.Image, r image.Rectangle, rgb uint32) error {
	if !r.In(img.Bounds()) {
		return fmt.Errorf("screenshot is %v, want at least %v", img.Bounds(), r)
	}
	bad, first := 0, ""
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			px := (cr>>8)<<16 | (cg>>8)<<8 | cb>>8
			if px != rgb {
				if bad == 0 {
					first = fmt.Sprintf("(%d,%d) is 0x%06x", x, y, px)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		return fmt.Errorf("%d of %d pixels in %v are not 0x%06x; first: %s", bad, r.Dx()*r.Dy(), r, rgb, first)
	}
	return nil
}

// startWaylandNested runs minicomp --backend=wayland in parent with
// testclient, and waits until the client's first frame was presented.
func startWaylandNested(t *testing.T, wp *waylandParent, color string) *proc {
	t.Helper()
	minicomp, client := e2eBinaries(t)
	mc := startProc(t, "nested minicomp", e2eEnv("XDG_RUNTIME_DIR="+wp.rt, "WAYLAND_DISPLAY="+wp.display), minicomp,
		"run", "--backend=wayland", "--size", "640x480", "--render-node", "none", "--renderer=soft",
		"--", client, "-color", color)
	mc.expect(`"mapped"`, startTimeout, func(s string) bool { return s == "mapped" })
	// A frame callback from the nested server means the nested output
	// presented a frame to the parent and got the parent's frame
	// callback back.
	mc.expect(`"drawn"`, startTimeout, func(s string) bool { return strings.HasPrefix(s, "drawn ") })
	mc.waitLog(startTimeout, "backend=wayland", `msg="nested output"`)
	return mc
}

// handoverOf returns the hand-over the nested output's log line names.
func handoverOf(t *testing.T, log string) string {
	t.Helper()
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, `msg="nested output"`) {
			continue
		}
		_, after, ok := strings.Cut(line, "handover=")
		if !ok {
			break
		}
		if strings.HasPrefix(after, `"`) {
			v, _, _ := strings.Cut(after[1:], `"`)
			return v
		}
		v, _, _ := strings.Cut(after, " ")
		return v
	}
	t.Fatalf("no nested output log line naming the hand-over:\n%s", log)
	return ""
}

// killParent kills the parent and checks that the nested minicomp ends
// cleanly: a clear message, the client disconnected, no hang.
func killParent(t *testing.T, wp *waylandParent, mc *proc) {
	t.Helper()
	wp.p.cmd.Process.Kill()
	<-wp.p.exited
	took := mc.waitExit(exitTimeout)
	t.Logf("nested minicomp exited %v after the parent was killed (%v)", took.Round(time.Millisecond), mc.state)
	if mc.state.Success() {
		t.Errorf("nested minicomp exited with status 0 after losing its parent")
	}
	mc.waitLog(0, "lost connection to parent compositor", "minicomp: backend lost: wayland: lost connection to parent compositor")
	mc.expect("disconnected", 0, func(s string) bool { return s == "disconnected: connection closed by the compositor" })
	if strings.Contains(mc.err.String(), "sending SIGTERM") {
		t.Errorf("the client had to be signalled: the compositor did not hang up on it")
	}
}

// TestWaylandNestedInMinicomp: minicomp nested in minicomp headless; the
// parent's screenshot shows the client's green, the log names the
// hand-over, and killing the parent ends the nested minicomp cleanly.
func TestWaylandNestedInMinicomp(t *testing.T) {
	const green = 0x00ff00
	rt := e2eRuntimeDir(t)
	wp := startMinicompParent(t, rt)
	mc := startWaylandNested(t, wp, "0x00ff00")

	// The parent maximizes the nested window to its 800x600 output (in
	// its first configure, so the nested output starts at that size),
	// and the nested server maximizes the client's toplevel to that.
	mc.waitLogLine(startTimeout, `msg="parent chose the window size"`, "output=WL-1 mode=800x600@")
	mc.cursor = 0
	mc.expectLine("configure 800 600")
	mc.expectLine("drawn 800 600")
	grim, grimErr := exec.LookPath("grim")
	if grimErr == nil {
		if err := poll(startTimeout, func() error {
			img, err := wp.grim(grim)
			if err != nil {
				return err
			}
			return solidRGB(img, image.Rect(0, 0, 800, 600), green)
		}); err != nil {
			t.Fatalf("screenshot of the parent: %v", err)
		}
	}

	// The headless parent has no keyboard to give the nested window, so
	// the client must not be told it has one.
	if mc.printed(func(s string) bool { return strings.HasPrefix(s, "keyboard enter") }) {
		t.Errorf("the nested client got wl_keyboard.enter, but the parent never focused the nested window")
	}

	// No /dev/dri here means memfd targets; with a render node the
	// targets are dma-bufs and the parent (which offers linux-dmabuf)
	// takes them as such.
	h := handoverOf(t, mc.err.String())
	want := "shm (zero-copy memfd)"
	if _, err := os.Stat("/dev/dri"); err == nil && !strings.Contains(mc.err.String(), "targets=memfd") {
		want = "dmabuf"
	}
	t.Logf("hand-over: %s", h)
	if h != want {
		t.Errorf("hand-over %q, want %q", h, want)
	}
	killParent(t, wp, mc)
	if grimErr != nil {
		t.Skip("grim not installed (Debian package grim): everything but the parent's screenshot was checked")
	}
}

// TestWaylandNestedInWeston: minicomp nested in weston's headless
// backend: the client's frames reach weston, and weston going away ends
// the nested minicomp cleanly.
func TestWaylandNestedInWeston(t *testing.T) {
	rt := e2eRuntimeDir(t)
	wp := startWestonParent(t, rt)
	mc := startWaylandNested(t, wp, "0x00ff00")
	h := handoverOf(t, mc.err.String())
	t.Logf("hand-over into weston: %s", h)
	if !strings.HasPrefix(h, "shm") && h != "dmabuf" {
		t.Errorf("hand-over %q is none of dmabuf, shm (zero-copy memfd), shm (copy)", h)
	}
	if strings.Contains(mc.err.String(), "level=ERROR") {
		t.Errorf("the nested minicomp logged an error before the parent went away:\n%s", mc.err)
	}
	killParent(t, wp, mc)
}

// ---- auto ----

// autoBackend runs `minicomp run` with no --backend for a moment in env
// and returns its log.
func autoBackend(t *testing.T, env []string) string {
	t.Helper()
	minicomp, _ := e2eBinaries(t)
	p := startProc(t, "minicomp (auto)", env, minicomp, "run", "--duration", "1s", "--render-node", "none", "--renderer=soft")
	p.waitExit(startTimeout)
	if !p.state.Success() {
		t.Fatalf("minicomp run (auto) failed (%v):\n%s", p.state, p.err)
	}
	return p.err.String()
}

// TestAutoPicksNested: without --backend, minicomp opens a window in the
// X server or Wayland compositor it runs in, and falls back from a
// Wayland display that is not there to X11, saying why.
func TestAutoPicksNested(t *testing.T) {
	x := testenv.StartXvfb(t)
	rt := e2eRuntimeDir(t)

	log := autoBackend(t, e2eEnv("DISPLAY="+x.Display, "XDG_RUNTIME_DIR="+rt))
	if !strings.Contains(log, "msg=backend backend=x11 why=\"inside an X session (DISPLAY="+x.Display+")") ||
		!strings.Contains(log, `msg="x11 output"`) {
		t.Errorf("with DISPLAY set: not the x11 backend:\n%s", log)
	}

	wp := startMinicompParent(t, rt)
	log = autoBackend(t, e2eEnv("DISPLAY="+x.Display, "XDG_RUNTIME_DIR="+rt, "WAYLAND_DISPLAY="+wp.display))
	if !strings.Contains(log, "msg=backend backend=wayland why=\"inside a Wayland session (WAYLAND_DISPLAY="+wp.display+")") ||
		!strings.Contains(log, `msg="nested output"`) || strings.Contains(log, "falling back") {
		t.Errorf("with WAYLAND_DISPLAY (and DISPLAY) set: not the wayland backend:\n%s", log)
	}

	log = autoBackend(t, e2eEnv("DISPLAY="+x.Display, "XDG_RUNTIME_DIR="+rt, "WAYLAND_DISPLAY=wayland-nothere"))
	for _, want := range []string{
		`msg="backend unavailable, falling back" backend=wayland`, "next=x11",
		`msg=backend backend=x11 why="wayland failed: `, "wayland-nothere", `msg="x11 output"`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("with a bogus WAYLAND_DISPLAY: the log lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("log:\n%s", log)
	}
}

// ---- the command after -- ----

// TestRunClientProtocolError: a client the compositor disconnects with
// wl_display.error sees the error text and fails, and minicomp exits
// with the client's failure.
func TestRunClientProtocolError(t *testing.T) {
	minicomp, client := e2eBinaries(t)
	mc := startProc(t, "minicomp", e2eEnv("XDG_RUNTIME_DIR="+e2eRuntimeDir(t)), minicomp,
		"run", "--backend=headless", "--size", "320x240", "--render-node", "none", "--renderer=soft",
		"--", client, "-protocol-error")
	mc.waitExit(startTimeout)
	mc.expect("the protocol error", 0, func(s string) bool {
		return strings.HasPrefix(s, "disconnected: protocol error on wl_display@1, code 0: id ") && strings.HasSuffix(s, " already in use")
	})
	mc.waitLogLine(0, `msg="client exited"`, `err="exit status 1"`)
	mc.waitLog(0, `msg="protocol error, disconnecting client"`, "minicomp: "+client+": exit status 1")
	if mc.state.Success() {
		t.Errorf("minicomp exited 0 although its client failed")
	}
}

// TestRunStopsClient: when the server stops and the client does not
// exit after the hang-up, minicomp sends it SIGTERM and does not hang.
func TestRunStopsClient(t *testing.T) {
	minicomp, _ := e2eBinaries(t)
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skip("no sleep(1)")
	}
	mc := startProc(t, "minicomp", e2eEnv("XDG_RUNTIME_DIR="+e2eRuntimeDir(t)), minicomp,
		"run", "--backend=headless", "--size", "320x240", "--render-node", "none", "--renderer=soft",
		"--duration", "500ms", "--", sleep, "600")
	took := mc.waitExit(startTimeout)
	t.Logf("minicomp exited after %v (%v)", took.Round(time.Millisecond), mc.state)
	mc.waitLog(0, "client still running after the server stopped: sending SIGTERM")
	mc.waitLogLine(0, `msg="client exited"`, `err="signal: terminated"`)
	if !mc.state.Success() {
		t.Errorf("minicomp failed after --duration ended (the client was stopped by minicomp, not failing by itself)")
	}
}

// TestAutoProbeLeavesNothingMapped: --renderer=auto decides on GLES in a
// child process, so when it picks a CPU renderer (llvmpipe here is
// software GL), neither Mesa's driver nor LLVM is mapped into minicomp.
func TestAutoProbeLeavesNothingMapped(t *testing.T) {
	minicomp, _ := e2eBinaries(t)
	mc := startProc(t, "minicomp", e2eEnv("XDG_RUNTIME_DIR="+e2eRuntimeDir(t)), minicomp,
		"run", "--backend=headless", "--size", "320x240", "--renderer=auto", "--duration", "20s")
	mc.waitLogLine(startTimeout, `msg=renderer`, "because GLES here is software rendering")
	maps, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", mc.cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, lib := range []string{"_dri.so", "libLLVM", "libGLESv2", "libgallium"} {
		if strings.Contains(string(maps), lib) {
			t.Errorf("%s is mapped into minicomp although it renders on the CPU", lib)
		}
	}
	mc.cmd.Process.Signal(os.Interrupt)
	mc.waitExit(startTimeout)
}

// TestRunWithoutRuntimeDir: with XDG_RUNTIME_DIR unset (a service, a
// root shell) minicomp makes a private directory, tells its client, says
// where, and removes it afterwards.
func TestRunWithoutRuntimeDir(t *testing.T) {
	minicomp, _ := e2eBinaries(t)
	userDir := fmt.Sprintf("/run/user/%d", os.Getuid())
	haveUserDir := privateDir(userDir, os.Getuid())
	tmp := t.TempDir()
	// The client checks that the socket is where its environment says.
	mc := startProc(t, "minicomp", e2eEnv("TMPDIR="+tmp), minicomp,
		"run", "--backend=headless", "--size", "320x240", "--render-node", "none", "--renderer=soft",
		"--", "sh", "-c", `test -S "$XDG_RUNTIME_DIR/$WAYLAND_DISPLAY"`)
	mc.waitExit(startTimeout)
	if !mc.state.Success() {
		t.Fatalf("minicomp failed: %v", mc.state)
	}
	if haveUserDir { // a machine with a login session: that one is used
		mc.waitLogLine(0, "XDG_RUNTIME_DIR was not set", "XDG_RUNTIME_DIR="+userDir)
		return
	}
	mc.waitLogLine(0, "XDG_RUNTIME_DIR was not set", "XDG_RUNTIME_DIR="+tmp+"/minicomp-runtime-")
	if left, _ := filepath.Glob(filepath.Join(tmp, "minicomp-runtime-*")); len(left) != 0 {
		t.Errorf("runtime directory left behind: %v", left)
	}
}

// TestRunKeymapFlags: --xkb-layout reaches the clients' keymap (a
// German one, read back by the test client, nested in Xvfb), and a layout that does not
// exist is a clear error, not a US keyboard in disguise.
func TestRunKeymapFlags(t *testing.T) {
	minicomp, client := e2eBinaries(t)
	dir := t.TempDir()
	x := testenv.StartXvfb(t) // a backend with a keyboard
	mc := startProc(t, "minicomp", e2eEnv("DISPLAY="+x.Display, "XDG_RUNTIME_DIR="+e2eRuntimeDir(t)), minicomp,
		"run", "--backend=x11", "--size", "320x240", "--render-node", "none", "--renderer=soft",
		"--xkb-layout", "de", "--", client, "-keymap-dir", dir)
	mc.waitLogLine(startTimeout, `msg=keymap`, "layout=de", "by=libxkbcommon")
	deadline := time.Now().Add(startTimeout)
	for {
		files, _ := filepath.Glob(filepath.Join(dir, "keymap-*.xkb"))
		if len(files) > 0 {
			text, err := os.ReadFile(files[0])
			if err != nil || !strings.Contains(string(text), `"German"`) {
				t.Fatalf("the client's keymap is not German (%v)", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the client saved no keymap")
		}
		time.Sleep(50 * time.Millisecond)
	}
	mc.cmd.Process.Signal(os.Interrupt)
	mc.waitExit(startTimeout)

	bad := startProc(t, "minicomp", e2eEnv("XDG_RUNTIME_DIR="+e2eRuntimeDir(t)), minicomp,
		"run", "--backend=headless", "--size", "320x240", "--render-node", "none", "--renderer=soft", "--xkb-layout", "no-such-layout")
	bad.waitExit(startTimeout)
	if bad.state.Success() {
		t.Fatal("an unknown layout was accepted")
	}
	bad.waitLog(0, "keyboard: xkb: keymap does not compile", "no-such-layout")
}
