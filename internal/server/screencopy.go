package server

import (
	"image"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/scanout"
)

// wlr-screencopy: clients (grim) copy what an output shows into a wl_shm
// buffer. The copy is made when the next frame is on screen.

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
		rect = region.Canon().Intersect(rect)
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
	f.out.captures = append(f.out.captures, f)
	f.out.forceFrame = true
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
				src := mem[(f.rect.Min.Y+y)*int(shown.Stride)+f.rect.Min.X*4:]
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
			c.send(protocol.ZwlrScreencopyFrameV1Damage(c.conn, f.id, 0, 0, uint32(f.rect.Dx()), uint32(f.rect.Dy())))
		}
		c.send(protocol.ZwlrScreencopyFrameV1Ready(c.conn, f.id, uint32(sec>>32), uint32(sec), uint32(fr.Time%1e9)))
	}
	o.inFlightCaptures = o.inFlightCaptures[:0]
}
