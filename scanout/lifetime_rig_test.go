package scanout

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// directSwapchain is n CMA targets the rig's display scans out directly,
// with a Presenter on its first pipeline.
func directSwapchain(t *testing.T, n int) (*Device, *Device, *Swapchain, *Presenter) {
	t.Helper()
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	a := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{cmaHeap()}, Logger: quietLog()})
	t.Cleanup(func() { a.Close() })
	sc, err := NewSwapchain(a, n, mode.Width, mode.Height, XRGB8888)
	a.Close() // the heaps; the buffers stay valid
	if err != nil {
		t.Fatal(err)
	}
	p, err := NewPresenter(display, pipe, PresenterOptions{Mode: mode, Logger: quietLog()})
	if err != nil {
		sc.Close()
		t.Fatal(err)
	}
	return display, render, sc, p
}

// On a real display: the buffer on screen and the one queued are busy,
// so a two-buffer swapchain is exhausted until the flip completes; a
// buffer is released from the Presenter's hold in order, when the next
// frame replaced it on screen.
func TestRigSwapchainBusyWhileShown(t *testing.T) {
	_, _, sc, p := directSwapchain(t, 2)
	defer sc.Close()
	defer p.Close()
	b0 := nextTarget(t, sc)
	if v := present(t, p, Submission{Buffer: b0}); v.Path != PathDirect {
		t.Fatalf("verdict %v, want direct", v)
	}
	if !b0.Busy() {
		t.Fatal("the buffer on screen is not busy")
	}
	b1 := nextTarget(t, sc)
	if b1 == b0 {
		t.Fatal("Next handed out the buffer on screen")
	}
	if _, err := p.Present(Submission{Buffer: b1}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := sc.Next(); !errors.Is(err, ErrSwapchainExhausted) {
		t.Fatalf("one on screen, one queued: Next = %v, want ErrSwapchainExhausted", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.WaitFlip(ctx); err != nil {
		t.Fatal(err)
	}
	if b0.Busy() || !b1.Busy() {
		t.Fatalf("after the flip: b0 busy %v (want false), b1 busy %v (want true)", b0.Busy(), b1.Busy())
	}
	if b := nextTarget(t, sc); b != b0 {
		t.Fatal("the buffer that left the screen was not handed out")
	}
}

// Closing the swapchain (and the buffers' owner) while a buffer is on
// screen frees nothing under the display: its framebuffer and imports
// stay until the Presenter lets go, and then nothing leaks (our counts
// and the kernel's).
func TestRigCloseWhileOnScreen(t *testing.T) {
	fds0 := rigtest.OpenFDs(t)
	fbs0 := debugfsFramebuffers(t)
	display, render, sc, p := directSwapchain(t, 3)
	b := nextTarget(t, sc)
	if v := present(t, p, Submission{Buffer: b}); v.Path != PathDirect {
		t.Fatalf("verdict %v, want direct", v)
	}
	fd := b.FD()
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if display.Framebuffers() != 1 || debugfsFramebuffers(t) <= fbs0 || !fdOpen(fd) {
		t.Fatalf("the buffer on screen was freed by its owner: %d framebuffers (kernel %d, before %d), fd open %v",
			display.Framebuffers(), debugfsFramebuffers(t), fbs0, fdOpen(fd))
	}
	if _, ok := b.handleOn(render); !ok {
		t.Fatal("render import dropped while on screen")
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if fdOpen(fd) {
		t.Fatal("the dma-buf is still open after the Presenter let go")
	}
	checkReleased(t, display, render, fbs0)
	closeAndCountFDs(t, fds0, display, render)
}

// When the device's event reader dies, a Presenter waiting for a flip
// gets an error at once instead of hanging.
func TestRigEventReaderDies(t *testing.T) {
	display, _, sc, p := directSwapchain(t, 2)
	defer sc.Close()
	defer p.Close()
	present(t, p, Submission{Buffer: nextTarget(t, sc)})
	display.stopEvents(errors.New("injected read failure"))
	if _, err := p.Present(Submission{Buffer: nextTarget(t, sc)}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := p.WaitFlip(ctx)
	if !errors.Is(err, ErrEventsStopped) || ctx.Err() != nil {
		t.Fatalf("WaitFlip after the reader died: %v after %v, want ErrEventsStopped at once", err, time.Since(start))
	}
	t.Log(err)
}

// A display handed over as an open fd (as a seat hands it out) works
// like one opened by path: the same dev_t, KMS, and a render node paired
// with it.
func TestRigDevicesFromFD(t *testing.T) {
	rig := rigtest.Require(t)
	gpus, err := Discover()
	if err != nil {
		t.Fatal(err)
	}
	var path string
	for _, g := range gpus {
		if g.Driver == rig || (g.Primary != "" && g.Render == "" && path == "") {
			path = g.Primary
		}
	}
	d := deviceFromFD(t, path)
	var st unix.Stat_t
	unix.Stat(path, &st)
	if rdev, err := d.Rdev(); err != nil || rdev != uint64(st.Rdev) || d.Path() != path || d.Driver() != rig {
		t.Fatalf("device from fd: rdev %d (want %d) %v, path %q, driver %q", rdev, st.Rdev, err, d.Path(), d.Driver())
	}
	if err := d.EnableKMS(); err != nil || !d.IsKMS() {
		t.Fatalf("KMS on a device from an fd: %v", err)
	}
	// Chosen by the probe (allocate, import, TEST_ONLY on the display's
	// pipeline), as OpenDevices chooses: vgem's targets work with both rigs'
	// displays.
	ch, err := OpenRender(gpus, d, DevicesConfig{Logger: quietLog()})
	if err != nil || ch.Render == nil || ch.Render.Driver() != "vgem" || !strings.Contains(ch.Reason, "probe: ") {
		t.Fatalf("render chosen for the fd display: %v (%s) %v", ch.Render, ch.Reason, err)
	}
	t.Logf("%s display from an fd: %s", rig, ch.Reason)
	if n := ch.Render.Handles() + d.Handles() + d.Framebuffers(); n != 0 {
		t.Errorf("the probe left %d GEM handles and framebuffers", n)
	}
	ch.Render.Close()
	if _, err := OpenRender(gpus, d, DevicesConfig{RenderNode: "/dev/dri/renderD200", Logger: quietLog()}); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a render node that does not exist: %v", err)
	}
	if ch, err := OpenRender(gpus, d, DevicesConfig{RenderNode: NoRender}); ch.Render != nil || err != nil || ch.Reason == "" {
		t.Fatalf("none: %v %q %v", ch.Render, ch.Reason, err)
	}
}

// deviceFromFD wraps an fd of the node at path, as a seat hands one
// out (NewDevice), closed when the test ends.
func deviceFromFD(t *testing.T, path string) *Device {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	d, err := NewDevice(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// A TEST_ONLY that fails for a reason that is not the buffer (here: not
// DRM master, EACCES) is not remembered as a refusal: once this file is
// master, the same buffer goes direct.
func TestRigTestOnlyNotMasterNotRemembered(t *testing.T) {
	display, render := rigDevices(t) // the first opener: master
	firstPipeline(t, display)        // probed by the master: connectors' modes known to all
	second, err := OpenDevice(display.Path())
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	pipe := firstPipeline(t, second)
	a := NewAllocator(AllocatorConfig{Render: render, Display: second, HeapPreference: []string{cmaHeap()}, Logger: quietLog()})
	b, _, err := a.Allocate(pipe.PreferredMode().Width, pipe.PreferredMode().Height, XRGB8888)
	a.Close()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	p, err := NewPresenter(second, pipe, PresenterOptions{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	v := p.Decide(b)
	if v.Path != PathBlit || v.Step != StepTest || v.Errno != unix.EACCES {
		t.Fatalf("not master: verdict %v, want a test-only EACCES", v)
	}
	if _, ok := b.Verdict(); ok {
		t.Fatal("a failure that is not about the buffer was remembered")
	}
	if err := display.dev.DropMaster(); err != nil {
		t.Fatal(err)
	}
	if err := second.dev.SetMaster(); err != nil {
		t.Fatal(err)
	}
	if v := p.Decide(b); v.Path != PathDirect {
		t.Fatalf("as master: verdict %v, want direct", v)
	}
}

// On a plane without IN_FENCE_FD the render fence is waited for on the
// CPU before the commit, not dropped: the frame is not committed before
// the fence signals.
func TestRigFenceWithoutInFenceProperty(t *testing.T) {
	_, _, sc, p := directSwapchain(t, 2)
	defer sc.Close()
	defer p.Close()
	present(t, p, Submission{Buffer: nextTarget(t, sc)}) // modeset
	p.prop.inFence = 0                                   // as on a plane without the property
	tl := rigtest.NewTimeline(t)
	fence := tl.Fence(t, 1)
	defer fence.Close()
	done := make(chan error, 1)
	b := nextTarget(t, sc)
	go func() {
		_, err := p.Present(Submission{Buffer: b, InFence: fence})
		done <- err
	}()
	select {
	case err := <-done:
		t.Fatalf("Present returned before the render fence signalled: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	tl.Inc(t, 1)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f, err := p.WaitFlip(ctx); err != nil || f.Buffer != b || f.Path != PathDirect {
		t.Fatalf("flip %+v %v", f, err)
	}
}
