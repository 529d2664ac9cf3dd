package kms

import (
	"context"
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/scanout"
)

// mixedStrategy makes every third buffer with bad (udmabuf: scattered
// pages, which pl111 refuses like vc4 on a Pi 4) and the others with good:
// a swapchain whose buffers get different verdicts, as system-heap buffers
// that are contiguous by chance do.
type mixedStrategy struct {
	good, bad scanout.Strategy
	n         int
}

func (m *mixedStrategy) Name() string { return "mixed" }

func (m *mixedStrategy) Allocate(w, h int, f scanout.Format) (*scanout.Buffer, error) {
	m.n++
	s := m.good
	if m.n%3 == 0 {
		s = m.bad
	}
	b, err := s.Allocate(w, h, f)
	if b != nil {
		b.Origin = m.Name()
	}
	return b, err
}

// scatteredStrategy makes udmabuf buffers whose pages are surely not
// physically contiguous: the memfd's pages are faulted in from the last to
// the first, so ascending offsets get descending pages. (A plain udmabuf
// pins its pages in order and, on a freshly booted guest, often gets one
// contiguous run that pl111 accepts, depending on what ran before: a
// dynamically linked test binary was enough to change it.)
type scatteredStrategy struct{}

func (scatteredStrategy) Name() string { return "udmabuf (scattered)" }

func (scatteredStrategy) Allocate(w, h int, f scanout.Format) (*scanout.Buffer, error) {
	stride := w * 4
	size := int64(stride * h)
	page := int64(os.Getpagesize())
	size = (size + page - 1) / page * page
	dev, err := unix.Open("/dev/udmabuf", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(dev)
	mfd, err := unix.MemfdCreate("scattered", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, err
	}
	defer unix.Close(mfd)
	if err := unix.Ftruncate(mfd, size); err != nil {
		return nil, err
	}
	for off := size - page; off >= 0; off -= page {
		if _, err := unix.Pwrite(mfd, []byte{1}, off); err != nil {
			return nil, err
		}
	}
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK); err != nil {
		return nil, err
	}
	fd, err := dmabuf.CreateUdmabuf(dev, mfd, 0, uint64(size))
	if err != nil {
		return nil, err
	}
	return &scanout.Buffer{File: os.NewFile(uintptr(fd), "dmabuf:udmabuf"), Width: w, Height: h, Format: f,
		Modifier: scanout.ModLinear, Stride: uint32(stride), Size: size, Origin: "udmabuf"}, nil
}

// runFrames presents n frames on o and returns the path of each.
func runFrames(t *testing.T, o backend.Output, n int) []scanout.Path {
	t.Helper()
	var paths []scanout.Path
	for range n {
		target, _, err := o.Next()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := o.Present(target, nil, nil); err != nil {
			t.Fatal(err)
		}
		p, err := o.WaitFrame(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p.Path)
	}
	return paths
}

func countPath(paths []scanout.Path, want scanout.Path) int {
	n := 0
	for _, p := range paths {
		if p == want {
			n++
		}
	}
	return n
}

// The third target of three is refused (pl111 import: EINVAL); the others
// go direct. The refused one is replaced once by a buffer from a strategy
// the display accepts, so after its one blitted frame every frame is
// direct (before: one frame in three blitted for ever). Nothing leaks.
func TestRigRefusedTargetReplaced(t *testing.T) {
	rigtest.Require(t, "pl111")
	rigtest.CheckFDs(t)
	devs := rigDevices(t)
	a := scanout.NewAllocator(scanout.AllocatorConfig{Render: devs.Render, Display: devs.Display,
		HeapPreference: []string{"linux,cma"}, Logger: quiet()})
	defer a.Close()
	if len(a.Strategies) == 0 || a.Strategies[0].Name() != "heap linux,cma" {
		t.Fatalf("strategies %v", a.Strategies)
	}
	a.Strategies = append([]scanout.Strategy{&mixedStrategy{good: a.Strategies[0], bad: scatteredStrategy{}}}, a.Strategies...)
	be, err := New(Options{Devices: devs, Allocator: a, Buffers: 3, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	o := be.Outputs()[0]
	paths := runFrames(t, o, 30)
	t.Logf("paths %v, replaced %d, %+v", paths, o.(*Output).Replaced(), o.Info().Stats)
	if blits := countPath(paths, scanout.PathBlit); blits != 1 {
		t.Errorf("%d blitted frames of 30, want 1 (the refused target's first frame, then its replacement goes direct)", blits)
	}
	if countPath(paths[3:], scanout.PathDirect) != len(paths)-3 {
		t.Errorf("after the first round not every frame is direct: %v", paths)
	}
	if n := o.(*Output).Replaced(); n != 1 {
		t.Errorf("%d targets replaced, want 1", n)
	}
	// Info names what made the targets now, not the strategy that made
	// the swapchain: two of the mixed strategy's, the replacement from the
	// next strategy the display accepts (the CMA heap).
	if in, want := o.Info(), "mixed (2 of 3) + heap linux,cma (1 of 3)"; in.Strategy != want {
		t.Errorf("Info().Strategy %q after the replace, want %q", in.Strategy, want)
	}
	if err := be.Close(); err != nil {
		t.Fatal(err)
	}
	if n := devs.Display.Handles() + devs.Display.Framebuffers() + devs.Render.Handles(); n != 0 {
		t.Errorf("%d GEM handles and framebuffers left after Close", n)
	}
}

// The case from the field (issue 9): `minicomp run --heap system` on a
// display without an IOMMU. The system heap is fragmented first, so its
// buffers are scattered and refused; each is replaced by one the display
// takes, and the last 60 of 120 frames are all direct.
func TestRigSystemHeapTargetsSettleDirect(t *testing.T) {
	rigtest.Require(t, "pl111")
	rigtest.CheckFDs(t)
	devs := rigDevices(t)
	sysHeap, err := heap.Open("system")
	if err != nil {
		t.Fatal(err)
	}
	defer sysHeap.Close()
	release := rigtest.Fragment(t, sysHeap.Alloc)
	be, err := New(Options{Devices: devs, HeapPreference: []string{"system"}, Buffers: 3, Logger: quiet()})
	release()
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	o := be.Outputs()[0]
	if in := o.Info(); in.Strategy != "heap system" {
		t.Fatalf("targets from %q, want the system heap", in.Strategy)
	}
	paths := runFrames(t, o, 120)
	t.Logf("replaced %d, %+v", o.(*Output).Replaced(), o.Info().Stats)
	if o.(*Output).Replaced() == 0 {
		t.Errorf("no target replaced: the fragmented system heap gave contiguous buffers? paths %v", paths[:6])
	}
	if d := countPath(paths[60:], scanout.PathDirect); d != 60 {
		t.Errorf("%d of the last 60 frames direct, want all: %v", d, paths[60:])
	}
}
