package scanout

import (
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/minicomp/minicomp/internal/dmabuf"
)

// Buffer is a single-plane, dma-buf-backed image: a render target or a
// client buffer. Create one with a Strategy or NewBuffer; Close releases
// everything it holds (mapping, imports, framebuffers, the dma-buf).
type Buffer struct {
	File          *os.File // the dma-buf
	Width, Height int
	Format        Format
	Modifier      uint64
	Stride        uint32
	Offset        uint32
	Size          int64
	Origin        string // which strategy made it, e.g. "heap linux,cma"

	mu      sync.Mutex
	mapping *dmabuf.Mapping
	imports []bufImport  // GEM handles on devices (render, display)
	scans   []*scanState // per Presenter: framebuffer and verdict
	onClose func() error
	closed  bool
	// cpuOnly marks memfd memory: not a dma-buf, coherent, no sync ioctl.
	cpuOnly bool
}

type bufImport struct {
	dev    *Device
	handle uint32
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
// until Close. Bracket every access with BeginCPUAccess/EndCPUAccess.
func (b *Buffer) Map() ([]byte, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
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
// START): it waits for device writes and makes caches coherent.
func (b *Buffer) BeginCPUAccess(access uint64) error {
	if b.cpuOnly {
		return nil
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
// released once at Close.
func (b *Buffer) ImportInto(dev *Device) (uint32, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
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

// ReleaseFrom drops the buffer's import into dev (closing the GEM handle
// when nothing else holds it). Close does this for every device.
func (b *Buffer) ReleaseFrom(dev *Device) error { return b.dropImport(dev) }

func (b *Buffer) dropImport(dev *Device) error {
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

// Verdict returns the scanout verdict recorded for this buffer by the
// last Presenter that decided on it, if any has.
func (b *Buffer) Verdict() (Verdict, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.scans) == 0 {
		return Verdict{}, false
	}
	return b.scans[len(b.scans)-1].verdict, true
}

// stateFor returns the buffer's state with Presenter p, or nil.
func (b *Buffer) stateFor(p *Presenter) *scanState {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, st := range b.scans {
		if st.presenter == p {
			return st
		}
	}
	return nil
}

// dropState removes and returns the buffer's state with Presenter p.
func (b *Buffer) dropState(p *Presenter) *scanState {
	b.mu.Lock()
	defer b.mu.Unlock()
	for i, st := range b.scans {
		if st.presenter == p {
			b.scans = append(b.scans[:i], b.scans[i+1:]...)
			return st
		}
	}
	return nil
}

// Close releases the framebuffer, every import, the mapping and the
// dma-buf. It accepts nil and is idempotent. A buffer on screen must not be
// closed before the Presenter has moved past it.
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
	scans, imports, m := b.scans, b.imports, b.mapping
	b.scans, b.imports, b.mapping = nil, nil, nil
	b.mu.Unlock()
	var errs []error
	for _, st := range scans {
		st.presenter.untrack(b)
		if st.fb != 0 {
			errs = append(errs, st.dev.rmFB(st.fb))
		}
	}
	for _, im := range imports {
		errs = append(errs, im.dev.release(im.handle))
	}
	errs = append(errs, m.Unmap())
	if b.onClose != nil {
		errs = append(errs, b.onClose())
	}
	errs = append(errs, b.File.Close())
	return errors.Join(errs...)
}
