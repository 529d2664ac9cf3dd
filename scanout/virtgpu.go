package scanout

import (
	"fmt"
	"structs"
	"unsafe"

	"github.com/minicomp/minicomp/internal/ioc"
)

// With virgl, a virtio-gpu resource's content lives in the host's GL: the
// guest's backing pages change only when the guest asks for a transfer.
// A CPU read of a buffer the GPU drew (the blit fallback, a screenshot)
// would otherwise see stale pages. Mesa's virgl winsys does the same
// before mapping a resource for reading: TRANSFER_FROM_HOST, then WAIT.

// struct drm_virtgpu_3d_box (drm/virtgpu_drm.h).
type virtgpuBox struct {
	_                structs.HostLayout
	X, Y, Z, W, H, D uint32
}

// struct drm_virtgpu_3d_transfer_from_host.
type virtgpuTransfer struct {
	_           structs.HostLayout
	BOHandle    uint32
	Box         virtgpuBox
	Level       uint32
	Offset      uint32
	Stride      uint32
	LayerStride uint32
}

// struct drm_virtgpu_3d_wait.
type virtgpuWait struct {
	_      structs.HostLayout
	Handle uint32
	Flags  uint32
}

// DRM_IOCTL_VIRTGPU_TRANSFER_FROM_HOST (DRM_COMMAND_BASE + 0x06) and
// DRM_IOCTL_VIRTGPU_WAIT (+ 0x08).
var (
	ioctlVirtgpuTransferFromHost = ioc.IOWR('d', 0x46, unsafe.Sizeof(virtgpuTransfer{}))
	ioctlVirtgpuWait             = ioc.IOWR('d', 0x48, unsafe.Sizeof(virtgpuWait{}))
)

// hostBacked returns the virtio-gpu device and GEM handle of b when b is
// a 3D resource minicomp made there (RenderNativeStrategy), else nil.
// Only those: a dumb buffer is a resource too, but the CPU writes its
// guest pages, and a transfer from the host would overwrite them with an
// older copy.
func (b *Buffer) hostBacked() (*Device, uint32) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.hostRendered {
		return nil, 0
	}
	for _, im := range b.imports {
		if im.dev.Driver() == "virtio_gpu" {
			return im.dev, im.handle
		}
	}
	return nil, 0
}

// transferFromHost brings a virtio-gpu resource's host content into its
// guest pages and waits for it; nothing for any other buffer.
func (b *Buffer) transferFromHost() error {
	d, h := b.hostBacked()
	if d == nil {
		return nil
	}
	// Stride and layer stride only for blob resources (the kernel refuses
	// them otherwise: EINVAL); the host uses the resource's own layout.
	t := virtgpuTransfer{BOHandle: h, Box: virtgpuBox{W: uint32(b.Width), H: uint32(b.Height), D: 1},
		Offset: b.Offset}
	if err := ioc.Call(d.dev.FD(), ioctlVirtgpuTransferFromHost, unsafe.Pointer(&t)); err != nil {
		return fmt.Errorf("VIRTGPU_TRANSFER_FROM_HOST %v on %s: %w", b, d, err)
	}
	w := virtgpuWait{Handle: h}
	if err := ioc.Call(d.dev.FD(), ioctlVirtgpuWait, unsafe.Pointer(&w)); err != nil {
		return fmt.Errorf("VIRTGPU_WAIT %v on %s: %w", b, d, err)
	}
	return nil
}
