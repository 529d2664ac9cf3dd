// Package dmabuf operates on dma-buf file descriptors: size, mmap, CPU
// access bracketed with DMA_BUF_IOCTL_SYNC, implicit fences exported and
// imported as sync_files, waiting on a sync_file, and udmabuf creation from
// a memfd. Errors carry the operation and the errno.
package dmabuf

import (
	"fmt"
	"structs"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/ioc"
)

// Error is a failed dma-buf operation with its errno.
type Error struct {
	Op  string
	Err error
}

func (e *Error) Error() string { return "dma-buf " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the errno.
func (e *Error) Unwrap() error { return e.Err }

// struct dma_buf_sync (linux/dma-buf.h).
type bufSync struct {
	_     structs.HostLayout
	Flags uint64
}

// struct dma_buf_export_sync_file / dma_buf_import_sync_file.
type syncFileArg struct {
	_     structs.HostLayout
	Flags uint32
	FD    int32
}

// struct udmabuf_create (linux/udmabuf.h).
type udmabufCreate struct {
	_      structs.HostLayout
	MemFD  uint32
	Flags  uint32
	Offset uint64
	Size   uint64
}

// Access flags for Begin/End and sync_file export/import.
const (
	Read      = 1 // DMA_BUF_SYNC_READ
	Write     = 2 // DMA_BUF_SYNC_WRITE
	ReadWrite = Read | Write
	syncStart = 0
	syncEnd   = 4
)

var (
	ioctlSync           = ioc.IOW('b', 0, unsafe.Sizeof(bufSync{}))
	ioctlExportSyncFile = ioc.IOWR('b', 2, unsafe.Sizeof(syncFileArg{}))
	ioctlImportSyncFile = ioc.IOW('b', 3, unsafe.Sizeof(syncFileArg{}))
	ioctlUdmabufCreate  = ioc.IOW('u', 0x42, unsafe.Sizeof(udmabufCreate{}))
)

// Size returns a dma-buf's size (lseek to the end, as the kernel allows).
func Size(fd int) (int64, error) {
	n, err := unix.Seek(fd, 0, unix.SEEK_END)
	if err != nil {
		return 0, &Error{Op: "size (lseek)", Err: err}
	}
	if _, err := unix.Seek(fd, 0, unix.SEEK_SET); err != nil {
		return 0, &Error{Op: "size (lseek)", Err: err}
	}
	return n, nil
}

// BeginAccess starts CPU access (DMA_BUF_SYNC_START|access): caches are
// made coherent for the CPU and the call waits for device writes in flight.
func BeginAccess(fd int, access uint64) error {
	s := bufSync{Flags: syncStart | access}
	if err := ioc.Call(fd, ioctlSync, unsafe.Pointer(&s)); err != nil {
		return &Error{Op: "SYNC_START", Err: err}
	}
	return nil
}

// EndAccess ends CPU access (DMA_BUF_SYNC_END|access): CPU writes are made
// visible to devices.
func EndAccess(fd int, access uint64) error {
	s := bufSync{Flags: syncEnd | access}
	if err := ioc.Call(fd, ioctlSync, unsafe.Pointer(&s)); err != nil {
		return &Error{Op: "SYNC_END", Err: err}
	}
	return nil
}

// ExportSyncFile returns a sync_file fd that signals when the buffer's
// current fences for access (Read: writers; Write: all users) signal.
// Kernels before 6.0 fail with ENOTTY.
func ExportSyncFile(fd int, access uint32) (int, error) {
	a := syncFileArg{Flags: access, FD: -1}
	if err := ioc.Call(fd, ioctlExportSyncFile, unsafe.Pointer(&a)); err != nil {
		return -1, &Error{Op: "EXPORT_SYNC_FILE", Err: err}
	}
	return int(a.FD), nil
}

// ImportSyncFile attaches a sync_file to the buffer as an implicit fence
// (access Write: as a writer).
func ImportSyncFile(fd, syncFD int, access uint32) error {
	a := syncFileArg{Flags: access, FD: int32(syncFD)}
	if err := ioc.Call(fd, ioctlImportSyncFile, unsafe.Pointer(&a)); err != nil {
		return &Error{Op: "IMPORT_SYNC_FILE", Err: err}
	}
	return nil
}

// RenderFenceTimeout bounds a CPU wait for a render fence (a GPU frame):
// longer means a hung GPU, reported as an error rather than waited out.
const RenderFenceTimeout = 2 * time.Second

// WaitFence waits for a sync_file (or any pollable fence fd) to signal. A
// negative timeout waits forever. It returns unix.ETIMEDOUT on timeout.
func WaitFence(fd int, timeout time.Duration) error {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	fds := [1]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return &Error{Op: "wait fence (poll)", Err: err}
		}
		if n == 0 {
			return &Error{Op: "wait fence", Err: unix.ETIMEDOUT}
		}
		if fds[0].Revents&(unix.POLLERR|unix.POLLNVAL) != 0 {
			return &Error{Op: "wait fence", Err: unix.EINVAL}
		}
		return nil
	}
}

// Mapping is a CPU mapping of a dma-buf.
type Mapping struct {
	FD   int // the dma-buf, not owned
	Data []byte
}

// Map maps size bytes of a dma-buf shared, read-write or read-only.
func Map(fd int, size int, write bool) (*Mapping, error) {
	prot := unix.PROT_READ
	if write {
		prot |= unix.PROT_WRITE
	}
	b, err := unix.Mmap(fd, 0, size, prot, unix.MAP_SHARED)
	if err != nil {
		return nil, &Error{Op: fmt.Sprintf("mmap %d bytes", size), Err: err}
	}
	return &Mapping{FD: fd, Data: b}, nil
}

// Unmap releases the mapping; it accepts nil and is idempotent.
func (m *Mapping) Unmap() error {
	if m == nil || m.Data == nil {
		return nil
	}
	err := unix.Munmap(m.Data)
	m.Data = nil
	if err != nil {
		return &Error{Op: "munmap", Err: err}
	}
	return nil
}

// CreateUdmabuf wraps size bytes of a memfd (sealed against shrinking) as a
// dma-buf through /dev/udmabuf and returns the dma-buf fd.
func CreateUdmabuf(devFD, memfd int, offset, size uint64) (int, error) {
	c := udmabufCreate{MemFD: uint32(memfd), Flags: 1 /* UDMABUF_FLAGS_CLOEXEC */, Offset: offset, Size: size}
	r, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(devFD), ioctlUdmabufCreate, uintptr(unsafe.Pointer(&c)))
	if e != 0 {
		return -1, &Error{Op: "UDMABUF_CREATE", Err: e}
	}
	return int(r), nil
}
