package server

import (
	"image"
	"slices"

	"github.com/minicomp/minicomp/internal/protocol"
)

// wlr-layer-shell: panels, on-screen keyboards, backgrounds and overlays.
// A layer surface is an xdgSurface whose layer field is set (so mapping,
// unmapping, popups and the scene treat it like a window); it is placed
// by its anchors and margins in the bounds of the output it asked for
// (the first by default; layout.go), stacked in its layer
// (background and bottom under the windows, top and overlay above), and
// its exclusive zone shrinks the usable area of that output: the area
// the kiosk's toplevels there fill, maximized (the first output) or
// fullscreen (any).

func (s *Server) bindLayerShell(c *Client, id, version uint32) error {
	_, err := register[protocol.ZwlrLayerShellV1Handler](c, id, protocol.ZwlrLayerShellV1Interface, version,
		&layerShell{c: c, id: id, version: version}, protocol.DispatchZwlrLayerShellV1)
	return err
}

type layerShell struct {
	c       *Client
	id      uint32
	version uint32
}

func (l *layerShell) Destroy() error { return nil }

func (l *layerShell) GetLayerSurface(id, surfaceID, outputID, layer uint32, namespace string) error {
	sf, err := l.c.roleless(l.id, surfaceID, protocol.ZwlrLayerShellV1ErrorRole, protocol.ZwlrLayerShellV1ErrorAlreadyConstructed)
	if err != nil {
		return err
	}
	if layer > protocol.ZwlrLayerShellV1LayerOverlay {
		return errorf(l.id, protocol.ZwlrLayerShellV1ErrorInvalidLayer, "layer %d", layer)
	}
	var out *output
	if outputID != 0 {
		oo, err := l.c.lookup(l.id, outputID, protocol.WlOutputInterface)
		if err != nil {
			return err
		}
		out = oo.handler.(*outputResource).o
	}
	x := &xdgSurface{c: l.c, id: id, surface: sf, version: l.version}
	ls := &layerSurface{x: x, id: id, version: l.version, out: out, namespace: namespace}
	ls.pending.layer = layer
	x.layer = ls
	lo, err := register[protocol.ZwlrLayerSurfaceV1Handler](l.c, id, protocol.ZwlrLayerSurfaceV1Interface, l.version, ls, protocol.DispatchZwlrLayerSurfaceV1)
	if err != nil {
		return err
	}
	sf.role = x
	s := l.c.s
	s.layers = append(s.layers, ls)
	if out != nil && out.closed {
		s.layersOutputGone(out)
	}
	lo.onDestroy = func() {
		s.layers = without(s.layers, ls)
		x.dismissPopups()
		if !sf.gone {
			sf.unmap()
			sf.role = nil
		}
		s.arrangeLayers()
	}
	return nil
}

// layerState is a layer surface's double-buffered state.
type layerState struct {
	size   image.Point // 0: stretched between opposite anchors
	anchor uint32
	zone   int32
	// margins, top right bottom left
	margin [4]int32
	kb     uint32 // keyboard interactivity
	layer  uint32
}

// layerSurface is one zwlr_layer_surface_v1.
type layerSurface struct {
	x                *xdgSurface
	id               uint32
	version          uint32
	out              *output // the output asked for (nil: the compositor's choice)
	namespace        string
	pending, current layerState
	// bounds is the rectangle it is laid out in (set by arrangeLayers);
	// sentSize the size in its last configure
	bounds   image.Rectangle
	sentSize image.Point
	closed   bool // its output went away
}

func (ls *layerSurface) SetSize(w, h uint32) error {
	if w > 1<<16 || h > 1<<16 {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidSize, "size %dx%d", w, h)
	}
	ls.pending.size = image.Pt(int(w), int(h))
	return nil
}

const anchorAll = protocol.ZwlrLayerSurfaceV1AnchorTop | protocol.ZwlrLayerSurfaceV1AnchorBottom |
	protocol.ZwlrLayerSurfaceV1AnchorLeft | protocol.ZwlrLayerSurfaceV1AnchorRight

func (ls *layerSurface) SetAnchor(anchor uint32) error {
	if anchor&^anchorAll != 0 {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidAnchor, "anchor %#x", anchor)
	}
	ls.pending.anchor = anchor
	return nil
}

func (ls *layerSurface) SetExclusiveZone(zone int32) error {
	ls.pending.zone = zone
	return nil
}

func (ls *layerSurface) SetMargin(top, right, bottom, left int32) error {
	for _, m := range [4]int32{top, right, bottom, left} {
		if m < -1<<16 || m > 1<<16 {
			return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidSize, "margin %d", m)
		}
	}
	ls.pending.margin = [4]int32{top, right, bottom, left}
	return nil
}

func (ls *layerSurface) SetKeyboardInteractivity(k uint32) error {
	if k > protocol.ZwlrLayerSurfaceV1KeyboardInteractivityOnDemand || ls.version < 4 && k > protocol.ZwlrLayerSurfaceV1KeyboardInteractivityExclusive {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidKeyboardInteractivity, "keyboard interactivity %d", k)
	}
	ls.pending.kb = k
	return nil
}

func (ls *layerSurface) SetLayer(layer uint32) error {
	if layer > protocol.ZwlrLayerShellV1LayerOverlay {
		// The error belongs to the shell's enum: posted on the surface.
		return errorf(ls.id, protocol.ZwlrLayerShellV1ErrorInvalidLayer, "layer %d", layer)
	}
	ls.pending.layer = layer
	return nil
}

// GetPopup makes the layer surface the parent of an xdg_popup created
// without one.
func (ls *layerSurface) GetPopup(popupID uint32) error {
	o, err := ls.x.c.lookup(ls.id, popupID, protocol.XdgPopupInterface)
	if err != nil {
		return err
	}
	p := o.handler.(*popup).x
	if p.parent != nil {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidSurfaceState, "popup %d already has a parent", popupID)
	}
	p.parent = ls.x
	ls.x.popups = append(ls.x.popups, p)
	return nil
}

func (ls *layerSurface) AckConfigure(serial uint32) error {
	if ls.x.sent == 0 || serial > ls.x.sent {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidSurfaceState, "ack of serial %d never sent", serial)
	}
	ls.x.configured = true
	return nil
}

func (ls *layerSurface) Destroy() error { return nil }

// commit validates and applies the pending state (before the surface's
// own state is applied; xdgSurface.commit sends the initial configure).
func (ls *layerSurface) commit() error {
	p := &ls.pending
	const lr = protocol.ZwlrLayerSurfaceV1AnchorLeft | protocol.ZwlrLayerSurfaceV1AnchorRight
	const tb = protocol.ZwlrLayerSurfaceV1AnchorTop | protocol.ZwlrLayerSurfaceV1AnchorBottom
	if p.size.X == 0 && p.anchor&lr != lr {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidSize, "width 0 without left and right anchors")
	}
	if p.size.Y == 0 && p.anchor&tb != tb {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidSize, "height 0 without top and bottom anchors")
	}
	if !ls.x.configured && ls.x.surface.pending.buffer != nil {
		return errorf(ls.id, protocol.ZwlrLayerSurfaceV1ErrorInvalidSurfaceState, "buffer attached before the configure was acked")
	}
	restack := p.layer != ls.current.layer
	refocus := p.kb != ls.current.kb
	ls.current = *p
	s := ls.x.c.s
	if restack && ls.x.surface.mapped {
		s.restack()
	}
	if refocus {
		s.seat.refocusKeyboard()
	}
	return nil
}

// committed runs after the surface applied its state: its size may have
// changed where it is anchored, and its zone the area of the others.
func (ls *layerSurface) committed() { ls.x.c.s.arrangeLayers() }

// configure sends the size the surface should take in its bounds.
func (ls *layerSurface) configure() {
	c := ls.x.c
	ls.bounds = c.s.layerBounds(ls)
	sz := ls.wantSize()
	ls.sentSize = sz
	ls.x.sent = c.s.nextSerial()
	c.send(protocol.ZwlrLayerSurfaceV1Configure(c.conn, ls.id, ls.x.sent, uint32(sz.X), uint32(sz.Y)))
}

// wantSize is the size asked for, its 0s stretched between the margins.
func (ls *layerSurface) wantSize() image.Point {
	st, b := &ls.current, ls.bounds
	sz := st.size
	if sz.X == 0 {
		sz.X = max(b.Dx()-int(st.margin[1])-int(st.margin[3]), 1)
	}
	if sz.Y == 0 {
		sz.Y = max(b.Dy()-int(st.margin[0])-int(st.margin[2]), 1)
	}
	return sz
}

// place is the layout position of the surface's top-left corner: at its
// anchored edges (plus margins), centred on an axis anchored at both or
// neither end.
func (ls *layerSurface) place() image.Point {
	st, b, sz := &ls.current, ls.bounds, ls.x.surface.size()
	m := st.margin
	at := func(lo, hi bool, min, max, size int, mlo, mhi int32) int {
		switch {
		case lo && !hi:
			return min + int(mlo)
		case hi && !lo:
			return max - int(mhi) - size
		case lo && hi:
			return min + int(mlo) + (max-min-int(mlo)-int(mhi)-size)/2
		}
		return min + (max-min-size)/2
	}
	a := st.anchor
	return image.Pt(
		at(a&protocol.ZwlrLayerSurfaceV1AnchorLeft != 0, a&protocol.ZwlrLayerSurfaceV1AnchorRight != 0, b.Min.X, b.Max.X, sz.X, m[3], m[1]),
		at(a&protocol.ZwlrLayerSurfaceV1AnchorTop != 0, a&protocol.ZwlrLayerSurfaceV1AnchorBottom != 0, b.Min.Y, b.Max.Y, sz.Y, m[0], m[2]))
}

// exclusiveEdge is the edge the exclusive zone applies to: the one edge
// the surface is anchored to, alone or with both perpendicular ones (0:
// none, the zone then only keeps others from overlapping nothing).
func (st *layerState) exclusiveEdge() uint32 {
	const (
		t = protocol.ZwlrLayerSurfaceV1AnchorTop
		b = protocol.ZwlrLayerSurfaceV1AnchorBottom
		l = protocol.ZwlrLayerSurfaceV1AnchorLeft
		r = protocol.ZwlrLayerSurfaceV1AnchorRight
	)
	switch st.anchor {
	case t, t | l | r:
		return t
	case b, b | l | r:
		return b
	case l, l | t | b:
		return l
	case r, r | t | b:
		return r
	}
	return 0
}

// shrink takes the surface's exclusive zone (and its margin on that edge)
// off area.
func (st *layerState) shrink(area image.Rectangle) image.Rectangle {
	if st.zone <= 0 {
		return area
	}
	switch st.exclusiveEdge() {
	case protocol.ZwlrLayerSurfaceV1AnchorTop:
		area.Min.Y = min(area.Min.Y+int(st.zone+st.margin[0]), area.Max.Y)
	case protocol.ZwlrLayerSurfaceV1AnchorBottom:
		area.Max.Y = max(area.Max.Y-int(st.zone+st.margin[2]), area.Min.Y)
	case protocol.ZwlrLayerSurfaceV1AnchorLeft:
		area.Min.X = min(area.Min.X+int(st.zone+st.margin[3]), area.Max.X)
	case protocol.ZwlrLayerSurfaceV1AnchorRight:
		area.Max.X = max(area.Max.X-int(st.zone+st.margin[1]), area.Min.X)
	}
	return area
}

// firstOutput is the output maximized toplevels fill: the first (nil
// without outputs).
func (s *Server) firstOutput() *output {
	if len(s.outputs) == 0 {
		return nil
	}
	return s.outputs[0]
}

// output is the output the layer surface is laid out on: the one it
// asked for while that is there and not closed, else the first.
func (ls *layerSurface) output() *output {
	s := ls.x.c.s
	if ls.out != nil && !ls.out.closed && slices.Contains(s.outputs, ls.out) {
		return ls.out
	}
	return s.firstOutput()
}

// usableArea is o's rectangle less the exclusive zones of the layer
// surfaces mapped on o, taken in stacking order from overlay down: where
// the toplevels on o go (empty for nil).
func (s *Server) usableArea(o *output) image.Rectangle {
	area, _ := s.layerAreas(o, nil)
	return area
}

// layerBounds is where one layer surface is laid out on its output:
// exclusive ones in what the exclusive ones above left, zone 0 in the
// usable area, zone -1 the whole output.
func (s *Server) layerBounds(ls *layerSurface) image.Rectangle {
	_, b := s.layerAreas(ls.output(), ls)
	return b
}

// layerAreas is o's usable area, and the bounds of of (a layer surface
// on o, or nil).
func (s *Server) layerAreas(o *output, of *layerSurface) (area, bounds image.Rectangle) {
	if o == nil {
		return image.Rectangle{}, image.Rectangle{}
	}
	full := o.layoutRect()
	area = full
	bounds = full
	for layer := int(protocol.ZwlrLayerShellV1LayerOverlay); layer >= 0; layer-- {
		for _, ls := range s.layers {
			st := &ls.current
			if int(st.layer) != layer || st.zone <= 0 || ls.output() != o {
				continue
			}
			if ls == of {
				bounds = area
			}
			if ls.x.surface.mapped {
				area = st.shrink(area)
			}
		}
	}
	if of != nil && of.current.zone == 0 {
		bounds = area
	}
	return area, bounds
}

// layersOutputGone closes the layer surfaces that asked for an output
// that went away (zwlr_layer_surface_v1.closed: the client destroys
// them); they are unmapped at once.
func (s *Server) layersOutputGone(o *output) {
	for _, ls := range s.layers {
		if ls.out != o || ls.closed {
			continue
		}
		ls.closed = true
		ls.x.dismissed = true // never mapped again
		ls.x.c.send(protocol.ZwlrLayerSurfaceV1Closed(ls.x.c.conn, ls.id))
		if !ls.x.surface.gone {
			ls.x.surface.unmap()
		}
	}
}

// arrangeLayers lays every layer surface out again (a layer surface
// mapped, unmapped, changed its size or zone, an output changed): new
// sizes are configured, moved surfaces damaged, and the toplevels whose
// output's usable area changed are configured to the new area and moved.
func (s *Server) arrangeLayers() {
	for _, ls := range s.layers {
		b := s.layerBounds(ls)
		ls.bounds = b
		if ls.x.initial && !ls.x.surface.gone && ls.wantSize() != ls.sentSize {
			ls.configure()
		}
		if sf := ls.x.surface; sf.mapped {
			if pos := ls.place(); pos != ls.x.pos {
				sf.damageTree()
				ls.x.pos = pos
				sf.damageTree()
			}
		}
	}
	moved := false
	for _, sf := range s.surfaces {
		if x := sf.role; x != nil && x.toplevel != 0 && x.initial && x.toplevelRect() != x.sentArea {
			x.configure()
			sf.damageTree()
			x.place()
			sf.damageTree()
			moved = true
		}
	}
	if !moved {
		return
	}
	// Popups follow their windows (parents are mapped, so listed, first).
	for _, sf := range s.surfaces {
		if x := sf.role; x != nil && x.popup != 0 && x.parent != nil {
			sf.damageTree()
			x.place()
			sf.damageTree()
		}
	}
}

// layerRank orders the scene: background, bottom, windows (and their
// popups), top, overlay; a popup ranks with its parent.
func layerRank(sf *surface) int {
	x := sf.role
	for x != nil && x.parent != nil {
		x = x.parent
	}
	if x == nil || x.layer == nil {
		return 2
	}
	if l := int(x.layer.current.layer); l <= protocol.ZwlrLayerShellV1LayerBottom {
		return l
	}
	return int(x.layer.current.layer) + 1
}

// restack keeps the mapped surfaces in layer order (stable: within a
// layer, in the order they were mapped).
func (s *Server) restack() {
	if slices.IsSortedFunc(s.surfaces, compareRank) {
		return
	}
	slices.SortStableFunc(s.surfaces, compareRank)
	s.damageAll()
}

func compareRank(a, b *surface) int { return layerRank(a) - layerRank(b) }

// surfaceMapped is told of every surface mapped (after it joined
// s.surfaces): it goes to its layer, and a layer surface's zone counts.
func (s *Server) surfaceMapped(sf *surface) {
	s.restack()
	if sf.role != nil && sf.role.layer != nil {
		s.arrangeLayers()
		s.seat.refocusKeyboard()
	}
}

// surfaceUnmapped is told of every surface unmapped.
func (s *Server) surfaceUnmapped(sf *surface) {
	s.inhibitorHidden(sf)
	if sf.role != nil && sf.role.layer != nil {
		s.arrangeLayers()
	}
}

// takesKeyboard reports whether a mapped surface may have the keyboard
// focus: a toplevel, or a layer surface that asks for it (exclusive:
// given it whenever it is the top-most such surface; on_demand: when
// clicked).
func (sf *surface) takesKeyboard(exclusiveOnly bool) bool {
	x := sf.role
	if x == nil || !sf.mapped {
		return false
	}
	if x.toplevel != 0 {
		return true
	}
	if x.layer == nil {
		return false
	}
	switch x.layer.current.kb {
	case protocol.ZwlrLayerSurfaceV1KeyboardInteractivityExclusive:
		return true
	case protocol.ZwlrLayerSurfaceV1KeyboardInteractivityOnDemand:
		return !exclusiveOnly
	}
	return false
}
