package server

import (
	"encoding/binary"

	"github.com/minicomp/minicomp/internal/protocol"
)

func (s *Server) bindXdgWmBase(c *Client, id, version uint32) error {
	_, err := register[protocol.XdgWmBaseHandler](c, id, protocol.XdgWmBaseInterface, version, &wmBase{c: c, id: id, version: version}, protocol.DispatchXdgWmBase)
	return err
}

type wmBase struct {
	c       *Client
	id      uint32
	version uint32
}

func (w *wmBase) Destroy() error { return nil }
func (w *wmBase) Pong(serial uint32) error {
	return nil
}

func (w *wmBase) CreatePositioner(id uint32) error {
	_, err := register[protocol.XdgPositionerHandler](w.c, id, protocol.XdgPositionerInterface, w.version, inert{}, protocol.DispatchXdgPositioner)
	return err
}

func (w *wmBase) GetXdgSurface(id, surfaceID uint32) error {
	o, err := w.c.lookup(w.id, surfaceID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	sf := o.handler.(*surface)
	if sf.role != nil {
		return errorf(w.id, protocol.XdgWmBaseErrorRole, "surface %d already has a role", surfaceID)
	}
	if sf.content != nil || sf.pending.buffer != nil {
		return errorf(w.id, protocol.XdgSurfaceErrorUnconfiguredBuffer, "surface %d already has a buffer", surfaceID)
	}
	x := &xdgSurface{c: w.c, id: id, surface: sf, version: w.version}
	xo, err := register[protocol.XdgSurfaceHandler](w.c, id, protocol.XdgSurfaceInterface, w.version, x, protocol.DispatchXdgSurface)
	if err != nil {
		return err
	}
	sf.role = x
	xo.onDestroy = func() {
		if !sf.gone {
			sf.role = nil
			sf.unmap()
		}
	}
	return nil
}

// xdgSurface is an xdg_surface with its toplevel or popup.
type xdgSurface struct {
	c          *Client
	id         uint32
	version    uint32
	surface    *surface
	toplevel   uint32 // object id, 0 if none
	popup      uint32
	configured bool   // the client acked a configure
	sent       uint32 // serial of the last configure sent
	initial    bool   // the initial configure was sent
}

func (x *xdgSurface) Destroy() error { return nil }

func (x *xdgSurface) GetToplevel(id uint32) error {
	if x.toplevel != 0 || x.popup != 0 {
		return errorf(x.id, protocol.XdgSurfaceErrorAlreadyConstructed, "xdg_surface already has a role object")
	}
	if _, err := register[protocol.XdgToplevelHandler](x.c, id, protocol.XdgToplevelInterface, x.version, &toplevel{x: x}, protocol.DispatchXdgToplevel); err != nil {
		return err
	}
	x.toplevel = id
	return nil
}

func (x *xdgSurface) GetPopup(id, parent, positioner uint32) error {
	if x.toplevel != 0 || x.popup != 0 {
		return errorf(x.id, protocol.XdgSurfaceErrorAlreadyConstructed, "xdg_surface already has a role object")
	}
	if _, err := x.c.lookup(x.id, positioner, protocol.XdgPositionerInterface); err != nil {
		return err
	}
	if _, err := register[protocol.XdgPopupHandler](x.c, id, protocol.XdgPopupInterface, x.version, inert{}, protocol.DispatchXdgPopup); err != nil {
		return err
	}
	x.popup = id
	return nil
}

func (x *xdgSurface) SetWindowGeometry(gx, gy, w, h int32) error {
	if w <= 0 || h <= 0 {
		return errorf(x.id, protocol.XdgSurfaceErrorInvalidSize, "window geometry %dx%d", w, h)
	}
	return nil
}

func (x *xdgSurface) AckConfigure(serial uint32) error {
	if x.sent == 0 || serial > x.sent {
		return errorf(x.id, protocol.XdgSurfaceErrorInvalidSerial, "ack of serial %d never sent", serial)
	}
	x.configured = true
	return nil
}

// commit runs before the surface applies its state: the first commit
// without a buffer gets the initial configure; a buffer before the
// configure was acked is an error.
func (x *xdgSurface) commit() error {
	if x.toplevel == 0 && x.popup == 0 {
		return errorf(x.id, protocol.XdgSurfaceErrorNotConstructed, "commit before get_toplevel/get_popup")
	}
	if !x.configured && x.surface.pending.buffer != nil {
		return errorf(x.id, protocol.XdgSurfaceErrorUnconfiguredBuffer, "buffer attached before the configure was acked")
	}
	if !x.initial {
		x.initial = true
		x.configure()
	}
	return nil
}

// configure sends the kiosk layout: every toplevel maximized on the first
// output, activated.
func (x *xdgSurface) configure() {
	c := x.c
	w, h := 0, 0
	if len(c.s.outputs) > 0 {
		m := c.s.outputs[0].o.Mode()
		w, h = m.Width, m.Height
	}
	if x.toplevel != 0 {
		states := binary.NativeEndian.AppendUint32(nil, protocol.XdgToplevelStateMaximized)
		states = binary.NativeEndian.AppendUint32(states, protocol.XdgToplevelStateActivated)
		c.send(protocol.XdgToplevelConfigure(c.conn, x.toplevel, int32(w), int32(h), states))
	} else {
		c.send(protocol.XdgPopupConfigure(c.conn, x.popup, 0, 0, int32(w/2), int32(h/2)))
	}
	x.sent = c.s.nextSerial()
	c.send(protocol.XdgSurfaceConfigure(c.conn, x.id, x.sent))
}

type toplevel struct{ x *xdgSurface }

func (t *toplevel) Destroy() error {
	t.x.toplevel = 0
	t.x.surface.unmap()
	return nil
}
func (t *toplevel) SetParent(parent uint32) error                        { return nil }
func (t *toplevel) SetTitle(title string) error                          { return nil }
func (t *toplevel) SetAppId(appID string) error                          { return nil }
func (t *toplevel) ShowWindowMenu(seat, serial uint32, x, y int32) error { return nil }
func (t *toplevel) Move(seat, serial uint32) error                       { return nil }
func (t *toplevel) Resize(seat, serial, edges uint32) error              { return nil }
func (t *toplevel) SetMaxSize(w, h int32) error                          { return nil }
func (t *toplevel) SetMinSize(w, h int32) error                          { return nil }
func (t *toplevel) SetMaximized() error                                  { return nil }
func (t *toplevel) UnsetMaximized() error                                { return nil }
func (t *toplevel) SetFullscreen(output uint32) error                    { return nil }
func (t *toplevel) UnsetFullscreen() error                               { return nil }
func (t *toplevel) SetMinimized() error                                  { return nil }
