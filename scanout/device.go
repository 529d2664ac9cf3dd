package scanout

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/drm"
)

// Device is an open DRM device node as the buffer path uses it: a render
// node (the GPU) or a primary node with KMS (the display). It counts the GEM
// handles and framebuffers it holds so leaks are visible.
type Device struct {
	dev    *drm.Device
	driver string

	mu      sync.Mutex
	handles map[uint32]int // GEM handle → references (PRIME dedups per device)
	fbs     int

	// One reader per device hands page-flip events to the Presenter of
	// each CRTC: Presenters of two outputs share the fd.
	subs       map[uint32]chan drm.FlipEvent
	readerStop chan struct{}
	readerDone chan struct{}
	watcher    *drm.EventWatcher // the reader's; stopReader closes it
	readErr    error             // why the event reader stopped, once it has
}

// OpenDevice opens a DRM node by path (/dev/dri/renderD128, /dev/dri/card0).
func OpenDevice(path string) (*Device, error) {
	d, err := drm.Open(path)
	if err != nil {
		if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
			return nil, fmt.Errorf("%w (a primary node needs a seat: run from a logind session or seatd, or as a member of group video)", err)
		}
		return nil, err
	}
	return wrapDevice(d)
}

// NewDevice wraps a DRM node that is already open — a device fd from a
// seat (logind's TakeDevice, seatd), inherited, or opened by the caller.
// The Device owns f from now on (Close closes it).
func NewDevice(f *os.File) (*Device, error) {
	fd, err := unix.Dup(int(f.Fd()))
	if err != nil {
		return nil, fmt.Errorf("dup %s: %w", f.Name(), err)
	}
	unix.CloseOnExec(fd)
	if err := unix.SetNonblock(fd, true); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("%s: set non-blocking: %w", f.Name(), err)
	}
	path := ""
	if n := f.Name(); strings.HasPrefix(n, "/") {
		path = n
	}
	d, err := drm.FromFD(fd, path)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	f.Close()
	return wrapDevice(d)
}

func wrapDevice(d *drm.Device) (*Device, error) {
	v, err := d.Version()
	if err != nil {
		d.Close()
		return nil, err
	}
	return &Device{dev: d, driver: v.Name, handles: map[uint32]int{}}, nil
}

// Rdev returns the node's device number (dev_t): what dma-buf feedback
// names as a main or target device.
func (d *Device) Rdev() (uint64, error) { return d.dev.Rdev() }

// FD returns the node's file descriptor, valid until Close (for ioctls a
// caller issues itself, or a GPU API that takes a device fd).
func (d *Device) FD() int { return d.dev.FD() }

// Path returns the device node's path.
func (d *Device) Path() string { return d.dev.Path }

// Driver returns the kernel driver's name (v3d, vc4, vkms, vgem, pl111, …).
func (d *Device) Driver() string { return d.driver }

// String returns "driver (path)", or "none" for a nil Device.
func (d *Device) String() string {
	if d == nil {
		return "none"
	}
	return d.driver + " (" + d.dev.Path + ")"
}

// Close stops the event reader and closes the node. Close Presenters and
// buffers first.
func (d *Device) Close() error {
	if d == nil {
		return nil
	}
	d.stopReader()
	return d.dev.Close()
}

// stopReader stops the event reader, if one runs, and waits for it.
func (d *Device) stopReader() {
	d.mu.Lock()
	stop, done, w := d.readerStop, d.readerDone, d.watcher
	d.readerStop, d.watcher = nil, nil
	d.mu.Unlock()
	if stop != nil {
		close(stop)
		w.Close() // ends its Run
		<-done
	}
}

// failSubscribers records why events stopped and closes every
// subscriber's channel, so no WaitFlip waits for a flip that cannot come.
func (d *Device) failSubscribers(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.readErr = fmt.Errorf("%w: %w", ErrEventsStopped, err)
	for crtc, ch := range d.subs {
		close(ch)
		delete(d.subs, crtc)
	}
	d.readerStop, d.watcher = nil, nil
}

// subscribe returns the channel on which crtc's flip events arrive,
// starting the device's event reader on first use.
func (d *Device) subscribe(crtc uint32) (chan drm.FlipEvent, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.subs == nil {
		d.subs = map[uint32]chan drm.FlipEvent{}
	}
	if _, ok := d.subs[crtc]; ok {
		return nil, fmt.Errorf("%s: CRTC %d already has a Presenter", d, crtc)
	}
	ch := make(chan drm.FlipEvent, 4)
	d.subs[crtc] = ch
	if d.readerStop == nil {
		w, err := d.dev.Watch()
		if err != nil {
			delete(d.subs, crtc)
			return nil, err
		}
		d.readerStop, d.readerDone, d.watcher = make(chan struct{}), make(chan struct{}), w
		go d.readEvents(w, d.readerStop, d.readerDone)
	}
	return ch, nil
}

func (d *Device) unsubscribe(crtc uint32) {
	d.mu.Lock()
	delete(d.subs, crtc)
	d.mu.Unlock()
}

// stopEvents makes the event reader fail with err (tests: a reader that
// dies under a waiting Presenter).
func (d *Device) stopEvents(err error) {
	d.stopReader()
	d.failSubscribers(err)
}

// ErrEventsStopped is wrapped by WaitFlip's error when the device's event
// reader stopped (the device was closed, or reading it failed).
var ErrEventsStopped = errors.New("DRM event reader stopped")

// readerErr says why the event reader stopped.
func (d *Device) readerErr() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.readErr != nil {
		return d.readErr
	}
	return ErrEventsStopped
}

// readEvents reads the device's events until stop closes and routes each
// to its CRTC's subscriber (to the only one on kernels that do not report
// the CRTC). When reading fails it records why and closes every
// subscriber's channel, so no WaitFlip waits for a flip that cannot come.
// It waits in the netpoller (drm.EventWatcher); stopReader closes w.
func (d *Device) readEvents(w *drm.EventWatcher, stop, done chan struct{}) {
	defer close(done)
	deliver := func(e drm.FlipEvent) {
		d.mu.Lock()
		ch := route(d.subs, e)
		d.mu.Unlock()
		if ch != nil {
			select {
			case ch <- e:
			default: // a Presenter that stopped listening
			}
		}
	}
	err := w.Run(deliver)
	select {
	case <-stop:
		return
	default:
	}
	if err == nil {
		err = errors.New("event watcher closed")
	}
	w.Close()
	d.failSubscribers(err)
}

// Handles returns how many GEM handles the device holds for minicomp.
func (d *Device) Handles() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.handles)
}

// Framebuffers returns how many framebuffers minicomp created and has not
// removed on this device.
func (d *Device) Framebuffers() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fbs
}

// importFD turns a dma-buf into a GEM handle on this device, counting
// references: the kernel returns the same handle for the same dma-buf.
func (d *Device) importFD(fd int) (uint32, error) {
	h, err := d.dev.PrimeFDToHandle(fd)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.handles[h]++
	d.mu.Unlock()
	return h, nil
}

// adopt counts a handle the device created itself (dumb, native BO).
func (d *Device) adopt(h uint32) {
	d.mu.Lock()
	d.handles[h]++
	d.mu.Unlock()
}

// release drops one reference to a GEM handle and closes it with the last.
func (d *Device) release(h uint32) error {
	d.mu.Lock()
	n, ok := d.handles[h]
	if !ok {
		d.mu.Unlock()
		return fmt.Errorf("release GEM handle %d on %s: not held", h, d)
	}
	if n > 1 {
		d.handles[h] = n - 1
		d.mu.Unlock()
		return nil
	}
	delete(d.handles, h)
	d.mu.Unlock()
	return d.dev.GemClose(h)
}

func (d *Device) addFB(fb drm.FB2) (uint32, error) {
	id, err := d.dev.AddFB2(fb)
	if err != nil {
		return 0, err
	}
	d.mu.Lock()
	d.fbs++
	d.mu.Unlock()
	return id, nil
}

func (d *Device) rmFB(id uint32) error {
	if id == 0 {
		return nil
	}
	d.mu.Lock()
	d.fbs--
	d.mu.Unlock()
	return d.dev.RmFB(id)
}

// route picks the subscriber of a flip event: its CRTC's, or the only one
// on kernels that do not report the CRTC (crtc_id 0).
func route(subs map[uint32]chan drm.FlipEvent, e drm.FlipEvent) chan drm.FlipEvent {
	if ch := subs[e.CRTCID]; ch != nil {
		return ch
	}
	if e.CRTCID == 0 && len(subs) == 1 {
		for _, only := range subs {
			return only
		}
	}
	return nil
}
