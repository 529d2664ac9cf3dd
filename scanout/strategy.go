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
// device (V3D_CREATE_BO on v3d, VIRTGPU_RESOURCE_CREATE on virtio-gpu) and
// exports it. Devices without a native allocator known to minicomp try
// CREATE_DUMB on the render node, which render nodes refuse by design
// (EACCES).
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

// struct drm_virtgpu_resource_create (drm/virtgpu_drm.h): a 3D resource
// (with virgl, a texture in the host's GL) and its guest backing pages.
type virtgpuResourceCreate struct {
	_         structs.HostLayout
	Target    uint32
	Format    uint32
	Bind      uint32
	Width     uint32
	Height    uint32
	Depth     uint32
	ArraySize uint32
	LastLevel uint32
	NrSamples uint32
	Flags     uint32
	BOHandle  uint32 // returned: the GEM handle
	ResHandle uint32 // returned: the host resource
	Size      uint32
	Stride    uint32
}

// DRM_IOCTL_VIRTGPU_RESOURCE_CREATE: DRM_COMMAND_BASE (0x40) + 0x04.
var ioctlVirtgpuResourceCreate = ioc.IOWR('d', 0x44, unsafe.Sizeof(virtgpuResourceCreate{}))

// virgl's names (virglrenderer's virgl_hw.h, Mesa's virgl winsys).
const (
	pipeTexture2D = 2 // enum pipe_texture_target PIPE_TEXTURE_2D

	virglFormatB8G8R8A8 = 1 // DRM_FORMAT_ARGB8888 (little endian)
	virglFormatB8G8R8X8 = 2 // DRM_FORMAT_XRGB8888

	virglBindRenderTarget = 1 << 1
	virglBindSamplerView  = 1 << 3
	virglBindScanout      = 1 << 18
	virglBindShared       = 1 << 20
)

// virglFormat is format's virgl format, or 0.
func virglFormat(format Format) uint32 {
	switch format {
	case XRGB8888:
		return virglFormatB8G8R8X8
	case ARGB8888:
		return virglFormatB8G8R8A8
	}
	return 0
}

// virtgpuCreate creates a 2D resource to render into and scan out, with
// the binds Mesa's virgl gives a GBM scanout buffer (render target,
// sampler view, scanout, shared). The stride is Mesa's (width × cpp): the
// host's texture has no layout of its own, the stride only describes the
// guest backing pages for transfers.
func virtgpuCreate(d *Device, width, height int, format Format) (handle, stride uint32, size int64, err error) {
	vf := virglFormat(format)
	if vf == 0 {
		return 0, 0, 0, fmt.Errorf("VIRTGPU_RESOURCE_CREATE on %s: no virgl format for %v", d, format)
	}
	if _, _, err := linearLayout(width, height, format); err != nil {
		return 0, 0, 0, err
	}
	stride = uint32(width * format.BytesPerPixel())
	c := virtgpuResourceCreate{Target: pipeTexture2D, Format: vf,
		Bind:  virglBindRenderTarget | virglBindSamplerView | virglBindScanout | virglBindShared,
		Width: uint32(width), Height: uint32(height), Depth: 1, ArraySize: 1,
		Size: stride * uint32(height), Stride: stride}
	if err := ioc.Call(d.dev.FD(), ioctlVirtgpuResourceCreate, unsafe.Pointer(&c)); err != nil {
		return 0, 0, 0, fmt.Errorf("VIRTGPU_RESOURCE_CREATE on %s: %w", d, err)
	}
	return c.BOHandle, stride, int64(c.Size), nil
}

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
	case "virtio_gpu":
		if handle, stride, size, err = virtgpuCreate(d, width, height, format); err != nil {
			return nil, err
		}
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
	b.hostRendered = d.Driver() == "virtio_gpu"
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
