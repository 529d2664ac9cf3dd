// Package rigcheck checks that a QEMU rig guest (test/rig, MINICOMP_RIG set by
// vmexec) has the devices the minicomp tests rely on. Outside a rig it skips.
package rigcheck

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"testing"
	"unsafe"
)

// Expected devices per rig (see test/rig/README.md).
var rigs = map[string]struct {
	kms            string   // DRM driver name of the display device
	heaps          []string // /dev/dma_heap entries; the last one is the CMA heap
	writeback      bool     // the display has a writeback connector
	contiguousOnly bool     // the display refuses non-contiguous dma-bufs (like vc4)
}{
	"vkms":  {kms: "vkms", heaps: []string{"system", "reserved"}, writeback: true},
	"pl111": {kms: "pl111", heaps: []string{"system", "linux,cma"}, contiguousOnly: true},
}

func TestRig(t *testing.T) {
	name := os.Getenv("MINICOMP_RIG")
	if name == "" {
		t.Skip("MINICOMP_RIG is unset: not inside a test/rig QEMU guest (run: go test -exec <vmexec>, see test/rig/README.md)")
	}
	want, ok := rigs[name]
	if !ok {
		t.Fatalf("unknown MINICOMP_RIG=%q", name)
	}
	t.Logf("rig %s, GOARCH=%s, kernel %s", name, runtime.GOARCH, readTrim("/proc/sys/kernel/osrelease"))

	// DRM nodes.
	nodes, _ := filepath.Glob("/dev/dri/*")
	if len(nodes) == 0 {
		t.Fatal("no /dev/dri nodes")
	}
	var kmsCards, vgemRender []string
	for _, n := range nodes {
		fi, err := os.Stat(n)
		if err != nil {
			t.Errorf("%s: %v", n, err)
			continue
		}
		drv, err := driverName(n)
		if err != nil {
			t.Errorf("%s: DRM_IOCTL_VERSION: %v", n, err)
			continue
		}
		base := filepath.Base(n)
		t.Logf("%s  %v  driver=%s  sysfs-driver=%s", n, fi.Mode(), drv, sysfsDriver(base))
		switch {
		case strings.HasPrefix(base, "card") && drv == want.kms:
			kmsCards = append(kmsCards, n)
		case strings.HasPrefix(base, "renderD") && drv == "vgem":
			vgemRender = append(vgemRender, n)
		}
	}
	if len(kmsCards) == 0 {
		t.Errorf("no /dev/dri/card* driven by %s", want.kms)
	}
	if len(vgemRender) == 0 {
		t.Error("no vgem render node /dev/dri/renderD*")
	}
	for _, c := range kmsCards {
		checkKMS(t, c, want.writeback)
	}
	if len(kmsCards) > 0 {
		checkImports(t, kmsCards[0], want.contiguousOnly)
	}

	// dma-buf heaps.
	heaps, _ := filepath.Glob("/dev/dma_heap/*")
	for i := range heaps {
		heaps[i] = filepath.Base(heaps[i])
	}
	sort.Strings(heaps)
	t.Logf("dma heaps: %q", heaps)
	for _, h := range want.heaps {
		p := "/dev/dma_heap/" + h
		if _, err := os.Stat(p); err != nil {
			t.Errorf("heap %s missing: %v", h, err)
			continue
		}
		// A 1080p XRGB8888 buffer: also proves the CMA area is really there.
		if err := heapAlloc(p, 1920*1080*4); err != nil {
			t.Errorf("allocating 8 MB from %s: %v", p, err)
		} else {
			t.Logf("allocated 8 MB from %s", p)
		}
	}

	if fi, err := os.Stat("/dev/udmabuf"); err != nil {
		t.Errorf("udmabuf: %v", err)
	} else {
		t.Logf("/dev/udmabuf %v", fi.Mode())
	}
	if _, err := os.Stat("/sys/kernel/debug/sync/sw_sync"); err != nil {
		t.Logf("sw_sync: %v", err)
	}
	if m := readTrim("/proc/meminfo"); m != "" {
		for _, l := range strings.Split(m, "\n") {
			if strings.HasPrefix(l, "Cma") || strings.HasPrefix(l, "MemTotal") {
				t.Log(strings.Join(strings.Fields(l), " "))
			}
		}
	}
}

func readTrim(p string) string {
	b, _ := os.ReadFile(p)
	return strings.TrimSpace(string(b))
}

// sysfsDriver returns the driver bound to the node's parent device, if any
// (vkms and vgem are driverless platform devices in 6.1).
func sysfsDriver(node string) string {
	l, err := os.Readlink("/sys/class/drm/" + node + "/device/driver")
	if err != nil {
		return "-"
	}
	return filepath.Base(l)
}

// Minimal DRM UAPI, enough for the check (the real bindings live elsewhere).
func iowr(nr, size uintptr) uintptr { return 3<<30 | size<<16 | 'd'<<8 | nr }
func iow(nr, size uintptr) uintptr  { return 1<<30 | size<<16 | 'd'<<8 | nr }

type drmVersion struct {
	major, minor, patch int32
	nameLen             uintptr
	name                uintptr
	dateLen             uintptr
	date                uintptr
	descLen             uintptr
	desc                uintptr
}

func ioctl(fd int, req uintptr, arg unsafe.Pointer) error {
	for {
		_, _, e := syscall.Syscall(syscall.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
		if e == syscall.EINTR || e == syscall.EAGAIN {
			continue
		}
		if e != 0 {
			return e
		}
		return nil
	}
}

func driverName(node string) (string, error) {
	fd, err := syscall.Open(node, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer syscall.Close(fd)
	var pin runtime.Pinner
	defer pin.Unpin()
	buf := make([]byte, 64)
	pin.Pin(&buf[0])
	v := &drmVersion{nameLen: uintptr(len(buf)), name: uintptr(unsafe.Pointer(&buf[0]))}
	if err := ioctl(fd, iowr(0x00, unsafe.Sizeof(*v)), unsafe.Pointer(v)); err != nil {
		return "", err
	}
	return string(buf[:min(int(v.nameLen), len(buf))]), nil
}

type modeCardRes struct {
	fbs, crtcs, connectors, encoders         uint64
	nFbs, nCrtcs, nConnectors, nEncoders     uint32
	minWidth, maxWidth, minHeight, maxHeight uint32
}

type modeGetConnector struct {
	encoders, modes, props, propValues                      uint64
	nModes, nProps, nEncoders, encoderID                    uint32
	connectorID, connectorType, connectorTypeID, connection uint32
	mmWidth, mmHeight, subpixel, pad                        uint32
}

type modeGetPlaneRes struct {
	planes  uint64
	nPlanes uint32
	_       uint32 // the kernel struct is 16 bytes on every arch (Go on arm would make it 12)
}

var connectorTypes = map[uint32]string{
	0: "Unknown", 1: "VGA", 2: "DVI-I", 3: "DVI-D", 11: "HDMI-A", 14: "eDP",
	15: "Virtual", 16: "DSI", 17: "DPI", 18: "Writeback",
}

// checkKMS logs the display's CRTCs, planes and connectors (with the atomic
// and writeback client caps) and checks for a writeback connector if wanted.
func checkKMS(t *testing.T, node string, wantWriteback bool) {
	fd, err := syscall.Open(node, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Errorf("%s: %v", node, err)
		return
	}
	defer syscall.Close(fd)
	for _, c := range []uint64{2, 3, 5} { // UNIVERSAL_PLANES, ATOMIC, WRITEBACK_CONNECTORS
		cc := &[2]uint64{c, 1}
		if err := ioctl(fd, iow(0x0D, 16), unsafe.Pointer(cc)); err != nil {
			t.Logf("%s: SET_CLIENT_CAP %d: %v", node, c, err)
		}
	}
	var pin runtime.Pinner
	defer pin.Unpin()

	res := &modeCardRes{}
	if err := ioctl(fd, iowr(0xA0, unsafe.Sizeof(*res)), unsafe.Pointer(res)); err != nil {
		t.Errorf("%s: GETRESOURCES: %v", node, err)
		return
	}
	ids := make([]uint32, res.nConnectors+1)
	pin.Pin(&ids[0])
	n := res.nConnectors
	*res = modeCardRes{connectors: uint64(uintptr(unsafe.Pointer(&ids[0]))), nConnectors: n}
	if err := ioctl(fd, iowr(0xA0, unsafe.Sizeof(*res)), unsafe.Pointer(res)); err != nil {
		t.Errorf("%s: GETRESOURCES: %v", node, err)
		return
	}
	pr := &modeGetPlaneRes{}
	if err := ioctl(fd, iowr(0xB5, unsafe.Sizeof(*pr)), unsafe.Pointer(pr)); err != nil {
		t.Errorf("%s: GETPLANERESOURCES: %v", node, err)
	}
	var conns []string
	writeback := false
	for _, id := range ids[:min(n, res.nConnectors)] {
		c := &modeGetConnector{connectorID: id}
		if err := ioctl(fd, iowr(0xA7, unsafe.Sizeof(*c)), unsafe.Pointer(c)); err != nil {
			t.Errorf("%s: GETCONNECTOR %d: %v", node, id, err)
			continue
		}
		name := connectorTypes[c.connectorType]
		if name == "" {
			name = fmt.Sprint(c.connectorType)
		}
		conns = append(conns, fmt.Sprintf("%s-%d(modes=%d)", name, c.connectorTypeID, c.nModes))
		writeback = writeback || c.connectorType == 18
	}
	t.Logf("%s: crtcs=%d encoders=%d planes=%d connectors=%v max=%dx%d",
		node, res.nCrtcs, res.nEncoders, pr.nPlanes, conns, res.maxWidth, res.maxHeight)
	if wantWriteback && !writeback {
		t.Errorf("%s: no writeback connector (vkms.enable_writeback=1 missing?)", node)
	}
}

type heapAllocation struct {
	len       uint64
	fd        uint32
	fdFlags   uint32
	heapFlags uint64
}

func heapAlloc(heap string, size uint64) error {
	fd, err := heapBuffer(heap, size)
	if err != nil {
		return err
	}
	return syscall.Close(fd)
}

// heapBuffer allocates a dma-buf of size bytes from the heap device.
func heapBuffer(heap string, size uint64) (int, error) {
	fd, err := syscall.Open(heap, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	defer syscall.Close(fd)
	a := &heapAllocation{len: size, fdFlags: syscall.O_RDWR | syscall.O_CLOEXEC}
	// DMA_HEAP_IOCTL_ALLOC = _IOWR('H', 0, struct dma_heap_allocation_data)
	req := uintptr(3<<30 | unsafe.Sizeof(*a)<<16 | 'H'<<8)
	if err := ioctl(fd, req, unsafe.Pointer(a)); err != nil {
		return -1, err
	}
	return int(a.fd), nil
}

type primeHandle struct {
	handle, flags uint32
	fd            int32
}

// checkImports imports 1080p XRGB8888 buffers from the system and the CMA
// heap into the display (DRM_IOCTL_PRIME_FD_TO_HANDLE). A contiguous-only
// display must refuse the system-heap buffer with EINVAL and take the CMA one.
// (A buffer that fits one heap chunk, or a few chunks of one fresh buddy
// block, can be contiguous by chance: 1080p is large enough not to be.)
func checkImports(t *testing.T, card string, contiguousOnly bool) {
	heaps, _ := filepath.Glob("/dev/dma_heap/*")
	fd, err := syscall.Open(card, syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Errorf("%s: %v", card, err)
		return
	}
	defer syscall.Close(fd)
	const size = 1920 * 1080 * 4
	for _, h := range heaps {
		buf, err := heapBuffer(h, size)
		if err != nil {
			t.Errorf("%s: %v", h, err)
			continue
		}
		p := &primeHandle{fd: int32(buf)}
		ierr := ioctl(fd, iowr(0x2e, unsafe.Sizeof(*p)), unsafe.Pointer(p))
		syscall.Close(buf)
		if ierr == nil {
			// DRM_IOCTL_GEM_CLOSE = _IOW('d', 0x09, struct drm_gem_close{u32 handle, pad})
			cl := &[2]uint32{p.handle, 0}
			ioctl(fd, iow(0x09, 8), unsafe.Pointer(cl))
		}
		t.Logf("import of a 1080p %s buffer into %s: %v", filepath.Base(h), card, errString(ierr))
		if !contiguousOnly {
			if ierr != nil {
				t.Errorf("%s refused a %s buffer: %v", card, filepath.Base(h), ierr)
			}
			continue
		}
		switch filepath.Base(h) {
		case "system":
			if ierr != syscall.EINVAL {
				t.Errorf("%s: system-heap import = %v, want EINVAL (non-contiguous refused)", card, errString(ierr))
			}
		default:
			if ierr != nil {
				t.Errorf("%s: CMA-heap import failed: %v", card, ierr)
			}
		}
	}
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	return err.Error() + " (" + fmt.Sprint(int(err.(syscall.Errno))) + ")"
}
