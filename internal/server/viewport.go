package server

import (
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// wp_viewporter: a surface shows a part of its buffer (source, in surface
// coordinates before scaling) at a chosen size (destination).

func (s *Server) bindViewporter(c *Client, id, version uint32) error {
	_, err := register[protocol.WpViewporterHandler](c, id, protocol.WpViewporterInterface, version, &viewporter{c: c, id: id}, protocol.DispatchWpViewporter)
	return err
}

type viewporter struct {
	c  *Client
	id uint32
}

func (v *viewporter) Destroy() error { return nil }

func (v *viewporter) GetViewport(id, surfaceID uint32) error {
	o, err := v.c.lookup(v.id, surfaceID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	sf := o.handler.(*surface)
	if sf.viewport != nil {
		return errorf(v.id, protocol.WpViewporterErrorViewportExists, "surface %d already has a viewport", surfaceID)
	}
	vo := &viewportObj{id: id, sf: sf}
	obj, err := register[protocol.WpViewportHandler](v.c, id, protocol.WpViewportInterface, 1, vo, protocol.DispatchWpViewport)
	if err != nil {
		return err
	}
	sf.viewport = vo
	obj.onDestroy = func() {
		if vo.sf != nil {
			vo.sf.viewport = nil
			vo.sf.pending.vp = noViewport // takes effect on the next commit
		}
	}
	return nil
}

// viewport is a surface's crop and scale; negative sizes mean unset.
type viewport struct {
	srcX, srcY, srcW, srcH wire.Fixed
	dstW, dstH             int32
}

var noViewport = viewport{srcX: -256, srcY: -256, srcW: -256, srcH: -256, dstW: -1, dstH: -1}

// check validates the viewport state st will apply to sf.
func (vp viewport) check(st *surfaceState, sf *surface) error {
	if vp.srcW <= 0 || sf.viewport == nil {
		return nil
	}
	w, h := sf.width, sf.height
	if st.attached {
		if st.buffer == nil {
			return nil
		}
		w, h = st.buffer.size()
	}
	k := float64(st.scale)
	if (vp.srcX.Float()+vp.srcW.Float())*k > float64(w) || (vp.srcY.Float()+vp.srcH.Float())*k > float64(h) {
		return errorf(sf.viewport.id, protocol.WpViewportErrorOutOfBuffer, "source %gx%g+%g+%g is outside the %dx%d buffer (scale %d)",
			vp.srcW.Float(), vp.srcH.Float(), vp.srcX.Float(), vp.srcY.Float(), w, h, st.scale)
	}
	if vp.dstW < 0 && (vp.srcW%256 != 0 || vp.srcH%256 != 0) {
		return errorf(sf.viewport.id, protocol.WpViewportErrorBadSize, "source size %gx%g is not integer and no destination is set",
			vp.srcW.Float(), vp.srcH.Float())
	}
	return nil
}

// viewportObj is a wp_viewport.
type viewportObj struct {
	id uint32
	sf *surface // nil once the surface is destroyed
}

func (v *viewportObj) Destroy() error { return nil }

func (v *viewportObj) SetSource(x, y, w, h wire.Fixed) error {
	if v.sf == nil {
		return errorf(v.id, protocol.WpViewportErrorNoSurface, "the surface was destroyed")
	}
	p := &v.sf.pending.vp
	if x == -256 && y == -256 && w == -256 && h == -256 {
		p.srcX, p.srcY, p.srcW, p.srcH = x, y, w, h
		return nil
	}
	if x < 0 || y < 0 || w <= 0 || h <= 0 {
		return errorf(v.id, protocol.WpViewportErrorBadValue, "source %gx%g+%g+%g", w.Float(), h.Float(), x.Float(), y.Float())
	}
	p.srcX, p.srcY, p.srcW, p.srcH = x, y, w, h
	return nil
}

func (v *viewportObj) SetDestination(w, h int32) error {
	if v.sf == nil {
		return errorf(v.id, protocol.WpViewportErrorNoSurface, "the surface was destroyed")
	}
	if !(w == -1 && h == -1) && (w <= 0 || h <= 0) {
		return errorf(v.id, protocol.WpViewportErrorBadValue, "destination %dx%d", w, h)
	}
	v.sf.pending.vp.dstW, v.sf.pending.vp.dstH = w, h
	return nil
}
