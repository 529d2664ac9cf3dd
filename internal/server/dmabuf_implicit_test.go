package server

import (
	"encoding/binary"
	"image"
	"sync/atomic"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// importing is the CPU renderer posing as a GPU one that imports client
// dma-bufs: an imported buffer is drawn as a solid marker colour (what a
// GPU would sample, seen from a test without one), so a picture that
// shows the buffer's own pixels proves the CPU read it instead.
type importing struct {
	*soft.Renderer
	marker  uint32
	imports atomic.Int32
}

func (r *importing) CanImportDMABuf() bool { return true }

func (r *importing) ImportDMABuf(b *scanout.Buffer) (render.Texture, error) {
	r.imports.Add(1)
	t, err := r.NewTexture(b.Width, b.Height, scanout.XRGB8888)
	if err != nil {
		return nil, err
	}
	pix := make([]byte, b.Width*b.Height*4)
	for i := 0; i < len(pix); i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], r.marker)
	}
	return t, t.Update(pix, b.Width*4, nil)
}

// implicitClient binds what a dma-buf client needs (linux-dmabuf v4 at
// 11) and returns the (format, modifier) pairs of the default feedback's
// format table.
func implicitClient(t *testing.T, s *Server, dir string) (*raw, map[[2]uint64]bool) {
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{
		3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface, 5: protocol.XdgWmBaseInterface,
		11: protocol.ZwpLinuxDmabufV1Interface, 12: protocol.ZwlrScreencopyManagerV1Interface, 13: protocol.WlOutputInterface,
	})
	r.req(11, 2, func(e *wire.Encoder) { e.NewID(14) }) // get_default_feedback
	size := 0
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 14 && op == 1 { // format_table
			size = int(binary.NativeEndian.Uint32(body))
		}
		return obj == 14 && op == 0 // done
	})
	if len(r.fds) != 1 || size == 0 || size%16 != 0 {
		t.Fatalf("feedback: %d fds, table of %d bytes", len(r.fds), size)
	}
	table := make([]byte, size)
	if _, err := unix.Pread(r.fds[0], table, 0); err != nil {
		t.Fatal(err)
	}
	unix.Close(r.fds[0])
	r.fds = nil
	pairs := map[[2]uint64]bool{}
	for i := 0; i < size; i += 16 {
		pairs[[2]uint64{uint64(binary.NativeEndian.Uint32(table[i:])), binary.NativeEndian.Uint64(table[i+8:])}] = true
	}
	return r, pairs
}

// implicitBuffer sends a w×h XRGB8888 "dma-buf" (a memfd: what matters
// here is the server's decision, not the memory) whose pixels are all
// green, with the implicit modifier, as create_immed for buffer id, or
// (id 0) as create, and returns the buffer's id (0: failed).
func implicitBuffer(t *testing.T, r *raw, id uint32, w, h int) uint32 {
	fd := memfd(t, int64(w*h*4))
	pix := make([]byte, w*h*4)
	for i := 0; i < len(pix); i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], 0x0000ff00)
	}
	unix.Pwrite(fd, pix, 0)
	inv := scanout.ModInvalid
	r.req(11, 1, func(e *wire.Encoder) { e.NewID(15) }) // create_params
	r.req(15, 1, func(e *wire.Encoder) {
		e.Uint(0)
		e.Uint(0)
		e.Uint(uint32(w * 4))
		e.Uint(uint32(inv >> 32))
		e.Uint(uint32(inv))
	}, fd)
	if id != 0 {
		r.req(15, 3, func(e *wire.Encoder) {
			e.NewID(id)
			e.Int(int32(w))
			e.Int(int32(h))
			e.Uint(uint32(scanout.XRGB8888))
			e.Uint(0)
		})
		return id
	}
	r.req(15, 2, func(e *wire.Encoder) { e.Int(int32(w)); e.Int(int32(h)); e.Uint(uint32(scanout.XRGB8888)); e.Uint(0) })
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 15 && op == 0 { // created
			id = binary.NativeEndian.Uint32(body)
		}
		return obj == 15
	})
	r.req(15, 0, nil) // destroy the params: id 15 is free again
	return id
}

// A buffer with DRM_FORMAT_MOD_INVALID (the implicit modifier) has a
// layout only the driver that allocated it knows: it is advertised and
// accepted only when the renderer imports dma-bufs, drawn from the
// import, and never read by the CPU as if it were linear. With a CPU
// renderer it is not advertised, and a version 4 client sending it gets
// invalid_format.
func TestDmabufImplicitModifier(t *testing.T) {
	xr24 := uint64(scanout.XRGB8888)
	t.Run("cpu renderer", func(t *testing.T) {
		s, dir, _ := startRenderer(t, nil, nil)
		r, pairs := implicitClient(t, s, dir)
		if pairs[[2]uint64{xr24, scanout.ModInvalid}] || !pairs[[2]uint64{xr24, scanout.ModLinear}] {
			t.Errorf("format table %v: want XRGB8888 with LINEAR and without the implicit modifier", pairs)
		}
		implicitBuffer(t, r, 16, 64, 64)
		if code, msg := r.waitError(); code != protocol.ZwpLinuxBufferParamsV1ErrorInvalidFormat {
			t.Errorf("implicit-modifier buffer with a CPU renderer: error %d (%s), want invalid_format", code, msg)
		} else {
			t.Logf("refused: %s", msg)
		}
	})
	t.Run("importing renderer", func(t *testing.T) {
		const marker = 0x00ff00ff
		imp := &importing{Renderer: soft.New(), marker: marker}
		s, dir, _ := startRenderer(t, nil, imp)
		r, pairs := implicitClient(t, s, dir)
		if !pairs[[2]uint64{xr24, scanout.ModInvalid}] || !pairs[[2]uint64{xr24, scanout.ModLinear}] {
			t.Errorf("format table %v: want XRGB8888 with LINEAR and the implicit modifier", pairs)
		}
		const w, h = 64, 64
		implicitBuffer(t, r, 16, w, h)
		r.req(15, 0, nil) // destroy the params: id 15 is free again
		r.mapToplevel(16, w, h)
		checkImported := func() {
			t.Helper()
			px, pitch := r.capture(t)
			at := func(p image.Point) uint32 { return binary.LittleEndian.Uint32(px[p.Y*pitch+p.X*4:]) & 0xffffff }
			for _, p := range []image.Point{{0, 0}, {w / 2, h / 2}, {w - 1, h - 1}} {
				switch got := at(p); got {
				case marker:
				case 0x00ff00:
					t.Errorf("pixel %v is the buffer's memory read as linear by the CPU (%06x), not its import", p, got)
				default:
					t.Errorf("pixel %v = %06x, want the import's %06x", p, got, marker)
				}
			}
		}
		checkImported()
		// create (not create_immed): the server names the buffer, from its
		// own id range.
		id := implicitBuffer(t, r, 0, w, h)
		if id < 0xff000000 {
			t.Fatalf("create: buffer id %#x, want a server id (created, not failed)", id)
		}
		r.attach(6, id, w, h)
		r.commit(6)
		r.roundtrip(52)
		checkImported()
		if n := imp.imports.Load(); n != 2 {
			t.Errorf("%d imports, want 2 (one per buffer, at creation)", n)
		}
		if st := s.Stats(); st.ProtocolErrors != 0 {
			t.Errorf("%d protocol errors", st.ProtocolErrors)
		}
	})
}
