package server

import (
	"image"
	"math"
	"slices"
	"time"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/scanout"

	"github.com/minicomp/minicomp/internal/protocol"
)

func (s *Server) bindCompositor(c *Client, id, version uint32) error {
	_, err := register[protocol.WlCompositorHandler](c, id, protocol.WlCompositorInterface, version, &compositor{c: c, version: version}, protocol.DispatchWlCompositor)
	return err
}

type compositor struct {
	c       *Client
	version uint32
}

func (k *compositor) CreateSurface(id uint32) error {
	sf := newSurface(k.c, id)
	o, err := register[protocol.WlSurfaceHandler](k.c, id, protocol.WlSurfaceInterface, k.version, sf, protocol.DispatchWlSurface)
	if err != nil {
		return err
	}
	o.onDestroy = sf.destroyed
	return nil
}

func (k *compositor) CreateRegion(id uint32) error {
	_, err := register[protocol.WlRegionHandler](k.c, id, protocol.WlRegionInterface, 1, &region{}, protocol.DispatchWlRegion)
	return err
}

type region struct{ rects []image.Rectangle }

func (r *region) Destroy() error { return nil }
func (r *region) Add(x, y, w, h int32) error {
	r.rects = regionAdd(r.rects, regionRect(x, y, w, h))
	return nil
}
func (r *region) Subtract(x, y, w, h int32) error {
	r.rects = regionSubtract(r.rects, regionRect(x, y, w, h))
	return nil
}

// regionRect is a wl_region rectangle (a negative size: empty).
func regionRect(x, y, w, h int32) image.Rectangle {
	return image.Rect(int(x), int(y), int(x)+int(max(w, 0)), int(y)+int(max(h, 0)))
}

// surfaceState is what a commit applies (or, for a synchronized
// subsurface, caches until its parent's commit).
type surfaceState struct {
	attached  bool
	buffer    clientBuffer      // nil: detach
	damage    []image.Rectangle // surface coordinates
	bufDamage []image.Rectangle // buffer coordinates
	frames    []uint32
	feedback  []uint32 // wp_presentation_feedback ids
	scale     int32
	vp        viewport
	// opaqueSet: set_opaque_region was called; opaqueRegion is then the
	// region's rectangles (surface coordinates; none: nothing opaque)
	opaqueSet    bool
	opaqueRegion []image.Rectangle
}

// surface is a wl_surface: double-buffered state, the content of the last
// committed buffer (copied, so the client's buffer is released at once, or
// with a CPU renderer and a sealed pool read in place: shmview.go),
// and its place in the scene: a role (xdg window or subsurface) and the
// subsurfaces stacked with it.
type surface struct {
	c        *Client
	id       uint32
	pending  surfaceState
	cached   surfaceState // a synchronized subsurface's commits, for its parent's commit
	hasCache bool
	frames   []uint32 // callbacks waiting for the next output frame
	feedback []uint32 // presentation feedback of the committed content
	content  []byte   // XRGB8888/ARGB8888, stride width*4
	width    int      // buffer size
	height   int
	opaque   bool // the buffer's format has no alpha
	// opaqueRegion is the committed wl_surface.set_opaque_region
	// (surface coordinates), where the client promises opaque pixels
	opaqueRegion []image.Rectangle
	scale        int32
	vp           viewport
	viewport     *viewportObj // the wp_viewport, nil if none
	role         *xdgSurface
	sub          *subsurface // when the surface is a subsurface
	// stack is the surface and its subsurfaces, bottom to top (the
	// surface itself is one entry); pendingStack takes place_above/below
	// and becomes stack on this surface's commit.
	stack, pendingStack []*surface
	mapped              bool
	gone                bool
	committed           uint64            // the server's commit count at this surface's last commit
	copyDamage          []image.Rectangle // scratch: what a commit copies
	committedAt         time.Duration     // when new content not yet drawn was committed; 0: none
	// callbackSent: when a frame callback was last sent (0: answered by a
	// commit since); drawTime: how long the client takes from one to
	// its commit (repaint.go)
	callbackSent time.Duration
	drawTime     estimate
	// tex is the content in the renderer; texDamage what changed since
	// it was last updated (buffer pixels), texAll: all of it.
	tex       render.Texture
	texFormat scanout.Format
	// held is the committed dma-buf kept for direct scanout; heldDamage
	// (heldAll) is what content has not copied from it yet.
	held       *dmabufBuffer
	heldDamage []image.Rectangle
	heldAll    bool
	// directRefused: the display refused the held buffer (logged once)
	directRefused bool
	// entered: the outputs it was sent wl_surface.enter for; enterMark
	// the last updateEnters that saw it shown; enterListed: in
	// Server.entered (layout.go)
	entered     []*output
	enterMark   uint64
	enterListed bool
	texOwner    render.Renderer
	texView     *byte // content's first byte when the texture was made (content reallocated: make it again)
	// texBorrowed: tex is not ours to release: viewBuf's texture view
	// (an shm buffer drawn in place, shmview.go) or the held dma-buf's
	// import (gpu_import.go); content then has none of the buffer's pixels.
	texBorrowed bool
	// viewBuf is the shm buffer content is read from in place, nil when
	// content is a copy (shmview.go)
	viewBuf   *shmBuffer
	texDamage []image.Rectangle
	texAll    bool
	// dmabufFeedbacks are the surface's zwp_linux_dmabuf_feedback_v1 ids.
	dmabufFeedbacks []uint32
	// implicitWarned: logged that an implicit-modifier buffer cannot be
	// drawn by the current renderer.
	implicitWarned bool
}

func newSurface(c *Client, id uint32) *surface {
	sf := &surface{c: c, id: id, scale: 1}
	sf.pending.scale, sf.cached.scale = 1, 1
	sf.pending.vp, sf.cached.vp = noViewport, noViewport
	sf.vp = noViewport
	sf.stack = []*surface{sf}
	sf.pendingStack = []*surface{sf}
	return sf
}

func (sf *surface) Destroy() error { return nil }

func (sf *surface) destroyed() {
	sf.damageTree()
	sf.gone = true
	sf.unmap()
	sf.c.s.surfaceGoneFromLayout(sf)
	sf.c.s.seat.surfaceGone(sf)
	for _, cb := range append(append(sf.frames, sf.pending.frames...), sf.cached.frames...) {
		delete(sf.c.objects, cb)
	}
	discard(sf.c, sf.feedback)
	discard(sf.c, sf.pending.feedback)
	discard(sf.c, sf.cached.feedback)
	if sf.sub != nil {
		sf.sub.detach()
	}
	// Subsurfaces of a destroyed parent are no longer shown.
	for _, ch := range sf.pendingStack {
		if ch != sf && ch.sub != nil {
			ch.sub.parent = nil
		}
	}
	sf.stack, sf.pendingStack = nil, nil
	if sf.viewport != nil {
		sf.viewport.sf = nil
	}
	sf.releaseTexture()
	sf.dropHeld()
	sf.dropView()
}

func (sf *surface) releaseTexture() {
	if sf.texBorrowed {
		sf.tex, sf.texBorrowed = nil, false
		return
	}
	if sf.tex != nil {
		sf.tex.Release()
		sf.tex = nil
	}
}

// updateTexture brings the renderer's copy of the content up to date,
// uploading only what changed.
func (sf *surface) updateTexture(r render.Renderer) error {
	if sf.content == nil {
		return nil
	}
	if done, err := sf.importedTexture(r); done || err != nil {
		return err
	}
	if err := sf.flushHeld(); err != nil {
		return err
	}
	format := scanout.ARGB8888
	if sf.opaque {
		format = scanout.XRGB8888
	}
	if sf.tex != nil && sf.texOwner != r {
		sf.tex, sf.texBorrowed = nil, false // its renderer was replaced (and closed)
		sf.texAll = true
	}
	if inPlace, err := sf.updateViewTexture(r, format); inPlace || err != nil {
		return err
	}
	if sf.tex != nil {
		// Read in place (shmview.go), content is the shown buffer's
		// memory and moves with each buffer: the texture stays, and
		// the damage is uploaded from the new buffer.
		if w, h := sf.tex.Size(); w != sf.width || h != sf.height || sf.texFormat != format || sf.texView != &sf.content[0] && sf.viewBuf == nil {
			sf.releaseTexture()
		}
	}
	if v, ok := r.(render.TextureViewer); ok {
		// A CPU renderer draws straight from content: no second copy.
		if sf.tex == nil {
			t, err := v.NewTextureView(sf.content, sf.width, sf.height, format)
			if err != nil {
				return err
			}
			sf.tex, sf.texFormat, sf.texOwner, sf.texView = t, format, r, &sf.content[0]
		}
		sf.texAll, sf.texDamage = false, sf.texDamage[:0]
		return nil
	}
	if sf.tex == nil {
		t, err := r.NewTexture(sf.width, sf.height, format)
		if err != nil {
			return err
		}
		sf.tex, sf.texFormat, sf.texOwner, sf.texView, sf.texAll = t, format, r, &sf.content[0], true
	}
	if !sf.texAll && len(sf.texDamage) == 0 {
		return nil
	}
	damage := sf.texDamage
	if sf.texAll {
		damage = nil
	}
	err := sf.tex.Update(sf.content, sf.width*4, damage)
	sf.texAll, sf.texDamage, sf.texView = false, sf.texDamage[:0], &sf.content[0]
	return err
}

func (sf *surface) Attach(buffer uint32, x, y int32) error {
	sf.pending.attached = true
	sf.pending.buffer = nil
	if buffer != 0 {
		o, err := sf.c.lookup(sf.id, buffer, protocol.WlBufferInterface)
		if err != nil {
			return err
		}
		b, ok := o.handler.(clientBuffer)
		if !ok {
			return errorf(sf.id, protocol.WlDisplayErrorInvalidObject, "object %d is not a buffer minicomp made", buffer)
		}
		sf.pending.buffer = b
	}
	return nil
}

func (sf *surface) Damage(x, y, w, h int32) error {
	sf.pending.damage = addRect(sf.pending.damage, x, y, w, h)
	return nil
}

func (sf *surface) DamageBuffer(x, y, w, h int32) error {
	sf.pending.bufDamage = addRect(sf.pending.bufDamage, x, y, w, h)
	return nil
}

// addRect adds a damage rectangle, merging when a client sends many.
func addRect(d []image.Rectangle, x, y, w, h int32) []image.Rectangle {
	r := image.Rect(int(x), int(y), int(x)+int(max(w, 0)), int(y)+int(max(h, 0)))
	if r.Empty() {
		return d
	}
	return appendMerged(d, r)
}

// appendMerged appends r to a damage list unless a rectangle there
// already covers it; beyond 16 rectangles the list becomes their bounding
// box (drawing more, but never missing anything).
func appendMerged(d []image.Rectangle, r image.Rectangle) []image.Rectangle {
	for _, x := range d {
		if r.In(x) {
			return d
		}
	}
	if len(d) >= 16 {
		u := r
		for _, x := range d {
			u = u.Union(x)
		}
		return append(d[:0], u)
	}
	return append(d, r)
}

func (sf *surface) Frame(callback uint32) error {
	if _, err := sf.c.add(callback, protocol.WlCallbackInterface, 1, noRequests); err != nil {
		return err
	}
	sf.pending.frames = append(sf.pending.frames, callback)
	return nil
}

// SetOpaqueRegion sets the pending opaque region: a copy of the region's
// rectangles now (later changes to the wl_region do not count), applied
// on commit. 0: nothing is opaque (but an opaque buffer still is).
func (sf *surface) SetOpaqueRegion(regionID uint32) error {
	sf.pending.opaqueSet = true
	sf.pending.opaqueRegion = sf.pending.opaqueRegion[:0]
	if regionID == 0 {
		return nil
	}
	o, err := sf.c.lookup(sf.id, regionID, protocol.WlRegionInterface)
	if err != nil {
		return err
	}
	sf.pending.opaqueRegion = append(sf.pending.opaqueRegion, o.handler.(*region).rects...)
	return nil
}

func (sf *surface) SetInputRegion(region uint32) error { return nil }
func (sf *surface) SetBufferTransform(t int32) error {
	if t < 0 || t > 7 {
		return errorf(sf.id, protocol.WlSurfaceErrorInvalidTransform, "transform %d", t)
	}
	return nil
}
func (sf *surface) SetBufferScale(scale int32) error {
	if scale < 1 {
		return errorf(sf.id, protocol.WlSurfaceErrorInvalidScale, "scale %d", scale)
	}
	sf.pending.scale = scale
	return nil
}
func (sf *surface) Offset(x, y int32) error { return nil }

func (sf *surface) Commit() error {
	if sf.role != nil {
		if err := sf.role.commit(); err != nil {
			return err
		}
	}
	n := sf.c.s.commitCount.Add(1)
	sf.noteCommit()
	switch synced := sf.sub != nil && sf.sub.synchronized(); {
	case synced:
		sf.cache()
	case sf.hasCache:
		// A desynchronized subsurface with state cached from while it
		// was synchronized: this commit joins the cache, applied whole.
		sf.cache()
		sf.committed = n
		if err := sf.apply(&sf.cached); err != nil {
			return err
		}
	default:
		sf.committed = n
		if err := sf.apply(&sf.pending); err != nil {
			return err
		}
		if sf.role == nil && sf.sub == nil {
			sf.c.s.seat.cursor.committed(sf)
		}
	}
	if sf.role != nil && sf.role.layer != nil {
		sf.role.layer.committed()
	}
	sf.c.s.scheduleFrames()
	return nil
}

// cache moves the pending state into the cache a synchronized subsurface
// applies on its parent's commit.
func (sf *surface) cache() {
	p, c := &sf.pending, &sf.cached
	if p.attached {
		c.attached, c.buffer = true, p.buffer
	}
	c.damage = appendAll(c.damage, p.damage)
	c.bufDamage = appendAll(c.bufDamage, p.bufDamage)
	c.frames = append(c.frames, p.frames...)
	discard(sf.c, c.feedback) // replaced before it was shown
	c.feedback = append(c.feedback[:0], p.feedback...)
	c.scale, c.vp = p.scale, p.vp
	if p.opaqueSet {
		c.opaqueSet, c.opaqueRegion = true, append(c.opaqueRegion[:0], p.opaqueRegion...)
	}
	sf.hasCache = true
	sf.resetPending(p)
}

// resetPending clears what a commit consumed; scale and viewport stay.
func (sf *surface) resetPending(p *surfaceState) {
	*p = surfaceState{frames: p.frames[:0], feedback: p.feedback[:0], damage: p.damage[:0],
		bufDamage: p.bufDamage[:0], scale: p.scale, vp: p.vp, opaqueRegion: p.opaqueRegion[:0]}
}

// apply makes st the surface's current state, damages what changed, then
// applies what this commit settles for the subsurfaces: their positions,
// their stacking, and the cached state of the synchronized ones.
func (sf *surface) apply(st *surfaceState) error {
	oldRect, hadContent := sf.layoutRect()
	if st.attached && st.buffer != nil {
		if w, h := st.buffer.size(); w%int(st.scale) != 0 || h%int(st.scale) != 0 {
			return errorf(sf.id, protocol.WlSurfaceErrorInvalidSize, "buffer %dx%d is not a multiple of scale %d", w, h, st.scale)
		}
	}
	if err := st.vp.check(st, sf); err != nil {
		return err
	}
	if st.attached {
		if st.buffer == nil {
			sf.dropView()
			sf.content, sf.width, sf.height = nil, 0, 0
			sf.dropHeld()
		} else {
			copyDamage := append(sf.copyDamage[:0], st.bufDamage...)
			if len(st.damage) > 0 {
				if sf.scale == st.scale && sf.vp == st.vp {
					for _, r := range st.damage {
						copyDamage = appendMerged(copyDamage, sf.surfaceToBuffer(r))
					}
				} else {
					copyDamage = nil // the mapping changed: copy it all
				}
			}
			if len(copyDamage) == 0 && !(sf.scale == st.scale && sf.vp == st.vp) {
				copyDamage = nil
			}
			sf.copyDamage = copyDamage
			if copyDamage == nil {
				sf.texAll = true
			}
			sf.texDamage = appendAll(sf.texDamage, copyDamage)
			if sf.committedAt == 0 {
				sf.committedAt = monotonic()
			}
			if err := sf.take(st.buffer, copyDamage); err != nil {
				return err
			}
		}
	}
	mappingChanged := sf.scale != st.scale || sf.vp != st.vp
	sf.scale, sf.vp = st.scale, st.vp
	if st.opaqueSet && !slices.Equal(sf.opaqueRegion, st.opaqueRegion) {
		// What was drawn under the old region may be stale: redraw it.
		mappingChanged = true
		sf.opaqueRegion = append(sf.opaqueRegion[:0], st.opaqueRegion...)
	}
	if origin, placed := sf.origin(); placed {
		newRect, hasContent := sf.layoutRect()
		if mappingChanged || newRect != oldRect || hadContent != hasContent {
			sf.c.s.damage(oldRect.Union(newRect))
		}
		for _, d := range st.damage {
			sf.c.s.damage(d.Add(origin).Intersect(newRect))
		}
		for _, d := range st.bufDamage {
			sf.c.s.damage(sf.bufferToSurface(d).Add(origin).Intersect(newRect))
		}
	}
	sf.frames = append(sf.frames, st.frames...)
	// Content committed before but not yet drawn is replaced: its
	// feedback is discarded.
	discard(sf.c, sf.feedback)
	sf.feedback = append(sf.feedback[:0], st.feedback...)
	sf.resetPending(st)
	if st == &sf.cached {
		sf.hasCache = false
	}
	if sf.role != nil && sf.content == nil && sf.mapped {
		sf.unmap()
		sf.role.unmapped()
	}
	if sf.role != nil && sf.role.configured && !sf.role.dismissed && sf.content != nil && !sf.mapped {
		sf.mapped = true
		sf.role.place()
		sf.c.s.surfaces = append(sf.c.s.surfaces, sf)
		sf.c.s.surfaceMapped(sf)
		sf.damageTree()
		if sf.role.toplevel != 0 {
			sf.c.s.seat.refocusKeyboard()
		}
	}
	return sf.applyChildren()
}

// applyChildren applies, on this surface's commit, the subsurfaces'
// parent-committed state and the cached commits of synchronized ones.
func (sf *surface) applyChildren() error {
	if !sameStack(sf.stack, sf.pendingStack) {
		sf.stack = append(sf.stack[:0], sf.pendingStack...)
		sf.damageTree()
	}
	for _, ch := range sf.stack {
		if ch == sf || ch.sub == nil {
			continue
		}
		if ch.sub.pendingPos != ch.sub.pos {
			ch.damageTree()
			ch.sub.pos = ch.sub.pendingPos
			ch.damageTree()
		}
		// A child's own children change on the child's commits (its
		// cached one, applied here when it is synchronized).
		if ch.hasCache && ch.sub.synchronized() {
			if err := ch.apply(&ch.cached); err != nil {
				return err
			}
		}
	}
	return nil
}

func sameStack(a, b []*surface) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// size is the surface's size in surface coordinates: the viewport's
// destination, else its source, else the buffer divided by its scale.
func (sf *surface) size() image.Point {
	if sf.content == nil {
		return image.Point{}
	}
	switch {
	case sf.vp.dstW > 0:
		return image.Pt(int(sf.vp.dstW), int(sf.vp.dstH))
	case sf.vp.srcW > 0:
		return image.Pt(int(sf.vp.srcW.Float()), int(sf.vp.srcH.Float()))
	}
	return image.Pt(sf.width/int(sf.scale), sf.height/int(sf.scale))
}

// source is the part of the buffer shown, in buffer pixels.
func (sf *surface) source() image.Rectangle {
	if sf.vp.srcW <= 0 {
		return image.Rect(0, 0, sf.width, sf.height)
	}
	k := float64(sf.scale)
	return image.Rect(int(sf.vp.srcX.Float()*k), int(sf.vp.srcY.Float()*k),
		int(math.Ceil((sf.vp.srcX.Float()+sf.vp.srcW.Float())*k)), int(math.Ceil((sf.vp.srcY.Float()+sf.vp.srcH.Float())*k)))
}

// bufferToSurface maps a rectangle of buffer pixels to surface
// coordinates, rounding outwards.
func (sf *surface) bufferToSurface(r image.Rectangle) image.Rectangle {
	src, size := sf.source(), sf.size()
	if src.Dx() == 0 || src.Dy() == 0 {
		return image.Rectangle{}
	}
	if src.Size() == size && src.Min == (image.Point{}) {
		return r
	}
	sx, sy := float64(size.X)/float64(src.Dx()), float64(size.Y)/float64(src.Dy())
	return image.Rect(int(math.Floor(float64(r.Min.X-src.Min.X)*sx)), int(math.Floor(float64(r.Min.Y-src.Min.Y)*sy)),
		int(math.Ceil(float64(r.Max.X-src.Min.X)*sx)), int(math.Ceil(float64(r.Max.Y-src.Min.Y)*sy)))
}

// surfaceToBuffer maps surface coordinates to buffer pixels, rounding
// outwards.
func (sf *surface) surfaceToBuffer(r image.Rectangle) image.Rectangle {
	src, size := sf.source(), sf.size()
	if size.X == 0 || size.Y == 0 {
		return image.Rectangle{}
	}
	if src.Size() == size && src.Min == (image.Point{}) {
		return r
	}
	sx, sy := float64(src.Dx())/float64(size.X), float64(src.Dy())/float64(size.Y)
	return image.Rect(src.Min.X+int(math.Floor(float64(r.Min.X)*sx)), src.Min.Y+int(math.Floor(float64(r.Min.Y)*sy)),
		src.Min.X+int(math.Ceil(float64(r.Max.X)*sx)), src.Min.Y+int(math.Ceil(float64(r.Max.Y)*sy)))
}

// origin is where the surface's top-left corner is in the layout, and
// whether it is placed at all (a mapped window, or a subsurface of one).
func (sf *surface) origin() (image.Point, bool) {
	switch {
	case sf.sub != nil:
		if sf.sub.parent == nil {
			return image.Point{}, false
		}
		p, ok := sf.sub.parent.origin()
		return p.Add(sf.sub.pos), ok
	case sf.role != nil && sf.mapped:
		return sf.role.pos, true
	}
	return image.Point{}, false
}

// layoutRect is the surface's rectangle in the layout, and whether it
// has content there.
func (sf *surface) layoutRect() (image.Rectangle, bool) {
	o, ok := sf.origin()
	if !ok || sf.content == nil {
		return image.Rectangle{}, false
	}
	return image.Rectangle{Min: o, Max: o.Add(sf.size())}, true
}

// damageTree damages the surface and its subsurfaces where they are.
func (sf *surface) damageTree() {
	if r, ok := sf.layoutRect(); ok {
		sf.c.s.damage(r)
	}
	for _, ch := range sf.stack {
		if ch != sf {
			ch.damageTree()
		}
	}
}

// clientBuffer is a wl_buffer's content: shm or dma-buf.
type clientBuffer interface {
	size() (w, h int)
	isOpaque() bool
	objectID() uint32
	isDestroyed() bool
	copyTo(dst []byte, damage []image.Rectangle) error
}

// take copies a committed buffer and releases it at once. Only the
// damaged parts are copied when the content before was of the same size.
// A dma-buf is held instead when an output could scan it out: it is
// copied only if a frame has to compose it (flushHeld).
func (sf *surface) take(b clientBuffer, damage []image.Rectangle) error {
	if b.isDestroyed() {
		return errorf(sf.id, protocol.WlDisplayErrorInvalidObject, "committed a destroyed buffer")
	}
	if sb, ok := b.(*shmBuffer); ok && sb.canView(sf.c.s.renderer) {
		sf.takeInPlace(sb)
		return nil
	}
	sf.dropView() // content was the last buffer's memory: a copy is made below
	w, h := b.size()
	resized := sf.content == nil || w != sf.width || h != sf.height
	if resized {
		if len(sf.content) != w*h*4 {
			sf.content = make([]byte, w*h*4)
		}
		damage = nil
	}
	sf.width, sf.height = w, h
	sf.opaque = b.isOpaque()
	if d, ok := b.(*dmabufBuffer); ok && (sf.c.s.clientScanout || d.tex != nil || d.buf.Modifier != scanout.ModLinear) {
		if sf.held != d {
			if sf.held != nil && sf.heldPending() {
				sf.heldAll = true // the old buffer's changes were never copied
			}
			sf.dropHeld()
			sf.held = d
			d.held++
		}
		d.needRelease = true
		if damage == nil {
			sf.heldAll = true
		}
		sf.heldDamage = appendAll(sf.heldDamage, damage)
		return nil
	}
	if sf.heldPending() {
		damage = nil // content never got the held dma-buf's changes
	}
	sf.heldAll, sf.heldDamage = false, sf.heldDamage[:0]
	sf.dropHeld()
	if err := b.copyTo(sf.content, damage); err != nil {
		return errorf(b.objectID(), protocol.WlShmErrorInvalidFd, "%v", err)
	}
	sf.c.send(protocol.WlBufferRelease(sf.c.conn, b.objectID()))
	return nil
}

// heldPending reports whether the held buffer has changes not yet copied
// into content.
func (sf *surface) heldPending() bool { return sf.heldAll || len(sf.heldDamage) > 0 }

// dropHeld lets go of the held dma-buf (released once off screen).
func (sf *surface) dropHeld() {
	if b := sf.held; b != nil {
		sf.held = nil
		b.held--
		b.maybeFree()
	}
}

// flushHeld copies what changed in the held dma-buf into content (the
// frame composes the surface) and lets the buffer go unless it is on
// screen.
func (sf *surface) flushHeld() error {
	b := sf.held
	if b == nil {
		return nil
	}
	if sf.heldPending() {
		damage := sf.heldDamage
		if sf.heldAll {
			damage = nil
		}
		if err := b.copyTo(sf.content, damage); err != nil {
			return err
		}
		sf.heldAll, sf.heldDamage = false, sf.heldDamage[:0]
	}
	if b.shown == 0 {
		sf.dropHeld()
	}
	return nil
}

func (sf *surface) unmap() {
	if !sf.mapped {
		return
	}
	sf.damageTree()
	sf.mapped = false
	if sf.role != nil {
		sf.role.dismissPopups()
	}
	defer sf.c.s.seat.surfaceGone(sf)
	sf.c.s.surfaces = without(sf.c.s.surfaces, sf)
	sf.c.s.surfaceUnmapped(sf)
}
