package scanout

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/dmabuf"
)

// Buffer is a single-plane, dma-buf-backed image: a render target or a
// client buffer. Create one with a Strategy, NewBuffer or NewCPUBuffer.
//
// Lifetime. The creator owns the Buffer and gives it up with Close. Anyone
// else who needs the memory to stay — a Presenter while the buffer is on
// screen or about to be, a parent compositor until it releases the buffer —
// holds a lock (Lock/Unlock). A locked buffer is Busy: a Swapchain does not
// hand it out, and Close only marks it closed; everything is released when
// the last lock goes (as wlroots' wlr_buffer_drop/unlock). So closing a
// swapchain before the Presenter that shows one of its buffers is safe.
//
// Per-owner state (a framebuffer on one display, a texture in one
// renderer) hangs off the buffer as an Addon keyed by its owner, and is
// detached when the buffer is released, so a Strategy, Presenter or
// renderer outside this package can keep its own.
type Buffer struct {
	File          *os.File // the dma-buf (a memfd for CPU-only buffers)
	Width, Height int
	Format        Format
	Modifier      uint64
	Stride        uint32
	Offset        uint32
	Size          int64
	// Origin says where the buffer came from: the Strategy's Name for
	// render targets, "imported" for NewBuffer.
	Origin string

	mu       sync.Mutex
	mapping  *dmabuf.Mapping
	imports  []bufImport // GEM handles on devices (render, display)
	addons   []addon     // per-owner state, oldest first
	locks    int
	closed   bool // Close was called (released once unlocked)
	released bool
	// cpuOnly marks memfd memory: not a dma-buf, coherent, no sync ioctl.
	cpuOnly bool
	// hostRendered: a virtio-gpu 3D resource (virgl draws it in the host):
	// CPU reads transfer its content from the host first (virtgpu.go).
	hostRendered bool
}

type bufImport struct {
	dev    *Device
	handle uint32
}

// Addon is per-owner state attached to a Buffer with SetAddon.
type Addon interface {
	// DetachBuffer releases the owner's state for b. The buffer calls it
	// once, when it is released (closed and unlocked), before its device
	// imports and dma-buf go; RemoveAddon does not call it.
	DetachBuffer(b *Buffer) error
}

type addon struct {
	owner any
	a     Addon
}

// NewBuffer wraps a dma-buf the caller allocated (a client's, say). The
// Buffer takes ownership of file. The declared layout is checked against
// the dma-buf's real size, so a lying client is refused here.
func NewBuffer(file *os.File, width, height int, format Format, modifier uint64, offset, stride uint32) (*Buffer, error) {
	b := &Buffer{File: file, Width: width, Height: height, Format: format, Modifier: modifier,
		Offset: offset, Stride: stride, Origin: "imported"}
	size, err := dmabuf.Size(int(file.Fd()))
	if err != nil {
		return nil, err
	}
	b.Size = size
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// NewCPUBuffer wraps CPU-only memory (a memfd or shm file; no device can
// import it) as a LINEAR buffer, for a Strategy that serves CPU renderers.
// The Buffer takes ownership of file; its size comes from fstat and must
// hold the layout.
func NewCPUBuffer(file *os.File, width, height int, format Format, stride uint32) (*Buffer, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(file.Fd()), &st); err != nil {
		return nil, &os.PathError{Op: "fstat", Path: file.Name(), Err: err}
	}
	b := &Buffer{File: file, Width: width, Height: height, Format: format, Modifier: ModLinear,
		Stride: stride, Size: st.Size, Origin: "cpu", cpuOnly: true}
	if err := b.validate(); err != nil {
		return nil, err
	}
	return b, nil
}

// ErrLayout reports a buffer whose declared layout does not fit its memory.
var ErrLayout = errors.New("buffer layout does not fit the dma-buf")

func (b *Buffer) validate() error {
	cpp := b.Format.BytesPerPixel()
	switch {
	case cpp == 0:
		return fmt.Errorf("%w: unknown format %v", ErrLayout, b.Format)
	case b.Width <= 0 || b.Height <= 0 || b.Width > 16384 || b.Height > 16384:
		return fmt.Errorf("%w: size %dx%d", ErrLayout, b.Width, b.Height)
	case b.Modifier == ModLinear && uint64(b.Stride) < uint64(b.Width)*uint64(cpp):
		return fmt.Errorf("%w: stride %d < %d×%d", ErrLayout, b.Stride, b.Width, cpp)
	}
	if b.Modifier == ModLinear {
		need := uint64(b.Offset) + uint64(b.Stride)*uint64(b.Height-1) + uint64(b.Width)*uint64(cpp)
		if need > uint64(b.Size) {
			return fmt.Errorf("%w: %dx%d stride %d offset %d needs %d bytes, dma-buf has %d",
				ErrLayout, b.Width, b.Height, b.Stride, b.Offset, need, b.Size)
		}
	}
	return nil
}

// FD returns the dma-buf's file descriptor.
func (b *Buffer) FD() int { return int(b.File.Fd()) }

// String describes the buffer for logs.
func (b *Buffer) String() string {
	return fmt.Sprintf("%dx%d %v %s stride %d (%s)", b.Width, b.Height, b.Format, ModifierName(b.Modifier), b.Stride, b.Origin)
}

// Map returns a CPU mapping of the whole buffer, made on first use and kept
// until the buffer is released. Bracket every access with
// BeginCPUAccess/EndCPUAccess.
func (b *Buffer) Map() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.released {
		return nil, fmt.Errorf("map %v: %w", b, os.ErrClosed)
	}
	if b.mapping == nil {
		m, err := dmabuf.Map(b.FD(), int(b.Size), true)
		if err != nil {
			return nil, fmt.Errorf("map %v: %w", b, err)
		}
		b.mapping = m
	}
	return b.mapping.Data, nil
}

// CPU access directions for BeginCPUAccess/EndCPUAccess.
const (
	Read      = dmabuf.Read
	Write     = dmabuf.Write
	ReadWrite = dmabuf.ReadWrite
)

// BeginCPUAccess starts CPU access to the mapping (DMA_BUF_IOCTL_SYNC
// START): it waits for device writes and makes caches coherent. A read of
// a virtio-gpu resource first brings the host's content into the guest's
// pages (virgl renders in the host: virtgpu.go).
func (b *Buffer) BeginCPUAccess(access uint64) error {
	if b.cpuOnly {
		return nil
	}
	if access&Read != 0 {
		if err := b.transferFromHost(); err != nil {
			return err
		}
	}
	return dmabuf.BeginAccess(b.FD(), access)
}

// EndCPUAccess ends CPU access, making CPU writes visible to devices.
func (b *Buffer) EndCPUAccess(access uint64) error {
	if b.cpuOnly {
		return nil
	}
	return dmabuf.EndAccess(b.FD(), access)
}

// IsDmabuf reports whether the buffer is a dma-buf (devices can import
// it) rather than CPU-only memfd memory.
func (b *Buffer) IsDmabuf() bool { return !b.cpuOnly }

// ImportInto imports the buffer into dev (PRIME) and returns the GEM
// handle. Importing twice into one device returns the same handle and is
// released once, with the buffer.
func (b *Buffer) ImportInto(dev *Device) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.released {
		return 0, fmt.Errorf("import %v into %s: %w", b, dev, os.ErrClosed)
	}
	for _, im := range b.imports {
		if im.dev == dev {
			return im.handle, nil
		}
	}
	h, err := dev.importFD(b.FD())
	if err != nil {
		return 0, err
	}
	b.imports = append(b.imports, bufImport{dev, h})
	return h, nil
}

// ReleaseFrom drops the buffer's import into dev (closing the GEM handle
// when nothing else holds it). Releasing the buffer does this for every
// device.
func (b *Buffer) ReleaseFrom(dev *Device) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, im := range b.imports {
		if im.dev == dev {
			b.imports = append(b.imports[:i], b.imports[i+1:]...)
			return dev.release(im.handle)
		}
	}
	return nil
}

// SetAddon attaches a (state owned by owner) to the buffer, replacing
// what owner had attached before (without detaching it). A released
// buffer refuses it.
func (b *Buffer) SetAddon(owner any, a Addon) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.released {
		return fmt.Errorf("attach to %v: %w", b, os.ErrClosed)
	}
	for i := range b.addons {
		if b.addons[i].owner == owner {
			b.addons[i].a = a
			return nil
		}
	}
	b.addons = append(b.addons, addon{owner, a})
	return nil
}

// Addon returns the state owner attached, or nil.
func (b *Buffer) Addon(owner any) Addon {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, ad := range b.addons {
		if ad.owner == owner {
			return ad.a
		}
	}
	return nil
}

// RemoveAddon detaches owner's state without calling its DetachBuffer and
// returns it (nil when there was none): the owner releases it itself.
func (b *Buffer) RemoveAddon(owner any) Addon {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, ad := range b.addons {
		if ad.owner == owner {
			b.addons = append(b.addons[:i], b.addons[i+1:]...)
			return ad.a
		}
	}
	return nil
}

// Verdict returns the scanout verdict recorded for this buffer by the
// last Presenter that decided on it, if any has.
func (b *Buffer) Verdict() (Verdict, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i := len(b.addons) - 1; i >= 0; i-- {
		if st, ok := b.addons[i].a.(*scanState); ok {
			return st.verdict, true
		}
	}
	return Verdict{}, false
}

// Lock takes a reference that keeps the buffer's memory, imports and
// addons alive (and the buffer Busy) until the matching Unlock, even
// across Close. It returns b.
func (b *Buffer) Lock() *Buffer {
	b.mu.Lock()
	b.locks++
	b.mu.Unlock()
	return b
}

// Unlock drops a reference taken with Lock. The last one on a closed
// buffer releases it, and the release's error is returned.
func (b *Buffer) Unlock() error {
	b.mu.Lock()
	if b.locks == 0 {
		b.mu.Unlock()
		return fmt.Errorf("unlock %v: %w", b, ErrNotLocked)
	}
	b.locks--
	last := b.locks == 0 && b.closed
	b.mu.Unlock()
	if last {
		return b.release()
	}
	return nil
}

// ErrNotLocked is returned by an Unlock without a Lock.
var ErrNotLocked = errors.New("buffer is not locked")

// Busy reports whether someone holds a lock on the buffer (it is on
// screen, about to be, or held by a parent compositor).
func (b *Buffer) Busy() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.locks > 0
}

// Close gives up the owner's buffer: it is released now when nobody holds
// a lock, else when the last lock goes. Releasing detaches every addon
// (framebuffers, textures), closes every device import, unmaps and closes
// the dma-buf. Close accepts nil and is idempotent.
func (b *Buffer) Close() error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	locked := b.locks > 0
	b.mu.Unlock()
	if locked {
		return nil
	}
	return b.release()
}

func (b *Buffer) release() error {
	b.mu.Lock()
	if b.released {
		b.mu.Unlock()
		return nil
	}
	// Marked released with the addons taken: no new addon, import or
	// mapping can slip in while the old ones are detached.
	b.released = true
	addons := b.addons
	b.addons = nil
	b.mu.Unlock()
	var errs []error
	for _, ad := range addons {
		errs = append(errs, ad.a.DetachBuffer(b))
	}
	b.mu.Lock()
	imports, m := b.imports, b.mapping
	b.imports, b.mapping = nil, nil
	b.mu.Unlock()
	for _, im := range imports {
		errs = append(errs, im.dev.release(im.handle))
	}
	errs = append(errs, m.Unmap(), b.File.Close())
	return errors.Join(errs...)
}

// handleOn returns the buffer's GEM handle on dev, if imported.
func (b *Buffer) handleOn(dev *Device) (uint32, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, im := range b.imports {
		if im.dev == dev {
			return im.handle, true
		}
	}
	return 0, false
}
