package server

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
	"github.com/minicomp/minicomp/internal/wire"
)

// Remote access with real programs: Debian's wayvnc serves the headless
// output over RFB (a picture equal to grim's, pointer and keys reaching a
// client through the virtual pointer and keyboard), wtype types into a
// client with its own keymap.

// lines is a running program's stdout, line by line.
type lines struct {
	mu   sync.Mutex
	all  []string
	more chan struct{}
}

func readLines(r io.Reader) *lines {
	l := &lines{more: make(chan struct{}, 1)}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			l.mu.Lock()
			l.all = append(l.all, sc.Text())
			l.mu.Unlock()
			select {
			case l.more <- struct{}{}:
			default:
			}
		}
	}()
	return l
}

// wait returns the first line from index *from on that matches, moving
// *from past it; it fails after 10 s.
func (l *lines) wait(t *testing.T, from *int, match func(string) bool, what string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		for ; *from < len(l.all); *from++ {
			if s := l.all[*from]; match(s) {
				*from++
				l.mu.Unlock()
				return s
			}
		}
		all := strings.Join(l.all, "\n")
		l.mu.Unlock()
		select {
		case <-l.more:
		case <-deadline:
			t.Fatalf("no %s within 10 s; output:\n%s", what, all)
		}
	}
}

func prefix(p string) func(string) bool {
	return func(s string) bool { return strings.HasPrefix(s, p) }
}

// startTestclient maps internal/testclient's toplevel; its keymaps are
// saved in a directory.
func startTestclient(t *testing.T, dir string) *lines {
	t.Helper()
	l := runTestclient(t, dir, "-color", "0x3366cc", "-keymap-dir", t.TempDir())
	i := 0
	l.wait(t, &i, prefix("drawn "), "first frame")
	return l
}

// runTestclient runs internal/testclient with args (killed at cleanup)
// and returns its output lines.
func runTestclient(t *testing.T, dir string, args ...string) *lines {
	t.Helper()
	bin := testenv.Build(t, "./internal/testclient")
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return readLines(out)
}

// keysymOf finds the first keysym bound to an evdev key code in an XKB
// keymap text (keycode = code+8), the way a client's xkbcommon would
// read the plain keymaps wayvnc and wtype send.
func keysymOf(t *testing.T, keymap string, code int) string {
	t.Helper()
	m := regexp.MustCompile(`<([A-Za-z0-9_+-]+)>\s*=\s*` + strconv.Itoa(code+8) + `\s*;`).FindStringSubmatch(keymap)
	if m == nil {
		t.Fatalf("keycode %d not in the keymap", code+8)
	}
	i := strings.Index(keymap, "key <"+m[1]+">")
	if i < 0 {
		t.Fatalf("no symbols for <%s>", m[1])
	}
	rest := keymap[i:]
	rest = rest[strings.Index(rest, "[")+1:]
	sym := regexp.MustCompile(`^\s*([A-Za-z0-9_]+)`).FindStringSubmatch(rest)
	if sym == nil {
		t.Fatalf("no keysym for <%s>: %.80q", m[1], rest)
	}
	return sym[1]
}

// keysFrom reads "keyboard key N pressed" lines from testclient's output
// (from *from on) and returns the keysyms of the pressed keys under the
// keymap last announced before each key.
func keysFrom(t *testing.T, l *lines, from *int, n int) []string {
	t.Helper()
	var syms []string
	var keymap string
	for len(syms) < n {
		s := l.wait(t, from, func(s string) bool {
			return strings.HasPrefix(s, "keyboard keymap xkb_v1") || (strings.HasPrefix(s, "keyboard key ") && strings.HasSuffix(s, " pressed"))
		}, fmt.Sprintf("key %d of %d", len(syms)+1, n))
		f := strings.Fields(s)
		if f[1] == "keymap" {
			if len(f) < 5 {
				t.Fatalf("keymap not saved: %q", s)
			}
			b, err := os.ReadFile(f[4])
			if err != nil {
				t.Fatal(err)
			}
			keymap = string(b)
			continue
		}
		if keymap == "" {
			t.Fatalf("key before any keymap: %q", s)
		}
		code, _ := strconv.Atoi(f[2])
		syms = append(syms, keysymOf(t, keymap, code))
	}
	return syms
}

// realProgram finds a program the suite depends on: missing, it fails
// the test under MINICOMP_REQUIRE_WESTON=1 (test/all.sh), else skips.
func realProgram(t *testing.T, name, pkg string) string {
	t.Helper()
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("MINICOMP_REQUIRE_WESTON") == "1" || os.Getenv("CI") != "" {
			t.Fatalf("%s not found and MINICOMP_REQUIRE_WESTON=1: install the Debian package %s (test/rig/deps.sh does)", name, pkg)
		}
		t.Skipf("%s not installed (Debian package %s)", name, pkg)
	}
	return p
}

// startWayvnc runs wayvnc without authentication on a free local port.
func startWayvnc(t *testing.T, dir string) string {
	t.Helper()
	bin := realProgram(t, "wayvnc", "wayvnc")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().(*net.TCPAddr)
	l.Close()
	cfg := filepath.Join(t.TempDir(), "wayvnc.cfg")
	os.WriteFile(cfg, []byte("enable_auth=false\n"), 0o600)
	cmd := exec.Command(bin, "-C", cfg, "-k", "us", "127.0.0.1", strconv.Itoa(addr.Port))
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	var stderr strings.Builder
	cmd.Stderr, cmd.Stdout = &stderr, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-exited
	})
	hostport := addr.String()
	deadline := time.Now().Add(10 * time.Second)
	for {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("wayvnc exited: %v\n%s", err, stderr.String())
		default:
		}
		if c, err := net.Dial("tcp", hostport); err == nil {
			c.Close()
			return hostport
		}
		if time.Now().After(deadline) {
			t.Fatalf("wayvnc not listening after 10 s:\n%s", stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// rfb is a minimal RFB 3.8 client: security type None, 32-bit XRGB
// little-endian pixels, raw encoding.
type rfb struct {
	t    *testing.T
	c    net.Conn
	r    *bufio.Reader
	w, h int
	fb   *image.RGBA
}

func dialRFB(t *testing.T, addr string) *rfb {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	v := &rfb{t: t, c: c, r: bufio.NewReader(c)}
	ver := v.read(12)
	if !strings.HasPrefix(string(ver), "RFB 003.") {
		t.Fatalf("not an RFB server: %q", ver)
	}
	v.write([]byte("RFB 003.008\n"))
	types := v.read(int(v.read(1)[0]))
	if len(types) == 0 {
		t.Fatalf("server refused: %s", v.read(int(v.u32())))
	}
	if !strings.Contains(string(types), "\x01") {
		t.Fatalf("security types %v lack None (1): wayvnc's config should disable auth", types)
	}
	v.write([]byte{1})
	if res := v.u32(); res != 0 {
		t.Fatalf("security result %d", res)
	}
	v.write([]byte{1}) // ClientInit: shared
	v.w, v.h = int(v.u16()), int(v.u16())
	v.read(16) // the server's pixel format: replaced below
	v.read(int(v.u32()))
	v.fb = image.NewRGBA(image.Rect(0, 0, v.w, v.h))
	// SetPixelFormat: 32 bpp, depth 24, little endian, true colour,
	// max 255, shifts R16 G8 B0.
	pf := []byte{0, 0, 0, 0, 32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0}
	v.write(pf)
	v.write([]byte{2, 0, 0, 1, 0, 0, 0, 0}) // SetEncodings: raw
	return v
}

func (v *rfb) read(n int) []byte {
	v.t.Helper()
	b := make([]byte, n)
	if _, err := io.ReadFull(v.r, b); err != nil {
		v.t.Fatalf("rfb read: %v", err)
	}
	return b
}

func (v *rfb) u16() uint16 { return binary.BigEndian.Uint16(v.read(2)) }
func (v *rfb) u32() uint32 { return binary.BigEndian.Uint32(v.read(4)) }

func (v *rfb) write(b []byte) {
	v.t.Helper()
	if _, err := v.c.Write(b); err != nil {
		v.t.Fatalf("rfb write: %v", err)
	}
}

// update requests the whole screen and reads one FramebufferUpdate into
// fb; it returns the rectangles' area.
func (v *rfb) update(incremental bool) int {
	v.t.Helper()
	inc := byte(0)
	if incremental {
		inc = 1
	}
	req := []byte{3, inc, 0, 0, 0, 0, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(req[6:], uint16(v.w))
	binary.BigEndian.PutUint16(req[8:], uint16(v.h))
	v.write(req)
	for {
		switch typ := v.read(1)[0]; typ {
		case 0:
			v.read(1)
			area := 0
			for n := int(v.u16()); n > 0; n-- {
				x, y, w, h := int(v.u16()), int(v.u16()), int(v.u16()), int(v.u16())
				if enc := int32(v.u32()); enc != 0 {
					v.t.Fatalf("rectangle encoding %d, asked for raw only", enc)
				}
				px := v.read(w * h * 4)
				for j := 0; j < h; j++ {
					for i := 0; i < w; i++ {
						p := px[(j*w+i)*4:]
						o := v.fb.PixOffset(x+i, y+j)
						v.fb.Pix[o], v.fb.Pix[o+1], v.fb.Pix[o+2], v.fb.Pix[o+3] = p[2], p[1], p[0], 0xff
					}
				}
				area += w * h
			}
			return area
		case 2: // bell
		case 3: // server cut text
			v.read(3)
			v.read(int(v.u32()))
		default:
			v.t.Fatalf("unexpected server message %d", typ)
		}
	}
}

func (v *rfb) pointer(mask byte, x, y int) {
	b := []byte{5, mask, 0, 0, 0, 0}
	binary.BigEndian.PutUint16(b[2:], uint16(x))
	binary.BigEndian.PutUint16(b[4:], uint16(y))
	v.write(b)
}

func (v *rfb) key(down bool, keysym uint32) {
	b := []byte{4, 0, 0, 0, 0, 0, 0, 0}
	if down {
		b[1] = 1
	}
	binary.BigEndian.PutUint32(b[4:], keysym)
	v.write(b)
}

// wayvnc against the headless output: it starts and serves; a viewer
// gets a picture equal to grim's; its pointer and keys reach the focused
// client at the right positions and as the right keysyms; an idle screen
// draws no frame.
func TestWayvnc(t *testing.T) {
	realProgram(t, "wayvnc", "wayvnc")
	s, dir := start(t)
	out := startTestclient(t, dir)
	addr := startWayvnc(t, dir)
	v := dialRFB(t, addr)
	if v.w != 640 || v.h != 480 {
		t.Fatalf("RFB screen %dx%d, want 640x480", v.w, v.h)
	}
	begin := time.Now()
	v.update(false)
	// wayvnc may answer the first request before its first capture is
	// in (a grey placeholder): ask again until the client's colour shows.
	for i := 0; i < 100 && v.fb.RGBAAt(320, 240) != (color.RGBA{0x33, 0x66, 0xcc, 0xff}); i++ {
		time.Sleep(20 * time.Millisecond)
		v.update(false)
	}
	t.Logf("first full RFB frame with the client after %v", time.Since(begin))
	shot := grimShot(t, dir)
	diff := 0
	for y := 0; y < 480; y++ {
		for x := 0; x < 640; x++ {
			r, g, b, _ := shot.At(x, y).RGBA()
			p := v.fb.RGBAAt(x, y)
			if uint8(r>>8) != p.R || uint8(g>>8) != p.G || uint8(b>>8) != p.B {
				if diff < 5 {
					t.Errorf("pixel (%d,%d): rfb %v, grim %d,%d,%d", x, y, p, r>>8, g>>8, b>>8)
				}
				diff++
			}
		}
	}
	if diff > 0 {
		t.Fatalf("%d pixels differ between the RFB picture and grim's", diff)
	}
	if p := v.fb.RGBAAt(320, 240); p.R != 0x33 || p.G != 0x66 || p.B != 0xcc {
		t.Fatalf("RFB centre pixel %v, want the client's 0x3366cc", p)
	}

	// Idle: wayvnc waits in copy_with_damage; no frame is drawn.
	time.Sleep(300 * time.Millisecond)
	f0 := s.Stats().Frames
	time.Sleep(time.Second)
	if idle := s.Stats().Frames - f0; idle > 0 {
		t.Errorf("%d frames drawn in an idle second with wayvnc attached", idle)
	}

	from := 0
	v.pointer(0, 100, 50)
	out.wait(t, &from, func(s string) bool {
		return s == "pointer enter 100.00 50.00" || s == "pointer motion 100.00 50.00"
	}, "pointer at 100,50")
	v.pointer(0, 300, 200)
	out.wait(t, &from, func(s string) bool { return s == "pointer motion 300.00 200.00" }, "pointer motion to 300,200")
	v.pointer(1, 300, 200)
	out.wait(t, &from, func(s string) bool { return s == "pointer button 272 pressed" }, "left button press")
	v.pointer(0, 300, 200)
	out.wait(t, &from, func(s string) bool { return s == "pointer button 272 released" }, "left button release")
	v.pointer(4, 300, 200)
	out.wait(t, &from, func(s string) bool { return s == "pointer button 273 pressed" }, "right button press")
	v.pointer(0, 300, 200)

	kfrom := 0
	for _, k := range []uint32{'h', 'i', '1', 0xff0d /* Return */} {
		v.key(true, k)
		v.key(false, k)
	}
	got := keysFrom(t, out, &kfrom, 4)
	if want := []string{"h", "i", "1", "Return"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("keysyms %v, want %v", got, want)
	}
	t.Logf("stats %+v", s.Stats())
}

// wtype types with a keymap of its own: the client gets that keymap
// before the keys, and the keys mean the characters typed.
func TestWtype(t *testing.T) {
	bin := realProgram(t, "wtype", "wtype")
	_, dir := start(t)
	out := startTestclient(t, dir)
	// A first, empty run gives the seat its keyboard (headless has none
	// until a virtual one appears); the client gets its wl_keyboard and
	// focus before the text is typed, as a user's client would have.
	first := exec.Command(bin, "-M", "shift", "-m", "shift") // modifiers only: no key event
	first.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	if b, err := first.CombinedOutput(); err != nil {
		t.Fatalf("wtype -M shift -m shift: %v\n%s", err, b)
	}
	from := 0
	out.wait(t, &from, prefix("keyboard enter"), "keyboard focus")
	cmd := exec.Command(bin, "hello, wörld")
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("wtype: %v\n%s", err, b)
	}
	got := keysFrom(t, out, &from, 12)
	want := "h e l l o comma space w odiaeresis r l d"
	if strings.Join(got, " ") != want {
		t.Fatalf("keysyms %v, want %s", got, want)
	}
}

// Output power on headless: the mode is recorded and every watcher of the
// output hears it change.
func TestOutputPowerHeadless(t *testing.T) {
	s, dir := start(t)
	pwr := globalName(s, protocol.ZwlrOutputPowerManagerV1Interface)
	var outName uint32
	for _, g := range s.globals {
		if g.iface == protocol.WlOutputInterface {
			outName = g.name
		}
	}
	watch := func() *raw {
		r := dial(t, dir)
		r.bind(outName, "wl_output", 4, 3)
		r.req(2, 0, func(e *wire.Encoder) { e.Uint(pwr); e.String("zwlr_output_power_manager_v1"); e.Uint(1); e.NewID(4) })
		r.req(4, 0, func(e *wire.Encoder) { e.NewID(5); e.Object(3) })
		if ev := r.expect(map[uint32]bool{5: true}, 5, 0); ev.args[0] != protocol.ZwlrOutputPowerV1ModeOn {
			t.Fatalf("initial mode %v", ev.args)
		}
		return r
	}
	a, b := watch(), watch()
	a.req(5, 0, func(e *wire.Encoder) { e.Uint(protocol.ZwlrOutputPowerV1ModeOff) })
	for _, r := range []*raw{a, b} {
		if ev := r.expect(map[uint32]bool{5: true}, 5, 0); ev.args[0] != protocol.ZwlrOutputPowerV1ModeOff {
			t.Fatalf("mode after set_mode(off): %v", ev.args)
		}
	}
	// A new watcher is told the recorded mode.
	r := dial(t, dir)
	r.bind(outName, "wl_output", 4, 3)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(pwr); e.String("zwlr_output_power_manager_v1"); e.Uint(1); e.NewID(4) })
	r.req(4, 0, func(e *wire.Encoder) { e.NewID(5); e.Object(3) })
	if ev := r.expect(map[uint32]bool{5: true}, 5, 0); ev.args[0] != protocol.ZwlrOutputPowerV1ModeOff {
		t.Fatalf("a new watcher's mode %v, want off", ev.args)
	}
}
