package scanout

import (
	"errors"
	"fmt"
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
	v, err := d.Version()
	if err != nil {
		d.Close()
		return nil, err
	}
	return &Device{dev: d, driver: v.Name, handles: map[uint32]int{}}, nil
}

// Path returns the device node's path.
func (d *Device) Path() string { return d.dev.Path }

// Driver returns the kernel driver's name (v3d, vc4, vkms, vgem, pl111, …).
func (d *Device) Driver() string { return d.driver }

// String returns "driver (path)".
func (d *Device) String() string { return d.driver + " (" + d.dev.Path + ")" }

// Close closes the node. Release buffers first.
func (d *Device) Close() error {
	if d == nil {
		return nil
	}
	return d.dev.Close()
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
