package x11

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"image"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/testenv"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// TestMain gives Example an X server: a private Xvfb on $DISPLAY, or,
// without Xvfb, skips it the way the tests skip.
func TestMain(m *testing.M) {
	flag.Parse()
	var x *exec.Cmd
	if _, err := exec.LookPath("Xvfb"); err == nil {
		r, w, _ := os.Pipe()
		x = exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1280x1024x24", "-nolisten", "tcp", "-noreset")
		x.ExtraFiles = []*os.File{w}
		if os.Getenv("X11_DEBUG") != "" {
			x.Stderr = os.Stderr
		}
		if err := x.Start(); err == nil {
			w.Close()
			// Xvfb writes the number and the newline separately: read
			// both before closing the pipe, or its second write fails.
			n, _ := bufio.NewReader(r).ReadString('\n')
			os.Setenv("DISPLAY", ":"+strings.TrimSpace(n))
		} else {
			x = nil
		}
		r.Close()
	}
	if x == nil && os.Getenv(testenv.EnvRequireX11) != "1" {
		skip := "^Example$"
		if s := flag.Lookup("test.skip").Value.String(); s != "" {
			skip = s + "|" + skip
		}
		flag.Set("test.skip", skip)
	}
	code := m.Run()
	if x != nil {
		x.Process.Kill()
		x.Wait()
	}
	os.Exit(code)
}

func testLogger(tb testing.TB) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

func newBackend(t testing.TB, opts Options) *Backend {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	b, err := New(opts)
	if err != nil {
		t.Fatalf("x11.New: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	// The window starting without X focus (the pointer elsewhere):
	// the tests below do not care.
	if b.unfocusedAtStart {
		if ev := <-b.Events(); ev.Kind != backend.KeyboardLeave {
			t.Fatalf("first event %+v, want KeyboardLeave", ev)
		}
	}
	return b
}

// next waits for the next event that is not an Expose-free bystander
// (keyboard focus noise is returned too: callers filter).
func next(t *testing.T, b *Backend) backend.Event {
	t.Helper()
	select {
	case ev, ok := <-b.Events():
		if !ok {
			t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		t.Fatal("no event for 10 s")
	}
	panic("unreachable")
}

// waitFor returns the first event of kind, failing on timeout; events
// of kinds in skip are passed over, any other kind is an error.
func waitFor(t *testing.T, b *Backend, kind backend.EventKind, skip ...backend.EventKind) backend.Event {
	t.Helper()
	for {
		ev := next(t, b)
		if ev.Kind == kind {
			return ev
		}
		ok := false
		for _, k := range skip {
			ok = ok || ev.Kind == k
		}
		if !ok {
			t.Fatalf("waiting for event kind %d, got %+v", kind, ev)
		}
	}
}

// noEvent checks that no event arrives for d.
func noEvent(t *testing.T, b *Backend, d time.Duration) {
	t.Helper()
	select {
	case ev := <-b.Events():
		t.Fatalf("unexpected event %+v", ev)
	case <-time.After(d):
	}
}

// fill draws f(x, y) (0xRRGGBB) into target.
func fill(t testing.TB, target *scanout.Buffer, f func(x, y int) uint32) {
	t.Helper()
	mem, err := target.Map()
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < target.Height; y++ {
		row := mem[int(target.Offset)+y*int(target.Stride):]
		for x := 0; x < target.Width; x++ {
			binary.LittleEndian.PutUint32(row[x*4:], f(x, y))
		}
	}
}

func pattern(x, y int) uint32 { return uint32(x*7)&0xff<<16 | uint32(y*3)&0xff<<8 | uint32(x^y)&0xff }

// checkImage compares the window's pixels (BGRX) with f.
func checkImage(t *testing.T, data []byte, w, h int, f func(x, y int) uint32) {
	t.Helper()
	bad := 0
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			got := binary.LittleEndian.Uint32(data[(y*w+x)*4:]) & 0xffffff
			if want := f(x, y); got != want {
				if bad < 5 {
					t.Errorf("pixel (%d,%d) = %06x, want %06x", x, y, got, want)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%d of %d pixels differ", bad, w*h)
	}
}

func present(t *testing.T, o backend.Output, target *scanout.Buffer, damage []image.Rectangle) scanout.Verdict {
	t.Helper()
	v, err := o.Present(target, damage, nil)
	if err != nil {
		t.Fatalf("Present: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := o.WaitFrame(ctx); err != nil {
		t.Fatalf("WaitFrame: %v", err)
	}
	return v
}

func TestNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	_, err := New(Options{Logger: testLogger(t)})
	if !errors.Is(err, backend.ErrNoDisplay) || !strings.Contains(err.Error(), "$DISPLAY is not set") {
		t.Fatalf("New without $DISPLAY: %v, want backend.ErrNoDisplay saying $DISPLAY is not set", err)
	}
	_, err = New(Options{Display: ":4093", Logger: testLogger(t)})
	if !errors.Is(err, backend.ErrNoDisplay) || !strings.Contains(err.Error(), ":4093") || !strings.Contains(err.Error(), "X11-unix/X4093") {
		t.Fatalf("New with a display nobody serves: %v, want backend.ErrNoDisplay naming the display and the socket", err)
	}
	t.Log(err)
}

// TestFrame shows frames and reads them back from the server, with
// MIT-SHM and with plain PutImage: a full frame, then one where only the
// damaged rectangle may change.
func TestFrame(t *testing.T) {
	for _, noSHM := range []bool{false, true} {
		t.Run(fmt.Sprintf("NoSHM=%v", noSHM), func(t *testing.T) {
			x := testenv.StartXvfb(t)
			const w, h = 333, 251 // odd sizes: target stride ≠ image stride
			b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: w, Height: h}}, NoSHM: noSHM})
			if ok, why := b.SHM(); ok == noSHM {
				t.Fatalf("SHM() = %v (%s) with NoSHM=%v; MIT-SHM must work under Xvfb", ok, why, noSHM)
			}
			peer := newPeer(t, x.Display)
			o := b.Outputs()[0]
			ox := b.outputs[0]
			if m := o.Mode(); m.Width != w || m.Height != h || m.RefreshMilliHz != 60000 {
				t.Fatalf("mode %v", m)
			}
			target, age, _ := o.Next()
			if age != 0 || target.Width != w || target.Height != h || target.Format != scanout.XRGB8888 {
				t.Fatalf("first target %v age %d", target, age)
			}
			fill(t, target, pattern)
			v := present(t, o, target, []image.Rectangle{image.Rect(0, 0, 1, 1)}) // first frame: all of it anyway
			t.Logf("verdict: %v", v)
			if v.Path != scanout.PathBlit || (noSHM == strings.Contains(v.Reason, "MIT-SHM PutImage")) {
				t.Fatalf("verdict %v", v)
			}
			checkImage(t, peer.image(ox.Window(), w, h), w, h, pattern)

			// Paint the whole target but damage one rectangle: only that
			// rectangle may reach the window.
			target, _, _ = o.Next()
			red := func(x, y int) uint32 { return 0xff0000 }
			fill(t, target, red)
			dmg := image.Rect(10, 20, 10+64, 20+48)
			present(t, o, target, []image.Rectangle{dmg})
			checkImage(t, peer.image(ox.Window(), w, h), w, h, func(x, y int) uint32 {
				if image.Pt(x, y).In(dmg) {
					return 0xff0000
				}
				return pattern(x, y)
			})
			info := o.Info()
			if info.Stats.Frames != 2 || info.Stats.BytesCopied != uint64(w*h*4+64*48*4) {
				t.Fatalf("stats %+v", info.Stats)
			}
			t.Logf("info: %s; targets %s", info.Display, info.Strategy)

			// Damage everything (nil): the whole frame is shown.
			target, _, _ = o.Next()
			fill(t, target, pattern)
			present(t, o, target, nil)
			checkImage(t, peer.image(ox.Window(), w, h), w, h, pattern)
		})
	}
}

// TestNoSHMExtension runs against a server without MIT-SHM (as a remote
// display is): the backend falls back to plain PutImage by itself and
// says why.
func TestNoSHMExtension(t *testing.T) {
	x := testenv.StartXvfb(t, "-extension", "MIT-SHM")
	const w, h = 200, 100
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: w, Height: h}}})
	ok, why := b.SHM()
	if ok || !strings.Contains(why, "no MIT-SHM") {
		t.Fatalf("SHM() = %v, %q; want false, no MIT-SHM extension", ok, why)
	}
	peer := newPeer(t, x.Display)
	o := b.Outputs()[0]
	target, _, _ := o.Next()
	fill(t, target, pattern)
	if v := present(t, o, target, nil); !strings.Contains(v.Reason, "plain PutImage") {
		t.Fatalf("verdict %v", v)
	}
	checkImage(t, peer.image(b.outputs[0].Window(), w, h), w, h, pattern)
	info := o.Info()
	if len(info.Unavailable) == 0 || info.Unavailable[len(info.Unavailable)-1].Name != "MIT-SHM" {
		t.Fatalf("Info().Unavailable %v does not list MIT-SHM", info.Unavailable)
	}
	t.Log(info.Display)
}

// TestPlainChunks uploads a frame bigger than one request with plain
// PutImage, full and partial width.
func TestPlainChunks(t *testing.T) {
	x := testenv.StartXvfb(t)
	const w, h = 1920, 1080
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: w, Height: h}}, NoSHM: true})
	peer := newPeer(t, x.Display)
	o := b.Outputs()[0]
	target, _, _ := o.Next()
	fill(t, target, pattern)
	present(t, o, target, nil)
	checkImage(t, peer.image(b.outputs[0].Window(), w, h), w, h, pattern)
	target, _, _ = o.Next()
	fill(t, target, func(x, y int) uint32 { return 0x123456 })
	dmg := []image.Rectangle{image.Rect(100, 0, 1800, 1080), image.Rect(0, 1000, 50, 1080)}
	present(t, o, target, dmg)
	checkImage(t, peer.image(b.outputs[0].Window(), w, h), w, h, func(x, y int) uint32 {
		for _, r := range dmg {
			if image.Pt(x, y).In(r) {
				return 0x123456
			}
		}
		return pattern(x, y)
	})
}

// TestInput drives the pointer and keyboard with XTEST and checks the
// events: evdev key codes, BTN codes, window coordinates, wheel axes.
func TestInput(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 400, Height: 300}}})
	peer := newPeer(t, x.Display)
	o := b.Outputs()[0]
	ox := b.outputs[0]
	if names, ok, err := b.KeymapNames(); err != nil || !ok || names.Rules != "evdev" || names.Layout == "" {
		t.Fatalf("KeymapNames() = %+v, %v, %v; want evdev rules and a layout", names, ok, err)
	} else {
		t.Logf("keymap names %+v", names)
	}
	// The window sits at the root's origin (no window manager).
	peer.move(100, 50)
	ev := waitFor(t, b, backend.PointerEnter, backend.KeyboardEnter)
	if ev.Output != o || ev.X != 100 || ev.Y != 50 {
		t.Fatalf("enter %+v, want X11-1 at 100,50", ev)
	}
	if ev = waitFor(t, b, backend.PointerMotion, backend.KeyboardEnter); ev.X != 100 || ev.Y != 50 || ev.Output != o {
		t.Fatalf("motion %+v", ev)
	}
	peer.move(200, 150)
	if ev = waitFor(t, b, backend.PointerMotion, backend.KeyboardEnter); ev.X != 200 || ev.Y != 150 {
		t.Fatalf("motion %+v, want 200,150", ev)
	}

	// Keys: X keycode 38 is 'a' on Xvfb's evdev-style map: KEY_A is 30.
	peer.fake(xproto.KeyPress, 38, 0, 0)
	ev = waitFor(t, b, backend.Key, backend.KeyboardEnter)
	if ev.Key != 30 || !ev.Pressed || ev.Output != o {
		t.Fatalf("key %+v, want KEY_A (30) pressed", ev)
	}
	if !ox.focused {
		t.Fatal("a key arrived without KeyboardEnter")
	}
	peer.fake(xproto.KeyRelease, 38, 0, 0)
	if ev = waitFor(t, b, backend.Key); ev.Key != 30 || ev.Pressed {
		t.Fatalf("key %+v, want KEY_A (30) released", ev)
	}
	peer.fake(xproto.KeyPress, 36, 0, 0) // Return → KEY_ENTER 28
	peer.fake(xproto.KeyRelease, 36, 0, 0)
	if ev = waitFor(t, b, backend.Key); ev.Key != 28 || !ev.Pressed {
		t.Fatalf("key %+v, want KEY_ENTER pressed", ev)
	}
	if ev = waitFor(t, b, backend.Key); ev.Key != 28 || ev.Pressed {
		t.Fatalf("key %+v, want KEY_ENTER released", ev)
	}

	// Buttons at the pointer's place in the window.
	for _, c := range []struct {
		x    byte
		code uint32
	}{{1, 0x110}, {2, 0x112}, {3, 0x111}, {8, 0x113}, {9, 0x114}} {
		peer.fake(xproto.ButtonPress, c.x, 0, 0)
		peer.fake(xproto.ButtonRelease, c.x, 0, 0)
		for _, pressed := range []bool{true, false} {
			ev = waitFor(t, b, backend.PointerButton)
			if ev.Button != c.code || ev.Pressed != pressed || ev.X != 200 || ev.Y != 150 || ev.Output != o {
				t.Fatalf("X button %d: %+v, want BTN %#x pressed=%v at 200,150", c.x, ev, c.code, pressed)
			}
		}
	}
	// The wheel: one axis event per click, none for the release.
	for _, c := range []struct {
		x          byte
		ax, ay     float64
		dx, dy     int32
		horizontal bool
	}{{4, 0, -10, 0, -1, false}, {5, 0, 10, 0, 1, false}, {6, -10, 0, -1, 0, true}, {7, 10, 0, 1, 0, true}} {
		peer.fake(xproto.ButtonPress, c.x, 0, 0)
		peer.fake(xproto.ButtonRelease, c.x, 0, 0)
		ev = waitFor(t, b, backend.PointerAxis)
		if ev.AxisX != c.ax || ev.AxisY != c.ay || ev.DiscreteX != c.dx || ev.DiscreteY != c.dy {
			t.Fatalf("X button %d: %+v", c.x, ev)
		}
	}
	noEvent(t, b, 100*time.Millisecond) // no axis event for the releases

	// A drag: press inside, move out, release outside: the leave comes
	// with the release (the implicit grab held the pointer).
	peer.fake(xproto.ButtonPress, 1, 0, 0)
	waitFor(t, b, backend.PointerButton)
	peer.move(600, 400)
	if ev = waitFor(t, b, backend.PointerMotion); ev.X != 600 || ev.Y != 400 {
		t.Fatalf("motion during a drag %+v", ev)
	}
	peer.fake(xproto.ButtonRelease, 1, 0, 0)
	if ev = waitFor(t, b, backend.PointerButton); ev.Pressed {
		t.Fatalf("%+v", ev)
	}
	waitFor(t, b, backend.PointerLeave)
	// Back in and out without buttons.
	peer.move(10, 10)
	waitFor(t, b, backend.PointerEnter)
	waitFor(t, b, backend.PointerMotion)
	peer.move(1000, 900)
	waitFor(t, b, backend.PointerLeave)
	noEvent(t, b, 100*time.Millisecond)
}

// TestAutoRepeat holds a key long enough for the server's auto-repeat and
// checks that exactly one press and one release arrive.
func TestAutoRepeat(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 200, Height: 200}}})
	peer := newPeer(t, x.Display)
	xproto.ChangeKeyboardControl(peer.c, xproto.KbAutoRepeatMode, []uint32{xproto.AutoRepeatModeOn})
	peer.move(50, 50)
	waitFor(t, b, backend.PointerMotion, backend.PointerEnter, backend.KeyboardEnter)
	peer.fake(xproto.KeyPress, 38, 0, 0)
	time.Sleep(1200 * time.Millisecond) // default delay 660 ms, then 25 Hz
	peer.fake(xproto.KeyRelease, 38, 0, 0)
	var keys []backend.Event
	for len(keys) < 2 {
		keys = append(keys, waitFor(t, b, backend.Key, backend.KeyboardEnter))
	}
	if !keys[0].Pressed || keys[1].Pressed {
		t.Fatalf("keys %+v, want one press then one release", keys)
	}
	noEvent(t, b, 200*time.Millisecond)
	if b.repeats.Load() == 0 {
		t.Fatal("the server did not auto-repeat the held key: the filter was not exercised")
	}
	t.Logf("auto-repeat pairs dropped: %d", b.repeats.Load())
}

// TestRepeatFilter feeds the translator X's auto-repeat pattern directly.
func TestRepeatFilter(t *testing.T) {
	b := &Backend{events: make(chan backend.Event, 16), done: make(chan struct{}), log: testLogger(t)}
	o := &Output{b: b, name: "X11-1", win: 7, focused: true}
	b.byWin = map[xproto.Window]*Output{7: o}
	b.closing.Store(true) // the closed channel below is not a lost server
	raw := make(chan rawEvent, 16)
	send := func(ev xgb.Event) { raw <- rawEvent{ev: ev, t: 1} }
	send(xproto.KeyPressEvent{Detail: 38, Time: 100, Event: 7})
	send(xproto.KeyReleaseEvent{Detail: 38, Time: 200, Event: 7}) // repeat pair
	send(xproto.KeyPressEvent{Detail: 38, Time: 200, Event: 7})
	send(xproto.KeyReleaseEvent{Detail: 38, Time: 300, Event: 7}) // real release, then another key
	send(xproto.KeyPressEvent{Detail: 39, Time: 300, Event: 7})
	send(xproto.KeyReleaseEvent{Detail: 39, Time: 400, Event: 7}) // real release, nothing follows
	done := make(chan struct{})
	go func() { b.translate(raw); close(done) }()
	var got []string
	for len(got) < 4 {
		select {
		case ev := <-b.events:
			got = append(got, fmt.Sprintf("%d:%v", ev.Key, ev.Pressed))
		case <-time.After(5 * time.Second):
			t.Fatalf("got %v", got)
		}
	}
	close(raw)
	<-done
	if s := strings.Join(got, " "); s != "30:true 30:false 31:true 31:false" {
		t.Fatalf("events %s", s)
	}
	if len(b.events) != 0 {
		t.Fatalf("extra events %d", len(b.events))
	}
}

// TestResize resizes the window from another client: OutputResized, the
// new mode, targets of the new size, and a frame that fills the window.
func TestResize(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 320, Height: 200}}})
	peer := newPeer(t, x.Display)
	o := b.Outputs()[0]
	target, _, _ := o.Next()
	fill(t, target, pattern)
	present(t, o, target, nil)
	if err := xproto.ConfigureWindowChecked(peer.c, xproto.Window(b.outputs[0].Window()),
		xproto.ConfigWindowWidth|xproto.ConfigWindowHeight, []uint32{640, 480}).Check(); err != nil {
		t.Fatal(err)
	}
	ev := waitFor(t, b, backend.OutputResized)
	if ev.Output != o || ev.Width != 640 || ev.Height != 480 {
		t.Fatalf("resize %+v", ev)
	}
	if m := o.Mode(); m.Width != 640 || m.Height != 480 || m.Name != "640x480" {
		t.Fatalf("mode after resize %v", m)
	}
	target, age, _ := o.Next()
	if target.Width != 640 || target.Height != 480 || age != 0 {
		t.Fatalf("target after resize %v age %d", target, age)
	}
	fill(t, target, pattern)
	// Damage one pixel: the first frame at a new size goes up whole.
	present(t, o, target, []image.Rectangle{image.Rect(0, 0, 1, 1)})
	checkImage(t, peer.image(b.outputs[0].Window(), 640, 480), 640, 480, pattern)
	if info := o.Info(); info.Mode.Width != 640 {
		t.Fatalf("info mode %v", info.Mode)
	}
}

// TestDeleteWindow sends WM_DELETE_WINDOW the way a window manager does.
func TestDeleteWindow(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 100, Height: 100}, {Width: 120, Height: 80}}})
	peer := newPeer(t, x.Display)
	win := xproto.Window(b.outputs[1].Window())
	var title string
	if r, err := xproto.GetProperty(peer.c, false, win, xproto.AtomWmName, xproto.AtomString, 0, 64).Reply(); err == nil {
		title = string(r.Value)
	}
	if title != "minicomp - X11-2" {
		t.Fatalf("title %q", title)
	}
	msg := xproto.ClientMessageEvent{Format: 32, Window: win, Type: b.atomProtocols,
		Data: xproto.ClientMessageDataUnionData32New([]uint32{uint32(b.atomDelete), 0, 0, 0, 0})}
	if err := xproto.SendEventChecked(peer.c, false, win, 0, string(msg.Bytes())).Check(); err != nil {
		t.Fatal(err)
	}
	ev := waitFor(t, b, backend.OutputClosed)
	if ev.Output != b.Outputs()[1] {
		t.Fatalf("closed %v, want X11-2", ev.Output.Name())
	}
}

func countFDs(t *testing.T) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// shmExists reports whether SysV segment id is in /proc/sysvipc/shm.
func shmExists(t *testing.T, id int) bool {
	_, _, ok := shmState(t, id)
	return ok
}

// shmState returns segment id's permission bits (with SHM_DEST, 01000,
// once it is marked for removal) and its number of attachments.
func shmState(t *testing.T, id int) (perms, nattch int64, ok bool) {
	data, err := os.ReadFile("/proc/sysvipc/shm")
	if err != nil {
		t.Fatal(err)
	}
	// key shmid perms size cpid lpid nattch ...
	for _, line := range strings.Split(string(data), "\n")[1:] {
		f := strings.Fields(line)
		if len(f) > 6 && f[1] == strconv.Itoa(id) {
			perms, _ = strconv.ParseInt(f[2], 8, 64)
			nattch, _ = strconv.ParseInt(f[6], 10, 64)
			return perms, nattch, true
		}
	}
	return 0, 0, false
}

// settle waits until the goroutine count is at most n.
func settle(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, had %d before:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestServerKilled kills the X server under a running backend.
func TestServerKilled(t *testing.T) {
	x := testenv.StartXvfb(t)
	goroutines, fds := runtime.NumGoroutine(), countFDs(t)
	b, err := New(Options{Display: x.Display, Outputs: []backend.Size{{Width: 256, Height: 256}, {Width: 128, Height: 128}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	var ids []int
	for _, o := range b.outputs {
		if o.seg == nil {
			t.Fatal("MIT-SHM not used under Xvfb")
		}
		ids = append(ids, o.seg.id)
		target, _, _ := o.Next()
		fill(t, target, pattern)
		present(t, o, target, nil)
	}
	o := b.Outputs()[0]
	target, _, _ := o.Next()
	x.Kill()
	ev := waitFor(t, b, backend.EventLost, backend.KeyboardEnter, backend.KeyboardLeave, backend.PointerEnter, backend.PointerLeave)
	want := "x11: lost connection to X server " + x.Display + ": "
	if !errors.Is(ev.Err, backend.ErrLost) || !strings.HasPrefix(ev.Err.Error(), want) {
		t.Fatalf("EventLost error %q, want backend.ErrLost starting %q", ev.Err, want)
	}
	t.Log(ev.Err)
	select {
	case ev, ok := <-b.Events():
		if ok {
			t.Fatalf("event after EventLost: %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("event channel not closed after EventLost")
	}
	if _, err := o.Present(target, nil, nil); !errors.Is(err, backend.ErrLost) {
		t.Fatalf("Present after loss: %v", err)
	}
	if _, err := o.WaitFrame(context.Background()); !errors.Is(err, backend.ErrLost) {
		t.Fatalf("WaitFrame after loss: %v", err)
	}
	start := time.Now()
	b.Close()
	if d := time.Since(start); d > time.Second {
		t.Fatalf("Close took %v", d)
	}
	b.Close()
	settle(t, goroutines)
	if n := countFDs(t); n > fds {
		t.Fatalf("%d fds open, %d before", n, fds)
	}
	for _, id := range ids {
		if shmExists(t, id) {
			t.Fatalf("SysV segment %d still exists", id)
		}
	}
}

// TestLostWhileWaiting kills the server while WaitFrame waits.
func TestLostWhileWaiting(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 64, Height: 64}}, RefreshMilliHz: 1000})
	o := b.Outputs()[0]
	target, _, _ := o.Next()
	if _, err := o.Present(target, nil, nil); err != nil {
		t.Fatal(err)
	}
	go x.Kill()
	var err error
	for err == nil {
		_, err = o.WaitFrame(context.Background())
		if err == nil {
			target, _, _ = o.Next()
			_, err = o.Present(target, nil, nil)
		}
	}
	if !errors.Is(err, backend.ErrLost) {
		t.Fatalf("error %v, want backend.ErrLost", err)
	}
}

// TestClose checks that a normal Close leaves nothing behind: windows,
// segments, goroutines, fds.
func TestClose(t *testing.T) {
	x := testenv.StartXvfb(t)
	peer := newPeer(t, x.Display)
	goroutines, fds := runtime.NumGoroutine(), countFDs(t)
	b, err := New(Options{Display: x.Display, Outputs: []backend.Size{{Width: 300, Height: 200}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	o := b.outputs[0]
	id, win := o.seg.id, xproto.Window(o.Window())
	// Attached here and in the server, and already marked for removal:
	// if either side dies, the kernel frees it with the last detach.
	if perms, nattch, ok := shmState(t, id); !ok || perms&0o1000 == 0 || nattch != 2 {
		t.Fatalf("segment %d: present %v, perms %o, attachments %d; want SHM_DEST set and 2 attachments", id, ok, perms, nattch)
	}
	target, _, _ := o.Next()
	fill(t, target, pattern)
	present(t, o, target, nil)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	for range b.Events() { // drained and closed
	}
	if _, err := o.Present(target, nil, nil); err == nil {
		t.Fatal("Present after Close succeeded")
	}
	settle(t, goroutines)
	if n := countFDs(t); n > fds {
		t.Fatalf("%d fds open, %d before", n, fds)
	}
	if shmExists(t, id) {
		t.Fatalf("SysV segment %d still exists", id)
	}
	if _, err := xproto.GetGeometry(peer.c, xproto.Drawable(win)).Reply(); err == nil {
		t.Fatal("window still exists after Close")
	}
}

// TestExpose unmaps and maps the window (its content is lost) and checks
// that the last frame is put back without a new Present.
func TestExpose(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 160, Height: 120}}})
	peer := newPeer(t, x.Display)
	o := b.Outputs()[0]
	win := xproto.Window(b.outputs[0].Window())
	target, _, _ := o.Next()
	fill(t, target, pattern)
	present(t, o, target, nil)
	xproto.UnmapWindow(peer.c, win)
	xproto.MapWindow(peer.c, win)
	deadline := time.Now().Add(5 * time.Second)
	for {
		data := peer.image(uint32(win), 160, 120)
		if binary.LittleEndian.Uint32(data[(119*160+159)*4:])&0xffffff == pattern(159, 119) {
			checkImage(t, data, 160, 120, pattern)
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("window not repainted after Expose")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPacing checks that WaitFrame keeps to the refresh rate and returns
// CLOCK_MONOTONIC times.
func TestPacing(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 64, Height: 64}}})
	o := b.Outputs()[0]
	start := time.Now()
	var last backend.Presented
	for i := 0; i < 12; i++ {
		target, _, _ := o.Next()
		if _, err := o.Present(target, nil, nil); err != nil {
			t.Fatal(err)
		}
		if _, err := o.Present(target, nil, nil); !errors.Is(err, scanout.ErrFlipPending) {
			t.Fatalf("second Present before WaitFrame: %v", err)
		}
		f, err := o.WaitFrame(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if f.Sequence != last.Sequence+1 || f.Time <= last.Time || f.Path != scanout.PathBlit {
			t.Fatalf("frame %+v after %+v", f, last)
		}
		last = f
	}
	if d := time.Since(start); d < 11*time.Second/60 {
		t.Fatalf("12 frames in %v: faster than 60 Hz", d)
	}
	if now := monotonic(); last.Time > now || now-last.Time > time.Second {
		t.Fatalf("frame time %v, CLOCK_MONOTONIC now %v", last.Time, now)
	}
}

// TestInitialFocus: a window that starts without the keyboard says so
// (KeyboardLeave first), and gets KeyboardEnter with X focus; one under
// the pointer with focus PointerRoot starts with it (no event).
func TestInitialFocus(t *testing.T) {
	x := testenv.StartXvfb(t)
	peer := newPeer(t, x.Display)
	focus := func(w xproto.Window) {
		t.Helper()
		if err := xproto.SetInputFocusChecked(peer.c, xproto.InputFocusPointerRoot, w, xproto.TimeCurrentTime).Check(); err != nil {
			t.Fatalf("SetInputFocus: %v", err)
		}
	}
	focus(xproto.Window(xproto.InputFocusPointerRoot))
	peer.move(1000, 900) // outside the window at the origin

	b, err := New(Options{Display: x.Display, Outputs: []backend.Size{{Width: 320, Height: 240}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	if !b.unfocusedAtStart {
		t.Error("a window away from the pointer with PointerRoot focus starts with the keyboard")
	}
	if ev := next(t, b); ev.Kind != backend.KeyboardLeave || ev.Output != b.Outputs()[0] {
		t.Fatalf("first event %+v, want KeyboardLeave on X11-1", ev)
	}
	focus(xproto.Window(b.outputs[0].win))
	if ev := waitFor(t, b, backend.KeyboardEnter, backend.PointerEnter, backend.PointerLeave); ev.Output != b.Outputs()[0] {
		t.Fatalf("KeyboardEnter on %v", ev.Output)
	}

	b.Close()
	focus(xproto.Window(xproto.InputFocusPointerRoot))
	peer.move(10, 10) // in the next window, which keys will go to
	b2, err := New(Options{Display: x.Display, Outputs: []backend.Size{{Width: 320, Height: 240}}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b2.Close() })
	if b2.unfocusedAtStart {
		t.Errorf("KeyboardLeave for a window that has the keyboard (under the pointer, focus PointerRoot)")
	}
}
