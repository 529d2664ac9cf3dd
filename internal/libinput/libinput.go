// Package libinput reads keyboards, mice, touchpads and touchscreens
// through libinput (libinput.so.10, Debian libinput10, loaded at run time
// through internal/dl: no cgo), as weston, wlroots, cage and smithay do:
// pointer acceleration, tap-to-click, natural and high-resolution scroll,
// touch frames and device hotplug are libinput's.
//
// Devices are opened through a DeviceOpener (a seat session's, or
// DirectOpener for root and tests), which libinput reaches through its
// open_restricted/close_restricted callbacks.
//
// libinput classifies devices by the properties udev gives them (ID_INPUT,
// ID_INPUT_KEYBOARD, ID_INPUT_MOUSE, ID_INPUT_TOUCHSCREEN, ...) and
// refuses a device without them ("not tagged as supported input
// device"); its path backend even waits for udev's database entry ("udev
// device never initialized"). Two backends follow from that:
//
//   - udev (where systemd-udevd runs, as on Raspberry Pi OS): libinput's
//     own udev backend enumerates the seat's devices and follows
//     hotplug through udev's monitor;
//   - path (no udev daemon: minimal images, the test rig): minicomp
//     follows the kernel's uevents itself (NETLINK_KOBJECT_UEVENT),
//     classifies each event device from its sysfs capabilities the way
//     udev's input_id builtin does (classify.go), records the result
//     where libudev reads it (/run/udev/data/c13:N, as udevd would, and
//     removes it with the device), and adds the device to libinput's path
//     backend.
//
// All libinput calls are serialised by the Context; Run delivers events
// on the caller's goroutine.
package libinput

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/dl"
)

// Library names and the Debian packages that ship them.
const (
	LibName        = "libinput.so.10"
	DebPackage     = "libinput10"
	UdevLibName    = "libudev.so.1"
	UdevDebPackage = "libudev1"
)

// ErrNoLibinput is wrapped by New's error when libinput (or libudev)
// cannot be loaded.
var ErrNoLibinput = errors.New("libinput unavailable")

// ErrClosed is returned by Run and the other methods after Close.
var ErrClosed = errors.New("libinput: context closed")

// DeviceOpener opens and closes input devices for libinput: a seat
// session (libseat) in a seated compositor, DirectOpener as root.
type DeviceOpener interface {
	OpenDevice(path string) (*os.File, error)
	CloseDevice(*os.File) error
}

// DirectOpener opens devices with open(2) as the process's own user
// (root, or a member of group input).
type DirectOpener struct{}

// OpenDevice opens path read-write (read-only when writing is refused),
// non-blocking.
func (DirectOpener) OpenDevice(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDWR|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EROFS) {
		f, err = os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	}
	return f, err
}

// CloseDevice closes f.
func (DirectOpener) CloseDevice(f *os.File) error { return f.Close() }

// Toggle is an on/off setting that may be left at the device's default.
type Toggle int8

// Toggle values.
const (
	Default Toggle = iota // the device's (libinput's) default
	On
	Off
)

// AccelProfile is a pointer acceleration profile.
type AccelProfile int

// Acceleration profiles.
const (
	AccelDefault  AccelProfile = 0      // the device's default
	AccelFlat     AccelProfile = 1 << 0 // LIBINPUT_CONFIG_ACCEL_PROFILE_FLAT
	AccelAdaptive AccelProfile = 1 << 1 // LIBINPUT_CONFIG_ACCEL_PROFILE_ADAPTIVE
)

// Settings are applied to every device that supports them, when it is
// added.
type Settings struct {
	Tap           Toggle // tap-to-click on touchpads
	NaturalScroll Toggle
	AccelProfile  AccelProfile
	// AccelSpeed is the acceleration speed in [-1, 1]; nil keeps the
	// device's default.
	AccelSpeed *float64
}

// Backend picks how devices are found.
type Backend int

// Backends.
const (
	// BackendAuto is udev where a udev daemon runs (/run/udev/control
	// exists), path otherwise.
	BackendAuto Backend = iota
	// BackendUdev is libinput's udev backend (needs systemd-udevd).
	BackendUdev
	// BackendPath is libinput's path backend with minicomp's own
	// hotplug and classification.
	BackendPath
)

func (b Backend) String() string {
	switch b {
	case BackendUdev:
		return "udev"
	case BackendPath:
		return "path"
	}
	return "auto"
}

// Options configure a Context.
type Options struct {
	// Seat is the udev seat whose devices are used (default "seat0"):
	// a device whose udev property ID_SEAT names another seat is left
	// alone (a device without one is on seat0), by libinput itself with
	// the udev backend and by minicomp with the path backend.
	Seat    string
	Opener  DeviceOpener // default DirectOpener
	Backend Backend
	Settings
	Logger *slog.Logger
}

// Capability bits of a Device.
type Capability uint32

// Capabilities (LIBINPUT_DEVICE_CAP_*, as bits).
const (
	CapKeyboard Capability = 1 << iota
	CapPointer
	CapTouch
	CapTabletTool
	CapTabletPad
	CapGesture
	CapSwitch
)

// Device is one input device libinput handles.
type Device struct {
	Name    string // "Logitech USB Receiver"
	Sysname string // "event3"
	Caps    Capability
	h       uintptr // struct libinput_device * (referenced)
}

// lib is the loaded library's functions.
type lib struct {
	udevNew, udevUnref                                          uintptr
	udevCreate, udevAssignSeat, pathCreate, pathAdd, pathRemove uintptr
	getFD, dispatch, getEvent, unref, suspend, resume, logSet   uintptr
	logPriority, userData                                       uintptr
	evType, evDevice, evDestroy                                 uintptr
	evKeyboard, kbTime, kbKey, kbState                          uintptr
	evPointer, ptTime, ptButton, ptButtonState, ptHasAxis       uintptr
	evTouch, tcTime, tcSeatSlot                                 uintptr
	devRef, devUnref, devName, devSysname, devHasCap            uintptr
	devSeat, seatPhysName                                       uintptr
	tapFingers, tapSet, naturalHas, naturalSet                  uintptr
	accelAvail, accelProfiles, accelSetProfile, vsnprintf       uintptr

	dx, dy, dxRaw, dyRaw          dfn1
	absX, absY, touchX, touchY    dfn2 // (event, width)
	scrollValue, scrollValue120   dfn2 // (event, axis)
	accelSetSpeed                 func(dev uintptr, speed float64) int32
	openCB, closeCB, logCB        uintptr // C function pointers to the Go callbacks
	iface                         *[2]uintptr
	libinputHandle, udevLibHandle uintptr
}

var (
	loadOnce sync.Once
	loaded   *lib
	loadErr  error
)

func load() (*lib, error) {
	loadOnce.Do(func() { loaded, loadErr = open() })
	return loaded, loadErr
}

func open() (*lib, error) {
	// dlerror is per thread: stay on this one so a failure says why.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	h, err := dl.Open(LibName, false)
	if err != nil {
		return nil, fmt.Errorf("libinput: load %s: %v (install the Debian package %s): %w", LibName, err, DebPackage, ErrNoLibinput)
	}
	uh, err := dl.Open(UdevLibName, false)
	if err != nil {
		return nil, fmt.Errorf("libinput: load %s: %v (install the Debian package %s): %w", UdevLibName, err, UdevDebPackage, ErrNoLibinput)
	}
	libc, err := dl.Open("libc.so.6", false)
	if err != nil {
		return nil, fmt.Errorf("libinput: load libc.so.6: %v: %w", err, ErrNoLibinput)
	}
	l := &lib{libinputHandle: h, udevLibHandle: uh}
	syms := []struct {
		lib  uintptr
		p    *uintptr
		name string
	}{
		{uh, &l.udevNew, "udev_new"}, {uh, &l.udevUnref, "udev_unref"},
		{h, &l.udevCreate, "libinput_udev_create_context"}, {h, &l.udevAssignSeat, "libinput_udev_assign_seat"},
		{h, &l.pathCreate, "libinput_path_create_context"}, {h, &l.pathAdd, "libinput_path_add_device"},
		{h, &l.pathRemove, "libinput_path_remove_device"},
		{h, &l.getFD, "libinput_get_fd"}, {h, &l.dispatch, "libinput_dispatch"}, {h, &l.getEvent, "libinput_get_event"},
		{h, &l.unref, "libinput_unref"}, {h, &l.suspend, "libinput_suspend"}, {h, &l.resume, "libinput_resume"},
		{h, &l.logSet, "libinput_log_set_handler"}, {h, &l.logPriority, "libinput_log_set_priority"},
		{h, &l.userData, "libinput_get_user_data"},
		{h, &l.evType, "libinput_event_get_type"}, {h, &l.evDevice, "libinput_event_get_device"},
		{h, &l.evDestroy, "libinput_event_destroy"},
		{h, &l.evKeyboard, "libinput_event_get_keyboard_event"}, {h, &l.kbTime, "libinput_event_keyboard_get_time_usec"},
		{h, &l.kbKey, "libinput_event_keyboard_get_key"}, {h, &l.kbState, "libinput_event_keyboard_get_key_state"},
		{h, &l.evPointer, "libinput_event_get_pointer_event"}, {h, &l.ptTime, "libinput_event_pointer_get_time_usec"},
		{h, &l.ptButton, "libinput_event_pointer_get_button"}, {h, &l.ptButtonState, "libinput_event_pointer_get_button_state"},
		{h, &l.ptHasAxis, "libinput_event_pointer_has_axis"},
		{h, &l.evTouch, "libinput_event_get_touch_event"}, {h, &l.tcTime, "libinput_event_touch_get_time_usec"},
		{h, &l.tcSeatSlot, "libinput_event_touch_get_seat_slot"},
		{h, &l.devRef, "libinput_device_ref"}, {h, &l.devUnref, "libinput_device_unref"},
		{h, &l.devName, "libinput_device_get_name"}, {h, &l.devSysname, "libinput_device_get_sysname"},
		{h, &l.devHasCap, "libinput_device_has_capability"},
		{h, &l.devSeat, "libinput_device_get_seat"}, {h, &l.seatPhysName, "libinput_seat_get_physical_name"},
		{h, &l.tapFingers, "libinput_device_config_tap_get_finger_count"}, {h, &l.tapSet, "libinput_device_config_tap_set_enabled"},
		{h, &l.naturalHas, "libinput_device_config_scroll_has_natural_scroll"},
		{h, &l.naturalSet, "libinput_device_config_scroll_set_natural_scroll_enabled"},
		{h, &l.accelAvail, "libinput_device_config_accel_is_available"},
		{h, &l.accelProfiles, "libinput_device_config_accel_get_profiles"},
		{h, &l.accelSetProfile, "libinput_device_config_accel_set_profile"},
		{libc, &l.vsnprintf, "vsnprintf"},
	}
	for _, s := range syms {
		if *s.p, err = dl.Sym(s.lib, s.name); err != nil {
			return nil, fmt.Errorf("libinput: %s: %v (libinput 1.19 or newer, Debian %s): %w", s.name, err, DebPackage, ErrNoLibinput)
		}
	}
	floats := []struct {
		fptr any
		addr *uintptr
		name string
	}{
		{&l.dx.f, &l.dx.p, "libinput_event_pointer_get_dx"}, {&l.dy.f, &l.dy.p, "libinput_event_pointer_get_dy"},
		{&l.dxRaw.f, &l.dxRaw.p, "libinput_event_pointer_get_dx_unaccelerated"},
		{&l.dyRaw.f, &l.dyRaw.p, "libinput_event_pointer_get_dy_unaccelerated"},
		{&l.absX.f, &l.absX.p, "libinput_event_pointer_get_absolute_x_transformed"},
		{&l.absY.f, &l.absY.p, "libinput_event_pointer_get_absolute_y_transformed"},
		{&l.touchX.f, &l.touchX.p, "libinput_event_touch_get_x_transformed"},
		{&l.touchY.f, &l.touchY.p, "libinput_event_touch_get_y_transformed"},
		{&l.scrollValue.f, &l.scrollValue.p, "libinput_event_pointer_get_scroll_value"},
		{&l.scrollValue120.f, &l.scrollValue120.p, "libinput_event_pointer_get_scroll_value_v120"},
		{&l.accelSetSpeed, nil, "libinput_device_config_accel_set_speed"},
	}
	for _, f := range floats {
		p, err := dl.Sym(h, f.name)
		if err != nil {
			return nil, fmt.Errorf("libinput: %s: %v (libinput 1.19 or newer, Debian %s): %w", f.name, err, DebPackage, ErrNoLibinput)
		}
		dl.FloatFunc(f.fptr, p)
		if f.addr != nil {
			*f.addr = p
		}
	}
	// The callbacks are made once for the process (purego keeps every
	// callback forever and allows about 2000); user_data says which
	// Context a call is for.
	l.openCB = dl.NewCallback(openRestricted)
	l.closeCB = dl.NewCallback(closeRestricted)
	l.logCB = dl.NewCallback(logHandler)
	l.iface = &[2]uintptr{l.openCB, l.closeCB} // struct libinput_interface, kept alive by loaded
	return l, nil
}

// Context is one libinput context (one seat).
type Context struct {
	l       *lib
	log     *slog.Logger
	opener  DeviceOpener
	set     Settings
	backend Backend
	seat    string  // Options.Seat
	id      uintptr // user_data: the key in contexts

	mu      sync.Mutex // serialises every libinput call and the fields below
	li      uintptr    // struct libinput *
	files   map[int]*os.File
	devices map[uintptr]*Device
	hot     *hotplug // path backend only
	closed  bool
	running bool // a Run is active
	wake    int  // eventfd: Close wakes Run; closed by whichever of Close and Run ends last
	logBuf  []byte
	stats   DispatchStats
	fc      dl.FastCall // the per-event calls (no allocation)
	// dc makes the per-event calls that return a double without
	// allocating (libffi); nil without libffi: reflection (dl.FloatFunc).
	dc *dl.DoubleCaller
}

// DispatchStats counts the time Run spends in libinput (dispatch, reading
// and copying the events), for measurements.
type DispatchStats struct {
	Batches, Events int
	Total           time.Duration
}

// Mean is the time per batch.
func (d DispatchStats) Mean() time.Duration {
	if d.Batches == 0 {
		return 0
	}
	return d.Total / time.Duration(d.Batches)
}

// DispatchStats returns the counters so far.
func (c *Context) DispatchStats() DispatchStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.stats
}

var (
	ctxMu    sync.Mutex
	contexts = map[uintptr]*Context{}
	nextID   uintptr
)

func lookup(id uintptr) *Context {
	ctxMu.Lock()
	defer ctxMu.Unlock()
	return contexts[id]
}

// udevControl is udevd's control socket (a variable for tests that stand
// in for udevd by writing its database themselves).
var udevControl = "/run/udev/control"

// udevRunning reports whether a udev daemon runs (its control socket).
func udevRunning() bool {
	_, err := os.Stat(udevControl)
	return err == nil
}

// New creates a context and adds the seat's devices. The devices found
// are reported by Run's first DeviceAdded events.
func New(opts Options) (*Context, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	if opts.Seat == "" {
		opts.Seat = "seat0"
	}
	if opts.Opener == nil {
		opts.Opener = DirectOpener{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Backend == BackendAuto {
		opts.Backend = BackendPath
		if udevRunning() {
			opts.Backend = BackendUdev
		}
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("libinput: eventfd: %w", err)
	}
	c := &Context{l: l, log: opts.Logger, opener: opts.Opener, set: opts.Settings, backend: opts.Backend, seat: opts.Seat,
		files: map[int]*os.File{}, devices: map[uintptr]*Device{}, wake: wake, logBuf: make([]byte, 1024)}
	ctxMu.Lock()
	nextID++
	c.id = nextID
	contexts[c.id] = c
	ctxMu.Unlock()

	c.mu.Lock()
	defer c.mu.Unlock()
	fail := func(err error) (*Context, error) {
		c.closeLocked()
		return nil, err
	}
	switch opts.Backend {
	case BackendUdev:
		udev := dl.Call(l.udevNew)
		if udev == 0 {
			return fail(fmt.Errorf("libinput: udev_new failed"))
		}
		c.li = dl.Call(l.udevCreate, uintptr(unsafe.Pointer(l.iface)), c.id, udev)
		dl.Call(l.udevUnref, udev) // the context keeps its reference
		if c.li == 0 {
			return fail(fmt.Errorf("libinput: libinput_udev_create_context failed"))
		}
		c.setLog()
		seat := dl.CString(opts.Seat)
		if r := int32(dl.Call(l.udevAssignSeat, c.li, uintptr(unsafe.Pointer(&seat[0])))); r != 0 {
			return fail(fmt.Errorf("libinput: assign seat %q through udev: %d", opts.Seat, r))
		}
	case BackendPath:
		c.li = dl.Call(l.pathCreate, uintptr(unsafe.Pointer(l.iface)), c.id)
		if c.li == 0 {
			return fail(fmt.Errorf("libinput: libinput_path_create_context failed"))
		}
		c.setLog()
		if c.hot, err = newHotplug(c, udevRunning()); err != nil {
			return fail(err)
		}
		c.hot.scan()
	default:
		return fail(fmt.Errorf("libinput: unknown backend %d", opts.Backend))
	}
	if c.dc, err = dl.NewDoubleCaller(); err != nil {
		c.log.Info("libinput coordinates through reflection: three allocations an event", "why", err)
	}
	c.log.Info("libinput", "backend", opts.Backend.String(), "seat", opts.Seat)
	return c, nil
}

// dfn1 is a libinput function of an event returning a double: its address
// (for a DoubleCaller) and the same function bound by dl.FloatFunc.
type dfn1 struct {
	p uintptr
	f func(uintptr) float64
}

// dfn2 is dfn1 with a second, uint32 argument.
type dfn2 struct {
	p uintptr
	f func(uintptr, uint32) float64
}

// double1 calls f(a), through the DoubleCaller when there is one; the
// caller holds mu (the DoubleCaller has one user at a time).
func (c *Context) double1(f dfn1, a uintptr) float64 {
	if c.dc != nil {
		return c.dc.Call1(f.p, a)
	}
	return f.f(a)
}

// double2 is double1 for f(a, b).
func (c *Context) double2(f dfn2, a uintptr, b uint32) float64 {
	if c.dc != nil {
		return c.dc.Call2(f.p, a, b)
	}
	return f.f(a, b)
}

// setLog routes libinput's messages to the logger.
func (c *Context) setLog() {
	dl.Call(c.l.logSet, c.li, c.l.logCB)
	prio := uintptr(30) // LIBINPUT_LOG_PRIORITY_ERROR
	if c.log.Enabled(context.Background(), slog.LevelDebug) {
		prio = 10
	} else if c.log.Enabled(context.Background(), slog.LevelInfo) {
		prio = 20
	}
	dl.Call(c.l.logPriority, c.li, prio)
}

// Backend returns the backend in use (never BackendAuto).
func (c *Context) Backend() Backend { return c.backend }

// Devices returns the devices libinput has added so far.
func (c *Context) Devices() []*Device {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Device, 0, len(c.devices))
	for _, d := range c.devices {
		out = append(out, d)
	}
	return out
}

// Suspend closes every device (through the opener) until Resume: a
// seat session going away (VT switch).
func (c *Context) Suspend() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	if c.hot != nil {
		c.hot.suspend()
	} else {
		dl.Call(c.l.suspend, c.li)
	}
	c.wakeUp() // Run reads the removals
	return nil
}

// Resume opens the devices again after Suspend.
func (c *Context) Resume() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	var r int32
	if c.hot != nil {
		c.hot.resume()
	} else {
		r = int32(dl.Call(c.l.resume, c.li))
	}
	c.wakeUp() // Run reads the additions
	if r != 0 {
		return fmt.Errorf("libinput: resume: %d", r)
	}
	return nil
}

// Dispatch reads what libinput has queued (the devices New added, for
// one) and calls fn for each event, without waiting.
func (c *Context) Dispatch(fn func(*Event)) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	batch := c.drainLocked(nil)
	c.mu.Unlock()
	for i := range batch {
		fn(&batch[i])
	}
	return nil
}

// Run waits for input and calls fn for each event on the caller's
// goroutine, until ctx is done or Close. The Event is valid during the
// call only. fn may call Suspend, Resume and Devices.
func (c *Context) Run(ctx context.Context, fn func(*Event)) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.running {
		c.mu.Unlock()
		return errors.New("libinput: Run called twice")
	}
	c.running = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.running = false
		if c.closed && c.wake >= 0 {
			unix.Close(c.wake)
			c.wake = -1
		}
		c.mu.Unlock()
	}()
	stop := context.AfterFunc(ctx, func() {
		c.mu.Lock()
		c.wakeUp()
		c.mu.Unlock()
	})
	defer stop()
	fds := make([]unix.PollFd, 0, 3)
	var batch []Event
	for {
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return ErrClosed
		}
		fds = append(fds[:0], unix.PollFd{Fd: int32(dl.Call(c.l.getFD, c.li)), Events: unix.POLLIN},
			unix.PollFd{Fd: int32(c.wake), Events: unix.POLLIN})
		if c.hot != nil {
			fds = append(fds, unix.PollFd{Fd: int32(c.hot.sock.Fd()), Events: unix.POLLIN})
		}
		// Events queued by New, Resume or hotplug are read first.
		batch = c.drainLocked(batch[:0])
		c.mu.Unlock()
		for i := range batch {
			fn(&batch[i])
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			continue
		}
		if _, err := unix.Poll(fds, -1); err != nil && err != unix.EINTR {
			return fmt.Errorf("libinput: poll: %w", err)
		}
		if fds[1].Revents != 0 {
			var b [8]byte
			unix.Read(c.wake, b[:])
		}
		c.mu.Lock()
		if !c.closed && len(fds) > 2 && fds[2].Revents != 0 {
			c.hot.read()
		}
		c.mu.Unlock()
	}
}

// wakeUp makes Run's poll return; the caller holds mu.
func (c *Context) wakeUp() {
	if c.wake >= 0 {
		one := [8]byte{1}
		unix.Write(c.wake, one[:])
	}
}

// drainLocked dispatches libinput and copies out its queued events.
func (c *Context) drainLocked(batch []Event) []Event {
	if c.closed {
		return batch
	}
	t0 := time.Now()
	n0 := len(batch)
	if r := int32(dl.Call(c.l.dispatch, c.li)); r != 0 {
		c.log.Warn("libinput_dispatch failed", "err", syscall.Errno(-r))
	}
	for {
		ev := c.fc.Call(c.l.getEvent, c.li)
		if ev == 0 {
			if n := len(batch) - n0; n > 0 {
				c.stats.Batches++
				c.stats.Events += n
				c.stats.Total += time.Since(t0)
			}
			return batch
		}
		var e Event
		if c.convert(ev, &e) {
			batch = append(batch, e)
		}
		c.fc.Call(c.l.evDestroy, ev)
	}
}

// addDevice records a device libinput added and applies the settings.
func (c *Context) addDevice(dev uintptr) *Device {
	l := c.l
	if d := c.devices[dev]; d != nil {
		return d
	}
	dl.Call(l.devRef, dev)
	d := &Device{Name: dl.GoString(dl.Call(l.devName, dev)), Sysname: dl.GoString(dl.Call(l.devSysname, dev)), h: dev}
	for bit := range 7 {
		if int32(dl.Call(l.devHasCap, dev, uintptr(bit))) != 0 {
			d.Caps |= 1 << bit
		}
	}
	c.devices[dev] = d
	c.configure(d)
	c.log.Info("input device added", "name", d.Name, "sysname", d.Sysname, "caps", d.Caps.String())
	return d
}

// configure applies the settings the device supports.
func (c *Context) configure(d *Device) {
	l, dev, s := c.l, d.h, c.set
	warn := func(what string, r uintptr) {
		if int32(r) != 0 { // LIBINPUT_CONFIG_STATUS_SUCCESS
			c.log.Warn("input device setting refused", "device", d.Name, "setting", what, "status", int32(r))
		}
	}
	if s.Tap != Default && int32(dl.Call(l.tapFingers, dev)) > 0 {
		warn("tap", dl.Call(l.tapSet, dev, b2u(s.Tap == On)))
	}
	if s.NaturalScroll != Default && int32(dl.Call(l.naturalHas, dev)) != 0 {
		warn("natural-scroll", dl.Call(l.naturalSet, dev, b2u(s.NaturalScroll == On)))
	}
	if int32(dl.Call(l.accelAvail, dev)) != 0 {
		if s.AccelProfile != AccelDefault && AccelProfile(dl.Call(l.accelProfiles, dev))&s.AccelProfile != 0 {
			warn("accel-profile", dl.Call(l.accelSetProfile, dev, uintptr(s.AccelProfile)))
		}
		if s.AccelSpeed != nil {
			warn("accel-speed", uintptr(l.accelSetSpeed(dev, *s.AccelSpeed)))
		}
	}
}

func b2u(b bool) uintptr {
	if b {
		return 1
	}
	return 0
}

func (cp Capability) String() string {
	var s string
	for i, n := range []string{"keyboard", "pointer", "touch", "tablet-tool", "tablet-pad", "gesture", "switch"} {
		if cp&(1<<i) != 0 {
			if s != "" {
				s += ","
			}
			s += n
		}
	}
	return s
}

// Close releases every device (through the opener) and the context.
func (c *Context) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closeLocked()
	return nil
}

func (c *Context) closeLocked() {
	c.closed = true
	for dev := range c.devices {
		dl.Call(c.l.devUnref, dev)
	}
	c.devices = map[uintptr]*Device{}
	if c.hot != nil {
		c.hot.close()
	}
	if c.li != 0 {
		dl.Call(c.l.unref, c.li) // closes the remaining devices through closeRestricted
		c.li = 0
	}
	for fd, f := range c.files { // anything libinput did not close
		c.opener.CloseDevice(f)
		delete(c.files, fd)
	}
	ctxMu.Lock()
	delete(contexts, c.id)
	ctxMu.Unlock()
	c.wakeUp()
	if !c.running {
		unix.Close(c.wake)
		c.wake = -1
	}
}
