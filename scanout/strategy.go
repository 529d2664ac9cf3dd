package scanout

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"structs"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/ioc"
)

// Strategy allocates render targets one way. Allocate returns a LINEAR
// buffer (the only layout every display in scope scans out) or an error
// saying why this strategy cannot. A Strategy outside this package makes
// its buffers with NewBuffer (a dma-buf) or NewCPUBuffer (CPU memory),
// sets Origin to its Name, and keeps per-buffer state (a native buffer
// object to free) as an Addon.
type Strategy interface {
	Name() string
	Allocate(width, height int, format Format) (*Buffer, error)
}

// StrideAlign is the row alignment of buffers minicomp lays out itself.
const StrideAlign = 64

func linearLayout(width, height int, format Format) (stride uint32, size int64, err error) {
	cpp := format.BytesPerPixel()
	if cpp == 0 {
		return 0, 0, fmt.Errorf("unknown format %v", format)
	}
	if width <= 0 || height <= 0 || width > 16384 || height > 16384 {
		return 0, 0, fmt.Errorf("bad size %dx%d", width, height)
	}
	s := (width*cpp + StrideAlign - 1) / StrideAlign * StrideAlign
	return uint32(s), int64(s) * int64(height), nil
}

// HeapStrategy allocates from a DMA-BUF heap.
type HeapStrategy struct{ Heap *heap.Heap }

// Name returns "heap NAME".
func (s HeapStrategy) Name() string { return "heap " + s.Heap.Name }

// Allocate allocates a LINEAR buffer from the heap.
func (s HeapStrategy) Allocate(width, height int, format Format) (*Buffer, error) {
	stride, size, err := linearLayout(width, height, format)
	if err != nil {
		return nil, err
	}
	f, err := s.Heap.Alloc(size)
	if err != nil {
		return nil, err
	}
	real, err := dmabuf.Size(int(f.Fd()))
	if err != nil {
		f.Close()
		return nil, err
	}
	return &Buffer{File: f, Width: width, Height: height, Format: format, Modifier: ModLinear,
		Stride: stride, Size: real, Origin: s.Name()}, nil
}

// RenderNativeStrategy allocates a buffer object native to the render
// device (V3D_CREATE_BO on v3d) and exports it. Devices without a native
// allocator known to minicomp try CREATE_DUMB on the render node, which
// render nodes refuse by design (EACCES).
type RenderNativeStrategy struct{ Render *Device }

// Name returns "render-native DRIVER".
func (s RenderNativeStrategy) Name() string { return "render-native " + s.Render.Driver() }

// struct drm_v3d_create_bo (drm/v3d_drm.h).
type v3dCreateBO struct {
	_      structs.HostLayout
	Size   uint32
	Flags  uint32
	Handle uint32
	Offset uint32
}

// DRM_IOCTL_V3D_CREATE_BO: DRM_COMMAND_BASE (0x40) + 0x02.
var ioctlV3DCreateBO = ioc.IOWR('d', 0x42, unsafe.Sizeof(v3dCreateBO{}))

// Allocate allocates and exports a native LINEAR buffer.
func (s RenderNativeStrategy) Allocate(width, height int, format Format) (*Buffer, error) {
	stride, size, err := linearLayout(width, height, format)
	if err != nil {
		return nil, err
	}
	d := s.Render
	var handle uint32
	switch d.Driver() {
	case "v3d":
		c := v3dCreateBO{Size: uint32(size)}
		if err := ioc.Call(d.dev.FD(), ioctlV3DCreateBO, unsafe.Pointer(&c)); err != nil {
			return nil, fmt.Errorf("V3D_CREATE_BO on %s: %w", d, err)
		}
		handle = c.Handle
	default:
		cpp := format.BytesPerPixel()
		dumb, err := d.dev.CreateDumb(uint32(width), uint32(height), uint32(cpp*8))
		if err != nil {
			if errors.Is(err, unix.EACCES) || errors.Is(err, unix.EPERM) {
				return nil, fmt.Errorf("%w (render nodes refuse dumb buffers; %s has no native allocator minicomp knows)", err, d.Driver())
			}
			return nil, err
		}
		handle, stride, size = dumb.Handle, dumb.Pitch, int64(dumb.Size)
	}
	d.adopt(handle)
	fd, err := d.dev.PrimeHandleToFD(handle)
	if err != nil {
		d.release(handle)
		return nil, err
	}
	b := &Buffer{File: os.NewFile(uintptr(fd), "dmabuf:"+s.Name()), Width: width, Height: height, Format: format,
		Modifier: ModLinear, Stride: stride, Size: size, Origin: s.Name()}
	b.imports = []bufImport{{dev: d, handle: handle}}
	return b, nil
}

// KMSRODumbStrategy is what Mesa's kmsro does today: a dumb buffer on the
// display's primary node, exported as a dma-buf (and, by the swapchain,
// imported into the render device). It needs the primary node, so never in
// headless mode.
type KMSRODumbStrategy struct{ Display *Device }

// Name returns "kmsro-dumb DRIVER".
func (s KMSRODumbStrategy) Name() string { return "kmsro-dumb " + s.Display.Driver() }

// Allocate creates and exports a dumb buffer on the display.
func (s KMSRODumbStrategy) Allocate(width, height int, format Format) (*Buffer, error) {
	cpp := format.BytesPerPixel()
	if cpp == 0 {
		return nil, fmt.Errorf("unknown format %v", format)
	}
	d := s.Display
	dumb, err := d.dev.CreateDumb(uint32(width), uint32(height), uint32(cpp*8))
	if err != nil {
		return nil, err
	}
	d.adopt(dumb.Handle)
	fd, err := d.dev.PrimeHandleToFD(dumb.Handle)
	if err != nil {
		d.release(dumb.Handle)
		return nil, fmt.Errorf("export dumb buffer: %w", err)
	}
	b := &Buffer{File: os.NewFile(uintptr(fd), "dmabuf:"+s.Name()), Width: width, Height: height, Format: format,
		Modifier: ModLinear, Stride: dumb.Pitch, Size: int64(dumb.Size), Origin: s.Name()}
	b.imports = []bufImport{{dev: d, handle: dumb.Handle}}
	return b, nil
}

// UdmabufStrategy wraps memfd memory as a dma-buf through /dev/udmabuf:
// always possible when the kernel has CONFIG_UDMABUF, never contiguous.
type UdmabufStrategy struct{ Path string } // "" means /dev/udmabuf

// Name returns "udmabuf".
func (UdmabufStrategy) Name() string { return "udmabuf" }

// Allocate creates a sealed memfd and wraps it.
func (s UdmabufStrategy) Allocate(width, height int, format Format) (*Buffer, error) {
	stride, size, err := linearLayout(width, height, format)
	if err != nil {
		return nil, err
	}
	page := int64(os.Getpagesize())
	size = (size + page - 1) / page * page
	p := s.Path
	if p == "" {
		p = "/dev/udmabuf"
	}
	dev, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer unix.Close(dev)
	mfd, err := unix.MemfdCreate("minicomp-target", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	defer unix.Close(mfd)
	if err := unix.Ftruncate(mfd, size); err != nil {
		return nil, fmt.Errorf("memfd ftruncate %d: %w", size, err)
	}
	if _, err := unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK); err != nil {
		return nil, fmt.Errorf("memfd seal: %w", err)
	}
	fd, err := dmabuf.CreateUdmabuf(dev, mfd, 0, uint64(size))
	if err != nil {
		return nil, err
	}
	return &Buffer{File: os.NewFile(uintptr(fd), "dmabuf:udmabuf"), Width: width, Height: height, Format: format,
		Modifier: ModLinear, Stride: stride, Size: size, Origin: "udmabuf"}, nil
}

// MemfdStrategy makes CPU-only buffers from a memfd: no device can import
// them, so they serve the CPU renderer when nothing else can allocate (a
// headless machine without heaps or udmabuf), and tests.
type MemfdStrategy struct{}

// Name returns "memfd".
func (MemfdStrategy) Name() string { return "memfd" }

// Allocate creates a sealed memfd of the frame's size.
func (MemfdStrategy) Allocate(width, height int, format Format) (*Buffer, error) {
	stride, size, err := linearLayout(width, height, format)
	if err != nil {
		return nil, err
	}
	mfd, err := unix.MemfdCreate("minicomp-cpu", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, fmt.Errorf("memfd_create: %w", err)
	}
	if err := unix.Ftruncate(mfd, size); err != nil {
		unix.Close(mfd)
		return nil, fmt.Errorf("memfd ftruncate %d: %w", size, err)
	}
	unix.FcntlInt(uintptr(mfd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK|unix.F_SEAL_GROW)
	return &Buffer{File: os.NewFile(uintptr(mfd), "memfd"), Width: width, Height: height, Format: format,
		Modifier: ModLinear, Stride: stride, Size: size, Origin: "memfd", cpuOnly: true}, nil
}

// Attempt is one allocation strategy (or heap) tried and why it was not
// taken: the same type as heap.Attempt.
type Attempt = heap.Attempt

// Allocate tries the strategies in order and returns the first buffer
// made, with the attempts that failed before it. Every failure is logged
// with its reason. When all fail, the error joins theirs.
func Allocate(strategies []Strategy, width, height int, format Format, log *slog.Logger) (*Buffer, []Attempt, error) {
	if log == nil {
		log = slog.Default()
	}
	var attempts []Attempt
	var errs []error
	for _, s := range strategies {
		b, err := s.Allocate(width, height, format)
		if err == nil {
			return b, attempts, nil
		}
		log.Warn("allocation strategy failed, trying the next", "strategy", s.Name(), "err", err)
		attempts = append(attempts, Attempt{Name: s.Name(), Err: err})
		errs = append(errs, fmt.Errorf("%s: %w", s.Name(), err))
	}
	if len(errs) == 0 {
		return nil, nil, errors.New("no allocation strategy available")
	}
	return nil, attempts, fmt.Errorf("every allocation strategy failed: %w", errors.Join(errs...))
}
