package libinput

import (
	"errors"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/dl"
)

// The C callbacks libinput calls: opening and closing devices through
// the Context's DeviceOpener, and its log messages.

// openRestricted is libinput's open_restricted: int (*)(const char *path,
// int flags, void *user_data). It returns the fd or a negative errno.
func openRestricted(path uintptr, flags int32, id uintptr) int32 {
	c := lookup(id)
	if c == nil {
		return -int32(syscall.ENODEV)
	}
	p := dl.GoString(path)
	f, err := c.opener.OpenDevice(p)
	if err != nil {
		c.log.Warn("input device open refused", "path", p, "err", err)
		var errno syscall.Errno
		if errors.As(err, &errno) {
			return -int32(errno)
		}
		return -int32(syscall.EACCES)
	}
	fd := -1
	if sc, err := f.SyscallConn(); err == nil {
		sc.Control(func(v uintptr) { fd = int(v) })
	}
	if fd < 0 {
		c.opener.CloseDevice(f)
		return -int32(syscall.EBADF)
	}
	// libinput reads until EAGAIN: the fd must not block (an fd from a
	// session may come blocking).
	if err := unix.SetNonblock(fd, true); err != nil {
		c.opener.CloseDevice(f)
		return -int32(syscall.EBADF)
	}
	c.files[fd] = f
	return int32(fd)
}

// closeRestricted is libinput's close_restricted: void (*)(int fd, void
// *user_data).
func closeRestricted(fd int32, id uintptr) {
	c := lookup(id)
	if c == nil {
		return
	}
	f := c.files[int(fd)]
	if f == nil {
		c.log.Warn("libinput closed an fd it did not open through minicomp", "fd", fd)
		return
	}
	delete(c.files, int(fd))
	if err := c.opener.CloseDevice(f); err != nil {
		c.log.Warn("input device close", "fd", fd, "err", err)
	}
}

// logHandler is libinput's log handler: void (*)(struct libinput *,
// enum libinput_log_priority, const char *format, va_list args). The
// va_list is handed to vsnprintf as it came: a pointer on amd64 and
// arm64 (an array, or a struct passed by reference), one word on arm.
func logHandler(li uintptr, priority int32, format, args uintptr) {
	l := loaded
	if l == nil {
		return
	}
	c := lookup(dl.Call(l.userData, li))
	if c == nil {
		return
	}
	buf := c.logBuf
	n := int(int32(dl.Call(c.l.vsnprintf, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)), format, args)))
	if n < 0 {
		return
	}
	n = min(n, len(buf)-1)
	msg := string(buf[:n])
	for len(msg) > 0 && msg[len(msg)-1] == '\n' {
		msg = msg[:len(msg)-1]
	}
	switch {
	case priority >= 30:
		c.log.Error("libinput: " + msg)
	case priority >= 20:
		c.log.Info("libinput: " + msg)
	default:
		c.log.Debug("libinput: " + msg)
	}
}
