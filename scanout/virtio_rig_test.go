package scanout

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/internal/rigtest"
)

// allocTimed allocates n w×h XRGB8888 buffers with s (closing each) and
// returns the last error and the mean time of one allocation.
func allocTimed(s Strategy, n, w, h int) (time.Duration, error) {
	var total time.Duration
	for range n {
		t0 := time.Now()
		b, err := s.Allocate(w, h, XRGB8888)
		total += time.Since(t0)
		if err != nil {
			return 0, err
		}
		b.Close()
	}
	return total / time.Duration(n), nil
}

// virtio-gpu in the single-device shape: a render target from the
// driver's own allocator (VIRTGPU_RESOURCE_CREATE on the render node, a
// virgl texture) exports, imports into virtio-gpu's card node and goes
// direct on its primary plane; frames are shown and nothing leaks. The
// fallbacks are compared: a dumb buffer on the card node (kmsro) also
// imports and scans out — but it is a 2D resource whose guest pages the
// kernel copies to the host on every plane update, so a virgl drawing in
// it never reaches the screen (render/gles's TestRigVirglDumbTarget), and
// the allocator leaves it out; a heap dma-buf does not import at all
// (ENODEV), so the allocator's chain ends at the render-native target.
func TestRigVirtioGPUNativeTarget(t *testing.T) {
	gpus, virtio, _, _ := requireVirtioGPU(t)
	fds0 := rigtest.OpenFDs(t)
	fbs0 := debugfsFramebuffers(t)
	render, err := OpenDevice(virtio.Render)
	if err != nil {
		t.Fatal(err)
	}
	display, _, pipes, err := OpenDisplay(gpus, virtio.Primary)
	if err != nil {
		render.Close()
		t.Fatal(err)
	}
	mode := pipes[0].PreferredMode()
	native, dumb := RenderNativeStrategy{render}, KMSRODumbStrategy{display}

	// Allocation cost, each way (mean of 10).
	for _, s := range []Strategy{native, dumb} {
		d, err := allocTimed(s, 10, mode.Width, mode.Height)
		if err != nil {
			t.Fatalf("%s: %v", s.Name(), err)
		}
		t.Logf("%s: %dx%d allocation %v", s.Name(), mode.Width, mode.Height, d)
	}
	if hp, err := heap.Open(cmaHeap()); err == nil {
		b, err := HeapStrategy{hp}.Allocate(mode.Width, mode.Height, XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := b.ImportInto(render); !errors.Is(err, unix.ENODEV) {
			t.Errorf("heap dma-buf into virtio-gpu: %v, want ENODEV", err)
		}
		b.Close()
		hp.Close()
	}

	a := NewAllocator(AllocatorConfig{Render: render, Display: display, Logger: quietLog()})
	var names []string
	for _, s := range a.Strategies {
		names = append(names, s.Name())
	}
	if len(a.Unavailable) == 0 || a.Unavailable[len(a.Unavailable)-1].Name != "kmsro-dumb" ||
		!errors.Is(a.Unavailable[len(a.Unavailable)-1].Err, errDumbHostRendered) {
		t.Errorf("allocator chain %v, unavailable %v: want kmsro-dumb left out (host-rendered)", names, a.Unavailable)
	}
	ab, attempts, err := a.Allocate(mode.Width, mode.Height, XRGB8888)
	if err != nil || ab.Origin != native.Name() {
		t.Fatalf("allocator (%v): %v %v after %v", names, ab, err, attempts)
	}
	t.Logf("allocator %v: %s after %v", names, ab.Origin, attempts)
	ab.Close()
	a.Close()

	nb, err := native.Allocate(mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	if nb.Origin != "render-native virtio_gpu" || nb.Stride != uint32(mode.Width*4) || nb.Size < int64(nb.Stride)*int64(mode.Height) {
		t.Errorf("native buffer %v: origin %q, stride %d, size %d", nb, nb.Origin, nb.Stride, nb.Size)
	}
	db, err := dumb.Allocate(mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ImportInto(render); err != nil {
		t.Errorf("dumb buffer into virtio-gpu's render node: %v", err)
	}

	p, err := NewPresenter(display, pipes[0], PresenterOptions{Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []*Buffer{nb, db} {
		v := p.Decide(b)
		pt := p.LastProbe()
		if v.Path != PathDirect {
			t.Fatalf("%s on virtio-gpu's primary plane: %v", b.Origin, v)
		}
		t.Logf("%s: %v (import %v, ADDFB2 %v, TEST_ONLY %v)", b.Origin, v, pt.Import, pt.AddFB, pt.Test)
	}
	for i := range 4 {
		b := []*Buffer{nb, db}[i%2]
		t0 := time.Now()
		if v := present(t, p, Submission{Buffer: b}); v.Path != PathDirect {
			t.Fatalf("frame %d (%s): %v", i, b.Origin, v)
		}
		t.Logf("frame %d (%s): commit to flip %v", i, b.Origin, time.Since(t0))
	}
	if err := p.Close(); err != nil {
		t.Error(err)
	}
	nb.Close()
	db.Close()
	checkReleased(t, display, render, fbs0)
	closeAndCountFDs(t, fds0, display, render)
}

// The formats minicomp renders map to virgl's (little-endian DRM fourccs: XRGB8888 is B8G8R8X8); others have none.
func TestVirglFormats(t *testing.T) {
	if virglFormat(XRGB8888) != virglFormatB8G8R8X8 || virglFormat(ARGB8888) != virglFormatB8G8R8A8 || virglFormat(Format(0x20203852)) != 0 {
		t.Fatal("virgl format mapping")
	}
}
