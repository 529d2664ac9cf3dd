package server

import (
	"encoding/binary"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// capture takes a screenshot through wlr-screencopy (manager bound at 12,
// wl_output at 13) into a fresh shm buffer and returns its pixels and stride.
func (r *raw) capture(t *testing.T) ([]byte, int) {
	t.Helper()
	return r.captureCursor(t, false)
}

// captureCursor is capture with overlay_cursor set to cursor.
func (r *raw) captureCursor(t *testing.T, cursor bool) ([]byte, int) {
	t.Helper()
	overlay := int32(0)
	if cursor {
		overlay = 1
	}
	r.req(12, 0, func(e *wire.Encoder) { e.NewID(30); e.Int(overlay); e.Object(13) })
	var w, h, stride uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 30 && op == 0 {
			w, h, stride = binary.NativeEndian.Uint32(body[4:]), binary.NativeEndian.Uint32(body[8:]), binary.NativeEndian.Uint32(body[12:])
			return true
		}
		return false
	})
	size := int(stride * h)
	fd := memfd(t, int64(size))
	r.shmBuffer(31, 32, fd, int(w), int(h), int(stride))
	r.req(30, 0, func(e *wire.Encoder) { e.Object(32) })
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 30 && op == 3 {
			t.Fatal("screencopy failed")
		}
		return obj == 30 && op == 2 // ready
	})
	out := make([]byte, size)
	unix.Pread(fd, out, 0)
	r.req(30, 1, nil) // destroy the frame, the buffer and the pool: ids free again
	r.req(32, 0, nil)
	r.req(31, 1, nil)
	r.roundtrip(33)
	return out, int(stride)
}

// A client's dma-buf (from a real DMA-BUF heap) is shown exactly, and one
// whose declared layout overruns the buffer is refused with out_of_bounds.
func TestRigDmabufClient(t *testing.T) {
	rigtest.Require(t)
	rigtest.CheckFDs(t)
	s, dir := start(t)
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{
		3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface, 5: protocol.XdgWmBaseInterface,
		11: protocol.ZwpLinuxDmabufV1Interface, 12: protocol.ZwlrScreencopyManagerV1Interface, 13: protocol.WlOutputInterface,
	})
	r.req(11, 2, func(e *wire.Encoder) { e.NewID(14) }) // get_default_feedback
	tranche := false
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 14 && op == 5 { // tranche_formats
			tranche = binary.NativeEndian.Uint32(body) == 4 // two u16 indices
		}
		return obj == 14 && op == 0 // done
	})
	if !tranche {
		t.Error("feedback had no tranche with both formats")
	}
	for _, fd := range r.fds { // the feedback's format table
		unix.Close(fd)
	}
	r.fds = nil

	h, err := heap.Open("system")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	const w, ht, stride = 64, 64, 256
	f, err := h.Alloc(stride * ht)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := dmabuf.Map(int(f.Fd()), stride*ht, true)
	if err != nil {
		t.Fatal(err)
	}
	dmabuf.BeginAccess(int(f.Fd()), dmabuf.Write)
	for i := 0; i < len(m.Data); i += 4 {
		binary.LittleEndian.PutUint32(m.Data[i:], 0x0000ff00) // green
	}
	dmabuf.EndAccess(int(f.Fd()), dmabuf.Write)
	m.Unmap()

	r.req(11, 1, func(e *wire.Encoder) { e.NewID(15) }) // create_params
	r.req(15, 1, func(e *wire.Encoder) { e.Uint(0); e.Uint(0); e.Uint(stride); e.Uint(0); e.Uint(0) }, int(f.Fd()))
	xr24 := uint32(0x34325258) // DRM_FORMAT_XRGB8888: dma-bufs use DRM fourccs, not wl_shm codes
	r.req(15, 3, func(e *wire.Encoder) { e.NewID(16); e.Int(w); e.Int(ht); e.Uint(xr24); e.Uint(0) })
	r.mapToplevel(16, w, ht)
	px, pitch := r.capture(t)
	at := func(x, y int) uint32 { return binary.LittleEndian.Uint32(px[y*pitch+x*4:]) & 0xffffff }
	if got := at(10, 10); got != 0x00ff00 {
		t.Errorf("dma-buf content at (10,10) = %06x, want 00ff00", got)
	}
	if got := at(300, 300); got != uint32(background.R)<<16|uint32(background.G)<<8|uint32(background.B) {
		t.Errorf("background at (300,300) = %06x", got)
	}

	// A lying client: 64 rows of 256 bytes declared as 1000 rows.
	bad := dial(t, dir)
	bad.bindAll(s, map[uint32]*protocol.Interface{11: protocol.ZwpLinuxDmabufV1Interface})
	bad.req(11, 1, func(e *wire.Encoder) { e.NewID(15) })
	bad.req(15, 1, func(e *wire.Encoder) { e.Uint(0); e.Uint(0); e.Uint(stride); e.Uint(0); e.Uint(0) }, int(f.Fd()))
	bad.req(15, 3, func(e *wire.Encoder) { e.NewID(16); e.Int(w); e.Int(1000); e.Uint(xr24); e.Uint(0) })
	if code, msg := bad.waitError(); code != protocol.ZwpLinuxBufferParamsV1ErrorOutOfBounds {
		t.Errorf("lying dma-buf: error %d (%s), want out_of_bounds", code, msg)
	} else {
		t.Logf("lying dma-buf refused: %s", msg)
	}
}

// A fullscreen client dma-buf from a CMA heap goes on the display as it
// is: the framebuffer on the primary plane is the client's own dma-buf
// (same inode), frames are counted direct, and nothing is copied. The
// surface feedback offers a scanout tranche on the display device. A
// screenshot composes (and copies) while it is taken; direct scanout
// resumes after; destroying the buffer on screen frees nothing early.
func TestRigDirectClientScanout(t *testing.T) {
	rigtest.Require(t)
	rigtest.CheckFDs(t)
	be := openKMS(t, kms.Options{Logger: testLog(t)})
	s, dir, _ := startOn(t, be, nil)
	mode := s.outputs[0].o.Mode()
	ko := s.outputs[0].o.(*kms.Output)
	displayDev, _ := ko.ScanoutFormats()

	stride := mode.Width * 4
	f := cmaDmabuf(t, mode.Width, mode.Height, 0x00c03010)
	defer f.Close()

	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{
		3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface, 5: protocol.XdgWmBaseInterface,
		11: protocol.ZwpLinuxDmabufV1Interface, 12: protocol.ZwlrScreencopyManagerV1Interface, 13: protocol.WlOutputInterface,
	})
	r.req(11, 1, func(e *wire.Encoder) { e.NewID(15) })
	r.req(15, 1, func(e *wire.Encoder) { e.Uint(0); e.Uint(0); e.Uint(uint32(stride)); e.Uint(0); e.Uint(0) }, int(f.Fd()))
	xr24 := uint32(0x34325258)
	r.req(15, 3, func(e *wire.Encoder) {
		e.NewID(16)
		e.Int(int32(mode.Width))
		e.Int(int32(mode.Height))
		e.Uint(xr24)
		e.Uint(0)
	})
	copiedBefore := ko.Info().Stats.BytesCopied
	r.mapToplevel(16, mode.Width, mode.Height)

	// Surface feedback: a scanout tranche on the display device first.
	r.req(11, 3, func(e *wire.Encoder) { e.NewID(17); e.Object(6) })
	var targets []uint64
	var flags []uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		switch {
		case obj == 17 && op == 4:
			targets = append(targets, binary.NativeEndian.Uint64(body[4:]))
		case obj == 17 && op == 6:
			flags = append(flags, binary.NativeEndian.Uint32(body))
		}
		return obj == 17 && op == 0
	})
	if len(targets) < 2 || targets[0] != displayDev || flags[0] != protocol.ZwpLinuxDmabufFeedbackV1TrancheFlagsScanout {
		t.Errorf("surface feedback tranches: targets %v flags %v, want the display %d with the scanout flag first", targets, flags, displayDev)
	}

	waitDirect := func(n uint64) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for s.Stats().DirectFrames < n {
			if time.Now().After(deadline) {
				t.Fatalf("direct frames %d, want %d (output stats %+v)", s.Stats().DirectFrames, n, ko.Info().Stats)
			}
			r.req(6, 3, func(e *wire.Encoder) { e.NewID(40) }) // frame callback: ask for a frame
			r.req(6, 6, nil)
			r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 40 })
		}
	}
	waitDirect(3)
	if copied := ko.Info().Stats.BytesCopied - copiedBefore; copied != 0 {
		t.Errorf("%d bytes copied while the client's buffer was scanned out", copied)
	}

	// The framebuffer on the primary plane is the client's dma-buf.
	if fbBuf := planeDmabuf(t, ko); fbBuf != inode(t, int(f.Fd())) {
		t.Errorf("the plane shows dma-buf inode %d, the client's is %d", fbBuf, inode(t, int(f.Fd())))
	}

	// A screenshot composes the surface (copying it) and is exact.
	px, pitch := r.capture(t)
	if got := binary.LittleEndian.Uint32(px[5*pitch+5*4:]) & 0xffffff; got != 0xc03010 {
		t.Errorf("screenshot pixel %06x, want c03010", got)
	}
	n := s.Stats().DirectFrames
	waitDirect(n + 2)
	t.Logf("direct frames %d, output stats %+v", s.Stats().DirectFrames, ko.Info().Stats)

	// The client destroys the buffer on screen, then shows shm: the
	// dma-buf is closed only after it left the screen (CheckFDs).
	r.req(16, 0, nil)
	r.solidBuffer(50, 64, 64, 0x0000ff)
	r.attach(6, 50, 64, 64)
	r.commit(6)
	r.roundtrip(51)
	px, pitch = r.capture(t)
	if got := binary.LittleEndian.Uint32(px[5*pitch+5*4:]) & 0xffffff; got != 0x0000ff {
		t.Errorf("after the switch to shm: pixel %06x, want 0000ff", got)
	}
}

// cmaDmabuf allocates a w×h XRGB8888 dma-buf (stride w*4) from a CMA
// heap, filled with px.
func cmaDmabuf(t *testing.T, w, h int, px uint32) *os.File {
	t.Helper()
	var hp *heap.Heap
	var err error
	for _, name := range []string{"linux,cma", "reserved"} {
		if hp, err = heap.Open(name); err == nil {
			break
		}
	}
	if hp == nil {
		t.Fatalf("no CMA heap: %v", err)
	}
	defer hp.Close()
	f, err := hp.Alloc(int64(w * 4 * h))
	if err != nil {
		t.Fatal(err)
	}
	m, err := dmabuf.Map(int(f.Fd()), w*4*h, true)
	if err != nil {
		f.Close()
		t.Fatal(err)
	}
	dmabuf.BeginAccess(int(f.Fd()), dmabuf.Write)
	for i := 0; i < len(m.Data); i += 4 {
		binary.LittleEndian.PutUint32(m.Data[i:], px)
	}
	dmabuf.EndAccess(int(f.Fd()), dmabuf.Write)
	m.Unmap()
	return f
}

// planeDmabuf returns the inode of the dma-buf behind the framebuffer on
// the primary plane of the output's CRTC (GETFB2 as root, then PRIME
// export).
func planeDmabuf(t *testing.T, o backend.Output) uint64 {
	t.Helper()
	d := openDisplay(t, o)
	info, err := d.GetFB2(primaryFB(t, d, o))
	if err != nil || info.Handles[0] == 0 {
		t.Fatalf("GETFB2: %v (handle %d)", err, info.Handles[0])
	}
	defer d.GemClose(info.Handles[0])
	fd, err := d.PrimeHandleToFD(info.Handles[0])
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	return inode(t, fd)
}

func inode(t *testing.T, fd int) uint64 {
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}
