// Package uevent reads the kernel's uevents (NETLINK_KOBJECT_UEVENT):
// device add, remove and change notices, as the kernel sends them,
// without a udev daemon. Input hotplug (internal/libinput's path
// backend) and display connector hotplug (backend/kms) follow them.
package uevent

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"golang.org/x/sys/unix"
)

// Event is one kernel uevent: "ACTION@DEVPATH" then KEY=VALUE pairs,
// NUL-separated.
type Event struct {
	Action    string // add, remove, change, bind, ...
	DevPath   string // under /sys, e.g. /devices/virtual/input/input5/event3
	Subsystem string // input, drm, ...
	DevName   string // under /dev, e.g. input/event3; empty without a node
	// Major and Minor are the device number, -1 when absent.
	Major, Minor int
	// Hotplug: HOTPLUG=1, a connector change a DRM driver reported.
	Hotplug bool
	// Synthetic: written to the device's uevent file (udevadm trigger),
	// which asks listeners to look again.
	Synthetic bool
}

// Parse reads one kernel uevent message. ok is false for anything else:
// udevd's own messages (a "libudev" header), a header without
// "ACTION@DEVPATH", a message without SUBSYSTEM.
func Parse(msg []byte) (ev Event, ok bool) {
	ev.Major, ev.Minor = -1, -1
	head, rest, found := bytes.Cut(msg, []byte{0})
	action, path, at := bytes.Cut(head, []byte("@"))
	if !found || !at || len(action) == 0 || len(path) == 0 {
		return ev, false
	}
	// The kernel repeats these as ACTION= and DEVPATH=; the header wins.
	ev.Action, ev.DevPath = string(action), string(path)
	for len(rest) > 0 {
		var kv []byte
		kv, rest, _ = bytes.Cut(rest, []byte{0})
		k, v, ok := bytes.Cut(kv, []byte("="))
		if !ok {
			continue
		}
		switch string(k) {
		case "SUBSYSTEM":
			ev.Subsystem = string(v)
		case "DEVNAME":
			ev.DevName = string(v)
		case "MAJOR":
			ev.Major = number(v)
		case "MINOR":
			ev.Minor = number(v)
		case "HOTPLUG":
			ev.Hotplug = string(v) == "1"
		case "SYNTH_UUID":
			ev.Synthetic = true
		}
	}
	return ev, ev.Subsystem != ""
}

// number parses a device number part, -1 if it is none.
func number(b []byte) int {
	n, err := strconv.ParseUint(string(b), 10, 31)
	if err != nil {
		return -1
	}
	return int(n)
}

// Conn is a socket on the kernel's uevents. Its reads are for one
// goroutine at a time.
type Conn struct {
	f   *os.File
	rc  syscall.RawConn
	fd  int
	buf []byte
	// closed: Close ran (a read it ended reports os.ErrClosed).
	closed atomic.Bool
}

// kernelGroup is the multicast group of the kernel's own uevents (udevd
// re-sends processed ones on group 2, silent without udevd).
const kernelGroup = 1

// rcvbuf is the socket's receive buffer: room for a burst (a hub of
// input devices, several connectors at once). Beyond it the kernel
// drops uevents and the next read reports ENOBUFS.
const rcvbuf = 1 << 20

// Open opens a socket on the kernel's uevents (close-on-exec,
// non-blocking, in Go's poller).
func Open() (*Conn, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("uevent: socket: %w", err)
	}
	// SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN;
	// without it SO_RCVBUF gets what the limit allows.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, rcvbuf) != nil {
		unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, rcvbuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: kernelGroup}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("uevent: bind to the kernel's group: %w", err)
	}
	f := os.NewFile(uintptr(fd), "uevents")
	rc, err := f.SyscallConn()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("uevent: %w", err)
	}
	// Kernel uevents are at most 2 KiB of environment plus the header.
	return &Conn{f: f, rc: rc, fd: fd, buf: make([]byte, 16<<10)}, nil
}

// Fd is the socket, for poll(2) in a caller's own loop (it stays
// non-blocking); it is valid until Close.
func (c *Conn) Fd() int { return c.fd }

// Close closes the socket and ends a Read waiting on it.
func (c *Conn) Close() error {
	c.closed.Store(true)
	return c.f.Close()
}

// Read waits for the next kernel uevent and returns it, skipping
// messages that are not one. When the kernel dropped uevents (the
// receive buffer overflowed) the error satisfies errors.Is(err,
// unix.ENOBUFS): the caller looks at the devices again, and may read on.
// After Close it returns an error satisfying errors.Is(err, os.ErrClosed).
func (c *Conn) Read() (Event, error) {
	for {
		ev, ok, err := c.next(true)
		if err != nil || ok {
			return ev, err
		}
	}
}

// ReadQueued returns the next queued kernel uevent without waiting,
// skipping messages that are not one; ok is false when none is queued.
// Errors are Read's.
func (c *Conn) ReadQueued() (ev Event, ok bool, err error) {
	for {
		ev, ok, err := c.next(false)
		if errors.Is(err, unix.EAGAIN) {
			return ev, false, nil
		}
		if err != nil || ok {
			return ev, ok, err
		}
	}
}

// next receives one message (waiting for it if wait) and parses it; ok
// is false for a message that is not a kernel uevent. Without wait, an
// empty queue is EAGAIN.
func (c *Conn) next(wait bool) (ev Event, ok bool, err error) {
	var n int
	var from unix.Sockaddr
	var rerr error
	if err := c.rc.Read(func(fd uintptr) bool {
		n, from, rerr = unix.Recvfrom(int(fd), c.buf, unix.MSG_DONTWAIT)
		return !wait || rerr != unix.EAGAIN
	}); err != nil {
		if c.closed.Load() { // the poller's own "use of closed file" is not os.ErrClosed
			err = fmt.Errorf("%w (%v)", os.ErrClosed, err)
		}
		return ev, false, fmt.Errorf("uevent: read: %w", err)
	}
	if rerr != nil {
		return ev, false, fmt.Errorf("uevent: read: %w", rerr)
	}
	// Only the kernel (port 0) speaks for the kernel.
	if nl, isNL := from.(*unix.SockaddrNetlink); !isNL || nl.Pid != 0 {
		return ev, false, nil
	}
	ev, ok = Parse(c.buf[:n])
	return ev, ok, nil
}
