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
	fx := p.unconstrained(-ax, ay, -gx, gy) // flipped horizontally
	fy := p.unconstrained(ax, -ay, gx, -gy) // flipped vertically
	x := constrain(span{r.Min.X, r.Max.X}, span{fx.Min.X, fx.Max.X}, gx != 0, span{bounds.Min.X, bounds.Max.X}, p.adjust,
		protocol.XdgPositionerConstraintAdjustmentFlipX, protocol.XdgPositionerConstraintAdjustmentSlideX, protocol.XdgPositionerConstraintAdjustmentResizeX)
	y := constrain(span{r.Min.Y, r.Max.Y}, span{fy.Min.Y, fy.Max.Y}, gy != 0, span{bounds.Min.Y, bounds.Max.Y}, p.adjust,
		protocol.XdgPositionerConstraintAdjustmentFlipY, protocol.XdgPositionerConstraintAdjustmentSlideY, protocol.XdgPositionerConstraintAdjustmentResizeY)
	return image.Rect(x.lo, y.lo, x.hi, y.hi)
}

// span is one axis of a rectangle: [lo, hi).
type span struct{ lo, hi int }

func (s span) outside(b span) bool { return s.lo < b.lo || s.hi > b.hi }

// constrain keeps s inside b on one axis with the adjustments adjust
// allows of flip, slide and resize (this axis's bits), in that order:
// the flipped placement (possible only with a gravity on this axis) when
// it fits, else slide, else shrink.
func constrain(s, flipped span, canFlip bool, b span, adjust, flip, slide, resize uint32) span {
	if s.outside(b) && adjust&flip != 0 && canFlip && !flipped.outside(b) {
		s = flipped
	}
	if s.outside(b) && adjust&slide != 0 {
		shift := 0
		if s.hi > b.hi {
			shift = b.hi - s.hi
		}
		if s.lo+shift < b.lo {
			shift = b.lo - s.lo
		}
		s = span{s.lo + shift, s.hi + shift}
	}
	if s.outside(b) && adjust&resize != 0 {
		s = span{max(s.lo, b.lo), min(s.hi, b.hi)}
		if s.hi <= s.lo {
			s.hi = s.lo + 1
		}
	}
	return s
}
