package server

import (
	"image"
	"os"
	"slices"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/scanout"
)

// wlr-screencopy: clients (grim) copy what an output shows into a wl_shm
// buffer. The copy is made when the next frame is on screen. A
// copy_with_damage (wayvnc) waits for a frame that changed something in
// its region since the previous copy of that output made through the same
// zwlr_screencopy_manager_v1 object (the protocol's "derived from the
// current screencopy manager instance", as wlroots keeps it: two manager
// objects of one client each see all the damage), and reports that
// damage: an idle screen draws no frame and sends nothing.
//
// overlay_cursor: a capture asking for it has the cursor in it wherever
// the cursor is shown (a cursor on the output's cursor plane is blended
// into the copy, over the frame); one that does not ask (grim's default,
// without -c) has none, also when the cursor is composed into the frame:
// the frame is then drawn without the cursor first, copied, and the
// cursor drawn over its rectangle before it is presented (captureBare).

// damageWatch is what changed on an output since a manager object's last
// copy_with_damage of it (the bounding box; the whole output at first).
type damageWatch struct {
	m *screencopyManager
	r image.Rectangle
}

// watch returns m's damage since its last copy_with_damage.
func (o *output) watch(m *screencopyManager) *damageWatch {
	for i := range o.damageWatch {
		if o.damageWatch[i].m == m {
			return &o.damageWatch[i]
		}
	}
	o.damageWatch = append(o.damageWatch, damageWatch{m: m, r: o.panelBounds()})
	return &o.damageWatch[len(o.damageWatch)-1]
}

// forgetClient drops a disconnected client's damage watches.
func (o *output) forgetClient(c *Client) {
	o.damageWatch = slices.DeleteFunc(o.damageWatch, func(w damageWatch) bool { return w.m.c == c })
}

// forgetManager drops a destroyed manager object's damage watches (a
// frame it made, still valid, starts a new one: all damaged).
func (s *Server) forgetManager(m *screencopyManager) {
	for _, o := range s.outputs {
		o.damageWatch = slices.DeleteFunc(o.damageWatch, func(w damageWatch) bool { return w.m == m })
	}
}

// noteDamage adds a presented frame's damage to every watch.
func (o *output) noteDamage(damage []image.Rectangle) {
	if len(o.damageWatch) == 0 {
		return
	}
	var u image.Rectangle
	for _, d := range damage {
		u = u.Union(d)
	}
	u = o.pictureToPanel(u.Intersect(o.bounds))
	if u.Empty() {
		return
	}
	for i := range o.damageWatch {
		o.damageWatch[i].r = o.damageWatch[i].r.Union(u)
	}
}

// takeCaptures moves the captures the frame being presented satisfies
// into inFlightCaptures: plain copies always, copies with damage when
// their manager's watch has damage in their region (then reset).
func (o *output) takeCaptures() {
	keep := o.captures[:0]
	for _, f := range o.captures {
		if f.gone || !o.s.clients[f.c] {
			continue
		}
		if f.withDamage {
			w := o.watch(f.m)
			d := w.r.Intersect(f.rect)
			if d.Empty() {
				f.bare = false // copied by captureBare, not taken: copied again later
				keep = append(keep, f)
				continue
			}
			f.damage = d.Sub(f.rect.Min)
			w.r = image.Rectangle{}
		}
		o.inFlightCaptures = append(o.inFlightCaptures, f)
	}
	clear(o.captures[len(keep):])
	o.captures = keep
}

func (s *Server) bindScreencopy(c *Client, id, version uint32) error {
	_, err := register[protocol.ZwlrScreencopyManagerV1Handler](c, id, protocol.ZwlrScreencopyManagerV1Interface, version, &screencopyManager{c: c, id: id, version: version}, protocol.DispatchZwlrScreencopyManagerV1)
	return err
}

type screencopyManager struct {
	c       *Client
	id      uint32
	version uint32
}

func (m *screencopyManager) Destroy() error {
	m.c.s.forgetManager(m)
	return nil
}

func (m *screencopyManager) CaptureOutput(frame uint32, cursor int32, outputID uint32) error {
	return m.capture(frame, outputID, nil, cursor != 0)
}

func (m *screencopyManager) CaptureOutputRegion(frame uint32, cursor int32, outputID uint32, x, y, w, h int32) error {
	r := image.Rect(int(x), int(y), int(x+w), int(y+h))
	return m.capture(frame, outputID, &r, cursor != 0)
}

func (m *screencopyManager) capture(frameID, outputID uint32, region *image.Rectangle, cursor bool) error {
	c := m.c
	o, err := c.lookup(m.id, outputID, protocol.WlOutputInterface)
	if err != nil {
		return err
	}
	out := o.handler.(*outputResource).o
	rect := out.panelBounds()
	if region != nil {
		// The region is in the picture's coordinates; the copy is of the
		// panel's pixels that show it.
		rect = out.pictureToPanel(region.Canon().Intersect(out.bounds))
	}
	f := &screencopyFrame{c: c, m: m, id: frameID, version: m.version, out: out, rect: rect, cursor: cursor}
	fo, err := register[protocol.ZwlrScreencopyFrameV1Handler](c, frameID, protocol.ZwlrScreencopyFrameV1Interface, m.version, f, protocol.DispatchZwlrScreencopyFrameV1)
	if err != nil {
		return err
	}
	fo.onDestroy = func() { f.gone = true }
	if rect.Empty() {
		c.send(protocol.ZwlrScreencopyFrameV1Failed(c.conn, frameID))
		return nil
	}
	c.send(protocol.ZwlrScreencopyFrameV1Buffer(c.conn, frameID, protocol.WlShmFormatXrgb8888,
		uint32(rect.Dx()), uint32(rect.Dy()), uint32(rect.Dx()*4)))
	if m.version >= 3 {
		c.send(protocol.ZwlrScreencopyFrameV1BufferDone(c.conn, frameID))
	}
	return nil
}

type screencopyFrame struct {
	c          *Client
	m          *screencopyManager // the manager object it came from (damage is its)
	id         uint32
	version    uint32
	out        *output
	rect       image.Rectangle
	used       bool
	withDamage bool
	buffer     *shmBuffer
	gone       bool
	damage     image.Rectangle // copy_with_damage: what changed, in rect's coordinates
	cursor     bool            // overlay_cursor: the cursor is in the copy
	bare       bool            // copied by captureBare from the frame being presented
}

func (f *screencopyFrame) Destroy() error { return nil }

func (f *screencopyFrame) Copy(buffer uint32) error { return f.copy(buffer, false) }

func (f *screencopyFrame) CopyWithDamage(buffer uint32) error { return f.copy(buffer, true) }

func (f *screencopyFrame) copy(bufferID uint32, withDamage bool) error {
	if f.used {
		return errorf(f.id, protocol.ZwlrScreencopyFrameV1ErrorAlreadyUsed, "frame already copied")
	}
	o, err := f.c.lookup(f.id, bufferID, protocol.WlBufferInterface)
	if err != nil {
		return err
	}
	b, ok := o.handler.(*shmBuffer)
	if !ok || b.width != f.rect.Dx() || b.height != f.rect.Dy() || b.stride < b.width*4 ||
		(b.format != protocol.WlShmFormatXrgb8888 && b.format != protocol.WlShmFormatArgb8888) {
		return errorf(f.id, protocol.ZwlrScreencopyFrameV1ErrorInvalidBuffer, "buffer does not match the advertised %dx%d XRGB8888", f.rect.Dx(), f.rect.Dy())
	}
	f.used, f.withDamage, f.buffer = true, withDamage, b
	out := f.out
	out.captures = append(out.captures, f)
	if withDamage && !out.watch(f.m).r.Overlaps(f.rect) {
		return nil // the next frame with damage here completes it
	}
	out.forceFrame = true
	f.c.s.scheduleFrames()
	return nil
}

// complete copies the shown frame into each waiting capture's buffer
// (those captureBare copied already have their pixels) and blends a
// cursor on the cursor plane into those asking for the cursor.
func (o *output) completeCaptures(shown *scanout.Buffer, fr backend.Presented) {
	if len(o.inFlightCaptures) == 0 {
		return
	}
	var mem []byte
	if shown != nil {
		if m, err := shown.Map(); err == nil && shown.BeginCPUAccess(scanout.Read) == nil {
			mem = m[shown.Offset:]
			defer shown.EndCPUAccess(scanout.Read)
		}
	}
	sec := uint64(fr.Time / 1e9)
	for _, f := range o.inFlightCaptures {
		c := f.c
		if f.gone || !o.s.clients[c] {
			continue
		}
		b := f.buffer
		ok := !b.destroyed && b.pool.writable && (f.bare || mem != nil && f.copyFrom(mem, int(shown.Stride)) == nil)
		if ok && f.cursor {
			ok = o.s.seat.cursor.blendPlane(o, f) == nil
		}
		f.bare = false
		if !ok {
			c.send(protocol.ZwlrScreencopyFrameV1Failed(c.conn, f.id))
			continue
		}
		c.send(protocol.ZwlrScreencopyFrameV1Flags(c.conn, f.id, 0))
		if f.withDamage {
			d := f.damage
			c.send(protocol.ZwlrScreencopyFrameV1Damage(c.conn, f.id, uint32(d.Min.X), uint32(d.Min.Y), uint32(d.Dx()), uint32(d.Dy())))
		}
		c.send(protocol.ZwlrScreencopyFrameV1Ready(c.conn, f.id, uint32(sec>>32), uint32(sec), uint32(fr.Time%1e9)))
	}
	o.inFlightCaptures = reset(o.inFlightCaptures)
}

// copyFrom copies f's rectangle of a frame (mem, stride bytes a row) into
// its buffer; a fault on the client's memory is an error.
func (f *screencopyFrame) copyFrom(mem []byte, stride int) error {
	b := f.buffer
	dst := b.pool.mem[b.offset:]
	row := f.rect.Dx() * 4
	for y := 0; y < f.rect.Dy(); y++ {
		src := f.out.capturedRow(mem, stride, f.rect, y)
		if err := safeCopy(dst[y*b.stride:y*b.stride+row], src[:row]); err != nil {
			return err
		}
	}
	return nil
}

// captureBare copies the frame just drawn into target (without the
// composed cursor, which covers cur, in the picture's coordinates) into
// the waiting captures that do not want the cursor and see part of cur.
// The frame is then finished with the cursor and presented: those
// captures complete with it without another copy.
func (o *output) captureBare(target *scanout.Buffer, fence *os.File, cur image.Rectangle) {
	var bare []*screencopyFrame
	panel := o.pictureToPanel(cur)
	for _, f := range o.captures {
		if f.used && !f.cursor && !f.gone && f.rect.Overlaps(panel) && o.s.clients[f.c] && !f.buffer.destroyed && f.buffer.pool.writable {
			bare = append(bare, f)
		}
	}
	if len(bare) == 0 {
		return
	}
	// On a failure here the captures are copied from the shown frame,
	// cursor included.
	if fence != nil {
		if err := dmabuf.WaitFence(int(fence.Fd()), dmabuf.RenderFenceTimeout); err != nil {
			o.s.log.Warn("screencopy: waiting for the frame without the cursor", "output", o.o.Name(), "err", err)
			return
		}
	}
	m, err := target.Map()
	if err != nil {
		o.s.log.Warn("screencopy: mapping the frame", "output", o.o.Name(), "err", err)
		return
	}
	if err := target.BeginCPUAccess(scanout.Read); err != nil {
		o.s.log.Warn("screencopy: reading the frame", "output", o.o.Name(), "err", err)
		return
	}
	defer target.EndCPUAccess(scanout.Read)
	for _, f := range bare {
		// A fault on the client's memory leaves bare false: the copy
		// from the shown frame reports it.
		f.bare = f.copyFrom(m[target.Offset:], int(target.Stride)) == nil
	}
}

// drawBare ends the frame being drawn into target, without the cursor
// (which covers cur, in the picture's coordinates), copies it into the
// captures that must not show the cursor, and begins the frame again in
// cur, for the cursor.
func (s *Server) drawBare(o *output, target *scanout.Buffer, cur image.Rectangle) error {
	fence, err := s.renderer.End()
	if err != nil {
		return err
	}
	o.captureBare(target, fence, cur)
	if fence != nil {
		fence.Close()
	}
	return o.begin(s.renderer, target, []image.Rectangle{cur})
}

// bareCursor returns the composed cursor's rectangle on o (the
// picture's coordinates) when a waiting capture must not show it (empty
// otherwise): the frame is then drawn without it first (render,
// captureBare).
func (o *output) bareCursor() image.Rectangle {
	oc := o.s.seat.cursor.outs[o]
	if oc == nil || oc.drawn.Empty() {
		return image.Rectangle{}
	}
	cur := oc.drawn.Sub(o.origin()).Intersect(o.bounds)
	panel := o.pictureToPanel(cur)
	for _, f := range o.captures {
		if f.used && !f.cursor && !f.gone && f.rect.Overlaps(panel) {
			return cur
		}
	}
	return image.Rectangle{}
}
