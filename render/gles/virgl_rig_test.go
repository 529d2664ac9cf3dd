package gles

// virgl in the single-device shape (the amd64 rig guest with Mesa):
// render targets from virtio-gpu's own allocator, imported as EGLImages,
// drawn by the GPU driver, fenced with its native fence and scanned out by
// virtio-gpu's own KMS.

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/rigtest/rigmesa"
	"github.com/minicomp/minicomp/scanout"

	"golang.org/x/sys/unix"
)

// virglRig is virtio-gpu's render node (as a scanout.Device, for the
// allocator), a renderer on it and virtio-gpu's display.
type virglRig struct {
	dev, display *scanout.Device
	pipe         scanout.Pipeline
	mode         scanout.Mode
	r            *Renderer
}

func newVirglRig(t *testing.T) *virglRig {
	t.Helper()
	rigmesa.Require(t)
	node := rigmesa.RenderNode(t, "virtio_gpu")
	gpus, err := scanout.Discover()
	if err != nil {
		t.Fatal(err)
	}
	var primary string
	for _, g := range gpus {
		if g.Driver == "virtio_gpu" {
			primary = g.Primary
		}
	}
	v := &virglRig{}
	if v.dev, err = scanout.OpenDevice(node); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { v.dev.Close() })
	display, _, pipes, err := scanout.OpenDisplay(gpus, primary)
	if err != nil {
		t.Fatalf("virtio-gpu's display %q: %v", primary, err)
	}
	t.Cleanup(func() { display.Close() })
	v.display, v.pipe, v.mode = display, pipes[0], pipes[0].PreferredMode()
	v.r = newR(t, Options{Device: node})
	if i := v.r.Info(); i.Driver != "virtio_gpu" || !i.DMABufImport || !i.NativeFence {
		t.Fatalf("renderer on %s: %+v; want virgl with dma-buf import and native fences", node, i)
	}
	return v
}

// drawFenced clears b to bg with a red square at (8,8)-(24,24) and returns
// the frame's fence.
func drawFenced(t *testing.T, r *Renderer, b *scanout.Buffer, bg color.NRGBA) *os.File {
	t.Helper()
	if err := r.Begin(b, nil); err != nil {
		t.Fatal(err)
	}
	r.Clear(bg)
	r.FillRect(image.Rect(8, 8, 24, 24), color.NRGBA{R: 0xff, A: 0xff})
	fence, err := r.End()
	if err != nil {
		t.Fatal(err)
	}
	if fence == nil {
		t.Fatal("a frame into an imported target on virgl ended without a native fence")
	}
	return fence
}

// glPixel reads pixel (x,y) of b's target through the GPU (glReadPixels
// on its framebuffer) as 0xRRGGBB.
func glPixel(t *testing.T, r *Renderer, b *scanout.Buffer, x, y int) uint32 {
	t.Helper()
	var p [4]byte
	err := r.do(func() error {
		tg := r.targets[b]
		if tg == nil {
			return fmt.Errorf("no target for %v", b)
		}
		dl.Call(r.l.glBindFramebuffer, glFramebuffer, uintptr(tg.fbo))
		dl.Call(r.l.glReadPixels, uintptr(x), uintptr(y), 1, 1, glRGBA, glUnsignedByte, uintptr(unsafe.Pointer(&p[0])))
		return r.glCheck("glReadPixels")
	})
	if err != nil {
		t.Fatal(err)
	}
	return uint32(p[0])<<16 | uint32(p[1])<<8 | uint32(p[2])
}

// checkGL checks the frame drawFenced drew into b, read through the GPU.
func checkGL(t *testing.T, r *Renderer, b *scanout.Buffer, bg uint32) {
	t.Helper()
	for _, c := range []struct {
		x, y int
		want uint32
	}{{0, 0, bg}, {b.Width - 1, b.Height - 1, bg}, {8, 8, 0xff0000}, {23, 23, 0xff0000}, {24, 24, bg}, {8, b.Height - 9, bg}} {
		if got := glPixel(t, r, b, c.x, c.y); got != c.want {
			t.Errorf("%s: pixel (%d,%d) = %06x, want %06x", b.Origin, c.x, c.y, got, c.want)
		}
	}
}

// checkSyncFile checks f is a sync_file and returns whether it was still
// pending and how long it took to signal.
func checkSyncFile(t *testing.T, f *os.File) (pending bool, wait time.Duration) {
	t.Helper()
	link, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", f.Fd()))
	if err != nil || link != "anon_inode:sync_file" {
		t.Fatalf("render fence fd %d is %q (%v), want a sync_file", f.Fd(), link, err)
	}
	pending = dmabuf.WaitFence(int(f.Fd()), 0) != nil
	t0 := time.Now()
	if err := dmabuf.WaitFence(int(f.Fd()), 5*time.Second); err != nil {
		t.Fatalf("render fence never signalled: %v", err)
	}
	return pending, time.Since(t0)
}

func flip(t *testing.T, p *scanout.Presenter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.WaitFlip(ctx); err != nil {
		t.Fatalf("WaitFlip: %v", err)
	}
}

// A target from virtio-gpu's own allocator (VIRTGPU_RESOURCE_CREATE)
// imports into virgl as an EGLImage framebuffer; a frame drawn into it
// reads back right through the GPU; its native fence is a sync_file that
// signals; the same buffer goes direct on virtio-gpu's primary plane with
// the fence as IN_FENCE_FD, and the blit path waits for the fence before
// its CPU copy.
func TestRigVirglNativeTarget(t *testing.T) {
	v := newVirglRig(t)
	r, w, h := v.r, v.mode.Width, v.mode.Height
	t0 := time.Now()
	b, err := scanout.RenderNativeStrategy{Render: v.dev}.Allocate(w, h, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	t.Logf("%v: allocated in %v", b, time.Since(t0))

	t0 = time.Now()
	fence := drawFenced(t, r, b, color.NRGBA{B: 0xff, A: 0xff})
	first := time.Since(t0)
	if tg := r.targets[b]; tg == nil || tg.readback || tg.image == 0 {
		t.Fatalf("target %+v: want an EGLImage framebuffer, drawn in place", tg)
	}
	pending, wait := checkSyncFile(t, fence)
	fence.Close()
	t.Logf("first frame (EGLImage import + draw): End after %v; fence pending at End %v, signalled %v later", first, pending, wait)
	checkGL(t, r, b, 0x0000ff)

	// The same buffer as a client texture (virgl lists no modifiers for
	// XR24; LINEAR imports all the same), drawn into a second target.
	t0 = time.Now()
	tex, err := r.ImportDMABuf(b)
	if err != nil {
		t.Fatalf("ImportDMABuf of a render-native buffer: %v", err)
	}
	t.Logf("client texture import (EGLImage): %v", time.Since(t0))
	b2, err := scanout.RenderNativeStrategy{Render: v.dev}.Allocate(64, 64, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if err := r.Begin(b2, nil); err != nil {
		t.Fatal(err)
	}
	r.Draw(tex, image.Rect(0, 0, 32, 32), image.Rect(0, 0, 32, 32), 1)
	if f, err := r.End(); err != nil {
		t.Fatal(err)
	} else if f != nil {
		checkSyncFile(t, f)
		f.Close()
	}
	if got := [2]uint32{glPixel(t, r, b2, 2, 2), glPixel(t, r, b2, 12, 12)}; got != [2]uint32{0x0000ff, 0xff0000} {
		t.Errorf("the client texture drew %06x, want [0000ff ff0000]", got)
	}
	tex.Release()
	r.Forget(b2)

	// Direct, with the render fence as IN_FENCE_FD.
	p, err := scanout.NewPresenter(v.display, v.pipe, scanout.PresenterOptions{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	const frames = 10
	var draw, show time.Duration
	for i := range frames {
		t0 := time.Now()
		fence := drawFenced(t, r, b, color.NRGBA{G: uint8(i * 20), B: 0xff, A: 0xff})
		t1 := time.Now()
		vd, err := p.Present(scanout.Submission{Buffer: b, InFence: fence})
		if err != nil || vd.Path != scanout.PathDirect {
			t.Fatalf("frame %d with IN_FENCE_FD: %v %v", i, vd, err)
		}
		flip(t, p)
		t2 := time.Now()
		if err := dmabuf.WaitFence(int(fence.Fd()), 0); err != nil {
			t.Fatalf("frame %d flipped before its render fence signalled: %v", i, err)
		}
		fence.Close()
		draw, show = draw+t1.Sub(t0), show+t2.Sub(t1)
	}
	checkGL(t, r, b, 0x00b4ff)
	t.Logf("%d frames direct: draw (record + submit) %v, commit with IN_FENCE_FD to flip %v per frame", frames, draw/frames, show/frames)
	checkScreen(t, w, h, "render-native target, direct", map[image.Point]uint32{
		{0, 0}: 0x00b4ff, {16, 16}: 0xff0000, {16, h - 16}: 0x00b4ff, {w - 1, h - 1}: 0x00b4ff})
	p.Close()

	// Blit: the CPU copy waits for the fence (what it copies are the
	// guest pages, which virgl does not update: see ErrHostRendered).
	p, err = scanout.NewPresenter(v.display, v.pipe, scanout.PresenterOptions{Logger: quiet(), DisableDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	pendings := 0
	for range frames {
		fence := drawFenced(t, r, b, color.NRGBA{B: 0xff, A: 0xff})
		if dmabuf.WaitFence(int(fence.Fd()), 0) != nil {
			pendings++
		}
		vd, err := p.Present(scanout.Submission{Buffer: b, InFence: fence})
		if err != nil || vd.Path != scanout.PathBlit {
			t.Fatalf("blit with a render fence: %v %v", vd, err)
		}
		if err := dmabuf.WaitFence(int(fence.Fd()), 0); err != nil {
			t.Fatalf("the blit path returned before the render fence signalled: %v", err)
		}
		fence.Close()
		flip(t, p)
	}
	t.Logf("blit: %d of %d fences were pending when Present began; each had signalled when it returned", pendings, frames)
}

// The fallback, compared: a dumb buffer on virtio-gpu's card node (what
// kmsro allocates) imports into virgl and scans out, but it is a 2D
// resource. QEMU makes those Y_0_TOP, so virgl draws it upside down
// relative to a render-native target (checked here through the GPU), and
// what the screen shows is its guest pages, which the kernel copies to the
// host on plane updates: all black (checked on the screen, an xwd of
// QEMU's window) where the render-native target shows the frame. The
// allocator never pairs kmsro-dumb with a host-rendered device.
func TestRigVirglDumbTarget(t *testing.T) {
	v := newVirglRig(t)
	r := v.r
	b, err := scanout.KMSRODumbStrategy{Display: v.display}.Allocate(v.mode.Width, v.mode.Height, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	fence := drawFenced(t, r, b, color.NRGBA{B: 0xff, A: 0xff})
	if tg := r.targets[b]; tg == nil || tg.readback {
		t.Fatalf("target %+v: want an EGLImage framebuffer", tg)
	}
	checkSyncFile(t, fence)
	h := b.Height
	for _, c := range []struct {
		x, y int
		want uint32
	}{{0, 0, 0x0000ff}, {8, 8, 0x0000ff}, {8, h - 9, 0xff0000}, {23, h - 24, 0xff0000}, {24, h - 25, 0x0000ff}} {
		if got := glPixel(t, r, b, c.x, c.y); got != c.want {
			t.Errorf("dumb target: pixel (%d,%d) = %06x, want %06x (upside down, as measured)", c.x, c.y, got, c.want)
		}
	}
	p, err := scanout.NewPresenter(v.display, v.pipe, scanout.PresenterOptions{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	vd, err := p.Present(scanout.Submission{Buffer: b, InFence: fence})
	fence.Close()
	if err != nil || vd.Path != scanout.PathDirect {
		t.Fatalf("dumb buffer on virtio-gpu: %v %v", vd, err)
	}
	flip(t, p)
	w := b.Width
	// Black: neither the square (either way up) nor the background. (The
	// screen's pixel (0,0) was measured blue, the rest black.)
	checkScreen(t, w, h, "dumb target drawn by virgl, direct", map[image.Point]uint32{
		{16, 16}: 0, {16, h - 16}: 0, {w / 2, h / 2}: 0, {w - 1, h - 1}: 0})
}

// screenAt asks vmexec what the screen (QEMU's window on the rig's Xvfb:
// virtio-gpu's scanout) shows at pts, as 0xRRGGBB: a request on the
// console, the answer on the console tty's input (test/rig/cmd/vmexec's
// screen.go).
func screenAt(t *testing.T, w, h int, pts ...image.Point) []uint32 {
	t.Helper()
	tty := os.Getenv("MINICOMP_RIG_SCREEN")
	if tty == "" {
		t.Fatal("MINICOMP_RIG_SCREEN unset: vmexec sets it in the Mesa guest")
	}
	fd, err := unix.Open(tty, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	raw := *old // input raw and not echoed; output (the console) as it was
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &raw); err != nil {
		t.Fatal(err)
	}
	defer unix.IoctlSetTermios(fd, unix.TCSETS, old)
	unix.IoctlSetInt(fd, unix.TCFLSH, unix.TCIFLUSH)
	req := fmt.Sprintf("%dx%d", w, h)
	for _, p := range pts {
		req += fmt.Sprintf(" %d,%d", p.X, p.Y)
	}
	fmt.Printf("\n@@MINICOMP-RIG-SCREEN %s@@\n", req)
	os.Stdout.Sync()
	const prefix = "@@MINICOMP-RIG-SCREEN-REPLY "
	var got []byte
	deadline := time.Now().Add(30 * time.Second)
	buf := make([]byte, 256)
	for {
		i := strings.Index(string(got), prefix)
		if i >= 0 {
			if j := strings.Index(string(got[i+len(prefix):]), "@@"); j >= 0 {
				got = got[i+len(prefix) : i+len(prefix)+j]
				break
			}
		}
		left := time.Until(deadline)
		if left <= 0 {
			t.Fatalf("no screen reply from vmexec within 30s (got %q)", got)
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		if n, err := unix.Poll(fds, int(left/time.Millisecond)+1); err != nil && err != unix.EINTR {
			t.Fatal(err)
		} else if n == 0 {
			continue
		}
		n, err := unix.Read(fd, buf)
		if err != nil && err != unix.EINTR && err != unix.EAGAIN {
			t.Fatal(err)
		}
		got = append(got, buf[:max(n, 0)]...)
	}
	reply := string(got)
	if strings.HasPrefix(reply, "error: ") {
		t.Fatalf("screen request %q: %s", req, reply)
	}
	f := strings.Fields(reply)
	if len(f) != len(pts) {
		t.Fatalf("screen request %q: reply %q", req, reply)
	}
	out := make([]uint32, len(f))
	for i, s := range f {
		v, err := strconv.ParseUint(s, 16, 32)
		if err != nil {
			t.Fatalf("screen reply %q: %v", reply, err)
		}
		out[i] = uint32(v)
	}
	return out
}

// checkScreen checks what the screen shows at points against want.
func checkScreen(t *testing.T, w, h int, what string, want map[image.Point]uint32) {
	t.Helper()
	var pts []image.Point
	for p := range want {
		pts = append(pts, p)
	}
	got := screenAt(t, w, h, pts...)
	for i, p := range pts {
		if got[i] != want[p] {
			t.Errorf("%s: the screen shows %06x at %v, want %06x", what, got[i], p, want[p])
		}
	}
	t.Logf("%s: the screen (an xwd of QEMU's window) shows %06x at %v", what, got, pts)
}
