package server

import (
	"encoding/binary"
	"image"
	"time"

	"github.com/minicomp/minicomp/internal/protocol"
)

func (s *Server) bindXdgWmBase(c *Client, id, version uint32) error {
	w := &wmBase{c: c, id: id, version: version}
	o, err := register[protocol.XdgWmBaseHandler](c, id, protocol.XdgWmBaseInterface, version, w, protocol.DispatchXdgWmBase)
	if err == nil {
		s.wmBaseBound(w, o)
	}
	return err
}

type wmBase struct {
	c        *Client
	id       uint32
	version  uint32
	surfaces int // xdg_surfaces made from it and not destroyed
	// the ping not yet answered (0: none), when it was sent, and whether
	// the client was logged as not responding
	pingSerial   uint32
	pingSent     time.Time
	unresponsive bool
}

func (w *wmBase) CreatePositioner(id uint32) error {
	_, err := register[protocol.XdgPositionerHandler](w.c, id, protocol.XdgPositionerInterface, w.version, &positioner{id: id}, protocol.DispatchXdgPositioner)
	return err
}

func (w *wmBase) GetXdgSurface(id, surfaceID uint32) error {
	sf, err := w.c.roleless(w.id, surfaceID, protocol.XdgWmBaseErrorRole, protocol.XdgWmBaseErrorInvalidSurfaceState)
	if err != nil {
		return err
	}
	x := &xdgSurface{c: w.c, id: id, surface: sf, version: w.version, wmBase: w.id}
	xo, err := register[protocol.XdgSurfaceHandler](w.c, id, protocol.XdgSurfaceInterface, w.version, x, protocol.DispatchXdgSurface)
	if err != nil {
		return err
	}
	sf.role = x
	w.surfaces++
	xo.onDestroy = func() {
		w.surfaces--
		x.dismissPopups()
		if x.parent != nil {
			x.parent.popups = without(x.parent.popups, x)
		}
		if !sf.gone {
			sf.unmap()
			sf.role = nil
		}
	}
	return nil
}

// roleless looks up a wl_surface named in a request to object from that
// gives it a role: one with a role already is error roleErr, one with a
// buffer bufferErr (the interface's codes).
func (c *Client) roleless(from, id, roleErr, bufferErr uint32) (*surface, error) {
	o, err := c.lookup(from, id, protocol.WlSurfaceInterface)
	if err != nil {
		return nil, err
	}
	sf := o.handler.(*surface)
	if sf.role != nil || sf.sub != nil {
		return nil, errorf(from, roleErr, "surface %d already has a role", id)
	}
	if sf.content != nil || sf.pending.buffer != nil {
		return nil, errorf(from, bufferErr, "surface %d already has a buffer", id)
	}
	return sf, nil
}

// xdgSurface is an xdg_surface with its toplevel or popup.
type xdgSurface struct {
	c          *Client
	id         uint32
	wmBase     uint32 // the xdg_wm_base it came from
	version    uint32
	surface    *surface
	toplevel   uint32 // object id, 0 if none
	popup      uint32
	configured bool   // the client acked a configure
	sent       uint32 // serial of the last configure sent
	initial    bool   // the initial configure was sent
	// geometry is the window's part of the surface (empty: all of it).
	geometry, pendingGeometry image.Rectangle
	pos                       image.Point // the surface's origin in the layout
	// A popup's parent, its placement (relative to the parent's window
	// geometry) and the rules it came from; a window's open popups.
	parent      *xdgSurface
	popupRect   image.Rectangle // in use (applied on the commit after the ack)
	sentRect    image.Rectangle // in the last configure, serial popupSerial
	sentArea    image.Rectangle // a toplevel's: its area in the last configure (layout)
	ackedRect   image.Rectangle
	popupSerial uint32
	dismissed   bool // popup_done was sent: never shown again
	positioner  positioner
	popups      []*xdgSurface
	layer       *layerSurface // a zwlr_layer_surface_v1, not an xdg_surface
	// fullscreen: the toplevel asked for it, on fsOut (nil: the first
	// output; layout.go)
	fullscreen bool
	fsOut      *output
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

func (x *xdgSurface) GetPopup(id, parent, positionerID uint32) error {
	if x.toplevel != 0 || x.popup != 0 {
		return errorf(x.id, protocol.XdgSurfaceErrorAlreadyConstructed, "xdg_surface already has a role object")
	}
	pos, err := x.completePositioner(x.id, positionerID)
	if err != nil {
		return err
	}
	if parent != 0 {
		pa, err := x.c.lookup(x.id, parent, protocol.XdgSurfaceInterface)
		if err != nil {
			return err
		}
		x.parent = pa.handler.(*xdgSurface)
		x.parent.popups = append(x.parent.popups, x)
	}
	x.positioner = *pos
	if _, err := register[protocol.XdgPopupHandler](x.c, id, protocol.XdgPopupInterface, x.version, &popup{x: x}, protocol.DispatchXdgPopup); err != nil {
		return err
	}
	x.popup = id
	return nil
}

func (x *xdgSurface) SetWindowGeometry(gx, gy, w, h int32) error {
	if w <= 0 || h <= 0 {
		return errorf(x.id, protocol.XdgSurfaceErrorInvalidSize, "window geometry %dx%d", w, h)
	}
	x.pendingGeometry = image.Rect(int(gx), int(gy), int(gx+w), int(gy+h))
	return nil
}

func (x *xdgSurface) AckConfigure(serial uint32) error {
	if x.sent == 0 || serial > x.sent {
		return errorf(x.id, protocol.XdgSurfaceErrorInvalidSerial, "ack of serial %d never sent", serial)
	}
	x.configured = true
	if x.popup != 0 && serial >= x.popupSerial {
		x.ackedRect = x.sentRect
	}
	return nil
}

// unmapped returns the window to its state right after get_toplevel or
// get_popup (xdg-shell: a null buffer unmaps; mapping again starts with
// an initial commit and configure).
func (x *xdgSurface) unmapped() {
	x.configured, x.initial = false, false
	x.geometry, x.pendingGeometry = image.Rectangle{}, image.Rectangle{}
}

// commit runs before the surface applies its state: the first commit
// without a buffer gets the initial configure; a buffer before the
// configure was acked is an error.
func (x *xdgSurface) commit() error {
	if x.layer != nil {
		if err := x.layer.commit(); err != nil {
			return err
		}
	} else if x.toplevel == 0 && x.popup == 0 {
		return errorf(x.id, protocol.XdgSurfaceErrorNotConstructed, "commit before get_toplevel/get_popup")
	}
	if !x.configured && x.surface.pending.buffer != nil {
		return errorf(x.id, protocol.XdgSurfaceErrorUnconfiguredBuffer, "buffer attached before the configure was acked")
	}
	if !x.initial {
		x.initial = true
		x.configure()
	}
	moved := x.geometry != x.pendingGeometry || x.popupRect != x.ackedRect
	x.geometry, x.popupRect = x.pendingGeometry, x.ackedRect
	if moved && x.surface.mapped {
		x.surface.damageTree()
		x.place()
		x.surface.damageTree()
	}
	return nil
}

// windowGeometry is the window's rectangle in surface coordinates.
func (x *xdgSurface) windowGeometry() image.Rectangle {
	if x.geometry.Empty() {
		return image.Rectangle{Max: x.surface.size()}
	}
	return x.geometry
}

// place sets the surface's position in the layout: a toplevel's window
// at the output's origin (kiosk), a popup where its positioner put it.
func (x *xdgSurface) place() {
	if x.layer != nil {
		x.pos = x.layer.place()
		return
	}
	if x.popup != 0 {
		x.pos = x.parentOrigin().Add(x.popupRect.Min).Sub(x.windowGeometry().Min)
		return
	}
	x.pos = x.toplevelRect().Min.Sub(x.windowGeometry().Min)
}

// parentOrigin is where the popup parent's window geometry starts in the
// layout (the origin without a parent).
func (x *xdgSurface) parentOrigin() image.Point {
	if x.parent == nil {
		return image.Point{}
	}
	return x.parent.pos.Add(x.parent.windowGeometry().Min)
}

// placePopup runs the positioner against the parent's output, in the
// parent's window coordinates.
func (x *xdgSurface) placePopup() image.Rectangle {
	return x.positioner.place(x.popupBounds().Sub(x.parentOrigin()))
}

// dismissPopups tells the window's open popups they are gone (their
// parent went away) and takes them off the screen.
func (x *xdgSurface) dismissPopups() {
	for _, p := range x.popups {
		p.dismissPopups()
		p.parent = nil
		p.dismissed = true
		if p.popup != 0 {
			x.c.send(protocol.XdgPopupPopupDone(x.c.conn, p.popup))
		}
		p.surface.unmap()
	}
	x.popups = nil
}

// completePositioner looks up a positioner named in a request to object
// from; one without a size or anchor rectangle is xdg_wm_base's
// invalid_positioner.
func (x *xdgSurface) completePositioner(from, id uint32) (*positioner, error) {
	po, err := x.c.lookup(from, id, protocol.XdgPositionerInterface)
	if err != nil {
		return nil, err
	}
	pos := po.handler.(*positioner)
	if !pos.complete() {
		return nil, errorf(x.wmBase, protocol.XdgWmBaseErrorInvalidPositioner, "positioner %d has no size or anchor rectangle", id)
	}
	return pos, nil
}

// popup is an xdg_popup.
type popup struct{ x *xdgSurface }

func (p *popup) Destroy() error {
	p.x.dismissPopups()
	p.x.popup = 0
	p.x.surface.unmap()
	return nil
}

func (p *popup) Grab(seat, serial uint32) error { return nil }

// Reposition places the popup by a new positioner: repositioned, then a
// configure with the new placement.
func (p *popup) Reposition(positionerID, token uint32) error {
	pos, err := p.x.completePositioner(p.x.popup, positionerID)
	if err != nil {
		return err
	}
	p.x.positioner = *pos
	p.x.c.send(protocol.XdgPopupRepositioned(p.x.c.conn, p.x.popup, token))
	p.x.configure()
	return nil
}

// configure sends the kiosk layout: every toplevel maximized in the first
// output's area that layer surfaces' exclusive zones leave, or
// fullscreen on its output (layout.go), activated.
func (x *xdgSurface) configure() {
	if x.layer != nil {
		x.layer.configure()
		return
	}
	c := x.c
	area := x.toplevelRect()
	w, h := area.Dx(), area.Dy()
	if x.toplevel != 0 {
		x.sentArea = area
		state := uint32(protocol.XdgToplevelStateMaximized)
		if x.fullscreen {
			state = protocol.XdgToplevelStateFullscreen
		}
		states := binary.NativeEndian.AppendUint32(nil, state)
		states = binary.NativeEndian.AppendUint32(states, protocol.XdgToplevelStateActivated)
		c.send(protocol.XdgToplevelConfigure(c.conn, x.toplevel, int32(w), int32(h), states))
	} else {
		x.sentRect = x.placePopup()
		r := x.sentRect
		c.send(protocol.XdgPopupConfigure(c.conn, x.popup, int32(r.Min.X), int32(r.Min.Y), int32(r.Dx()), int32(r.Dy())))
	}
	x.sent = c.s.nextSerial()
	if x.popup != 0 {
		x.popupSerial = x.sent
	}
	c.send(protocol.XdgSurfaceConfigure(c.conn, x.id, x.sent))
}

type toplevel struct{ x *xdgSurface }

func (t *toplevel) Destroy() error {
	t.x.dismissPopups()
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
func (t *toplevel) SetMinimized() error                                  { return nil }
