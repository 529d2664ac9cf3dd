package server

import (
	"image"

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
	sf := &surface{c: k.c, id: id}
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
	if len(r.rects) < 256 {
		r.rects = append(r.rects, image.Rect(int(x), int(y), int(x+w), int(y+h)))
	}
	return nil
}
func (r *region) Subtract(x, y, w, h int32) error { return nil }

// surfaceState is what a commit applies.
type surfaceState struct {
	attached bool
	buffer   clientBuffer      // nil: detach
	damage   []image.Rectangle // surface and buffer damage (scale 1, no transform: the same)
	frames   []uint32
	feedback []uint32 // wp_presentation_feedback ids
}

// surface is a wl_surface: double-buffered state, and the content of the
// last committed buffer (copied, so the client's buffer is released at
// once).
type surface struct {
	c        *Client
	id       uint32
	pending  surfaceState
	frames   []uint32 // callbacks waiting for the next output frame
	feedback []uint32 // presentation feedback of the committed content
	content  []byte   // XRGB8888/ARGB8888, stride width*4
	width    int
	height   int
	opaque   bool
	role     *xdgSurface
	mapped   bool
	gone     bool
}

func (sf *surface) Destroy() error { return nil }

func (sf *surface) destroyed() {
	sf.gone = true
	sf.unmap()
	for _, cb := range append(sf.frames, sf.pending.frames...) {
		delete(sf.c.objects, cb)
	}
	discard(sf.c, sf.feedback)
	discard(sf.c, sf.pending.feedback)
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

func (sf *surface) Damage(x, y, w, h int32) error       { sf.addDamage(x, y, w, h); return nil }
func (sf *surface) DamageBuffer(x, y, w, h int32) error { sf.addDamage(x, y, w, h); return nil }

// addDamage records a damage rectangle, merging when a client sends many.
func (sf *surface) addDamage(x, y, w, h int32) {
	r := image.Rect(int(x), int(y), int(x)+int(max(w, 0)), int(y)+int(max(h, 0)))
	if r.Empty() {
		return
	}
	d := sf.pending.damage
	if len(d) >= 16 {
		u := r
		for _, x := range d {
			u = u.Union(x)
		}
		sf.pending.damage = append(d[:0], u)
		return
	}
	sf.pending.damage = append(d, r)
}

func (sf *surface) Frame(callback uint32) error {
	if _, err := sf.c.add(callback, protocol.WlCallbackInterface, 1, noRequests); err != nil {
		return err
	}
	sf.pending.frames = append(sf.pending.frames, callback)
	return nil
}

func (sf *surface) SetOpaqueRegion(region uint32) error { return nil }
func (sf *surface) SetInputRegion(region uint32) error  { return nil }
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
	return nil
}
func (sf *surface) Offset(x, y int32) error { return nil }

func (sf *surface) Commit() error {
	p := &sf.pending
	if sf.role != nil {
		if err := sf.role.commit(); err != nil {
			return err
		}
	}
	oldSize := image.Rect(0, 0, sf.width, sf.height)
	if p.attached {
		if p.buffer == nil {
			sf.content, sf.width, sf.height = nil, 0, 0
			sf.unmap()
		} else if err := sf.take(p.buffer, p.damage); err != nil {
			return err
		}
	}
	if sf.mapped {
		newSize := image.Rect(0, 0, sf.width, sf.height)
		if newSize != oldSize {
			sf.c.s.damage(newSize.Union(oldSize))
		}
		for _, d := range p.damage {
			sf.c.s.damage(d.Intersect(newSize))
		}
	}
	sf.c.s.commitCount.Add(1)
	sf.frames = append(sf.frames, p.frames...)
	// Content committed before but not yet drawn is replaced: its
	// feedback is discarded.
	discard(sf.c, sf.feedback)
	sf.feedback = append(sf.feedback[:0], p.feedback...)
	*p = surfaceState{frames: p.frames[:0], feedback: p.feedback[:0], damage: p.damage[:0]}
	if sf.role != nil && sf.role.configured && sf.content != nil && !sf.mapped {
		sf.mapped = true
		sf.c.s.surfaces = append(sf.c.s.surfaces, sf)
		sf.c.s.damage(image.Rect(0, 0, sf.width, sf.height))
	}
	sf.c.s.scheduleFrames()
	return nil
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
func (sf *surface) take(b clientBuffer, damage []image.Rectangle) error {
	if b.isDestroyed() {
		return errorf(sf.id, protocol.WlDisplayErrorInvalidObject, "committed a destroyed buffer")
	}
	w, h := b.size()
	if sf.content == nil || w != sf.width || h != sf.height {
		if len(sf.content) != w*h*4 {
			sf.content = make([]byte, w*h*4)
		}
		damage = nil
	}
	sf.width, sf.height = w, h
	sf.opaque = b.isOpaque()
	if err := b.copyTo(sf.content, damage); err != nil {
		return errorf(b.objectID(), protocol.WlShmErrorInvalidFd, "%v", err)
	}
	sf.c.send(protocol.WlBufferRelease(sf.c.conn, b.objectID()))
	return nil
}

func (sf *surface) unmap() {
	if !sf.mapped {
		return
	}
	sf.mapped = false
	list := sf.c.s.surfaces
	for i, x := range list {
		if x == sf {
			sf.c.s.surfaces = append(list[:i], list[i+1:]...)
			break
		}
	}
	sf.c.s.damage(image.Rect(0, 0, sf.width, sf.height))
}
