package server

import (
	"image"

	"github.com/minicomp/minicomp/render"
)

// Occlusion: what lies under opaque content is not drawn. Each frame the
// output flattens the scene (surfaces and subsurfaces, bottom to top),
// then walks it top to bottom keeping the part of the output that opaque
// content above covers: a surface is drawn only where the frame's damage
// meets its rectangle outside that part, and the background only where no
// opaque content is. Over-drawing is always correct (what is drawn under
// an opaque surface is drawn over again), so every limit below gives up
// precision, never correctness.

const (
	maxPieces  = 32 // rectangles one surface is drawn in; beyond: their bounding box
	maxCovered = 64 // opaque rectangles remembered; beyond: the rest is not counted as opaque
	maxRegion  = 256
)

// sceneItem is one surface of a frame's scene.
type sceneItem struct {
	sf    *surface
	dst   image.Rectangle // where it is drawn, in the output's pixels
	first int             // its pieces: output.pieces[first:end]
	end   int
	main  bool // the output drawing it is its main one (frame callbacks)
}

// appendOutside appends the parts of r outside c (up to four).
func appendOutside(dst []image.Rectangle, r, c image.Rectangle) []image.Rectangle {
	for _, p := range [4]image.Rectangle{
		{r.Min, image.Pt(r.Max.X, c.Min.Y)},                                                  // above
		{image.Pt(r.Min.X, c.Max.Y), r.Max},                                                  // below
		{image.Pt(r.Min.X, max(r.Min.Y, c.Min.Y)), image.Pt(c.Min.X, min(r.Max.Y, c.Max.Y))}, // left
		{image.Pt(c.Max.X, max(r.Min.Y, c.Min.Y)), image.Pt(r.Max.X, min(r.Max.Y, c.Max.Y))}, // right
	} {
		if p = p.Intersect(r); !p.Empty() {
			dst = append(dst, p)
		}
	}
	return dst
}

// subtractRect removes c from the rectangles rs[start:] (disjoint ones
// stay disjoint).
func subtractRect(rs []image.Rectangle, start int, c image.Rectangle) []image.Rectangle {
	for i := start; i < len(rs); {
		r := rs[i]
		if !r.Overlaps(c) {
			i++
			continue
		}
		last := len(rs) - 1
		rs[i] = rs[last]
		rs = appendOutside(rs[:last], r, c)
		// rs[i] is now another rectangle (or a piece outside c): look at it.
	}
	return rs
}

// visiblePieces appends to rs the parts of the damage inside bounds that
// nothing in covered hides, disjoint, at most maxPieces of them (else
// their bounding box).
func visiblePieces(rs []image.Rectangle, damage []image.Rectangle, bounds image.Rectangle, covered []image.Rectangle) []image.Rectangle {
	start := len(rs)
	rs = render.AppendDisjoint(rs, damage, bounds, maxPieces)
	for _, c := range covered {
		if start == len(rs) {
			break
		}
		if c.Overlaps(bounds) {
			rs = subtractRect(rs, start, c)
		}
	}
	if len(rs)-start > maxPieces {
		var u image.Rectangle
		for _, r := range rs[start:] {
			u = u.Union(r)
		}
		rs = append(rs[:start], u)
	}
	return rs
}

// appendOpaque adds to covered the opaque part of the surface drawn at
// dst: all of it for an opaque buffer, else its opaque region.
func (sf *surface) appendOpaque(covered []image.Rectangle, dst, bounds image.Rectangle) []image.Rectangle {
	if sf.tex == nil {
		return covered
	}
	if sf.opaque {
		if r := dst.Intersect(bounds); !r.Empty() && len(covered) < maxCovered {
			covered = append(covered, r)
		}
		return covered
	}
	for _, r := range sf.opaqueRegion {
		if r = r.Add(dst.Min).Intersect(dst).Intersect(bounds); !r.Empty() && len(covered) < maxCovered {
			covered = append(covered, r)
		}
	}
	return covered
}

// appendScene appends the surface at at and its shown subsurfaces, bottom
// to top. A surface without content hides its subsurfaces too.
func appendScene(scene []sceneItem, sf *surface, at image.Point) []sceneItem {
	if sf.content == nil {
		return scene
	}
	for _, x := range sf.stack {
		if x != sf {
			scene = appendScene(scene, x, at.Add(x.sub.pos))
			continue
		}
		scene = append(scene, sceneItem{sf: sf, dst: image.Rectangle{Min: at, Max: at.Add(sf.size())}})
	}
	return scene
}

// regionAdd adds r to a region of disjoint rectangles. Past maxRegion
// rectangles the rest is left out (an opaque region may be smaller than
// the client said, never larger).
func regionAdd(rs []image.Rectangle, r image.Rectangle) []image.Rectangle {
	if r.Empty() {
		return rs
	}
	start := len(rs)
	rs = append(rs, r)
	for _, c := range rs[:start] {
		rs = subtractRect(rs, start, c)
	}
	if len(rs) > maxRegion {
		rs = rs[:maxRegion]
	}
	return rs
}

// regionSubtract removes r from a region.
func regionSubtract(rs []image.Rectangle, r image.Rectangle) []image.Rectangle {
	if r.Empty() {
		return rs
	}
	rs = subtractRect(rs, 0, r)
	if len(rs) > maxRegion {
		rs = rs[:maxRegion]
	}
	return rs
}
