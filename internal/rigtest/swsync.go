package rigtest

import (
	"os"
	"structs"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/ioc"
)

// struct sw_sync_create_fence_data (drivers/dma-buf/sw_sync.c).
type swSyncCreateFence struct {
	_     structs.HostLayout
	Value uint32
	Name  [32]byte
	Fence int32
}

var (
	ioctlSwSyncCreateFence = ioc.IOWR('W', 0, unsafe.Sizeof(swSyncCreateFence{}))
	ioctlSwSyncInc         = ioc.IOW('W', 1, unsafe.Sizeof(uint32(0)))
)

// Timeline is a software sync timeline (CONFIG_SW_SYNC, debugfs): fences
// on it signal when the test says so, standing in for a GPU's render fence.
type Timeline struct{ fd int }

// NewTimeline opens a fresh timeline; the test fails if the kernel has none.
func NewTimeline(t testing.TB) *Timeline {
	t.Helper()
	fd, err := unix.Open("/sys/kernel/debug/sync/sw_sync", unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("sw_sync timeline: %v", err)
	}
	tl := &Timeline{fd: fd}
	t.Cleanup(func() { unix.Close(fd) })
	return tl
}

// Fence returns a sync_file that signals when the timeline reaches value.
func (tl *Timeline) Fence(t testing.TB, value uint32) *os.File {
	t.Helper()
	c := swSyncCreateFence{Value: value}
	copy(c.Name[:], "minicomp-test")
	if err := ioc.Call(tl.fd, ioctlSwSyncCreateFence, unsafe.Pointer(&c)); err != nil {
		t.Fatalf("SW_SYNC_IOC_CREATE_FENCE: %v", err)
	}
	return os.NewFile(uintptr(c.Fence), "sw_sync fence")
}

// Inc advances the timeline, signalling the fences it reaches.
func (tl *Timeline) Inc(t testing.TB, n uint32) {
	t.Helper()
	if err := ioc.Call(tl.fd, ioctlSwSyncInc, unsafe.Pointer(&n)); err != nil {
		t.Fatalf("SW_SYNC_IOC_INC: %v", err)
	}
}
