package libinput

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/internal/uevent"
)

// Where the path backend looks: the kernel's input class in sysfs, the
// device nodes, and udev's database (which libudev, inside libinput,
// reads a device's properties from).
var (
	sysClassInput = "/sys/class/input"
	devDir        = "/dev"
	udevDataDir   = "/run/udev/data"
)

// hotplug follows the kernel's input devices for the path backend: the
// event devices present at start, then add and remove uevents.
type hotplug struct {
	c    *Context
	sock *uevent.Conn
	// udevd: a udev daemon writes the database; minicomp only waits
	// for it (libinput does) and writes nothing.
	udevd bool
	// byName maps "event3" to its libinput device, for removal.
	byName map[string]uintptr
	// written are the database entries minicomp wrote (removed with
	// their device and at close).
	written map[string]string
	// suspended: the session is away; devices are neither opened nor
	// added until resume (which takes those present then).
	suspended bool
	// otherSeat are devices libinput opened and minicomp removed at once
	// because their ID_SEAT is another seat's: their added and removed
	// events are not reported.
	otherSeat map[uintptr]bool
}

// suspend removes every device from libinput. (libinput_suspend would
// keep the path backend's list and re-open all of it on resume, failing
// as a whole when one device went away meanwhile.)
func (h *hotplug) suspend() {
	h.suspended = true
	for name := range h.byName {
		h.removeDevice(name)
	}
}

// resume adds the devices present now.
func (h *hotplug) resume() {
	h.suspended = false
	h.scan()
}

func newHotplug(c *Context, udevd bool) (*hotplug, error) {
	sock, err := uevent.Open()
	if err != nil {
		return nil, fmt.Errorf("libinput: %w", err)
	}
	h := &hotplug{c: c, sock: sock, udevd: udevd, byName: map[string]uintptr{}, written: map[string]string{}, otherSeat: map[uintptr]bool{}}
	if !udevd {
		c.log.Info("no udev daemon (/run/udev/control): minicomp classifies input devices itself and records them in " + udevDataDir + " for libinput")
	}
	return h, nil
}

// scan adds the event devices present now.
func (h *hotplug) scan() {
	ents, err := os.ReadDir(sysClassInput)
	if err != nil {
		h.c.log.Warn("no input devices", "err", err)
		return
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "event") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		h.add(n)
	}
}

// read handles the queued uevents.
func (h *hotplug) read() {
	for {
		u, ok, err := h.sock.ReadQueued()
		if errors.Is(err, unix.ENOBUFS) {
			h.c.log.Warn("uevents lost (socket buffer overrun): rescanning input devices")
			h.scan()
			continue
		}
		if err != nil {
			h.c.log.Warn("input hotplug", "err", err)
			return
		}
		if !ok {
			return
		}
		if u.Subsystem != "input" || !strings.HasPrefix(u.DevName, "input/event") {
			continue
		}
		name := strings.TrimPrefix(u.DevName, "input/")
		switch {
		case u.Action == "add" && !h.suspended:
			h.add(name)
		case u.Action == "remove":
			h.removeDevice(name)
			h.dropDB(name)
		}
	}
}

// add classifies event device name, writes its database entry (without
// udevd) and adds it to libinput.
func (h *hotplug) add(name string) {
	if _, ok := h.byName[name]; ok {
		return
	}
	log := h.c.log
	sys := filepath.Join(sysClassInput, name)
	devnum, err := os.ReadFile(filepath.Join(sys, "dev"))
	if err != nil {
		log.Warn("input device vanished", "device", name, "err", err)
		return
	}
	db := filepath.Join(udevDataDir, "c"+strings.TrimSpace(string(devnum)))
	if h.udevd {
		// udevd's entry, when it has written it already (else libinput
		// waits for it and its seat is checked after the add).
		if raw, err := os.ReadFile(db); err == nil {
			if seat := udevSeat(raw); seat != h.c.seat {
				log.Info("input device of another seat: not used", "device", name, "seat", seat, "ours", h.c.seat)
				return
			}
		}
	} else {
		caps, err := ReadCapabilities(filepath.Join(sys, "device"))
		if err != nil {
			log.Warn("input device not classified", "device", name, "err", err)
			return
		}
		props := Classify(caps)
		if len(props) == 0 {
			log.Info("input device ignored (no keys, pointer or touch)", "device", name)
			return
		}
		if err := writeUdevDB(db, props); err != nil {
			log.Warn("input device unusable: cannot record its properties for libinput (start systemd-udevd, Debian package udev)", "device", name, "err", err)
			return
		}
		h.written[name] = db
	}
	path := dl.CString(filepath.Join(devDir, "input", name))
	dev := dl.Call(h.c.l.pathAdd, h.c.li, uintptr(unsafe.Pointer(&path[0])))
	if dev == 0 {
		// libinput logged why (not an input device it handles, open refused).
		h.dropDB(name)
		return
	}
	if seat := dl.GoString(dl.Call(h.c.l.seatPhysName, dl.Call(h.c.l.devSeat, dev))); seat != h.c.seat {
		log.Info("input device of another seat: not used", "device", name, "seat", seat, "ours", h.c.seat)
		h.otherSeat[dev] = true
		dl.Call(h.c.l.pathRemove, dev)
		h.dropDB(name)
		return
	}
	h.byName[name] = dev
}

// udevSeat returns the seat a udev database entry (/run/udev/data/c13:N)
// assigns its device to: its ID_SEAT property, "seat0" without one (as
// libinput, logind and seatd take it).
func udevSeat(db []byte) string {
	for line := range strings.Lines(string(db)) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), "E:ID_SEAT="); ok && v != "" {
			return v
		}
	}
	return "seat0"
}

// removeDevice takes event device name out of libinput.
func (h *hotplug) removeDevice(name string) {
	dev, ok := h.byName[name]
	delete(h.byName, name)
	if ok && h.c.devices[dev] != nil {
		dl.Call(h.c.l.pathRemove, dev)
	}
}

// forget drops a device libinput removed on its own (a read error on
// unplug, before the uevent).
func (h *hotplug) forget(dev uintptr) {
	for n, d := range h.byName {
		if d == dev {
			delete(h.byName, n)
		}
	}
}

func (h *hotplug) dropDB(name string) {
	if db, ok := h.written[name]; ok {
		os.Remove(db)
		delete(h.written, name)
	}
}

func (h *hotplug) close() {
	h.sock.Close()
	for n := range h.written {
		h.dropDB(n)
	}
}

// writeUdevDB writes a udev database entry with props, in the format
// udevd writes (systemd's sd-device reads it: a device with an entry is
// "initialized").
func writeUdevDB(path string, props []string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
	fmt.Fprintf(&b, "I:%d\n", ts.Nano()/1000)
	for _, p := range props {
		b.WriteString("E:" + p + "\n")
	}
	b.WriteString("G:seat\nQ:seat\nV:1\n")
	tmp := path + ".minicomp"
	if err := os.WriteFile(tmp, []byte(b.String()), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
