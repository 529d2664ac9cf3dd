package server

import (
	"errors"
	"image"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/xcursor"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"
)

// The pointer's cursor: the image the client under the pointer set with
// wl_pointer.set_cursor (a surface with the cursor role and a hotspot),
// else the default cursor (Options.DefaultCursor, else a built-in
// arrow), or none when that client hid it, with Options.HideCursor, or
// while no pointer device exists (SetPointerPresent). It is shown on the
// output the pointer is on and on every other output its rectangle
// overlaps (crossing the edge between two outputs, part of it is on
// each): on each output's cursor plane when it has one
// that takes the image (backend.CursorPlane: a move is then a commit of
// that plane alone, no composition; the nested backends' CursorPlane
// hands the image to the host, which draws it at its own pointer), else
// composed into the frame over the surfaces.

// cursorMode says which image the cursor shows.
type cursorMode int

const (
	cursorDefault cursorMode = iota // the default cursor
	cursorSurface                   // the client's cursor surface
	cursorHidden                    // the client set no surface
)

// cursorState is the seat's cursor.
type cursorState struct {
	st      *seat
	hideAll bool // Options.HideCursor
	present bool // a pointer device exists
	inside  bool // the pointer is on an output (not left the window)
	mode    cursorMode
	surf    *surface    // the cursor surface (cursorSurface)
	hotspot image.Point // the cursor surface's hotspot
	// version counts image changes (a new surface, a commit, a mode).
	version uint64
	def     backend.CursorImage
	defTex  render.Texture
	defOwn  render.Renderer
	scratch []byte // a cursor surface's pixels with alpha, for a plane
	outs    map[*output]*outputCursor
}

// outputCursor is the cursor's state on one output.
type outputCursor struct {
	plane       backend.CursorPlane // nil: none, or it failed
	onPlane     bool                // the current image is on the plane
	planeVer    uint64              // the image version the plane was given (or refused)
	planeShown  bool                // the plane shows a cursor
	commit      bool                // the plane has a change to commit
	retry       bool                // the plane was not ready for the image: try again after a frame
	drawn       image.Rectangle     // where the composed cursor is (layout); empty: not drawn
	drawnVer    uint64
	cursorFrame bool // the frame in flight is a commit of the cursor plane alone
}

func newCursorState(st *seat, hide bool, def *backend.CursorImage, present bool) *cursorState {
	c := &cursorState{st: st, hideAll: hide, present: present, outs: map[*output]*outputCursor{}, version: 1}
	if def != nil {
		c.def = *def
	} else {
		a := xcursor.Arrow()
		c.def = backend.CursorImage{Pix: a.Pix, Width: a.Width, Height: a.Height, Stride: a.Width * 4, Hotspot: image.Pt(a.XHot, a.YHot)}
	}
	return c
}

// out returns o's cursor state, made on first use.
func (c *cursorState) out(o *output) *outputCursor {
	oc := c.outs[o]
	if oc == nil {
		oc = &outputCursor{}
		if p, ok := o.o.(backend.CursorPlane); ok && o.transform() == backend.TransformNormal { // the cursor plane is not turned
			oc.plane = p
		}
		c.outs[o] = oc
	}
	return oc
}

// pointerPresent is whether be has a pointer device at start.
func pointerPresent(be backend.Backend) bool {
	pd, ok := be.(backend.PointerDevices)
	return ok && pd.HasPointer()
}

// SetPointerPresent says whether a pointer device exists (the backend's
// input devices came or went): without one no cursor is shown. Safe from
// any goroutine.
func (s *Server) SetPointerPresent(present bool) {
	s.loop.postEvent(backend.Event{Kind: pointerPresence, Pressed: present})
}

// pointerPresence is the server's own event kind for SetPointerPresent.
const pointerPresence backend.EventKind = -1

func (c *cursorState) setPresent(present bool) {
	if c.present != present {
		c.present = present
		c.st.s.log.Info("pointer device", "present", present)
		c.update()
	}
}

// pointerObj is a client's wl_pointer.
type pointerObj struct {
	st *seat
	c  *Client
	id uint32
}

func (p *pointerObj) Release() error { return nil }

// SetCursor sets the cursor while the client has the pointer's focus
// (a request from a client without it is ignored, as the protocol
// allows). The surface takes the cursor role; one with another role is a
// protocol error.
func (p *pointerObj) SetCursor(serial, surfaceID uint32, hx, hy int32) error {
	var sf *surface
	if surfaceID != 0 {
		o, err := p.c.lookup(p.id, surfaceID, protocol.WlSurfaceInterface)
		if err != nil {
			return err
		}
		sf = o.handler.(*surface)
		if sf.role != nil || sf.sub != nil {
			return errorf(p.id, protocol.WlPointerErrorRole, "surface %d already has another role", surfaceID)
		}
	}
	f := p.st.pointerFocus
	if f == nil || f.c != p.c {
		return nil
	}
	c := p.st.cursor
	mode := cursorHidden
	if sf != nil {
		mode = cursorSurface
	}
	hot := image.Pt(int(hx), int(hy))
	if mode == c.mode && sf == c.surf && hot == c.hotspot {
		return nil
	}
	c.mode, c.surf, c.hotspot = mode, sf, hot
	c.version++
	c.update()
	return nil
}

// focusChanged: a surface of another client got the pointer, which
// shows the default cursor until that client sets one.
func (c *cursorState) focusChanged(old, f *surface) {
	if old != nil && f != nil && old.c == f.c {
		return
	}
	if c.mode != cursorDefault {
		c.mode, c.surf, c.hotspot = cursorDefault, nil, image.Point{}
		c.version++
	}
	c.update()
}

// moved: the pointer moved (or entered an output).
func (c *cursorState) moved() {
	c.inside = true
	c.update()
}

// left: the pointer left the backend's window.
func (c *cursorState) left() {
	c.inside = false
	c.update()
}

// committed is called on every commit of a surface without a role: the
// cursor surface's new content is a new image.
func (c *cursorState) committed(sf *surface) {
	if c.mode == cursorSurface && c.surf == sf {
		c.version++
		c.update()
	}
}

// surfaceGone: the cursor surface was destroyed.
func (c *cursorState) surfaceGone(sf *surface) {
	if c.surf == sf {
		c.mode, c.surf = cursorHidden, nil
		c.version++
		c.update()
	}
}

// output returns the output the pointer (so the cursor's hotspot) is on,
// nil when the cursor is not shown.
func (c *cursorState) output() *output {
	st := c.st
	if c.hideAll || !c.present || !c.inside || c.mode == cursorHidden || st.pointerOutput == nil ||
		st.pointerOutput.closed || c.mode == cursorSurface && c.surf.content == nil {
		return nil
	}
	return st.pointerOutput
}

// rect is the cursor's rectangle in the layout.
func (c *cursorState) rect() image.Rectangle {
	p := c.st.pointerPos
	if c.mode == cursorSurface {
		at := p.Sub(c.hotspot)
		return image.Rectangle{Min: at, Max: at.Add(c.surf.size())}
	}
	at := p.Sub(c.def.Hotspot)
	return image.Rect(at.X, at.Y, at.X+c.def.Width, at.Y+c.def.Height)
}

// shownOn reports whether the cursor is shown on o: o is the pointer's
// output, or the cursor's rectangle overlaps o (on is c.output()).
func (c *cursorState) shownOn(o, on *output) bool {
	if on == nil || o.closed {
		return false
	}
	return o == on || c.rect().Overlaps(o.layoutRect())
}

// update brings every output's cursor in line with the state: the image
// uploaded to the plane or damage where the composed cursor was and now
// is. It does no drawing and no commit: those come with the frames
// (scheduleFrames). A plane beside the pointer's output gets a position
// off its left or right edge (the kernel clips a cursor plane partly off
// screen).
func (c *cursorState) update() {
	on := c.output()
	for _, o := range c.st.s.outputs {
		oc := c.out(o)
		shown := c.shownOn(o, on)
		if shown && oc.plane != nil && oc.planeVer != c.version {
			c.toPlane(o, oc)
		}
		switch {
		case shown && oc.onPlane:
			at := c.st.pointerPos.Sub(o.origin())
			oc.plane.MoveCursor(at.X, at.Y)
			oc.planeShown, oc.commit = true, true
		case oc.planeShown:
			if err := oc.plane.SetCursor(nil); errors.Is(err, backend.ErrPaused) {
				// The session is away (its pointer went with its input):
				// hidden at the next update, when it is back.
				continue
			} else if err != nil {
				c.planeFailed(o, oc, err)
			}
			// planeVer 0: shown again, the image goes to the plane again.
			oc.planeShown, oc.onPlane, oc.commit, oc.planeVer = false, false, true, 0
		}
		want := image.Rectangle{}
		if shown && !oc.onPlane {
			want = c.rect()
		}
		if want != oc.drawn || !want.Empty() && oc.drawnVer != c.version {
			o.addLayoutDamage(oc.drawn)
			o.addLayoutDamage(want)
			oc.drawn, oc.drawnVer = want, c.version
		}
	}
	c.st.s.scheduleFrames()
}

// toPlane gives the current image to o's cursor plane; onPlane says
// whether it took it.
func (c *cursorState) toPlane(o *output, oc *outputCursor) {
	img, ok := c.planeImage()
	if !ok {
		oc.onPlane, oc.planeVer = false, c.version
		return
	}
	err := oc.plane.SetCursor(&img)
	switch {
	case err == nil:
		oc.onPlane, oc.planeVer = true, c.version
	case errors.Is(err, scanout.ErrCursorNotReady), errors.Is(err, backend.ErrPaused):
		// Tried again at the next change or once a frame is on screen
		// (retryPlane): composed meanwhile.
		oc.onPlane, oc.retry = false, true
	default:
		oc.onPlane, oc.planeVer = false, c.version
		o.s.log.Debug("cursor composed, not on the cursor plane", "output", o.o.Name(), "err", err)
	}
}

// planeFailed stops using o's cursor plane.
func (c *cursorState) planeFailed(o *output, oc *outputCursor, err error) {
	o.s.log.Warn("cursor plane failed: composing the cursor", "output", o.o.Name(), "err", err)
	oc.plane, oc.onPlane, oc.planeShown, oc.commit = nil, false, false, false
}

// planeImage returns the cursor's pixels for a plane: the default image,
// or the cursor surface's buffer when it is shown unscaled (alpha made
// opaque for a format without it); ok false when it must be composed.
func (c *cursorState) planeImage() (backend.CursorImage, bool) {
	if c.mode != cursorSurface {
		return c.def, true
	}
	sf := c.surf
	if sf.size() != image.Pt(sf.width, sf.height) || sf.source() != image.Rect(0, 0, sf.width, sf.height) {
		return backend.CursorImage{}, false
	}
	if err := sf.flushHeld(); err != nil {
		return backend.CursorImage{}, false
	}
	pix := sf.content
	if sf.opaque {
		c.scratch = append(c.scratch[:0], pix...)
		for i := 3; i < len(c.scratch); i += 4 {
			c.scratch[i] = 0xff
		}
		pix = c.scratch
	}
	return backend.CursorImage{Pix: pix, Width: sf.width, Height: sf.height, Stride: sf.width * 4, Hotspot: c.hotspot}, true
}

// needsCommit reports whether o's cursor plane has a change to commit.
func (c *cursorState) needsCommit(o *output) bool {
	oc := c.outs[o]
	return oc != nil && oc.commit
}

// composedOn reports whether the cursor is drawn into o's frames (so a
// client buffer cannot be scanned out alone).
func (c *cursorState) composedOn(o *output) bool {
	oc := c.outs[o]
	return oc != nil && !oc.drawn.Empty()
}

// hasCallbacks reports whether the cursor surface shown on o waits for a
// frame callback.
func (c *cursorState) hasCallbacks(o *output) bool {
	return c.mode == cursorSurface && c.output() == o && len(c.surf.frames) > 0
}

// takeFrameWork moves the shown cursor surface's frame callbacks into
// o's frame.
func (c *cursorState) takeFrameWork(o *output) {
	if c.mode == cursorSurface && c.output() == o {
		o.takeFrameWork(c.surf)
	}
}

// committedWith: a frame's commit carried the plane's cursor changes.
func (c *cursorState) committedWith(o *output) {
	if oc := c.outs[o]; oc != nil {
		oc.commit = false
	}
}

// commitCursorAlone shows o's cursor change with a commit of the cursor plane
// alone when that is o's only work; it reports whether o needs no
// composed frame now.
func (s *Server) commitCursorAlone(o *output) bool {
	c := s.seat.cursor
	oc := c.outs[o]
	if oc == nil || !oc.commit || len(o.damage) > 0 || o.forceFrame || o.hasCallbacks() && !c.hasCallbacks(o) {
		return false
	}
	oc.commit = false
	committed, err := oc.plane.CommitCursor()
	if err != nil {
		if errors.Is(err, scanout.ErrCursorNotReady) || errors.Is(err, backend.ErrPaused) {
			return false
		}
		c.planeFailed(o, oc, err)
		c.update()
		return false
	}
	if !committed {
		return !o.hasCallbacks()
	}
	c.takeFrameWork(o)
	oc.cursorFrame = true
	o.busy = true
	o.waitReq <- struct{}{}
	return true
}

// cursorFrameDone reports (and forgets) whether the frame that completed
// was a commit of the cursor plane alone.
func (c *cursorState) cursorFrameDone(o *output) bool {
	oc := c.outs[o]
	if oc == nil || !oc.cursorFrame {
		return false
	}
	oc.cursorFrame = false
	return true
}

// retryPlane gives the cursor plane the image it was not ready for (no
// frame shown yet: the first one, or the first after a session resume),
// now that o showed a frame; the composed cursor goes with the next one.
func (c *cursorState) retryPlane(o *output) {
	if oc := c.outs[o]; oc != nil && oc.retry {
		oc.retry = false
		c.update()
	}
}

// updateTexture brings the composed cursor's texture up to date.
func (c *cursorState) updateTexture(r render.Renderer) error {
	if c.mode == cursorSurface {
		return c.surf.updateTexture(r)
	}
	if c.defTex != nil && c.defOwn == r {
		return nil
	}
	// None yet, or its renderer was replaced (and closed).
	c.defTex = nil
	t, err := r.NewTexture(c.def.Width, c.def.Height, scanout.ARGB8888)
	if err != nil {
		return err
	}
	if err := t.Update(c.def.Pix, c.def.Stride, nil); err != nil {
		t.Release()
		return err
	}
	c.defTex, c.defOwn = t, r
	return nil
}

// draw composes the cursor into o's frame (clipped to the frame's
// damage by the renderer).
func (c *cursorState) draw(o *output, r render.Renderer) {
	oc := c.outs[o]
	if oc == nil || oc.drawn.Empty() {
		return
	}
	dst := oc.drawn.Sub(o.origin())
	if c.mode == cursorSurface {
		if sf := c.surf; sf != nil && sf.tex != nil {
			r.Draw(sf.tex, sf.source(), dst, 1)
		}
		return
	}
	if c.defTex != nil {
		r.Draw(c.defTex, image.Rect(0, 0, c.def.Width, c.def.Height), dst, 1)
	}
}

// close releases the default cursor's texture.
func (c *cursorState) close() {
	if c.defTex != nil {
		c.defTex.Release()
		c.defTex = nil
	}
}

// blendPlane blends the cursor into capture f's copy when it is on o's
// cursor plane (so not in the frame): overlay_cursor. A fault on the
// client's memory is an error.
func (c *cursorState) blendPlane(o *output, f *screencopyFrame) (err error) {
	oc := c.outs[o]
	if oc == nil || !oc.onPlane || !oc.planeShown || !c.shownOn(o, c.output()) {
		return nil
	}
	img, ok := c.planeImage()
	if !ok {
		return nil
	}
	// The plane is used on unturned outputs only: the panel's
	// coordinates are the output's.
	at := c.st.pointerPos.Sub(o.origin()).Sub(img.Hotspot)
	r := image.Rect(at.X, at.Y, at.X+img.Width, at.Y+img.Height).Intersect(f.rect)
	if r.Empty() {
		return nil
	}
	defer recoverFault(&err)
	b := f.buffer
	dst := b.pool.mem[b.offset:]
	for y := r.Min.Y; y < r.Max.Y; y++ {
		src := img.Pix[(y-at.Y)*img.Stride+(r.Min.X-at.X)*4:]
		d := dst[(y-f.rect.Min.Y)*b.stride+(r.Min.X-f.rect.Min.X)*4:]
		for x := 0; x < r.Dx(); x++ {
			blendOver(d[x*4:x*4+4], src[x*4:x*4+4])
		}
	}
	return nil
}

// blendOver blends the premultiplied ARGB8888 pixel src over dst
// (XRGB8888 or ARGB8888, little-endian bytes B, G, R, A).
func blendOver(dst, src []byte) {
	a := uint32(src[3])
	if a == 0xff {
		copy(dst, src)
		return
	}
	for i := range 3 {
		// min: a client's cursor that is not premultiplied saturates
		dst[i] = byte(min(255, uint32(src[i])+(uint32(dst[i])*(255-a)+127)/255))
	}
	dst[3] = byte(a + (uint32(dst[3])*(255-a)+127)/255)
}
