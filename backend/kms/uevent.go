package kms

import (
	"bytes"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// uevent is one kernel uevent (NETLINK_KOBJECT_UEVENT, the kernel's
// multicast group): "ACTION@DEVPATH" then KEY=VALUE pairs, NUL-separated.
type uevent struct {
	Action, DevPath, Subsystem string
	Major, Minor               int // -1 when absent
	// Hotplug: HOTPLUG=1, a connector change the driver reported.
	Hotplug bool
	// Synthetic: written to the device's uevent file (udevadm trigger),
	// which asks listeners to look again.
	Synthetic bool
}

// parseUevent reads one kernel uevent message; ok is false for anything
// else (udev's own "libudev" messages, garbage).
func parseUevent(msg []byte) (ev uevent, ok bool) {
	ev.Major, ev.Minor = -1, -1
	head, rest, found := bytes.Cut(msg, []byte{0})
	action, path, at := bytes.Cut(head, []byte("@"))
	if !found || !at || len(action) == 0 || len(path) == 0 {
		return ev, false
	}
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
		case "MAJOR":
			ev.Major = atoiOr(v, -1)
		case "MINOR":
			ev.Minor = atoiOr(v, -1)
		case "HOTPLUG":
			ev.Hotplug = string(v) == "1"
		case "SYNTH_UUID":
			ev.Synthetic = true
		}
	}
	return ev, true
}

func atoiOr(b []byte, def int) int {
	n, err := strconv.Atoi(string(b))
	if err != nil || n < 0 {
		return def
	}
	return n
}

// concerns reports whether ev asks the display with device number rdev
// to re-probe its connectors: a change of that DRM device with HOTPLUG=1,
// or a synthetic change (udevadm trigger --action=change).
func (ev uevent) concerns(rdev uint64) bool {
	return ev.Action == "change" && ev.Subsystem == "drm" && (ev.Hotplug || ev.Synthetic) &&
		ev.Major == int(unix.Major(rdev)) && ev.Minor == int(unix.Minor(rdev))
}

// openUevents opens a socket on the kernel's uevents. Reads block in
// Go's poller; Close ends them.
func openUevents() (*os.File, error) {
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, unix.NETLINK_KOBJECT_UEVENT)
	if err != nil {
		return nil, fmt.Errorf("uevent socket: %w", err)
	}
	// Room for a burst (several connectors at once); an overflow only
	// means a re-probe, which reads the state anyway.
	unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: 1}); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind uevent socket: %w", err)
	}
	return os.NewFile(uintptr(fd), "uevents"), nil
}
