package wayland

import (
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

func TestChooseHandover(t *testing.T) {
	xr, ar := scanout.XRGB8888, scanout.ARGB8888
	const tiled = uint64(0x0100000000000001) // I915_FORMAT_MOD_X_TILED
	shm := map[scanout.Format]bool{xr: true, ar: true}
	linearOnly := map[scanout.Format][]uint64{xr: {scanout.ModLinear}, ar: {scanout.ModLinear}}
	tiledOnly := map[scanout.Format][]uint64{xr: {tiled}}
	dmabuf := targetDesc{format: xr, modifier: scanout.ModLinear, isDmabuf: true}
	memfd := targetDesc{format: xr, modifier: scanout.ModLinear}
	for _, c := range []struct {
		name   string
		target targetDesc
		caps   parentCaps
		prefs  handoverPrefs
		want   Handover
		why    string
	}{
		{"dmabuf accepted", dmabuf, parentCaps{linearOnly, shm}, handoverPrefs{}, HandoverDmabuf, "accepts XR24"},
		{"tiled target, linear parent", targetDesc{xr, tiled, true}, parentCaps{linearOnly, shm}, handoverPrefs{}, HandoverShmCopy, "does not list XR24"},
		{"linear target, tiled parent", dmabuf, parentCaps{tiledOnly, shm}, handoverPrefs{}, HandoverShmCopy, "does not list XR24"},
		{"format missing", targetDesc{ar, scanout.ModLinear, true}, parentCaps{tiledOnly, shm}, handoverPrefs{}, HandoverShmCopy, "does not list AR24"},
		{"no linux-dmabuf", dmabuf, parentCaps{nil, shm}, handoverPrefs{}, HandoverShmCopy, "no zwp_linux_dmabuf_v1"},
		{"NoDMABuf", dmabuf, parentCaps{linearOnly, shm}, handoverPrefs{noDMABuf: true}, HandoverShmCopy, "disabled"},
		{"ForceCopy dmabuf", dmabuf, parentCaps{linearOnly, shm}, handoverPrefs{forceCopy: true}, HandoverShmCopy, "forced"},
		{"memfd, parent has dmabuf", memfd, parentCaps{linearOnly, shm}, handoverPrefs{}, HandoverShmZeroCopy, "memfd"},
		{"memfd, no dmabuf", memfd, parentCaps{nil, shm}, handoverPrefs{}, HandoverShmZeroCopy, "memfd"},
		{"memfd ForceCopy", memfd, parentCaps{nil, shm}, handoverPrefs{forceCopy: true}, HandoverShmCopy, "forced"},
	} {
		got, why, err := chooseHandover(c.target, c.caps, c.prefs)
		if err != nil || got != c.want || !strings.Contains(why, c.why) {
			t.Errorf("%s: got %v (%q, %v), want %v (%q)", c.name, got, why, err, c.want, c.why)
		}
	}
	// Neither dmabuf nor the format in wl_shm: no way at all.
	if _, _, err := chooseHandover(targetDesc{scanout.RGB565, scanout.ModLinear, true}, parentCaps{linearOnly, shm}, handoverPrefs{}); err == nil || !strings.Contains(err.Error(), "wl_shm lacks RG16") {
		t.Errorf("RGB565 with neither path: err %v", err)
	}
	if shmToFormat(formatToShm(xr)) != xr || formatToShm(ar) != 0 || formatToShm(xr) != 1 || shmToFormat(uint32(scanout.RGB565)) != scanout.RGB565 {
		t.Error("wl_shm format codes")
	}
}

func TestNoDisplay(t *testing.T) {
	runtimeDir(t)
	_, err := newEnv(Options{Display: "wayland-nobody"})
	if !errors.Is(err, backend.ErrNoDisplay) || !strings.Contains(err.Error(), "wayland-nobody") {
		t.Fatalf("err = %v, want backend.ErrNoDisplay naming the socket", err)
	}
	t.Setenv("XDG_RUNTIME_DIR", "")
	if _, err := newEnv(Options{Display: "wayland-0"}); !errors.Is(err, backend.ErrNoDisplay) {
		t.Fatalf("without XDG_RUNTIME_DIR: err = %v", err)
	}
}

// fill paints r of target with c (XRGB8888).
func fill(t testing.TB, target *scanout.Buffer, r image.Rectangle, c uint32) {
	t.Helper()
	m, err := target.Map()
	if err != nil {
		t.Fatal(err)
	}
	target.BeginCPUAccess(scanout.Write)
	defer target.EndCPUAccess(scanout.Write)
	r = r.Intersect(image.Rect(0, 0, target.Width, target.Height))
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := m[int(target.Offset)+y*int(target.Stride):]
		for x := r.Min.X; x < r.Max.X; x++ {
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = byte(c), byte(c>>8), byte(c>>16), 0xff
		}
	}
}

// frames presents n full frames and returns the frames' times.
func frames(t testing.TB, o backend.Output, n int, c uint32) []backend.Presented {
	t.Helper()
	var out []backend.Presented
	for range n {
		target, _, _ := o.Next()
		fill(t, target, image.Rect(0, 0, target.Width, target.Height), c)
		if _, err := o.Present(target, nil, nil); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		f, err := o.WaitFrame(ctx)
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, f)
	}
	return out
}

func TestPresentPaced(t *testing.T) {
	eachParent(t, func(t *testing.T, p *parent) {
		for _, force := range []bool{false, true} {
			log, logText := testLogger(t)
			b, err := newEnv(Options{Logger: log, Outputs: []backend.Size{{Width: 640, Height: 480}}, ForceCopy: force})
			if err != nil {
				t.Fatal(err)
			}
			o := b.Outputs()[0]
			want := "shm (zero-copy memfd)"
			if force {
				want = "shm (copy)"
			}
			if !strings.Contains(logText.String(), `handover="`+want+`"`) || !strings.Contains(o.Info().Strategy, want) {
				t.Errorf("hand-over %q not in the log / Info (%q)", want, o.Info().Strategy)
			}
			fs := frames(t, o, 30, 0x336699)
			var gaps []time.Duration
			for i := 1; i < len(fs); i++ {
				if fs[i].Sequence != fs[i-1].Sequence+1 {
					t.Fatalf("sequence %d after %d", fs[i].Sequence, fs[i-1].Sequence)
				}
				gaps = append(gaps, fs[i].Time-fs[i-1].Time)
			}
			slices.Sort(gaps)
			median := gaps[len(gaps)/2]
			// Both parents repaint at 60 Hz or slower; an unpaced loop
			// would run far faster than one frame per 8 ms.
			if median < 8*time.Millisecond || median > 100*time.Millisecond {
				t.Errorf("median frame interval %v: not paced by the parent", median)
			}
			b.ids.mu.Lock()
			reused, made := b.ids.reused, b.ids.counted
			b.ids.mu.Unlock()
			// Frame callback ids come back with wl_display.delete_id and are
			// reused, so the parent's object table does not grow per frame.
			if reused < 20 {
				t.Errorf("%d of %d object ids reused", reused, made)
			}
			st := o.Info().Stats
			t.Logf("%s parent, %s: median interval %v (min %v, max %v), stats %+v", p.kind, want, median, gaps[0], gaps[len(gaps)-1], st)
			if st.Frames != 30 || (force && (st.BlitFrames != 30 || st.BytesCopied == 0)) || (!force && (st.DirectFrames != 30 || st.BytesCopied != 0)) {
				t.Errorf("stats %+v", st)
			}
			if err := b.Close(); err != nil {
				t.Fatal(err)
			}
		}
	})
}

// screenshot takes a PNG of the minicomp parent with grim.
func screenshot(t *testing.T, p *parent) image.Image {
	t.Helper()
	grim, err := exec.LookPath("grim")
	if err != nil {
		t.Skip("grim not installed (test/rig/deps.sh installs it)")
	}
	file := filepath.Join(t.TempDir(), "shot.png")
	cmd := exec.Command(grim, file)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+p.dir, "WAYLAND_DISPLAY="+p.display)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("grim: %v\n%s", err, out)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func rgb(c color.Color) uint32 {
	r, g, b, _ := c.RGBA()
	return (r>>8)<<16 | (g>>8)<<8 | b>>8
}

// TestScreenshot checks the parent shows our pixels (the minicomp parent
// places the window at 0,0, maximized), and that a present with damage
// sends only that damage and still shows the right picture, with every
// hand-over this machine can do.
func TestScreenshot(t *testing.T) {
	p := startMinicomp(t, "800x600")
	for _, force := range []bool{false, true} {
		log, _ := testLogger(t)
		b, err := newEnv(Options{Logger: log, Outputs: []backend.Size{{Width: 640, Height: 480}}, ForceCopy: force})
		if err != nil {
			t.Fatal(err)
		}
		o := b.Outputs()[0].(*Output)
		if m := o.Mode(); m.Width != 800 || m.Height != 600 {
			t.Errorf("mode %v: the minicomp parent configures its output's size", m)
		}
		const bg, box, dot = 0x204080, 0xf0c010, 0x10e060
		all := image.Rect(0, 0, 800, 600)
		boxR := image.Rect(100, 50, 300, 200)
		dotR := image.Rect(400, 300, 432, 316)
		// The first frames paint everything into every target.
		for range 3 {
			target, _, _ := o.Next()
			fill(t, target, all, bg)
			fill(t, target, boxR, box)
			if _, err := o.Present(target, nil, nil); err != nil {
				t.Fatal(err)
			}
			if _, err := o.WaitFrame(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		// Damage-only frames: only dotR changes. A wl_shm buffer the
		// parent still holds (minicomp and weston's pixman renderer keep
		// the one they show until the next is drawn) catches up with the
		// frames it missed on its next use, so the copies are counted
		// once every buffer of the ring has been used since the full frames.
		for i := range maxBuffers + 1 {
			copied := o.Info().Stats.BytesCopied
			target, age, _ := o.Next()
			if age == 0 {
				t.Fatalf("age 0 after 3 frames")
			}
			fill(t, target, dotR, dot)
			if _, err := o.Present(target, []image.Rectangle{dotR, image.Rect(790, 590, 900, 900)}, nil); err != nil {
				t.Fatal(err)
			}
			if got, want := o.lastDamage(), []image.Rectangle{dotR, image.Rect(790, 590, 800, 600)}; !slices.Equal(got, want) {
				t.Errorf("damage sent %v, want %v (clipped)", got, want)
			}
			// Each buffer missed at most maxBuffers-1 such frames.
			if n := o.Info().Stats.BytesCopied - copied; force && i == maxBuffers && n > uint64((maxBuffers-1)*(dotR.Dx()*dotR.Dy()*4+10*10*4)) {
				t.Errorf("copied %d bytes for a %v damage", n, dotR)
			}
			if _, err := o.WaitFrame(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		// Wait one more parent frame so the screenshot has it.
		time.Sleep(50 * time.Millisecond)
		img := screenshot(t, p)
		for _, c := range []struct {
			x, y int
			want uint32
		}{{10, 10, bg}, {150, 100, box}, {299, 199, box}, {300, 200, bg}, {410, 305, dot}, {799, 599, bg}, {450, 330, bg}} {
			if got := rgb(img.At(c.x, c.y)); got != c.want {
				t.Errorf("ForceCopy=%v: pixel %d,%d = %06x, want %06x", force, c.x, c.y, got, c.want)
			}
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestResizeAndClose drives the configure and close handlers as the
// parent would (neither test parent resizes or closes windows itself).
func TestResizeAndClose(t *testing.T) {
	p := startMinicomp(t, "800x600")
	log, _ := testLogger(t)
	b, err := newEnv(Options{Logger: log, Display: filepath.Join(p.dir, p.display)}) // an absolute path works too
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.outputs[0]
	frames(t, o, 2, 0x123456)
	b.mu.Lock()
	serial := o.ackSerial
	b.mu.Unlock()
	// 0×0 keeps our size.
	outListener{o}.HandleToplevelConfigure(xdgConfigure(0, 0))
	outListener{o}.HandleSurfaceConfigure(xdgSurfaceConfigure(serial))
	if m := o.Mode(); m.Width != 800 || m.Height != 600 {
		t.Fatalf("0x0 configure changed the mode to %v", m)
	}
	outListener{o}.HandleToplevelConfigure(xdgConfigure(400, 300))
	outListener{o}.HandleSurfaceConfigure(xdgSurfaceConfigure(serial))
	ev := <-b.Events()
	if ev.Kind == backend.KeyboardLeave { // the window starts without the keyboard
		ev = <-b.Events()
	}
	if ev.Kind != backend.OutputResized || ev.Width != 400 || ev.Height != 300 || ev.Output != backend.Output(o) {
		t.Fatalf("event %+v, want OutputResized 400x300", ev)
	}
	if m := o.Mode(); m.Width != 400 || m.Height != 300 {
		t.Fatalf("mode %v after resize", m)
	}
	target, age, _ := o.Next()
	if target.Width != 400 || target.Height != 300 || age != 0 {
		t.Fatalf("target %v age %d after resize", target, age)
	}
	fill(t, target, image.Rect(0, 0, 400, 300), 0x654321)
	if _, err := o.Present(target, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := o.WaitFrame(context.Background()); err != nil {
		t.Fatal(err)
	}
	outListener{o}.HandleToplevelClose(xdgClose())
	if ev := <-b.Events(); ev.Kind != backend.OutputClosed || ev.Output != backend.Output(o) {
		t.Fatalf("event %+v, want OutputClosed", ev)
	}
}

func openFDs(t testing.TB) int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd")
	}
	return len(ents)
}

// TestParentGone kills the parent under a running backend.
func TestParentGone(t *testing.T) {
	eachParent(t, func(t *testing.T, p *parent) {
		time.Sleep(100 * time.Millisecond) // let test-start goroutines settle
		goroutines, fds := runtime.NumGoroutine(), openFDs(t)
		log, logText := testLogger(t)
		b, err := newEnv(Options{Logger: log, Outputs: []backend.Size{{Width: 320, Height: 240}, {Width: 320, Height: 240}}})
		if err != nil {
			t.Fatal(err)
		}
		o := b.Outputs()[0]
		frames(t, o, 3, 0xff0000)
		p.kill()
		var lost *backend.Event
		timeout := time.After(10 * time.Second)
		for lost == nil {
			select {
			case ev, ok := <-b.Events():
				if !ok {
					t.Fatal("events closed without EventLost")
				}
				if ev.Kind == backend.EventLost {
					lost = &ev
				}
			case <-timeout:
				t.Fatal("no EventLost 10s after the parent died")
			}
		}
		want := "wayland: lost connection to parent compositor " + p.display + ": "
		if !errors.Is(lost.Err, backend.ErrLost) || !strings.HasPrefix(lost.Err.Error(), want) {
			t.Errorf("EventLost.Err = %v, want %q…", lost.Err, want)
		}
		if _, ok := <-b.Events(); ok {
			t.Error("events not closed after EventLost")
		}
		if !strings.Contains(logText.String(), "lost the parent compositor") {
			t.Error("no log line for the loss")
		}
		// A frame in flight or a new one: both fail with backend.ErrLost.
		target, _, _ := o.Next()
		if _, err := o.Present(target, nil, nil); !errors.Is(err, backend.ErrLost) {
			t.Errorf("Present after loss: %v", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := b.Outputs()[1].WaitFrame(ctx); err == nil || !errors.Is(err, backend.ErrLost) {
			t.Errorf("WaitFrame after loss: %v", err)
		}
		start := time.Now()
		if err := b.Close(); err != nil {
			t.Errorf("Close after loss: %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Close took %v", d)
		}
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > goroutines {
			buf := make([]byte, 1<<16)
			t.Errorf("%d goroutines before, %d after Close:\n%s", goroutines, n, buf[:runtime.Stack(buf, true)])
		}
		if n := openFDs(t); n > fds {
			t.Errorf("%d fds before, %d after Close", fds, n)
		}
	})
}

// TestWaitFrameWithWindowPending checks a frame in flight when the
// parent dies: WaitFrame returns backend.ErrLost rather than hanging.
func TestWaitFrameInFlight(t *testing.T) {
	p := startMinicomp(t, "640x480")
	log, _ := testLogger(t)
	b, err := newEnv(Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.Outputs()[0]
	frames(t, o, 1, 0)
	p.cmd.Process.Signal(os.Interrupt) // a clean exit of the parent
	<-p.exited
	target, _, _ := o.Next()
	_, perr := o.Present(target, nil, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, werr := o.WaitFrame(ctx)
	if !errors.Is(werr, backend.ErrLost) {
		t.Fatalf("Present: %v; WaitFrame: %v, want backend.ErrLost", perr, werr)
	}
}

func TestCloseWhileRunning(t *testing.T) {
	eachParent(t, func(t *testing.T, p *parent) {
		time.Sleep(100 * time.Millisecond)
		goroutines, fds := runtime.NumGoroutine(), openFDs(t)
		log, _ := testLogger(t)
		b, err := newEnv(Options{Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		o := b.Outputs()[0]
		frames(t, o, 2, 0x00ff00)
		target, _, _ := o.Next()
		if _, err := o.Present(target, nil, nil); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("Close took %v", d)
		}
		if _, err := o.WaitFrame(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("WaitFrame after Close: %v", err)
		}
		if _, ok := <-b.Events(); ok {
			t.Error("events open after Close")
		}
		deadline := time.Now().Add(3 * time.Second)
		for runtime.NumGoroutine() > goroutines && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > goroutines {
			t.Errorf("%d goroutines before, %d after Close", goroutines, n)
		}
		if n := openFDs(t); n > fds {
			t.Errorf("%d fds before, %d after Close", fds, n)
		}
		select {
		case <-p.exited:
			t.Errorf("parent died:\n%s", p.out)
		default:
		}
	})
}

// TestCloseFrozenParent: Close returns promptly even when the parent
// answers nothing (stopped).
func TestCloseFrozenParent(t *testing.T) {
	p := startMinicomp(t, "640x480")
	log, _ := testLogger(t)
	b, err := newEnv(Options{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if b.conn == nil {
		t.Error("libConn found no socket in this version of github.com/neurlang/wayland")
	}
	o := b.Outputs()[0]
	frames(t, o, 2, 0x0000ff)
	p.cmd.Process.Signal(syscall.SIGSTOP)
	defer p.cmd.Process.Signal(syscall.SIGCONT)
	waitStopped(t, p)
	target, _, _ := o.Next()
	if _, err := o.Present(target, nil, nil); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 500*time.Millisecond {
		t.Errorf("Close took %v with a frozen parent", d)
	}
}

// TestDmabufRequests: this machine has no dma-buf source, so the memfd
// targets are handed over through linux-dmabuf as if they were dma-bufs.
// The minicomp parent accepts the create_immed (the requests are well
// formed) and fails the buffer at the first commit, when its dma-buf sync
// ioctl meets a memfd: a protocol error, which must end in EventLost
// naming it.
func TestDmabufRequests(t *testing.T) {
	startMinicomp(t, "640x480")
	log, logText := testLogger(t)
	b, err := newEnv(Options{Logger: log, memfdAsDmabuf: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.Outputs()[0].(*Output)
	if o.Handover() != HandoverDmabuf || !strings.Contains(logText.String(), `handover=dmabuf`) {
		t.Fatalf("hand-over %v", o.Handover())
	}
	target, _, _ := o.Next()
	if _, err := o.Present(target, nil, nil); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err = o.WaitFrame(ctx)
	if !errors.Is(err, backend.ErrLost) || !strings.Contains(err.Error(), "protocol error") || !strings.Contains(err.Error(), "SYNC_START") {
		t.Fatalf("WaitFrame: %v, want backend.ErrLost after the parent's protocol error about the sync ioctl", err)
	}
	for ev := range b.Events() {
		if ev.Kind == backend.EventLost {
			t.Logf("EventLost: %v", ev.Err)
		}
	}
}

// TestNewFrozenParent: New fails with backend.ErrNoDisplay, in bounded time, when
// the parent accepts the connection but never answers.
func TestNewFrozenParent(t *testing.T) {
	p := startMinicomp(t, "640x480")
	p.cmd.Process.Signal(syscall.SIGSTOP)
	defer p.cmd.Process.Signal(syscall.SIGCONT)
	waitStopped(t, p)
	defer func(d time.Duration) { setupTimeout = d }(setupTimeout)
	setupTimeout = 500 * time.Millisecond
	start := time.Now()
	_, err := newEnv(Options{Logger: quietLogger()})
	if !errors.Is(err, backend.ErrNoDisplay) || !strings.Contains(err.Error(), "timeout") {
		t.Errorf("New with a frozen parent: %v", err)
	}
	if d := time.Since(start); d > setupTimeout+time.Second {
		t.Errorf("New took %v", d)
	}
}

// TestDmabufRefusedFallsBack: after zwp_linux_buffer_params_v1.failed the
// next Next reallocates the targets for wl_shm.
func TestDmabufRefusedFallsBack(t *testing.T) {
	startMinicomp(t, "640x480")
	log, logText := testLogger(t)
	b, err := newEnv(Options{Logger: log, memfdAsDmabuf: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.outputs[0]
	if o.Handover() != HandoverDmabuf {
		t.Fatalf("hand-over %v", o.Handover())
	}
	// What the failed event's handler does (no test parent refuses).
	b.mu.Lock()
	o.dmabufFailed = true
	b.mu.Unlock()
	frames(t, o, 3, 0x777777)
	if o.Handover() != HandoverShmCopy || !strings.Contains(logText.String(), `handover="shm (copy)"`) {
		t.Fatalf("hand-over %v after the refusal", o.Handover())
	}
}

// TestStartsWithoutKeyboard: the first event says the window does not
// have the keyboard: the parent has not given it (wl_keyboard.enter) yet.
func TestStartsWithoutKeyboard(t *testing.T) {
	eachParent(t, func(t *testing.T, p *parent) {
		log, _ := testLogger(t)
		b, err := newEnv(Options{Logger: log, Outputs: []backend.Size{{Width: 320, Height: 240}}})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		select {
		case ev := <-b.Events():
			if ev.Kind != backend.KeyboardLeave || ev.Output != b.Outputs()[0] {
				t.Fatalf("first event %+v, want KeyboardLeave on WL-1", ev)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("no event")
		}
	})
}

// waitStopped waits until SIGSTOP has stopped the parent: the signal is
// asynchronous, and a parent still running answers the first requests
// (New then times out at a later step, with a different error).
func waitStopped(t *testing.T, p *parent) {
	t.Helper()
	stat := "/proc/" + strconv.Itoa(p.cmd.Process.Pid) + "/stat"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(5 * time.Millisecond) {
		b, err := os.ReadFile(stat)
		// The state follows the command name in parentheses.
		if i := strings.LastIndexByte(string(b), ')'); err == nil && i >= 0 && i+2 < len(b) && b[i+2] == 'T' {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("parent not stopped 5 s after SIGSTOP (%s: %q, %v)", stat, b, err)
		}
	}
}

// newEnv is New with the parent named by the environment, as
// cmd/minicomp does: $WAYLAND_DISPLAY in $XDG_RUNTIME_DIR.
func newEnv(opts Options) (*Backend, error) {
	if opts.Display == "" {
		opts.Display = os.Getenv("WAYLAND_DISPLAY")
	}
	opts.RuntimeDir = os.Getenv("XDG_RUNTIME_DIR")
	return New(opts)
}
