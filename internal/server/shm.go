package server

import (
	"fmt"
	"image"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/protocol"
)

func (s *Server) bindShm(c *Client, id, version uint32) error {
	if _, err := register[protocol.WlShmHandler](c, id, protocol.WlShmInterface, version, &shm{c: c, id: id}, protocol.DispatchWlShm); err != nil {
		return err
	}
	c.send(protocol.WlShmFormat(c.conn, id, protocol.WlShmFormatArgb8888))
	c.send(protocol.WlShmFormat(c.conn, id, protocol.WlShmFormatXrgb8888))
	return nil
}

type shm struct {
	c  *Client
	id uint32
}

// maxPoolSize bounds a client's pool (absurd sizes are refused).
const maxPoolSize = 1 << 30

func (s *shm) CreatePool(id uint32, fd int, size int32) error {
	defer unix.Close(fd)
	if size <= 0 || size > maxPoolSize {
		return errorf(s.id, protocol.WlShmErrorInvalidStride, "pool size %d", size)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return errorf(s.id, protocol.WlShmErrorInvalidFd, "fstat: %v", err)
	}
	if st.Size < int64(size) {
		return errorf(s.id, protocol.WlShmErrorInvalidFd, "pool of %d bytes on a file of %d", size, st.Size)
	}
	// Writable when the client allows it (screencopy writes into shm
	// buffers); a read-only fd still works for showing buffers.
	writable := true
	mem, err := unix.Mmap(fd, 0, int(size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		writable = false
		mem, err = unix.Mmap(fd, 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	}
	if err != nil {
		return errorf(s.id, protocol.WlShmErrorInvalidFd, "mmap %d bytes: %v", size, err)
	}
	dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		unix.Munmap(mem)
		return fmt.Errorf("dup pool fd: %w", err)
	}
	// A pool whose file cannot shrink (a memfd sealed with F_SEAL_SHRINK,
	// as libwayland's and weston's clients make them) cannot fault under
	// a read: CPU renderers may draw its buffers in place.
	seals, err := unix.FcntlInt(uintptr(fd), unix.F_GET_SEALS, 0)
	sealed := err == nil && seals&unix.F_SEAL_SHRINK != 0
	p := &shmPool{c: s.c, id: id, fd: dup, mem: mem, m: &shmMap{mem: mem, refs: 1}, refs: 1, writable: writable, sealed: sealed}
	o, err := register[protocol.WlShmPoolHandler](s.c, id, protocol.WlShmPoolInterface, 1, p, protocol.DispatchWlShmPool)
	if err != nil {
		p.unref()
		return err
	}
	o.onDestroy = p.unref
	return nil
}

// shmPool is a client's shared memory; buffers keep it mapped after the
// pool object is gone.
type shmPool struct {
	c        *Client
	id       uint32
	fd       int
	mem      []byte  // m.mem: the current mapping
	m        *shmMap // held by the pool, and by buffers drawn in place
	refs     int
	writable bool
	sealed   bool // the file cannot shrink (F_SEAL_SHRINK)
}

// shmMap is one mapping of a pool: a resize makes a new one, and the old
// one stays until no buffer drawn in place reads it.
type shmMap struct {
	mem  []byte
	refs int
}

func (m *shmMap) unref() {
	m.refs--
	if m.refs == 0 {
		unix.Munmap(m.mem)
		m.mem = nil
	}
}

func (p *shmPool) unref() {
	p.refs--
	if p.refs == 0 {
		p.m.unref()
		unix.Close(p.fd)
		p.mem, p.m = nil, nil
	}
}

func (p *shmPool) Destroy() error { return nil }

func (p *shmPool) Resize(size int32) error {
	if int(size) < len(p.mem) || size > maxPoolSize {
		return errorf(p.id, protocol.WlShmErrorInvalidStride, "resize from %d to %d", len(p.mem), size)
	}
	var st unix.Stat_t
	if err := unix.Fstat(p.fd, &st); err != nil || st.Size < int64(size) {
		return errorf(p.id, protocol.WlShmErrorInvalidFd, "resize to %d beyond the file", size)
	}
	prot := unix.PROT_READ
	if p.writable {
		prot |= unix.PROT_WRITE
	}
	mem, err := unix.Mmap(p.fd, 0, int(size), prot, unix.MAP_SHARED)
	if err != nil {
		return errorf(p.id, protocol.WlShmErrorInvalidFd, "mmap %d: %v", size, err)
	}
	p.m.unref()
	p.m = &shmMap{mem: mem, refs: 1}
	p.mem = mem
	return nil
}

func (p *shmPool) CreateBuffer(id uint32, offset, width, height, stride int32, format uint32) error {
	if format != protocol.WlShmFormatArgb8888 && format != protocol.WlShmFormatXrgb8888 {
		return errorf(p.id, protocol.WlShmErrorInvalidFormat, "format %#x", format)
	}
	if width <= 0 || height <= 0 || width > 16384 || height > 16384 || offset < 0 || stride < width*4 {
		return errorf(p.id, protocol.WlShmErrorInvalidStride, "%dx%d stride %d offset %d", width, height, stride, offset)
	}
	if int64(offset)+int64(stride)*int64(height) > int64(len(p.mem)) {
		return errorf(p.id, protocol.WlShmErrorInvalidStride, "%dx%d stride %d at %d overruns the %d-byte pool", width, height, stride, offset, len(p.mem))
	}
	b := &shmBuffer{c: p.c, id: id, pool: p, offset: int(offset), width: int(width), height: int(height), stride: int(stride), format: format}
	o, err := register[protocol.WlBufferHandler](p.c, id, protocol.WlBufferInterface, 1, b, protocol.DispatchWlBuffer)
	if err != nil {
		return err
	}
	p.refs++
	o.onDestroy = func() {
		b.destroyed = true
		b.maybeFreeView()
		p.unref()
	}
	return nil
}

// shmBuffer is a wl_buffer in a shm pool.
type shmBuffer struct {
	c                             *Client
	id                            uint32
	pool                          *shmPool
	offset, width, height, stride int
	format                        uint32
	destroyed                     bool
	view                          shmView // when drawn in place (shmview.go)
}

func (b *shmBuffer) Destroy() error { return nil }

func (b *shmBuffer) size() (int, int)  { return b.width, b.height }
func (b *shmBuffer) isOpaque() bool    { return b.format == protocol.WlShmFormatXrgb8888 }
func (b *shmBuffer) objectID() uint32  { return b.id }
func (b *shmBuffer) isDestroyed() bool { return b.destroyed }

// copyTo copies the parts of the buffer inside damage (nil: all) into dst
// (w*4 bytes a row); a truncated file behind the pool becomes an error,
// not a crash.
func (b *shmBuffer) copyTo(dst []byte, damage []image.Rectangle) error {
	return safeCopyRects(dst, b.width*4, b.pixels(), b.stride, b.width, b.height, damage)
}

// pixels returns the buffer's bytes in the pool's mapping (which may shrink
// under us if the client truncates its file: reads go through safeCopy).
func (b *shmBuffer) pixels() []byte {
	return b.pool.mem[b.offset : b.offset+b.stride*b.height]
}

// safeCopy copies client memory; a SIGBUS (the client truncated the file
// behind its pool) becomes an error instead of killing the compositor.
// The calling goroutine must have debug.SetPanicOnFault(true).
func safeCopy(dst, src []byte) (err error) {
	defer recoverFault(&err)
	copy(dst, src)
	return nil
}

func recoverFault(err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("reading the buffer faulted (was the file behind the pool truncated?): %v", r)
	}
}

// safeCopyRects copies the rectangles of damage (nil: all of the w×h
// picture) from src to dst, 4 bytes a pixel; a fault reading src becomes
// an error.
func safeCopyRects(dst []byte, dstStride int, src []byte, srcStride, w, h int, damage []image.Rectangle) (err error) {
	defer recoverFault(&err)
	bounds := image.Rect(0, 0, w, h)
	if damage == nil {
		copyRect(dst, dstStride, src, srcStride, bounds)
		return nil
	}
	for _, r := range damage {
		copyRect(dst, dstStride, src, srcStride, r.Intersect(bounds))
	}
	return nil
}

func copyRect(dst []byte, dstStride int, src []byte, srcStride int, r image.Rectangle) {
	if r.Empty() {
		return
	}
	if r.Min.X == 0 && dstStride == srcStride && r.Dx()*4 == dstStride {
		copy(dst[r.Min.Y*dstStride:r.Max.Y*dstStride], src[r.Min.Y*srcStride:r.Max.Y*srcStride])
		return
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		copy(dst[y*dstStride+r.Min.X*4:y*dstStride+r.Max.X*4], src[y*srcStride+r.Min.X*4:y*srcStride+r.Max.X*4])
	}
}
