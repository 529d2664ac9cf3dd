package server

import (
	"image"
	"slices"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/scanout"
)

// wlr-screencopy: clients (grim) copy what an output shows into a wl_shm
// buffer. The copy is made when the next frame is on screen. A
// copy_with_damage (wayvnc) waits for a frame that changed something in
// its region since the client's previous copy of that output, and
// reports that damage: an idle screen draws no frame and sends nothing.

// damageWatch is what changed on an output since a client's last
// copy_with_damage of it (the bounding box; the whole output at first).
type damageWatch struct {
	c *Client
	r image.Rectangle
}

// watch returns c's damage since its last copy_with_damage.
func (o *output) watch(c *Client) *damageWatch {
	for i := range o.damageWatch {
		if o.damageWatch[i].c == c {
			return &o.damageWatch[i]
		}
	}
	o.damageWatch = append(o.damageWatch, damageWatch{c: c, r: o.panelBounds()})
	return &o.damageWatch[len(o.damageWatch)-1]
}

// forgetClient drops a disconnected client's damage watch.
func (o *output) forgetClient(c *Client) {
	o.damageWatch = slices.DeleteFunc(o.damageWatch, func(w damageWatch) bool { return w.c == c })
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
// their client's watch has damage in their region (then reset).
func (o *output) takeCaptures() {
	keep := o.captures[:0]
	for _, f := range o.captures {
		if f.gone || !o.s.clients[f.c] {
			continue
		}
		if f.withDamage {
			w := o.watch(f.c)
			d := w.r.Intersect(f.rect)
			if d.Empty() {
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

func (m *screencopyManager) Destroy() error { return nil }

func (m *screencopyManager) CaptureOutput(frame uint32, cursor int32, outputID uint32) error {
	return m.capture(frame, outputID, nil)
}

func (m *screencopyManager) CaptureOutputRegion(frame uint32, cursor int32, outputID uint32, x, y, w, h int32) error {
	r := image.Rect(int(x), int(y), int(x+w), int(y+h))
	return m.capture(frame, outputID, &r)
}

func (m *screencopyManager) capture(frameID, outputID uint32, region *image.Rectangle) error {
	c := m.c
	o, err := c.lookup(m.id, outputID, protocol.WlOutputInterface)
	if err != nil {
		return err
	}
	out := o.handler.(*outputResource).o
	mode := out.o.Mode()
	rect := image.Rect(0, 0, mode.Width, mode.Height)
	if region != nil {
		// The region is in the picture's coordinates; the copy is of the
		// panel's pixels that show it.
		rect = out.pictureToPanel(region.Canon().Intersect(out.bounds))
	}
	f := &screencopyFrame{c: c, id: frameID, version: m.version, out: out, rect: rect}
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
	id         uint32
	version    uint32
	out        *output
	rect       image.Rectangle
	used       bool
	withDamage bool
	buffer     *shmBuffer
	gone       bool
	damage     image.Rectangle // copy_with_damage: what changed, in rect's coordinates
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
	if withDamage && !out.watch(f.c).r.Overlaps(f.rect) {
		return nil // the next frame with damage here completes it
	}
	out.forceFrame = true
	f.c.s.scheduleFrames()
	return nil
}

// complete copies the shown frame into each waiting capture's buffer.
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
		ok := mem != nil && !b.destroyed && b.pool.writable
		if ok {
			dst := b.pool.mem[b.offset:]
			row := f.rect.Dx() * 4
			for y := 0; y < f.rect.Dy() && ok; y++ {
				src := o.capturedRow(mem, int(shown.Stride), f.rect, y)
				if err := safeCopy(dst[y*b.stride:y*b.stride+row], src[:row]); err != nil {
					ok = false
				}
			}
		}
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
