package server

import (
	"encoding/binary"
	"testing"

	"golang.org/x/sys/unix"

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
	r.req(12, 0, func(e *wire.Encoder) { e.NewID(30); e.Int(0); e.Object(13) })
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
