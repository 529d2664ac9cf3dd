package drm

import (
	"encoding/binary"
	"time"

	"golang.org/x/sys/unix"
)

// FlipEvent is a completed page flip (or vblank) read from a DRM fd.
type FlipEvent struct {
	Type     uint32
	UserData uint64
	Time     time.Duration // CLOCK_MONOTONIC when CapTimestampMonotonic is 1
	Sequence uint32
	CRTCID   uint32
}

// EventReader reads DRM events with a reusable buffer (no allocation per
// read).
type EventReader struct {
	buf [4096]byte
}

// Wait blocks until the device fd is readable or timeout passes (negative:
// forever). It reports whether it is readable.
func (d *Device) Wait(timeout time.Duration) (bool, error) {
	ms := -1
	if timeout >= 0 {
		ms = int((timeout + time.Millisecond - 1) / time.Millisecond)
	}
	fds := [1]unix.PollFd{{Fd: int32(d.fd), Events: unix.POLLIN}}
	for {
		n, err := unix.Poll(fds[:], ms)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return false, &Error{Op: "poll", Device: d.Path, Err: err}
		}
		return n > 0, nil
	}
}

// Read reads whatever events are pending (the fd is non-blocking) and calls
// fn for each vblank or flip-complete event. It returns how many it handled.
func (r *EventReader) Read(d *Device, fn func(FlipEvent)) (int, error) {
	n, err := unix.Read(d.fd, r.buf[:])
	if err == unix.EAGAIN {
		return 0, nil
	}
	if err != nil {
		return 0, &Error{Op: "read events", Device: d.Path, Err: err}
	}
	return ParseEvents(r.buf[:n], fn), nil
}

// ParseEvents walks a buffer of DRM events, calling fn for each vblank and
// flip-complete event; truncated or malformed records end the walk.
func ParseEvents(b []byte, fn func(FlipEvent)) int {
	le := binary.NativeEndian
	handled := 0
	for len(b) >= 8 {
		typ := le.Uint32(b[0:])
		length := le.Uint32(b[4:])
		if length < 8 || uint64(length) > uint64(len(b)) {
			break
		}
		if (typ == EventTypeFlipComplete || typ == EventTypeVblank) && length >= 32 {
			fn(FlipEvent{
				Type:     typ,
				UserData: le.Uint64(b[8:]),
				Time:     time.Duration(le.Uint32(b[16:]))*time.Second + time.Duration(le.Uint32(b[20:]))*time.Microsecond,
				Sequence: le.Uint32(b[24:]),
				CRTCID:   le.Uint32(b[28:]),
			})
			handled++
		}
		b = b[length:]
	}
	return handled
}
