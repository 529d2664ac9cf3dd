package dmabuf

import (
	"errors"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/internal/rigtest"
)

// Implicit fences on a real dma-buf: a fence imported as a writer blocks
// readers (exported sync_file, CPU access) until it signals.
func TestRigSyncFileRoundTrip(t *testing.T) {
	rigtest.Require(t)
	rigtest.CheckFDs(t)
	h, err := heap.Open("system")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	f, err := h.Alloc(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fd := int(f.Fd())
	idle, err := ExportSyncFile(fd, Read)
	if err != nil {
		t.Fatalf("export from an idle buffer: %v", err)
	}
	if err := WaitFence(idle, 0); err != nil {
		t.Errorf("idle buffer's fence not signalled: %v", err)
	}
	unix.Close(idle)

	tl := rigtest.NewTimeline(t)
	render := tl.Fence(t, 1)
	defer render.Close()
	if err := ImportSyncFile(fd, int(render.Fd()), Write); err != nil {
		t.Fatalf("import render fence: %v", err)
	}
	busy, err := ExportSyncFile(fd, Read)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(busy)
	if err := WaitFence(busy, 50*time.Millisecond); !errors.Is(err, unix.ETIMEDOUT) {
		t.Fatalf("fence signalled before the writer finished: %v", err)
	}
	tl.Inc(t, 1)
	if err := WaitFence(busy, time.Second); err != nil {
		t.Fatalf("after the writer finished: %v", err)
	}
	m, err := Map(fd, 1<<20, true)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Unmap()
	if err := BeginAccess(fd, ReadWrite); err != nil {
		t.Fatal(err)
	}
	m.Data[0] = 1
	if err := EndAccess(fd, ReadWrite); err != nil {
		t.Fatal(err)
	}
}

func TestRigUdmabuf(t *testing.T) {
	rigtest.Require(t)
	rigtest.CheckFDs(t)
	dev, err := unix.Open("/dev/udmabuf", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(dev)
	mfd, _ := unix.MemfdCreate("t", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	defer unix.Close(mfd)
	unix.Ftruncate(mfd, 65536)
	if _, err := CreateUdmabuf(dev, mfd, 0, 65536); !errors.Is(err, unix.EINVAL) {
		t.Fatalf("udmabuf of an unsealed memfd: %v, want EINVAL", err)
	}
	unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK)
	fd, err := CreateUdmabuf(dev, mfd, 0, 65536)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if n, err := Size(fd); err != nil || n != 65536 {
		t.Fatalf("size %d %v", n, err)
	}
}
