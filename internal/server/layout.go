package server

import (
	"image"
	"slices"

	"github.com/minicomp/minicomp/internal/protocol"
)

// The layout: the outputs side by side, left to right in the order they
// came (a hot-plugged one to the right of the others), tops aligned.
// Surfaces, the pointer and damage live in layout coordinates; each
// output composes its own rectangle of it (compose translates the scene
// by the output's origin and clips to it), and damage is split per
// output into that output's pixels.
//
// Placement, as weston's kiosk-shell does it (each window whole on one
// output) rather than cage's default (one window stretched over every
// output): a toplevel is maximized on the first output, or fullscreen on
// the output it asked for with xdg_toplevel.set_fullscreen (the first
// without one); when that output goes, it moves to the first. Layer
// surfaces are on the output they were created for (the first without
// one), and their exclusive zones shrink that output's usable area, the
// one its toplevels fill (layershell.go); popups go with their parent. A surface's frame callbacks and
// presentation feedback come from the output it overlaps most of those
// that draw (its window's output when it overlaps none: mainOutput), and
// wl_surface.enter/leave follow every output it overlaps. The pointer
// and touch arrive in an output's pixels and are moved into the layout
// (toLayout); the cursor is drawn on every output its rectangle overlaps
// (the pointer's, and its neighbour while it crosses their edge).

// origin is where the output's top-left corner is in the layout.
func (o *output) origin() image.Point { return image.Pt(o.s.outputX(o), 0) }

// layoutRect is the output's rectangle in the layout.
func (o *output) layoutRect() image.Rectangle { return o.bounds.Add(o.origin()) }

// addLayoutDamage records damage given in layout coordinates.
func (o *output) addLayoutDamage(r image.Rectangle) {
	if !r.Empty() {
		o.addDamage(r.Sub(o.origin()))
	}
}

// toLayout turns a point in a backend output's pixels into the layout
// (an unknown output: the layout's origin).
func (s *Server) toLayout(o *output, x, y float64) (float64, float64) {
	if o == nil {
		return x, y
	}
	p := o.origin()
	return x + float64(p.X), y + float64(p.Y)
}

// treeRect is the rectangle of the surface and its shown subsurfaces in
// the layout (empty when nothing of it is shown).
func (sf *surface) treeRect() image.Rectangle {
	r, _ := sf.layoutRect()
	for _, ch := range sf.stack {
		if ch != sf && sf.content != nil {
			r = r.Union(ch.treeRect())
		}
	}
	return r
}

// mainOutput is the output a mapped surface (an entry of s.surfaces)
// is on: of the outputs that draw (not closed, not powered off), the one
// its tree overlaps most, else its own output (a toplevel's, a layer
// surface's, a popup's parent's), else the first that draws. Its frame
// callbacks and presentation feedback come from that output, so a
// surface on an output turned off is still answered by another.
func (s *Server) mainOutput(sf *surface) *output {
	r := sf.treeRect()
	var best *output
	area := 0
	for _, o := range s.outputs {
		if !o.draws() {
			continue
		}
		i := r.Intersect(o.layoutRect())
		if a := i.Dx() * i.Dy(); a > area {
			best, area = o, a
		}
	}
	if best != nil {
		return best
	}
	if sf.role != nil {
		if o := sf.role.output(); o != nil && o.draws() {
			return o
		}
	}
	for _, o := range s.outputs {
		if o.draws() {
			return o
		}
	}
	if len(s.outputs) > 0 {
		return s.outputs[0]
	}
	return nil
}

// draws reports whether the output shows frames (its window is not
// closed, it is not powered off).
func (o *output) draws() bool { return !o.closed && !o.powerOff }

// output is the output the window belongs on: a fullscreen toplevel's
// (the first when it named none or its output went or closed), a layer
// surface's, a popup's parent's; nil without outputs.
func (x *xdgSurface) output() *output {
	s := x.c.s
	for x.parent != nil {
		x = x.parent
	}
	var want *output
	switch {
	case x.layer != nil:
		want = x.layer.out
	case x.fullscreen:
		want = x.fsOut
	}
	if want != nil && !want.closed && slices.Contains(s.outputs, want) {
		return want
	}
	for _, o := range s.outputs {
		if !o.closed {
			return o
		}
	}
	if len(s.outputs) > 0 {
		return s.outputs[0]
	}
	return nil
}

// SetFullscreen makes the toplevel fill the output it names (0: the one
// it is on), less the exclusive zones of the layer surfaces there.
func (t *toplevel) SetFullscreen(outputID uint32) error {
	x := t.x
	var out *output
	if outputID != 0 {
		o, err := x.c.lookup(x.toplevel, outputID, protocol.WlOutputInterface)
		if err != nil {
			return err
		}
		out = o.handler.(*outputResource).o
	} else {
		out = x.output()
	}
	if x.fullscreen && x.fsOut == out {
		return nil
	}
	x.fullscreen, x.fsOut = true, out
	t.relayout()
	return nil
}

// UnsetFullscreen returns the toplevel to the first output, maximized.
func (t *toplevel) UnsetFullscreen() error {
	if !t.x.fullscreen {
		return nil
	}
	t.x.fullscreen, t.x.fsOut = false, nil
	t.relayout()
	return nil
}

// relayout configures the toplevel to its new place and, once mapped,
// moves it there.
func (t *toplevel) relayout() {
	x := t.x
	if !x.initial {
		return // the initial configure, on the first commit, says it
	}
	x.configure()
	if x.surface.mapped {
		x.surface.damageTree()
		x.place()
		x.surface.damageTree()
		x.placePopups()
		x.c.s.scheduleFrames()
	}
}

// placePopups moves the window's popups (and theirs) with it.
func (x *xdgSurface) placePopups() {
	for _, p := range x.popups {
		if p.surface.mapped {
			p.surface.damageTree()
			p.place()
			p.surface.damageTree()
		}
		p.placePopups()
	}
}

// toplevelRect is where the toplevel's window goes: its output's usable
// area (the output less the exclusive zones of the layer surfaces on
// it) when fullscreen, else the first output's.
func (x *xdgSurface) toplevelRect() image.Rectangle {
	s := x.c.s
	if x.fullscreen {
		return s.usableArea(x.output())
	}
	return s.usableArea(s.firstOutput())
}

// popupBounds is the rectangle a popup is kept inside: its parent's
// output (layout coordinates).
func (x *xdgSurface) popupBounds() image.Rectangle {
	if o := x.output(); o != nil {
		return o.layoutRect()
	}
	return image.Rect(0, 0, 1<<20, 1<<20)
}

// replaceToplevels moves every toplevel (and its popups) to its output
// after the outputs changed: configured again and placed.
func (s *Server) replaceToplevels() {
	for _, sf := range s.surfaces {
		if x := sf.role; x != nil && x.toplevel != 0 {
			x.configure()
			if sf.mapped {
				sf.damageTree()
				x.place()
				sf.damageTree()
				x.placePopups()
			}
		}
	}
}

// forgetOutput drops a removed output from the toplevels that asked to
// be fullscreen on it (they go to the first output, as in weston's
// kiosk-shell).
func (s *Server) forgetOutput(o *output) {
	for _, sf := range s.surfaces {
		if x := sf.role; x != nil && x.fsOut == o {
			x.fsOut = nil
		}
	}
}

// updateEnters sends wl_surface.enter and leave for what changed in the
// outputs each shown surface overlaps (its subsurfaces each on their
// own), and leave for every output of a surface no longer shown.
func (s *Server) updateEnters() {
	s.enterMark++
	for _, sf := range s.surfaces {
		s.updateTreeEnters(sf)
	}
	kept := s.entered[:0]
	for _, sf := range s.entered {
		if sf.enterMark == s.enterMark {
			kept = append(kept, sf)
			continue
		}
		if !sf.gone && s.clients[sf.c] {
			for _, o := range sf.entered {
				sf.sendEnter(o, false)
			}
		}
		sf.entered, sf.enterListed = sf.entered[:0], false
	}
	clear(s.entered[len(kept):])
	s.entered = kept
}

func (s *Server) updateTreeEnters(sf *surface) {
	if sf.content == nil {
		return
	}
	for _, x := range sf.stack {
		if x != sf {
			s.updateTreeEnters(x)
			continue
		}
		r, ok := sf.layoutRect()
		if !ok {
			continue
		}
		// Leave the outputs it no longer overlaps, then enter the new.
		for i := 0; i < len(sf.entered); {
			o := sf.entered[i]
			if slices.Contains(s.outputs, o) && r.Overlaps(o.layoutRect()) {
				i++
				continue
			}
			sf.sendEnter(o, false)
			sf.entered = slices.Delete(sf.entered, i, i+1)
		}
		for _, o := range s.outputs {
			if r.Overlaps(o.layoutRect()) && !slices.Contains(sf.entered, o) {
				sf.entered = append(sf.entered, o)
				sf.sendEnter(o, true)
			}
		}
		if len(sf.entered) > 0 {
			if !sf.enterListed {
				sf.enterListed = true
				s.entered = append(s.entered, sf)
			}
			sf.enterMark = s.enterMark
		}
	}
}

// sendEnter sends wl_surface.enter (or leave) for o through each of the
// client's wl_output objects of it.
func (sf *surface) sendEnter(o *output, enter bool) {
	c := sf.c
	for _, id := range c.outputIDs[o] {
		if enter {
			c.send(protocol.WlSurfaceEnter(c.conn, sf.id, id))
		} else {
			c.send(protocol.WlSurfaceLeave(c.conn, sf.id, id))
		}
	}
}

// enterBound tells a client that just bound o which of its surfaces are
// on it.
func (o *output) enterBound(c *Client, id uint32) {
	for _, sf := range o.s.entered {
		if sf.c == c && slices.Contains(sf.entered, o) {
			c.send(protocol.WlSurfaceEnter(c.conn, sf.id, id))
		}
	}
}

// surfaceGoneFromLayout forgets a destroyed surface's outputs (no leave:
// the object is gone).
func (s *Server) surfaceGoneFromLayout(sf *surface) {
	sf.entered, sf.enterListed = sf.entered[:0], false
	if i := slices.Index(s.entered, sf); i >= 0 {
		s.entered = slices.Delete(s.entered, i, i+1)
	}
}

// soleSurface returns the one mapped surface whose tree overlaps the
// output (nil: none or several), the candidate for direct scanout.
func (o *output) soleSurface() *surface {
	lr := o.layoutRect()
	var only *surface
	for _, sf := range o.s.surfaces {
		if sf.treeRect().Overlaps(lr) {
			if only != nil {
				return nil
			}
			only = sf
		}
	}
	return only
}

// sendGeometry sends wl_output.geometry: the output's place in the
// layout and how its panel is mounted.
func (o *output) sendGeometry(c *Client, id uint32) {
	at := o.origin()
	c.send(protocol.WlOutputGeometry(c.conn, id, int32(at.X), int32(at.Y), 0, 0, protocol.WlOutputSubpixelUnknown, "minicomp", o.o.Name(), int32(o.transform())))
}

// geometriesChanged tells every wl_output its output's place again (an
// output before it came, went or changed size).
func (s *Server) geometriesChanged() {
	for c := range s.clients {
		for _, o := range s.outputs {
			for _, id := range c.outputIDs[o] {
				o.sendGeometry(c, id)
				if c.objects[id].version >= 2 {
					c.send(protocol.WlOutputDone(c.conn, id))
				}
			}
		}
	}
}
