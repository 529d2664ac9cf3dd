package drm

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/ioc"
)

// Device is an open DRM node (primary /dev/dri/cardN or render
// /dev/dri/renderDN). Its methods are safe for concurrent use as far as the
// kernel allows; Close is idempotent.
type Device struct {
	Path string

	mu     sync.RWMutex
	fd     int
	closed bool
}

// Open opens a DRM node read-write, close-on-exec and non-blocking (events
// are read after a poll).
func Open(path string) (*Device, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &Error{Op: "open", Device: path, Err: err}
	}
	return &Device{Path: path, fd: fd}, nil
}

// FromFD wraps a DRM node already open (a seat's TakeDevice, seatd's
// open_device): the Device owns fd from now on. path names it in errors;
// "" reads it from /proc/self/fd.
func FromFD(fd int, path string) (*Device, error) {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &Error{Op: "fstat", Device: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		return nil, &Error{Op: "check", Device: path, Err: unix.ENOTTY}
	}
	if path == "" {
		if p, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", fd)); err == nil {
			path = p
		} else {
			path = fmt.Sprintf("fd %d", fd)
		}
	}
	return &Device{Path: path, fd: fd}, nil
}

// Rdev returns the node's device number (dev_t), as stat reports it.
func (d *Device) Rdev() (uint64, error) {
	var st unix.Stat_t
	if err := unix.Fstat(d.fd, &st); err != nil {
		return 0, &Error{Op: "fstat", Device: d.Path, Err: err}
	}
	return uint64(st.Rdev), nil
}

// FD returns the file descriptor, valid until Close.
func (d *Device) FD() int { return d.fd }

// Close closes the node. Closing releases every GEM handle, framebuffer and
// blob the file owned, but callers release their own first.
func (d *Device) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if err := unix.Close(d.fd); err != nil {
		return &Error{Op: "close", Device: d.Path, Err: err}
	}
	return nil
}

func (d *Device) ioctl(op string, req uintptr, arg unsafe.Pointer) error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.closed {
		return &Error{Op: op, Device: d.Path, Err: unix.EBADF}
	}
	if err := ioc.Call(d.fd, req, arg); err != nil {
		return &Error{Op: op, Device: d.Path, Err: err}
	}
	return nil
}

// DriverVersion is what DRM_IOCTL_VERSION tells about the driver.
type DriverVersion struct {
	Major, Minor, Patch int
	Name, Date, Desc    string
}

// Version asks the driver for its name and version.
func (d *Device) Version() (DriverVersion, error) {
	var v Version
	if err := d.ioctl("VERSION", ioctlVersion, unsafe.Pointer(&v)); err != nil {
		return DriverVersion{}, err
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	name := make([]byte, v.NameLen+1)
	date := make([]byte, v.DateLen+1)
	desc := make([]byte, v.DescLen+1)
	v.Name = uintptr(addr(&pin, name))
	v.Date = uintptr(addr(&pin, date))
	v.Desc = uintptr(addr(&pin, desc))
	err := d.ioctl("VERSION", ioctlVersion, unsafe.Pointer(&v))
	runtime.KeepAlive(name)
	runtime.KeepAlive(date)
	runtime.KeepAlive(desc)
	if err != nil {
		return DriverVersion{}, err
	}
	return DriverVersion{
		Major: int(v.Major), Minor: int(v.Minor), Patch: int(v.Patchlevel),
		Name: cstr(name[:v.NameLen]), Date: cstr(date[:v.DateLen]), Desc: cstr(desc[:v.DescLen]),
	}, nil
}

// Cap returns the value of a device capability (CapDumbBuffer, CapPrime, …).
func (d *Device) Cap(capability uint64) (uint64, error) {
	c := GetCap{Capability: capability}
	if err := d.ioctl(fmt.Sprintf("GET_CAP(%#x)", capability), ioctlGetCap, unsafe.Pointer(&c)); err != nil {
		return 0, err
	}
	return c.Value, nil
}

// SetClientCap turns a client capability on or off (ClientCapAtomic, …).
func (d *Device) SetClientCap(capability, value uint64) error {
	c := SetClientCap{Capability: capability, Value: value}
	return d.ioctl(fmt.Sprintf("SET_CLIENT_CAP(%d)", capability), ioctlSetClientCap, unsafe.Pointer(&c))
}

// SetMaster makes this file the DRM master (needs a seat or root).
func (d *Device) SetMaster() error { return d.ioctl("SET_MASTER", ioctlSetMaster, nil) }

// DropMaster gives up DRM master.
func (d *Device) DropMaster() error { return d.ioctl("DROP_MASTER", ioctlDropMaster, nil) }

// GemClose releases a GEM handle.
func (d *Device) GemClose(handle uint32) error {
	c := GemClose{Handle: handle}
	return d.ioctl("GEM_CLOSE", ioctlGemClose, unsafe.Pointer(&c))
}

// PrimeHandleToFD exports a GEM handle as a dma-buf fd (close-on-exec,
// read-write).
func (d *Device) PrimeHandleToFD(handle uint32) (int, error) {
	p := PrimeHandle{Handle: handle, Flags: PrimeFlagCloexec | PrimeFlagRDWR, FD: -1}
	if err := d.ioctl("PRIME_HANDLE_TO_FD", ioctlPrimeHandleToFD, unsafe.Pointer(&p)); err != nil {
		return -1, err
	}
	return int(p.FD), nil
}

// PrimeFDToHandle imports a dma-buf fd and returns a GEM handle. The kernel
// returns the same handle each time one device imports the same dma-buf:
// callers that import twice must reference-count before GemClose.
func (d *Device) PrimeFDToHandle(fd int) (uint32, error) {
	p := PrimeHandle{FD: int32(fd)}
	if err := d.ioctl("PRIME_FD_TO_HANDLE", ioctlPrimeFDToHandle, unsafe.Pointer(&p)); err != nil {
		return 0, err
	}
	return p.Handle, nil
}

// Dumb is a dumb buffer created on a KMS device.
type Dumb struct {
	Handle uint32
	Pitch  uint32
	Size   uint64
}

// CreateDumb creates a dumb buffer. Render nodes refuse it (EACCES).
func (d *Device) CreateDumb(width, height, bpp uint32) (Dumb, error) {
	c := ModeCreateDumb{Width: width, Height: height, BPP: bpp}
	if err := d.ioctl("MODE_CREATE_DUMB", ioctlModeCreateDumb, unsafe.Pointer(&c)); err != nil {
		return Dumb{}, err
	}
	return Dumb{Handle: c.Handle, Pitch: c.Pitch, Size: c.Size}, nil
}

// MapDumb returns the fake mmap offset of a dumb buffer on this device's fd.
func (d *Device) MapDumb(handle uint32) (int64, error) {
	m := ModeMapDumb{Handle: handle}
	if err := d.ioctl("MODE_MAP_DUMB", ioctlModeMapDumb, unsafe.Pointer(&m)); err != nil {
		return 0, err
	}
	return int64(m.Offset), nil
}

// DestroyDumb destroys a dumb buffer's handle.
func (d *Device) DestroyDumb(handle uint32) error {
	m := ModeDestroyDumb{Handle: handle}
	return d.ioctl("MODE_DESTROY_DUMB", ioctlModeDestroyDumb, unsafe.Pointer(&m))
}

// MmapDumb maps a dumb buffer read-write.
func (d *Device) MmapDumb(handle uint32, size int) ([]byte, error) {
	off, err := d.MapDumb(handle)
	if err != nil {
		return nil, err
	}
	b, err := unix.Mmap(d.fd, off, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		return nil, &Error{Op: "mmap dumb", Device: d.Path, Err: err}
	}
	return b, nil
}

// FB2 describes a framebuffer for AddFB2.
type FB2 struct {
	Width, Height uint32
	Format        uint32
	Handles       [4]uint32
	Pitches       [4]uint32
	Offsets       [4]uint32
	Modifier      uint64
	// UseModifier passes Modifier (DRM_MODE_FB_MODIFIERS) to every plane in
	// use; without it the driver infers the layout (implicitly LINEAR).
	UseModifier bool
}

// AddFB2 creates a framebuffer and returns its id.
func (d *Device) AddFB2(fb FB2) (uint32, error) {
	c := ModeFBCmd2{
		Width: fb.Width, Height: fb.Height, PixelFormat: fb.Format,
		Handles: fb.Handles, Pitches: fb.Pitches, Offsets: fb.Offsets,
	}
	if fb.UseModifier {
		c.Flags = FBModifiers
		for i := range c.Handles {
			if c.Handles[i] != 0 {
				c.Modifier[i] = fb.Modifier
			}
		}
	}
	if err := d.ioctl("MODE_ADDFB2", ioctlModeAddFB2, unsafe.Pointer(&c)); err != nil {
		return 0, err
	}
	return c.FBID, nil
}

// RmFB removes a framebuffer. If it is being scanned out the kernel turns
// the plane off.
func (d *Device) RmFB(id uint32) error {
	return d.ioctl("MODE_RMFB", ioctlModeRmFB, unsafe.Pointer(&id))
}

// GetFB2 returns what the kernel knows of a framebuffer; Handles are fresh
// GEM handles (0 without CAP_SYS_ADMIN) that the caller must GemClose.
func (d *Device) GetFB2(id uint32) (ModeFBCmd2, error) {
	c := ModeFBCmd2{FBID: id}
	err := d.ioctl("MODE_GETFB2", ioctlModeGetFB2, unsafe.Pointer(&c))
	return c, err
}

func cstr(b []byte) string {
	for i, c := range b {
		if c == 0 {
			return string(b[:i])
		}
	}
	return string(b)
}
