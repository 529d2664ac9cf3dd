package scanout

// Tests against real kernels, run in the QEMU rig (test/rig): vkms + vgem
// (x86_64, arm64) and pl111 + vgem (32-bit arm, a drm_gem_dma display that
// refuses non-contiguous memory like vc4). Outside the rig they skip.

import (
	"context"
	"errors"
	"fmt"
	"image"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
)

// rigDevices opens the rig's display (vkms or pl111) and render (vgem)
// devices.
func rigDevices(t testing.TB) (display, render *Device) {
	t.Helper()
	rig := rigtest.Require(t)
	gpus, err := drm.Scan("/sys", "/dev/dri")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gpus {
		if g.Primary != nil && display == nil {
			d, err := OpenDevice(g.Primary.Path)
			if err != nil {
				t.Fatal(err)
			}
			if d.Driver() == rig {
				display = d
				continue
			}
			d.Close()
		}
	}
	node, why := drm.PairRender(gpus, nil, "")
	if node == nil {
		t.Fatalf("no render node: %s", why)
		return nil, nil
	}
	render, err = OpenDevice(node.Path)
	if err != nil {
		t.Fatal(err)
	}
	if display == nil {
		t.Fatalf("no %s display among %v", rig, gpus)
	}
	t.Cleanup(func() { display.Close(); render.Close() })
	return display, render
}

func cmaHeap() string {
	if rigtest.Name() == "pl111" {
		return "linux,cma"
	}
	return "reserved"
}

func firstPipeline(t testing.TB, d *Device) Pipeline {
	t.Helper()
	if err := d.EnableKMS(); err != nil {
		t.Fatal(err)
	}
	pipes, err := d.Pipelines(false)
	if err != nil || len(pipes) == 0 {
		t.Fatalf("pipelines: %v %v", pipes, err)
	}
	return pipes[0]
}

// rigPresenter is a Presenter on pipe with opts, closed when the test
// ends.
func rigPresenter(t testing.TB, display *Device, pipe Pipeline, opts PresenterOptions) *Presenter {
	t.Helper()
	p, err := NewPresenter(display, pipe, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p
}

// heapTarget is one w×h XRGB8888 target from an allocator that prefers
// the named heap (imported into render), closed with the allocator when
// the test ends.
func heapTarget(t testing.TB, display, render *Device, heap string, w, h int) *Buffer {
	t.Helper()
	a := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{heap}})
	t.Cleanup(func() { a.Close() })
	b, _, err := a.Allocate(w, h, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// pattern fills a buffer with a frame-dependent XRGB8888 pattern (CPU
// access bracketed) and returns the pixels it wrote, row-major, no stride.
func pattern(t *testing.T, b *Buffer, frame int) []uint32 {
	t.Helper()
	mem, err := b.Map()
	if err != nil {
		t.Fatal(err)
	}
	if err := b.BeginCPUAccess(Write); err != nil {
		t.Fatal(err)
	}
	want := make([]uint32, b.Width*b.Height)
	for y := 0; y < b.Height; y++ {
		row := unsafe.Slice((*uint32)(unsafe.Pointer(&mem[int(b.Offset)+y*int(b.Stride)])), b.Width)
		for x := range row {
			v := uint32(x*255/b.Width)<<16 | uint32(y*255/b.Height)<<8 | uint32((frame*37+x/64*16+y/64*16)&0xff)
			row[x] = v
			want[y*b.Width+x] = v
		}
	}
	if err := b.EndCPUAccess(Write); err != nil {
		t.Fatal(err)
	}
	return want
}

func comparePixels(t *testing.T, what string, got []byte, stride, w, h int, want []uint32) {
	t.Helper()
	bad := 0
	for y := 0; y < h; y++ {
		row := unsafe.Slice((*uint32)(unsafe.Pointer(&got[y*stride])), w)
		for x := 0; x < w; x++ {
			if row[x]&0xffffff != want[y*w+x]&0xffffff {
				if bad < 5 {
					t.Errorf("%s: pixel (%d,%d) = %06x, want %06x", what, x, y, row[x]&0xffffff, want[y*w+x]&0xffffff)
				}
				bad++
			}
		}
	}
	if bad > 0 {
		t.Fatalf("%s: %d of %d pixels differ", what, bad, w*h)
	}
}

// writeback captures what vkms composes for the next commit.
type writeback struct {
	dev              *Device
	conn             uint32
	propCRTC, propFB uint32
	propFence        uint32
	dumb             drm.Dumb
	fb               uint32
	mem              []byte
	fence            *int32
	w, h             int
}

func newWriteback(t *testing.T, d *Device, crtc uint32, w, h int) *writeback {
	t.Helper()
	if err := d.dev.SetClientCap(drm.ClientCapWritebackConnectors, 1); err != nil {
		t.Fatal(err)
	}
	pipes, err := d.Pipelines(true)
	if err != nil {
		t.Fatal(err)
	}
	wb := &writeback{dev: d, w: w, h: h, fence: new(int32)}
	for _, p := range pipes {
		if p.Writeback {
			wb.conn = p.Connector
		}
	}
	if wb.conn == 0 {
		t.Fatal("vkms has no writeback connector (vkms.enable_writeback=1?)")
	}
	props, err := d.dev.Props(wb.conn, drm.ObjectConnector)
	if err != nil {
		t.Fatal(err)
	}
	wb.propCRTC, wb.propFB, wb.propFence = props.IDs["CRTC_ID"], props.IDs["WRITEBACK_FB_ID"], props.IDs["WRITEBACK_OUT_FENCE_PTR"]
	if wb.propFB == 0 || wb.propFence == 0 {
		t.Fatalf("writeback props missing: %v", props.IDs)
	}
	if wb.dumb, err = d.dev.CreateDumb(uint32(w), uint32(h), 32); err != nil {
		t.Fatal(err)
	}
	if wb.mem, err = d.dev.MmapDumb(wb.dumb.Handle, int(wb.dumb.Size)); err != nil {
		t.Fatal(err)
	}
	if wb.fb, err = d.dev.AddFB2(drm.FB2{Width: uint32(w), Height: uint32(h), Format: drm.FormatXRGB8888,
		Handles: [4]uint32{wb.dumb.Handle}, Pitches: [4]uint32{wb.dumb.Pitch}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// Unbind the writeback connector, or turning the CRTC off later fails.
		var r drm.AtomicReq
		r.Add(wb.conn, wb.propCRTC, 0)
		if err := d.dev.Atomic(&r, drm.AtomicAllowModeset, 0); err != nil {
			t.Errorf("unbind writeback connector: %v", err)
		}
		d.dev.RmFB(wb.fb)
		unix.Munmap(wb.mem)
		d.dev.DestroyDumb(wb.dumb.Handle)
	})
	return wb
}

// arm makes the Presenter's next commit also write the composed frame back.
func (wb *writeback) arm(p *Presenter, crtc uint32) {
	*wb.fence = -1
	for i := range wb.mem {
		wb.mem[i] = 0
	}
	p.extra = func(r *drm.AtomicReq) uint32 {
		r.Add(wb.conn, wb.propCRTC, uint64(crtc))
		r.Add(wb.conn, wb.propFB, uint64(wb.fb))
		r.Add(wb.conn, wb.propFence, uint64(uintptr(unsafe.Pointer(wb.fence))))
		p.extra = nil
		return drm.AtomicAllowModeset
	}
}

func (wb *writeback) wait(t *testing.T) []byte {
	t.Helper()
	fd := int(*wb.fence)
	if fd < 0 {
		t.Fatal("no writeback fence came back")
	}
	defer unix.Close(fd)
	if err := dmabuf.WaitFence(fd, 5*time.Second); err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(wb.fence)
	return wb.mem
}

func present(t testing.TB, p *Presenter, f Submission) Verdict {
	t.Helper()
	v, err := p.Present(f)
	if err != nil {
		t.Fatalf("Present %v: %v", f.Buffer, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.WaitFlip(ctx); err != nil {
		t.Fatalf("WaitFlip: %v", err)
	}
	return v
}

// vkms: a CMA-heap target goes direct, and writeback shows exactly what was
// rendered.
func TestRigVkmsHeapDirectWriteback(t *testing.T) {
	rigtest.Require(t, "vkms")
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	p := rigPresenter(t, display, pipe, PresenterOptions{})
	b := heapTarget(t, display, render, "reserved", mode.Width, mode.Height)
	if b.Origin != "heap reserved" {
		t.Fatalf("allocated by %s, want the CMA heap", b.Origin)
	}
	if _, ok := b.handleOn(render); !ok {
		t.Fatal("target not imported into the render device")
	}
	want := pattern(t, b, 1)
	wb := newWriteback(t, display, pipe.CRTC, mode.Width, mode.Height)
	present(t, p, Submission{Buffer: b}) // modeset
	wb.arm(p, pipe.CRTC)
	v := present(t, p, Submission{Buffer: b})
	if v.Path != PathDirect {
		t.Fatalf("verdict %v, want direct", v)
	}
	got := wb.wait(t)
	comparePixels(t, "writeback of direct frame", got, int(wb.dumb.Pitch), mode.Width, mode.Height, want)
	if s := p.Stats(); s.BytesCopied != 0 || s.DirectFrames != 2 {
		t.Errorf("stats %+v", s)
	}
}

// vkms: forcing the blit path copies the frame into dumb buffers and the
// writeback shows it; damage-only frames copy only the damage.
func TestRigVkmsBlitWriteback(t *testing.T) {
	rigtest.Require(t, "vkms")
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	p := rigPresenter(t, display, pipe, PresenterOptions{DisableDirect: true})
	b := heapTarget(t, display, render, "system", mode.Width, mode.Height)
	wb := newWriteback(t, display, pipe.CRTC, mode.Width, mode.Height)
	want := pattern(t, b, 2)
	present(t, p, Submission{Buffer: b})
	// Nothing changed: the second dumb buffer still gets its first full copy.
	present(t, p, Submission{Buffer: b, Damage: []image.Rectangle{}})
	full := p.Stats().BytesCopied
	// Change a 64×32 rectangle only, and present with that damage.
	mem, _ := b.Map()
	b.BeginCPUAccess(Write)
	r := image.Rect(100, 50, 164, 82)
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			*(*uint32)(unsafe.Pointer(&mem[y*int(b.Stride)+x*4])) = 0x00ff00ff
			want[y*mode.Width+x] = 0x00ff00ff
		}
	}
	b.EndCPUAccess(Write)
	wb.arm(p, pipe.CRTC)
	v := present(t, p, Submission{Buffer: b, Damage: []image.Rectangle{r}})
	if v.Path != PathBlit || v.Step != StepDisabled {
		t.Fatalf("verdict %v", v)
	}
	comparePixels(t, "writeback of blitted frame", wb.wait(t), int(wb.dumb.Pitch), mode.Width, mode.Height, want)
	if got := p.Stats().BytesCopied - full; got != uint64(r.Dx()*r.Dy()*4) {
		t.Errorf("damage-only frame copied %d bytes, want %d", got, r.Dx()*r.Dy()*4)
	}
}

// vkms: a buffer made by vgem, imported into vkms, on an overlay plane over
// a heap-backed primary: the composition is exactly right.
func TestRigVkmsOverlayFromVgem(t *testing.T) {
	rigtest.Require(t, "vkms")
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	planes, err := display.Planes()
	if err != nil {
		t.Fatal(err)
	}
	var overlay *PlaneInfo
	for i := range planes {
		if planes[i].Type == "overlay" && planes[i].PossibleCRTCs&(1<<pipe.crtcIndex) != 0 && planes[i].Supports(XRGB8888, ModLinear) {
			overlay = &planes[i]
			break
		}
	}
	if overlay == nil {
		t.Fatal("no XRGB8888 overlay plane (vkms.enable_overlay=1?)")
	}
	// vgem's primary node allocates (render nodes refuse dumb buffers).
	gpus, _ := drm.Scan("/sys", "/dev/dri")
	var vgemCard *Device
	for _, g := range gpus {
		if g.Primary != nil && g.Render != nil && g.Render.Path == render.Path() {
			if vgemCard, err = OpenDevice(g.Primary.Path); err != nil {
				t.Fatal(err)
			}
		}
	}
	if vgemCard == nil {
		t.Fatal("no vgem primary node")
	}
	defer vgemCard.Close()
	const ow, oh, ox, oy = 256, 128, 200, 120
	ob, err := KMSRODumbStrategy{vgemCard}.Allocate(ow, oh, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	ovPixels := pattern(t, ob, 9)

	b := heapTarget(t, display, render, "reserved", mode.Width, mode.Height)
	want := pattern(t, b, 3)
	for y := 0; y < oh; y++ {
		copy(want[(oy+y)*mode.Width+ox:(oy+y)*mode.Width+ox+ow], ovPixels[y*ow:(y+1)*ow])
	}
	handle, err := ob.ImportInto(display)
	if err != nil {
		t.Fatalf("vkms import of a vgem buffer: %v", err)
	}
	ovFB, err := display.addFB(drm.FB2{Width: ow, Height: oh, Format: uint32(XRGB8888),
		Handles: [4]uint32{handle}, Pitches: [4]uint32{ob.Stride}})
	if err != nil {
		t.Fatal(err)
	}
	defer display.rmFB(ovFB)
	props, err := display.dev.Props(overlay.ID, drm.ObjectPlane)
	if err != nil {
		t.Fatal(err)
	}
	p := rigPresenter(t, display, pipe, PresenterOptions{})
	wb := newWriteback(t, display, pipe.CRTC, mode.Width, mode.Height)
	present(t, p, Submission{Buffer: b})
	wb.arm(p, pipe.CRTC)
	arm := p.extra
	p.extra = func(r *drm.AtomicReq) uint32 {
		f := arm(r)
		set := func(n string, v uint64) { r.Add(overlay.ID, props.IDs[n], v) }
		set("FB_ID", uint64(ovFB))
		set("CRTC_ID", uint64(pipe.CRTC))
		set("SRC_X", 0)
		set("SRC_Y", 0)
		set("SRC_W", ow<<16)
		set("SRC_H", oh<<16)
		set("CRTC_X", ox)
		set("CRTC_Y", oy)
		set("CRTC_W", ow)
		set("CRTC_H", oh)
		return f
	}
	present(t, p, Submission{Buffer: b})
	comparePixels(t, "primary + vgem overlay", wb.wait(t), int(wb.dumb.Pitch), mode.Width, mode.Height, want)
	// Take the overlay down before its framebuffer goes.
	p.extra = func(r *drm.AtomicReq) uint32 {
		r.Add(overlay.ID, props.IDs["FB_ID"], 0)
		r.Add(overlay.ID, props.IDs["CRTC_ID"], 0)
		return 0
	}
	present(t, p, Submission{Buffer: b})
}

// scannedOut returns the framebuffer on the primary plane and, when it is a
// dumb buffer, its pixels (read through GETFB2, as root).
func scannedOut(t *testing.T, d *Device, plane uint32, w, h int) (fb uint32, pixels []byte, pitch int) {
	t.Helper()
	props, err := d.dev.Props(plane, drm.ObjectPlane)
	if err != nil {
		t.Fatal(err)
	}
	fb = uint32(props.Values["FB_ID"])
	info, err := d.dev.GetFB2(fb)
	if err != nil {
		t.Fatalf("GETFB2 %d: %v", fb, err)
	}
	if info.Handles[0] == 0 {
		t.Fatal("GETFB2 returned no handle (needs CAP_SYS_ADMIN)")
	}
	defer d.dev.GemClose(info.Handles[0])
	size := int(info.Pitches[0]) * h
	mem, err := d.dev.MmapDumb(info.Handles[0], size)
	if err != nil {
		return fb, nil, 0 // an imported buffer: not mappable through the display
	}
	out := make([]byte, size)
	copy(out, mem)
	unix.Munmap(mem)
	return fb, out, int(info.Pitches[0])
}

// pl111 (drm_gem_dma, like vc4): a 1080p system-heap target (made of
// scattered pages) is refused at import with EINVAL and blitted, and what
// the plane scans out equals what was rendered (the mode-sized part of
// it); a CMA-heap target goes direct.
func TestRigPl111SystemHeapRefusedCMADirect(t *testing.T) {
	rigtest.Require(t, "pl111")
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.Modes[0]
	for _, m := range pipe.Modes {
		if m.Width*m.Height > mode.Width*mode.Height {
			mode = m
		}
	}
	t.Logf("pl111 mode %v (largest of %d)", mode, len(pipe.Modes))
	p := rigPresenter(t, display, pipe, PresenterOptions{Mode: mode})

	sys := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{"system"}})
	defer sys.Close()
	sysHeap, err := heap.Open("system")
	if err != nil {
		t.Fatal(err)
	}
	defer sysHeap.Close()
	defer rigtest.Fragment(t, sysHeap.Alloc)() // scattered blocks: a buffer contiguous by chance would import
	b, _, err := sys.Allocate(1920, 1080, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	want := pattern(t, b, 4)
	v := present(t, p, Submission{Buffer: b})
	if v.Path != PathBlit || v.Step != StepImport || v.Errno != unix.EINVAL {
		t.Fatalf("non-contiguous system-heap verdict %v, want blit refused at import with EINVAL", v)
	}
	if bv, _ := b.Verdict(); bv != v {
		t.Errorf("buffer remembers %v", bv)
	}
	t.Logf("system heap 1920x1080: %v", v)
	fb, px, pitch := scannedOut(t, display, pipe.Primary.ID, mode.Width, mode.Height)
	if onFB, _ := p.OnScreen(); fb != onFB || px == nil {
		t.Fatalf("plane shows fb %d, presenter says %d", fb, onFB)
	}
	crop := make([]uint32, 0, mode.Width*mode.Height)
	for y := 0; y < mode.Height; y++ {
		crop = append(crop, want[y*b.Width:y*b.Width+mode.Width]...)
	}
	comparePixels(t, "pl111 blitted scanout", px, pitch, mode.Width, mode.Height, crop)
	tests := p.Stats().Tests
	present(t, p, Submission{Buffer: b})
	if p.Stats().Tests != tests {
		t.Error("a refused buffer was tested again")
	}

	cma := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{"linux,cma"}})
	defer cma.Close()
	c, _, err := cma.Allocate(mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pattern(t, c, 5)
	if v := present(t, p, Submission{Buffer: c}); v.Path != PathDirect {
		t.Fatalf("CMA-heap verdict %v, want direct", v)
	}
	fb, _, _ = scannedOut(t, display, pipe.Primary.ID, mode.Width, mode.Height)
	cfb := p.stateFor(c).fb
	if fb != cfb {
		t.Fatalf("plane shows fb %d, the CMA buffer's is %d", fb, cfb)
	}
}

// The legacy kmsro strategy: a dumb buffer on the display, exported and
// imported into the render device (vgem), shown directly.
func TestRigKMSRODumbIntoRender(t *testing.T) {
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	b, err := KMSRODumbStrategy{display}.Allocate(mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.ImportInto(render); err != nil {
		t.Fatalf("import display dumb buffer into %s: %v", render, err)
	}
	p := rigPresenter(t, display, pipe, PresenterOptions{})
	pattern(t, b, 6)
	if v := present(t, p, Submission{Buffer: b}); v.Path != PathDirect {
		t.Fatalf("kmsro dumb verdict %v", v)
	}
}

// vgem's render node refuses CREATE_DUMB with EACCES, like v3d's: the
// allocator moves on to the next strategy.
func TestRigRenderNodeDumbRefused(t *testing.T) {
	display, render := rigDevices(t)
	_, err := RenderNativeStrategy{render}.Allocate(640, 480, XRGB8888)
	if !errors.Is(err, unix.EACCES) {
		t.Fatalf("render-node dumb: %v, want EACCES", err)
	}
	a := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{"no-such-heap"}})
	defer a.Close()
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	b, attempts, err := a.Allocate(mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.HasPrefix(b.Origin, "kmsro-dumb") || len(attempts) != 1 || !errors.Is(attempts[0].Err, unix.EACCES) {
		t.Fatalf("origin %s after %v", b.Origin, attempts)
	}
	if len(a.Unavailable) == 0 || !errors.Is(a.Unavailable[0].Err, unix.ENOENT) {
		t.Fatalf("missing heap not reported: %v", a.Unavailable)
	}
	t.Logf("missing heap: %v", a.Unavailable[0].Err)
	// Frames are still shown with the target the next strategy made.
	p := rigPresenter(t, display, pipe, PresenterOptions{})
	pattern(t, b, 7)
	if v := present(t, p, Submission{Buffer: b}); p.Stats().Frames != 1 {
		t.Fatalf("frame not shown (%v)", v)
	}
}

// CMA exhausted: the heap strategy fails with ENOMEM and a hint, the next
// strategy makes the target, and frames are still shown.
func TestRigCMAExhausted(t *testing.T) {
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	h, err := heap.Open(cmaHeap())
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var hog []*os.File
	defer func() {
		for _, f := range hog {
			f.Close()
		}
	}()
	for {
		f, err := h.Alloc(4 << 20)
		if err != nil {
			if !errors.Is(err, unix.ENOMEM) {
				t.Fatalf("filling CMA: %v", err)
			}
			break
		}
		hog = append(hog, f)
		if len(hog) > 64 {
			t.Fatal("CMA never ran out")
		}
	}
	a := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{cmaHeap()}})
	defer a.Close()
	sc, err := NewSwapchain(a, 2, mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if len(sc.Attempts) == 0 || !errors.Is(sc.Attempts[0].Err, unix.ENOMEM) || !strings.Contains(sc.Attempts[0].Err.Error(), "cma=") {
		t.Fatalf("attempts %v", sc.Attempts)
	}
	for _, at := range sc.Attempts {
		t.Logf("attempt %s: %v", at.Name, at.Err)
	}
	t.Logf("swapchain from %s", sc.Strategy)
	// On pl111 (as on vc4) the display's own dumb buffers are CMA too: give
	// back enough for the fallback swapchain, as a user closing another
	// program would, so the blit path can show the system-heap targets.
	for _, f := range hog[len(hog)-2:] {
		f.Close()
	}
	hog = hog[:len(hog)-2]
	p := rigPresenter(t, display, pipe, PresenterOptions{})
	for i := 0; i < 4; i++ {
		b := nextTarget(t, sc)
		pattern(t, b, i)
		present(t, p, Submission{Buffer: b})
	}
	if p.Stats().Frames != 4 {
		t.Fatal("frames not shown")
	}
}

// 1000 frames (direct and blitted) then teardown: fds, GEM handles and
// framebuffers (the kernel's own list in debugfs) are back where they were.
func TestRigNoLeaks1000Frames(t *testing.T) {
	rigtest.Require(t)
	fds0 := rigtest.OpenFDs(t)
	fbs0 := debugfsFramebuffers(t)
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	for _, noDirect := range []bool{false, true} {
		a := NewAllocator(AllocatorConfig{Render: render, Display: display})
		sc, err := NewSwapchain(a, 3, mode.Width, mode.Height, XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		p, err := NewPresenter(display, pipe, PresenterOptions{DisableDirect: noDirect})
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 500; i++ {
			b := nextTarget(t, sc)
			if i < 3 {
				pattern(t, b, i)
			}
			present(t, p, Submission{Buffer: b, Damage: []image.Rectangle{image.Rect(0, 0, 64, 64)}})
		}
		s := p.Stats()
		t.Logf("direct=%v: %+v, targets from %s", !noDirect, s, sc.Strategy)
		if n := debugfsFramebuffers(t); n <= fbs0 {
			t.Errorf("the kernel lists %d framebuffers during the run, %d before: the count cannot prove a release", n, fbs0)
		}
		if err := p.Close(); err != nil {
			t.Fatal(err)
		}
		if err := sc.Close(); err != nil {
			t.Fatal(err)
		}
		a.Close()
		checkReleased(t, display, render, fbs0)
	}
	closeAndCountFDs(t, fds0, display, render)
}

// checkReleased fails t unless display and render hold no GEM handle or
// framebuffer of ours and the kernel lists fbs0 framebuffers again.
func checkReleased(t *testing.T, display, render *Device, fbs0 int) {
	t.Helper()
	if n := display.Handles(); n != 0 {
		t.Errorf("display holds %d GEM handles", n)
	}
	if n := render.Handles(); n != 0 {
		t.Errorf("render device holds %d GEM handles", n)
	}
	if n := display.Framebuffers(); n != 0 {
		t.Errorf("display holds %d framebuffers", n)
	}
	if n := debugfsFramebuffers(t); n != fbs0 {
		t.Errorf("kernel lists %d framebuffers, %d before", n, fbs0)
	}
}

// closeAndCountFDs closes devs and fails t unless fds0 fds are open again.
func closeAndCountFDs(t *testing.T, fds0 int, devs ...*Device) {
	t.Helper()
	for _, d := range devs {
		d.Close()
	}
	if n := rigtest.OpenFDs(t); n != fds0 {
		t.Errorf("%d fds open, %d before", n, fds0)
	}
}

// debugfsFramebuffers counts the framebuffers the kernel knows on all DRM
// devices.
func debugfsFramebuffers(t *testing.T) int {
	t.Helper()
	n := 0
	for i := 0; i < 8; i++ {
		b, err := os.ReadFile(fmt.Sprintf("/sys/kernel/debug/dri/%d/framebuffer", i))
		if err != nil {
			continue
		}
		n += strings.Count(string(b), "framebuffer[")
	}
	return n
}

// The direct path's steady state copies nothing and allocates nothing.
func TestRigDirectPathAllocatesNothing(t *testing.T) {
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	a := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{cmaHeap()}})
	defer a.Close()
	sc, err := NewSwapchain(a, 2, mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	p := rigPresenter(t, display, pipe, PresenterOptions{})
	for range 4 {
		b := nextTarget(t, sc)
		present(t, p, Submission{Buffer: b})
	}
	frame := Submission{}
	allocs := testing.AllocsPerRun(50, func() {
		frame.Buffer = nextTarget(t, sc)
		if _, err := p.Present(frame); err != nil {
			panic(err)
		}
		if _, err := p.WaitFlip(context.Background()); err != nil {
			panic(err)
		}
	})
	s := p.Stats()
	t.Logf("direct steady state: %.1f allocs/frame, %d bytes copied over %d frames", allocs, s.BytesCopied, s.Frames)
	if allocs != 0 || s.BytesCopied != 0 || s.BlitFrames != 0 {
		t.Fatalf("direct path: %.1f allocs/frame, %d bytes copied, %d blit frames", allocs, s.BytesCopied, s.BlitFrames)
	}
}

// A user without access to the heaps (no udev rule, not root): the heap
// strategy is unavailable with a hint, the next strategy makes the targets,
// and frames are still shown. The child runs as uid 65534 with the DRM
// nodes opened to it and the heaps left root-only.
func TestRigHeapUnreadable(t *testing.T) {
	rigtest.Require(t)
	nodes, _ := filepath.Glob("/dev/dri/*")
	for _, n := range nodes {
		if err := os.Chmod(n, 0o666); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, n := range nodes {
			os.Chmod(n, 0o600)
		}
	}()
	out, err := rigtest.RunAsNobody(t, "TestHeapUnreadableChild")
	t.Logf("%s", out)
	if err != nil {
		t.Fatalf("child: %v", err)
	}
}

func TestHeapUnreadableChild(t *testing.T) {
	if !rigtest.IsChild() {
		t.Skip("runs as a child of TestRigHeapUnreadable")
	}
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	a := NewAllocator(AllocatorConfig{Render: render, Display: display})
	defer a.Close()
	if len(a.Unavailable) == 0 || !errors.Is(a.Unavailable[0].Err, unix.EACCES) || !strings.Contains(a.Unavailable[0].Err.Error(), "udev rule") {
		t.Fatalf("as uid %d: unavailable %v", os.Getuid(), a.Unavailable)
	}
	sc, err := NewSwapchain(a, 2, mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if !strings.HasPrefix(sc.Strategy, "kmsro-dumb") {
		t.Errorf("targets from %s", sc.Strategy)
	}
	p := rigPresenter(t, display, pipe, PresenterOptions{})
	for i := 0; i < 5; i++ {
		b := nextTarget(t, sc)
		pattern(t, b, i)
		present(t, p, Submission{Buffer: b})
	}
	t.Logf("uid %d: heap %v; targets from %s; %+v", os.Getuid(), a.Unavailable[0].Err, sc.Strategy, p.Stats())
}

// A render fence holds the flip back until it signals (IN_FENCE_FD on the
// direct path, a wait before the CPU copy on the blit path), and the
// Presenter's out-fence signals when the frame is on screen.
func TestRigFences(t *testing.T) {
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	b := heapTarget(t, display, render, cmaHeap(), mode.Width, mode.Height)
	p := rigPresenter(t, display, pipe, PresenterOptions{OutFences: true})
	present(t, p, Submission{Buffer: b})
	if f := p.TakeOutFence(); f == nil {
		t.Fatal("no out-fence")
	} else {
		if err := dmabuf.WaitFence(int(f.Fd()), time.Second); err != nil {
			t.Errorf("out-fence after the flip: %v", err)
		}
		f.Close()
	}
	tl := rigtest.NewTimeline(t)
	fence := tl.Fence(t, 1)
	defer fence.Close()
	if v, err := p.Present(Submission{Buffer: b, InFence: fence}); err != nil || v.Path != PathDirect {
		t.Fatalf("present with fence: %v %v", v, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Millisecond)
	_, err := p.WaitFlip(ctx)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("flip completed before the render fence signalled: %v", err)
	}
	tl.Inc(t, 1)
	ctx, cancel = context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if _, err := p.WaitFlip(ctx); err != nil {
		t.Fatalf("flip after the fence signalled: %v", err)
	}
	if f := p.TakeOutFence(); f != nil {
		f.Close()
	}
}

// Benchmarks on the rig's display (TCG-emulated, so ns/op says little; the
// allocs/op and B/op columns are what they show): one frame presented and
// flipped, direct and blitted with 64×64 damage.
func benchmarkPresent(b *testing.B, noDirect bool) {
	rigtest.Require(b)
	gpus, _ := drm.Scan("/sys", "/dev/dri")
	var display *Device
	for _, g := range gpus {
		if g.Primary != nil {
			if d, err := OpenDevice(g.Primary.Path); err == nil && d.Driver() == rigtest.Name() {
				display = d
				break
			} else if err == nil {
				d.Close()
			}
		}
	}
	if display == nil {
		b.Fatal("no display")
	}
	defer display.Close()
	if err := display.EnableKMS(); err != nil {
		b.Fatal(err)
	}
	pipes, err := display.Pipelines(false)
	if err != nil || len(pipes) == 0 {
		b.Fatal(pipes, err)
	}
	mode := pipes[0].PreferredMode()
	a := NewAllocator(AllocatorConfig{Display: display, HeapPreference: []string{cmaHeap()}})
	defer a.Close()
	sc, err := NewSwapchain(a, 3, mode.Width, mode.Height, XRGB8888)
	if err != nil {
		b.Fatal(err)
	}
	defer sc.Close()
	p, err := NewPresenter(display, pipes[0], PresenterOptions{DisableDirect: noDirect})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	damage := []image.Rectangle{image.Rect(0, 0, 64, 64)}
	frame := func() {
		buf := nextTarget(b, sc)
		if _, err := p.Present(Submission{Buffer: buf, Damage: damage}); err != nil {
			b.Fatal(err)
		}
		if _, err := p.WaitFlip(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
	for range 4 {
		frame()
	}
	copied := p.Stats().BytesCopied
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		frame()
	}
	b.ReportMetric(float64(p.Stats().BytesCopied-copied)/float64(b.N), "copied-B/frame")
}

func BenchmarkRigPresentDirect(b *testing.B) { benchmarkPresent(b, false) }
func BenchmarkRigPresentBlit(b *testing.B)   { benchmarkPresent(b, true) }
