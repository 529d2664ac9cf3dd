package scanout

import (
	"errors"
	"fmt"
	"image"
	"runtime"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/drm"
)

// maxStale is how many damage rectangles a fallback buffer remembers
// before they are merged into their bounding box.
const maxStale = 8

// dumbSlot is one buffer of the fallback swapchain: a dumb buffer on the
// display, mapped, with a framebuffer, and exported as a dma-buf so CPU
// writes can be bracketed with DMA_BUF_IOCTL_SYNC.
type dumbSlot struct {
	handle uint32
	pitch  uint32
	fb     uint32
	mem    []byte
	dmabuf int // -1 when the driver cannot export
	stale  []image.Rectangle
}

// blitChain is the Presenter's fallback swapchain, sized to the mode.
type blitChain struct {
	dev    *Device
	w, h   int
	format Format
	slots  []*dumbSlot
	next   int
}

func newBlitChain(dev *Device, n, w, h int, format Format) (*blitChain, error) {
	cpp := format.BytesPerPixel()
	if cpp == 0 {
		return nil, fmt.Errorf("blit fallback: unknown format %v", format)
	}
	c := &blitChain{dev: dev, w: w, h: h, format: format}
	for range n {
		s := &dumbSlot{dmabuf: -1, stale: make([]image.Rectangle, 1, maxStale+1)}
		s.stale[0] = image.Rect(0, 0, w, h)
		c.slots = append(c.slots, s)
		d, err := dev.dev.CreateDumb(uint32(w), uint32(h), uint32(cpp*8))
		if err != nil {
			c.close()
			return nil, fmt.Errorf("blit fallback: dumb buffer %dx%d on %s: %w", w, h, dev, err)
		}
		s.handle, s.pitch = d.Handle, d.Pitch
		dev.adopt(d.Handle)
		if s.mem, err = dev.dev.MmapDumb(d.Handle, int(d.Size)); err != nil {
			c.close()
			return nil, fmt.Errorf("blit fallback: %w", err)
		}
		if fd, err := dev.dev.PrimeHandleToFD(d.Handle); err == nil {
			s.dmabuf = fd
		}
		s.fb, err = dev.addFB(drm.FB2{Width: uint32(w), Height: uint32(h), Format: uint32(format),
			Handles: [4]uint32{d.Handle}, Pitches: [4]uint32{d.Pitch}})
		if err != nil {
			c.close()
			return nil, fmt.Errorf("blit fallback: ADDFB2 of a dumb buffer: %w", err)
		}
	}
	return c, nil
}

func (c *blitChain) close() error {
	if c == nil {
		return nil
	}
	var errs []error
	for _, s := range c.slots {
		if s.fb != 0 {
			errs = append(errs, c.dev.rmFB(s.fb))
		}
		if s.mem != nil {
			errs = append(errs, unix.Munmap(s.mem))
		}
		if s.dmabuf >= 0 {
			errs = append(errs, unix.Close(s.dmabuf))
		}
		if s.handle != 0 {
			errs = append(errs, c.dev.release(s.handle))
		}
	}
	c.slots = nil
	return errors.Join(errs...)
}

// markStale records damage (nil: all of bounds) in every fallback buffer:
// a frame shown directly changes what they must catch up on. It accepts a
// nil chain.
func (c *blitChain) markStale(damage []image.Rectangle, bounds image.Rectangle) {
	if c == nil {
		return
	}
	for _, s := range c.slots {
		if damage == nil {
			s.addStale(bounds)
		}
		for _, r := range damage {
			s.addStale(r.Intersect(bounds))
		}
	}
}

// addStale records r as out of date in s, merging when there are too many.
func (s *dumbSlot) addStale(r image.Rectangle) {
	if r.Empty() {
		return
	}
	for i, x := range s.stale {
		if r.In(x) {
			return // already stale
		}
		if x.In(r) {
			s.stale[i] = r
			return
		}
	}
	s.stale = append(s.stale, r)
	if len(s.stale) > maxStale {
		u := s.stale[0]
		for _, x := range s.stale[1:] {
			u = u.Union(x)
		}
		s.stale = append(s.stale[:0], u)
	}
}

// blitFrame copies what is stale in the next free fallback buffer from the
// frame's buffer and returns the bytes copied and the framebuffer to show.
func (p *Presenter) blitFrame(f Submission) (int, uint32, error) {
	buf := f.Buffer
	format := p.blitFmt
	if format == 0 {
		format = buf.Format
	}
	if p.blit != nil {
		format = p.blit.format
	}
	if format != buf.Format {
		return 0, 0, fmt.Errorf("blit fallback: %v buffer into %v needs a conversion minicomp does not do", buf.Format, format)
	}
	if buf.Modifier != ModLinear {
		return 0, 0, fmt.Errorf("blit fallback: %s buffers cannot be copied by the CPU", ModifierName(buf.Modifier))
	}
	if p.blit == nil {
		c, err := newBlitChain(p.dev, p.nBlit, p.mode.Width, p.mode.Height, format)
		if err != nil {
			return 0, 0, err
		}
		p.blit = c
	}
	c := p.blit
	var onScreen uint32
	if p.onScreen != nil {
		onScreen = p.onScreen.fb
	}
	var s *dumbSlot
	for range c.slots {
		cand := c.slots[c.next]
		c.next = (c.next + 1) % len(c.slots)
		if cand.fb != onScreen {
			s = cand
			break
		}
	}
	if s == nil {
		return 0, 0, errors.New("blit fallback: every buffer is on screen")
	}
	bounds := image.Rect(0, 0, min(buf.Width, c.w), min(buf.Height, c.h))
	c.markStale(f.Damage, image.Rect(0, 0, c.w, c.h))
	src, err := buf.Map()
	if err != nil {
		return 0, 0, err
	}
	if f.InFence != nil {
		err := dmabuf.WaitFence(int(f.InFence.Fd()), dmabuf.RenderFenceTimeout)
		runtime.KeepAlive(f.InFence)
		if err != nil {
			return 0, 0, fmt.Errorf("blit fallback: render fence: %w", err)
		}
	}
	if err := buf.BeginCPUAccess(Read); err != nil {
		return 0, 0, err
	}
	if s.dmabuf >= 0 {
		if err := dmabuf.BeginAccess(s.dmabuf, dmabuf.Write); err != nil {
			buf.EndCPUAccess(Read)
			return 0, 0, err
		}
	}
	cpp := format.BytesPerPixel()
	n := 0
	for _, r := range s.stale {
		n += copyRect(s.mem, int(s.pitch), src[buf.Offset:], int(buf.Stride), r.Intersect(bounds), cpp)
	}
	s.stale = s.stale[:0]
	var errs [2]error
	if s.dmabuf >= 0 {
		errs[0] = dmabuf.EndAccess(s.dmabuf, dmabuf.Write)
	}
	errs[1] = buf.EndCPUAccess(Read)
	if errs[0] != nil || errs[1] != nil {
		return n, 0, errors.Join(errs[:]...)
	}
	return n, s.fb, nil
}

// copyRect copies rectangle r from src to dst (both cpp bytes per pixel,
// with their own strides) and returns the bytes copied. A full-width
// rectangle with equal strides is one memmove.
func copyRect(dst []byte, dstStride int, src []byte, srcStride int, r image.Rectangle, cpp int) int {
	if r.Empty() {
		return 0
	}
	rowBytes := r.Dx() * cpp
	x0 := r.Min.X * cpp
	if dstStride == srcStride && x0 == 0 && rowBytes == dstStride {
		start := r.Min.Y * dstStride
		end := r.Max.Y * dstStride
		return copy(dst[start:end], src[start:end])
	}
	n := 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		d := y*dstStride + x0
		s := y*srcStride + x0
		n += copy(dst[d:d+rowBytes], src[s:s+rowBytes])
	}
	return n
}

// CopyDamage copies the rectangles rects (nil: everything) from src into
// dst with the CPU, bracketing both with DMA_BUF_IOCTL_SYNC, and returns the
// bytes copied. Both must be LINEAR and of one format; the copy is clipped
// to the smaller of the two.
func CopyDamage(dst, src *Buffer, rects []image.Rectangle) (int, error) {
	if dst.Format != src.Format || dst.Modifier != ModLinear || src.Modifier != ModLinear {
		return 0, fmt.Errorf("copy %v into %v: formats must match and be LINEAR", src, dst)
	}
	d, err := dst.Map()
	if err != nil {
		return 0, err
	}
	s, err := src.Map()
	if err != nil {
		return 0, err
	}
	if err := src.BeginCPUAccess(Read); err != nil {
		return 0, err
	}
	if err := dst.BeginCPUAccess(Write); err != nil {
		src.EndCPUAccess(Read)
		return 0, err
	}
	bounds := image.Rect(0, 0, min(dst.Width, src.Width), min(dst.Height, src.Height))
	cpp := src.Format.BytesPerPixel()
	n := 0
	if rects == nil {
		n = copyRect(d[dst.Offset:], int(dst.Stride), s[src.Offset:], int(src.Stride), bounds, cpp)
	}
	for _, r := range rects {
		n += copyRect(d[dst.Offset:], int(dst.Stride), s[src.Offset:], int(src.Stride), r.Intersect(bounds), cpp)
	}
	return n, errors.Join(dst.EndCPUAccess(Write), src.EndCPUAccess(Read))
}
