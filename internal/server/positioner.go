package server

import (
	"image"

	"github.com/minicomp/minicomp/internal/protocol"
)

// positioner is an xdg_positioner: the rules that place a popup relative
// to its parent. Popups copy it when they are created or repositioned.
type positioner struct {
	id         uint32
	size       image.Point
	anchorRect image.Rectangle
	anchorSet  bool // a 0×0 anchor rectangle (a point) is valid
	anchor     uint32
	gravity    uint32
	adjust     uint32
	offset     image.Point
}

func (p *positioner) Destroy() error { return nil }

func (p *positioner) SetSize(w, h int32) error {
	if w <= 0 || h <= 0 {
		return errorf(p.id, protocol.XdgPositionerErrorInvalidInput, "size %dx%d", w, h)
	}
	p.size = image.Pt(int(w), int(h))
	return nil
}

func (p *positioner) SetAnchorRect(x, y, w, h int32) error {
	if w < 0 || h < 0 {
		return errorf(p.id, protocol.XdgPositionerErrorInvalidInput, "anchor rectangle %dx%d", w, h)
	}
	p.anchorRect = image.Rect(int(x), int(y), int(x)+int(w), int(y)+int(h))
	p.anchorSet = true
	return nil
}

func (p *positioner) SetAnchor(a uint32) error {
	if a > protocol.XdgPositionerAnchorBottomRight {
		return errorf(p.id, protocol.XdgPositionerErrorInvalidInput, "anchor %d", a)
	}
	p.anchor = a
	return nil
}

func (p *positioner) SetGravity(g uint32) error {
	if g > protocol.XdgPositionerGravityBottomRight {
		return errorf(p.id, protocol.XdgPositionerErrorInvalidInput, "gravity %d", g)
	}
	p.gravity = g
	return nil
}

func (p *positioner) SetConstraintAdjustment(a uint32) error { p.adjust = a; return nil }
func (p *positioner) SetOffset(x, y int32) error             { p.offset = image.Pt(int(x), int(y)); return nil }
func (p *positioner) SetReactive() error                     { return nil }
func (p *positioner) SetParentSize(w, h int32) error         { return nil }
func (p *positioner) SetParentConfigure(serial uint32) error { return nil }

// complete reports whether the positioner has what a popup needs.
func (p *positioner) complete() bool {
	return p.size.X > 0 && p.size.Y > 0 && p.anchorSet
}

// edges of an anchor or gravity value: -1 left/top, 0 centre, +1 right/bottom.
func edges(v uint32) (dx, dy int) {
	switch v {
	case protocol.XdgPositionerAnchorTop:
		return 0, -1
	case protocol.XdgPositionerAnchorBottom:
		return 0, 1
	case protocol.XdgPositionerAnchorLeft:
		return -1, 0
	case protocol.XdgPositionerAnchorRight:
		return 1, 0
	case protocol.XdgPositionerAnchorTopLeft:
		return -1, -1
	case protocol.XdgPositionerAnchorBottomLeft:
		return -1, 1
	case protocol.XdgPositionerAnchorTopRight:
		return 1, -1
	case protocol.XdgPositionerAnchorBottomRight:
		return 1, 1
	}
	return 0, 0
}

// unconstrained places the popup with anchor and gravity taken as edges
// (ax, ay: anchor; gx, gy: gravity), in the parent's window coordinates.
func (p *positioner) unconstrained(ax, ay, gx, gy int) image.Rectangle {
	a := p.anchorRect
	pt := image.Pt((a.Min.X+a.Max.X)/2, (a.Min.Y+a.Max.Y)/2)
	switch ax {
	case -1:
		pt.X = a.Min.X
	case 1:
		pt.X = a.Max.X
	}
	switch ay {
	case -1:
		pt.Y = a.Min.Y
	case 1:
		pt.Y = a.Max.Y
	}
	pos := pt.Add(p.offset)
	switch gx {
	case -1:
		pos.X -= p.size.X
	case 0:
		pos.X -= p.size.X / 2
	}
	switch gy {
	case -1:
		pos.Y -= p.size.Y
	case 0:
		pos.Y -= p.size.Y / 2
	}
	return image.Rectangle{Min: pos, Max: pos.Add(p.size)}
}

// place returns the popup's geometry relative to its parent's window
// geometry, kept inside bounds (the output, in the same coordinates) by
// the allowed adjustments in xdg-shell's order: flip, then slide, then
// resize, each axis on its own.
func (p *positioner) place(bounds image.Rectangle) image.Rectangle {
	ax, ay := edges(p.anchor)
	gx, gy := edges(p.gravity)
	r := p.unconstrained(ax, ay, gx, gy)
	outX := func(r image.Rectangle) bool { return r.Min.X < bounds.Min.X || r.Max.X > bounds.Max.X }
	outY := func(r image.Rectangle) bool { return r.Min.Y < bounds.Min.Y || r.Max.Y > bounds.Max.Y }
	if outX(r) && p.adjust&protocol.XdgPositionerConstraintAdjustmentFlipX != 0 && gx != 0 {
		if f := p.unconstrained(-ax, ay, -gx, gy); !outX(f) {
			r.Min.X, r.Max.X = f.Min.X, f.Max.X
		}
	}
	if outY(r) && p.adjust&protocol.XdgPositionerConstraintAdjustmentFlipY != 0 && gy != 0 {
		if f := p.unconstrained(ax, -ay, gx, -gy); !outY(f) {
			r.Min.Y, r.Max.Y = f.Min.Y, f.Max.Y
		}
	}
	if outX(r) && p.adjust&protocol.XdgPositionerConstraintAdjustmentSlideX != 0 {
		shift := 0
		if r.Max.X > bounds.Max.X {
			shift = bounds.Max.X - r.Max.X
		}
		if r.Min.X+shift < bounds.Min.X {
			shift = bounds.Min.X - r.Min.X
		}
		r = r.Add(image.Pt(shift, 0))
	}
	if outY(r) && p.adjust&protocol.XdgPositionerConstraintAdjustmentSlideY != 0 {
		shift := 0
		if r.Max.Y > bounds.Max.Y {
			shift = bounds.Max.Y - r.Max.Y
		}
		if r.Min.Y+shift < bounds.Min.Y {
			shift = bounds.Min.Y - r.Min.Y
		}
		r = r.Add(image.Pt(0, shift))
	}
	if outX(r) && p.adjust&protocol.XdgPositionerConstraintAdjustmentResizeX != 0 {
		r.Min.X, r.Max.X = max(r.Min.X, bounds.Min.X), min(r.Max.X, bounds.Max.X)
		if r.Dx() <= 0 {
			r.Max.X = r.Min.X + 1
		}
	}
	if outY(r) && p.adjust&protocol.XdgPositionerConstraintAdjustmentResizeY != 0 {
		r.Min.Y, r.Max.Y = max(r.Min.Y, bounds.Min.Y), min(r.Max.Y, bounds.Max.Y)
		if r.Dy() <= 0 {
			r.Max.Y = r.Min.Y + 1
		}
	}
	return r
}
