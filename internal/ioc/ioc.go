// Package ioc encodes ioctl request numbers (asm-generic/ioctl.h, the same
// on amd64, arm64 and arm) and issues raw ioctls. Only the typed wrappers in
// internal/drm, internal/dmabuf and heap call it.
package ioc

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

const (
	dirNone  = 0
	dirWrite = 1
	dirRead  = 2

	nrShift   = 0
	typeShift = 8
	sizeShift = 16
	dirShift  = 30
)

func encode(dir, typ, nr, size uintptr) uintptr {
	return dir<<dirShift | typ<<typeShift | nr<<nrShift | size<<sizeShift
}

// IOWR is the C macro _IOWR(typ, nr, size).
func IOWR(typ byte, nr, size uintptr) uintptr {
	return encode(dirRead|dirWrite, uintptr(typ), nr, size)
}

// IOW is the C macro _IOW(typ, nr, size).
func IOW(typ byte, nr, size uintptr) uintptr { return encode(dirWrite, uintptr(typ), nr, size) }

// IO is the C macro _IO(typ, nr).
func IO(typ byte, nr uintptr) uintptr { return encode(dirNone, uintptr(typ), nr, 0) }

// Call issues one ioctl and retries on EINTR and EAGAIN, as libdrm's
// drmIoctl does. arg must point to memory that does not move during the call
// (the compiler keeps a pointer passed this way alive and in place).
func Call(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		switch e {
		case 0:
			return nil
		case unix.EINTR, unix.EAGAIN:
			continue
		default:
			return e
		}
	}
}
