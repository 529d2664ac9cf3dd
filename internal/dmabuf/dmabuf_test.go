package dmabuf

import (
	"errors"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestLayout(t *testing.T) {
	if s := unsafe.Sizeof(bufSync{}); s != 8 {
		t.Errorf("dma_buf_sync size %d, want 8", s)
	}
	if s := unsafe.Sizeof(syncFileArg{}); s != 8 {
		t.Errorf("dma_buf_export_sync_file size %d, want 8", s)
	}
	if s := unsafe.Sizeof(udmabufCreate{}); s != 24 {
		t.Errorf("udmabuf_create size %d, want 24", s)
	}
	if ioctlSync != 0x40086200 || ioctlExportSyncFile != 0xc0086202 || ioctlUdmabufCreate != 0x40187542 {
		t.Errorf("ioctl numbers %#x %#x %#x", ioctlSync, ioctlExportSyncFile, ioctlUdmabufCreate)
	}
}

// A memfd is not a dma-buf: the sync ioctl must fail with ENOTTY and the
// error must keep its errno through the wrapper.
func TestSyncOnNonDmabuf(t *testing.T) {
	fd, err := unix.MemfdCreate("x", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	err = BeginAccess(fd, Read)
	if !errors.Is(err, unix.ENOTTY) {
		t.Fatalf("BeginAccess on memfd: %v, want ENOTTY", err)
	}
	if err.Error() != "dma-buf SYNC_START: inappropriate ioctl for device" {
		t.Errorf("message %q", err)
	}
}

func TestWaitFence(t *testing.T) {
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		t.Fatal(err)
	}
	defer unix.Close(p[0])
	defer unix.Close(p[1])
	if err := WaitFence(p[0], 10*time.Millisecond); !errors.Is(err, unix.ETIMEDOUT) {
		t.Fatalf("unsignalled: %v, want ETIMEDOUT", err)
	}
	unix.Write(p[1], []byte{1})
	if err := WaitFence(p[0], time.Second); err != nil {
		t.Fatalf("signalled: %v", err)
	}
}

func TestMapSize(t *testing.T) {
	fd, err := unix.MemfdCreate("x", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	unix.Ftruncate(fd, 8192)
	n, err := Size(fd)
	if err != nil || n != 8192 {
		t.Fatalf("Size = %d, %v", n, err)
	}
	m, err := Map(fd, 8192, true)
	if err != nil {
		t.Fatal(err)
	}
	m.Data[8191] = 7
	if err := m.Unmap(); err != nil {
		t.Fatal(err)
	}
	if err := m.Unmap(); err != nil {
		t.Fatal("second Unmap:", err)
	}
}
