package server

import (
	"encoding/binary"
	"image"
	"slices"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// sealedPool makes a memfd of size bytes sealed against shrinking, as
// libwayland's and weston's clients make their pools.
func sealedPool(t *testing.T, size int) int {
	t.Helper()
	fd, err := unix.MemfdCreate("pool", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, unix.F_SEAL_SHRINK); err != nil {
		t.Fatal(err)
	}
	return fd
}

func fill(t *testing.T, fd, off, n int, px uint32) {
	t.Helper()
	b := make([]byte, n*4)
	for i := range n {
		binary.LittleEndian.PutUint32(b[i*4:], px)
	}
	if _, err := unix.Pwrite(fd, b, int64(off)); err != nil {
		t.Fatal(err)
	}
}

// releasesUntil does a roundtrip (callback id) and returns the buffers of
// watch released before it came back.
func (r *raw) releasesUntil(id uint32, watch ...uint32) []uint32 {
	r.t.Helper()
	r.req(1, 0, func(e *wire.Encoder) { e.NewID(id) })
	var got []uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if op == 0 && slices.Contains(watch, obj) {
			got = append(got, obj)
		}
		return obj == id
	})
	return got
}

// A buffer from a sealed pool is drawn in place: the client gets it back
// when the surface shows another buffer (not at its commit), what it
// writes afterwards is not shown, and a pool resize or the buffer's
// destruction while it is shown change nothing on screen. An unsealed
// pool's buffer is still copied and released at once. The CPU renderer
// draws from the pool, the GPU one uploads from it.
func TestShmInPlace(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	rigtest.CheckFDs(t)
	withRenderers(t, testShmInPlace)
}

func testShmInPlace(t *testing.T, s *Server, dir string) {
	const w, h = 64, 64
	const red, green, blue = 0xff0000, 0x00ff00, 0x0000ff
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface, 5: protocol.XdgWmBaseInterface})
	fd := sealedPool(t, 2*w*h*4)
	fill(t, fd, 0, w*h, red)
	fill(t, fd, w*h*4, w*h, green)
	r.req(4, 0, func(e *wire.Encoder) { e.NewID(9); e.Int(2 * w * h * 4) }, fd)
	for i, id := range []uint32{10, 11} {
		r.req(9, 0, func(e *wire.Encoder) {
			e.NewID(id)
			e.Int(int32(i * w * h * 4))
			e.Int(w)
			e.Int(h)
			e.Int(w * 4)
			e.Uint(protocol.WlShmFormatXrgb8888)
		})
	}
	r.mapToplevel(10, w, h)
	if got := r.releasesUntil(100, 10, 11); len(got) != 0 {
		t.Errorf("released %v while shown in place", got)
	}
	expectPixels(t, "buffer 10", grimShot(t, dir), map[image.Point]uint32{{1, 1}: red, {w - 1, h - 1}: red})
	if got := r.releasesUntil(101, 10, 11); len(got) != 0 {
		t.Errorf("released %v while shown in place", got)
	}

	// The next buffer: the first comes back, the second stays.
	commit := func(buf uint32) {
		r.req(6, 1, func(e *wire.Encoder) { e.Object(buf); e.Int(0); e.Int(0) })
		r.req(6, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(w); e.Int(h) })
		r.req(6, 6, nil)
	}
	commit(11)
	if got := r.releasesUntil(102, 10, 11); !slices.Equal(got, []uint32{10}) {
		t.Errorf("after showing buffer 11, released %v, want [10]", got)
	}
	fill(t, fd, 0, w*h, blue) // the client's again: not on screen
	expectPixels(t, "buffer 11", grimShot(t, dir), map[image.Point]uint32{{1, 1}: green, {w - 1, h - 1}: green})

	// The pool grows while buffer 11 is shown: the old mapping stays.
	if err := unix.Ftruncate(fd, 4*w*h*4); err != nil {
		t.Fatal(err)
	}
	r.req(9, 2, func(e *wire.Encoder) { e.Int(4 * w * h * 4) })
	commit(11)
	if got := r.releasesUntil(103, 10, 11); len(got) != 0 {
		t.Errorf("re-committing the shown buffer released %v", got)
	}
	expectPixels(t, "after a pool resize", grimShot(t, dir), map[image.Point]uint32{{1, 1}: green})

	// The shown buffer destroyed, then the pool: still shown, no release
	// for a destroyed buffer, and a null attach unmaps.
	r.req(11, 0, nil)
	r.req(9, 1, nil)
	if got := r.releasesUntil(104, 10, 11); len(got) != 0 {
		t.Errorf("released %v after destroying", got)
	}
	expectPixels(t, "buffer 11 destroyed", grimShot(t, dir), map[image.Point]uint32{{1, 1}: green})
	commit(0)
	if got := r.releasesUntil(105, 10, 11); len(got) != 0 {
		t.Errorf("released %v at the null attach", got)
	}
	expectPixels(t, "unmapped", grimShot(t, dir), map[image.Point]uint32{{1, 1}: 0x202430})

	// An unsealed pool: copied at commit and released at once.
	u := showSolid(t, s, dir, w, h, red)
	u.req(6, 1, func(e *wire.Encoder) { e.Object(10); e.Int(0); e.Int(0) })
	u.req(6, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(w); e.Int(h) })
	u.req(6, 6, nil)
	if got := u.releasesUntil(106, 10); !slices.Equal(got, []uint32{10}) {
		t.Errorf("unsealed pool: released %v, want [10] at once", got)
	}
}
