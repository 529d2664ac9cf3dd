package dl

import (
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

var (
	errnoOnce sync.Once
	errnoLoc  uintptr // libc's __errno_location
)

// CallErrno is Call for C functions that report failure through errno
// (libseat's -1 and errno): it runs fn and reads the calling thread's
// errno on the same OS thread. The errno is only meaningful when fn's
// result says it failed; 0 when libc cannot be loaded.
//
//go:uintptrescapes
func CallErrno(fn uintptr, args ...uintptr) (uintptr, unix.Errno) {
	errnoOnce.Do(func() {
		if libc, err := Open("libc.so.6", false); err == nil {
			errnoLoc, _ = Sym(libc, "__errno_location")
		}
	})
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	r := syscallN(fn, args...)
	if errnoLoc == 0 {
		return r, 0
	}
	p := syscallN(errnoLoc)
	return r, unix.Errno(*(*int32)(unsafe.Add(unsafe.Pointer(nil), p))) //nolint:govet // C memory
}
