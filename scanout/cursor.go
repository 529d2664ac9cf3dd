package scanout

import (
	"errors"
	"fmt"
	"image"
	"sync"

	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/drm"
)

// The pointer's image on the CRTC's cursor plane: a few small dumb
// buffers of the driver's cursor size (DRM_CAP_CURSOR_WIDTH/HEIGHT, 64×64
// when it does not say), ARGB8888, tested once with an atomic TEST_ONLY.
// Moves are plane positions only: they ride on the next Present's commit,
// or go alone in a commit that names nothing but the cursor plane
// (CommitCursor), so the primary plane and the composition are untouched.

// DRM_CAP_CURSOR_WIDTH and DRM_CAP_CURSOR_HEIGHT (drm.h).
const (
	capCursorWidth  = 0x8
	capCursorHeight = 0x9
)

// cursorBuffers is how many cursor images exist: one on screen, one in a
// pending commit, one to write.
const cursorBuffers = 3

// maxCursorSide bounds the cursor buffers' size when the driver allows
// larger ones (a larger image is composed).
const maxCursorSide = 128

// ErrCursorRefused means the display cannot show the cursor on its cursor
// plane (none, an image larger than the plane, or a TEST_ONLY refusal):
// the caller composes the cursor into its frames instead.
var ErrCursorRefused = errors.New("the cursor plane cannot show the cursor")

// ErrCursorNotReady means the pipeline is not lit yet (no frame shown), so
// the cursor plane cannot be tested; try again after the first frame.
var ErrCursorNotReady = errors.New("the display shows no frame yet")

// cursorPlane is a Presenter's cursor plane and its state.
type cursorPlane struct {
	plane PlaneInfo
	w, h  int // the plane's (and its buffers') size
	prop  struct {
		fb, crtc, srcX, srcY, srcW, srcH, crtcX, crtcY, crtcW, crtcH uint32
	}
	bufs *blitChain // the images (dumb buffers with framebuffers)

	// The cursor as the next commit sets it: its image's slot (-1: none
	// written), top-left corner and visibility; dirty: not yet committed.
	next    int
	pos     image.Point
	hotspot image.Point
	hot     image.Point // the hotspot's position on the output
	visible bool
	dirty   bool
	// Slots committed: in the pending commit and on screen (-1: none),
	// guarded by mu: WaitFlip moves them on its goroutine while the
	// caller writes the next image.
	mu          sync.Mutex
	pend, shown int
	inFlight    bool // the pending commit carries the cursor
	tested      bool
	refused     error
	crtcID      uint32
}

// cursorPlaneFor finds a cursor plane that can drive pipe's CRTC and
// scans out LINEAR ARGB8888, with its property ids and size; nil when
// there is none (the caller composes the cursor).
func cursorPlaneFor(dev *Device, pipe Pipeline) (*cursorPlane, error) {
	planes, err := dev.Planes()
	if err != nil {
		return nil, err
	}
	var pi *PlaneInfo
	for i := range planes {
		p := &planes[i]
		if p.Type == "cursor" && p.PossibleCRTCs&(1<<pipe.crtcIndex) != 0 && p.Supports(ARGB8888, ModLinear) {
			pi = p
			break
		}
	}
	if pi == nil {
		return nil, nil
	}
	c := &cursorPlane{plane: *pi, crtcID: pipe.CRTC, w: 64, h: 64, next: -1, pend: -1, shown: -1}
	// The driver's size caps, at most maxCursorSide: cursors are small,
	// and a 512×512 plane (vkms) would copy a MiB per image.
	if v, err := dev.dev.Cap(capCursorWidth); err == nil && v > 0 {
		c.w = int(min(v, maxCursorSide))
	}
	if v, err := dev.dev.Cap(capCursorHeight); err == nil && v > 0 {
		c.h = int(min(v, maxCursorSide))
	}
	props, err := dev.dev.Props(pi.ID, drm.ObjectPlane)
	if err != nil {
		return nil, err
	}
	pr := &c.prop
	for _, x := range []struct {
		name string
		id   *uint32
	}{{"FB_ID", &pr.fb}, {"CRTC_ID", &pr.crtc}, {"SRC_X", &pr.srcX}, {"SRC_Y", &pr.srcY}, {"SRC_W", &pr.srcW},
		{"SRC_H", &pr.srcH}, {"CRTC_X", &pr.crtcX}, {"CRTC_Y", &pr.crtcY}, {"CRTC_W", &pr.crtcW}, {"CRTC_H", &pr.crtcH}} {
		if *x.id, err = props.ID(x.name); err != nil {
			return nil, fmt.Errorf("%s cursor plane %d: %w", dev, pi.ID, err)
		}
	}
	return c, nil
}

// CursorPlane returns the cursor plane the Presenter uses and its size;
// ok is false without one (none on the CRTC, or
// PresenterOptions.DisableCursorPlane).
func (p *Presenter) CursorPlane() (plane PlaneInfo, w, h int, ok bool) {
	c := p.cursor
	if c == nil {
		return PlaneInfo{}, 0, 0, false
	}
	return c.plane, c.w, c.h, true
}

// SetCursor puts an image on the cursor plane: pix holds w×h premultiplied
// ARGB8888 pixels, stride bytes a row, and hotspot is the point of it that
// MoveCursor places. nil pix hides the cursor. It takes effect with the
// next commit (Present or CommitCursor). It fails with an error wrapping
// ErrCursorRefused when the plane cannot show it (remembered: the plane
// is not tried again) or ErrCursorNotReady before the first frame.
func (p *Presenter) SetCursor(pix []byte, w, h, stride int, hotspot image.Point) error {
	c := p.cursor
	if c == nil {
		return fmt.Errorf("%s CRTC %d: %w: no cursor plane", p.dev, p.pipe.CRTC, ErrCursorRefused)
	}
	if c.refused != nil {
		return c.refused
	}
	if pix == nil {
		if c.visible {
			c.visible, c.dirty = false, true
		}
		return nil
	}
	if w <= 0 || h <= 0 || stride < w*4 || len(pix) < stride*(h-1)+w*4 {
		return fmt.Errorf("cursor image: %d bytes at stride %d do not hold %dx%d pixels", len(pix), stride, w, h)
	}
	if w > c.w || h > c.h {
		// Not remembered: a smaller image may come.
		return fmt.Errorf("%w: a %dx%d image on a %dx%d cursor plane", ErrCursorRefused, w, h, c.w, c.h)
	}
	if p.needModeset {
		return ErrCursorNotReady
	}
	if c.bufs == nil {
		bufs, err := newBlitChain(p.dev, cursorBuffers, c.w, c.h, ARGB8888)
		if err != nil {
			return c.refuse(fmt.Errorf("%w: %w", ErrCursorRefused, err))
		}
		c.bufs = bufs
	}
	slot := c.next
	if slot < 0 {
		c.mu.Lock()
		for i := range c.bufs.slots {
			if i != c.pend && i != c.shown {
				slot = i
				break
			}
		}
		c.mu.Unlock()
	}
	if err := c.write(slot, pix, w, h, stride); err != nil {
		return err
	}
	c.next, c.hotspot, c.visible, c.dirty = slot, hotspot, true, true
	c.pos = c.hot.Sub(hotspot)
	if !c.tested {
		r := &p.req
		r.Reset()
		c.add(r)
		if err := p.dev.dev.Atomic(r, drm.AtomicTestOnly, 0); err != nil {
			if !refusal(err) {
				return fmt.Errorf("cursor plane test: %w", err) // passing: test again next time
			}
			c.next, c.visible = -1, false
			return c.refuse(fmt.Errorf("%w: TEST_ONLY of cursor plane %d: %w", ErrCursorRefused, c.plane.ID, err))
		}
		c.tested = true
	}
	return nil
}

// refuse remembers why the cursor plane is not used and frees its
// buffers (none of them was ever committed).
func (c *cursorPlane) refuse(err error) error {
	c.refused = err
	if c.pend < 0 && c.shown < 0 {
		c.bufs.close()
		c.bufs = nil
	}
	return err
}

// write copies the image into slot, transparent around it.
func (c *cursorPlane) write(slot int, pix []byte, w, h, stride int) error {
	s := c.bufs.slots[slot]
	if s.dmabuf >= 0 {
		if err := dmabuf.BeginAccess(s.dmabuf, dmabuf.Write); err != nil {
			return err
		}
	}
	pitch := int(s.pitch)
	for y := range c.h {
		row := s.mem[y*pitch : y*pitch+c.w*4]
		n := 0
		if y < h {
			n = copy(row, pix[y*stride:y*stride+w*4])
		}
		clear(row[n:])
	}
	if s.dmabuf >= 0 {
		return dmabuf.EndAccess(s.dmabuf, dmabuf.Write)
	}
	return nil
}

// MoveCursor places the cursor's hotspot at x, y (output pixels); it
// takes effect with the next commit.
func (p *Presenter) MoveCursor(x, y int) {
	c := p.cursor
	if c == nil {
		return
	}
	c.hot = image.Pt(x, y)
	if pos := c.hot.Sub(c.hotspot); pos != c.pos {
		c.pos = pos
		c.dirty = c.dirty || c.visible
	}
}

// CursorDirty reports whether the cursor changed since its last commit.
func (p *Presenter) CursorDirty() bool {
	return p.cursor != nil && p.cursor.dirty && p.cursor.refused == nil
}

// cursorInCommit reports whether the next commit carries the cursor
// plane: when it changed, and with every modeset (after a session came
// back, another DRM master may have left the plane as it liked).
func (p *Presenter) cursorInCommit() bool {
	c := p.cursor
	return p.CursorDirty() || p.needModeset && c != nil && c.bufs != nil && c.refused == nil
}

// CommitCursor commits the cursor plane alone (nothing else is in the
// request): a move or a new image with nothing else to show. It completes
// like a frame: WaitFlip returns when it is on screen (with the frame
// that was there). It does nothing when the cursor has not changed.
func (p *Presenter) CommitCursor() error {
	c := p.cursor
	if !p.CursorDirty() {
		return nil
	}
	if p.pending != nil {
		return ErrFlipPending
	}
	if p.onScreen == nil {
		return ErrCursorNotReady
	}
	r := &p.req
	r.Reset()
	c.add(r)
	flags := uint32(drm.AtomicNonblock | drm.PageFlipEvent)
	if p.extra != nil {
		flags |= p.extra(r)
	}
	p.seq++
	if err := p.dev.dev.Atomic(r, flags, p.seq); err != nil {
		return fmt.Errorf("cursor commit: %w", err)
	}
	c.committed()
	s := &p.shownA
	if p.onScreen == s {
		s = &p.shownB
	}
	*s = *p.onScreen
	s.seq, s.cursorOnly = p.seq, true
	p.pending = s
	p.mu.Lock()
	p.stats.CursorCommits++
	p.mu.Unlock()
	return nil
}

// add puts the cursor plane's state into an atomic request.
func (c *cursorPlane) add(r *drm.AtomicReq) {
	id, pr := c.plane.ID, &c.prop
	if !c.visible || c.next < 0 && c.pend < 0 && c.shown < 0 {
		r.Add(id, pr.fb, 0)
		r.Add(id, pr.crtc, 0)
		return
	}
	slot := c.next
	if slot < 0 {
		slot = c.pend
	}
	if slot < 0 {
		slot = c.shown
	}
	r.Add(id, pr.fb, uint64(c.bufs.slots[slot].fb))
	r.Add(id, pr.crtc, uint64(c.crtcID))
	r.Add(id, pr.srcX, 0)
	r.Add(id, pr.srcY, 0)
	r.Add(id, pr.srcW, uint64(c.w)<<16)
	r.Add(id, pr.srcH, uint64(c.h)<<16)
	r.Add(id, pr.crtcX, uint64(int64(c.pos.X)))
	r.Add(id, pr.crtcY, uint64(int64(c.pos.Y)))
	r.Add(id, pr.crtcW, uint64(c.w))
	r.Add(id, pr.crtcH, uint64(c.h))
}

// committed records that the cursor state went into a commit.
func (c *cursorPlane) committed() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.dirty, c.inFlight = false, true
	if c.next >= 0 {
		c.pend, c.next = c.next, -1
	} else if c.pend < 0 {
		c.pend = c.shown
	}
	if !c.visible {
		c.pend = -1
	}
}

// flipped records that the last commit with the cursor is on screen.
func (c *cursorPlane) flipped() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.inFlight {
		c.shown, c.pend, c.inFlight = c.pend, -1, false
	}
}

// off adds the cursor plane's switching off to a request that turns the
// pipeline off.
func (c *cursorPlane) off(r *drm.AtomicReq) {
	if c == nil || c.bufs == nil {
		return
	}
	r.Add(c.plane.ID, c.prop.fb, 0)
	r.Add(c.plane.ID, c.prop.crtc, 0)
}

// close frees the cursor images (the plane is off).
func (c *cursorPlane) close() error {
	if c == nil {
		return nil
	}
	err := c.bufs.close()
	c.bufs = nil
	c.next, c.pend, c.shown, c.visible = -1, -1, -1, false
	return err
}
