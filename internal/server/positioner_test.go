package server

import (
	"image"
	"testing"

	"github.com/minicomp/minicomp/internal/protocol"
)

// Popup placement follows xdg-shell's anchor, gravity, offset and
// constraint rules (a menu below a button, flipped up at the screen's
// bottom, slid left at its right edge, resized when nothing else fits).
func TestPositionerPlace(t *testing.T) {
	screen := image.Rect(0, 0, 800, 600)
	button := image.Rect(100, 20, 160, 40)
	menu := func(anchor, gravity, adjust uint32, at image.Rectangle, off image.Point) *positioner {
		return &positioner{size: image.Pt(200, 300), anchorRect: at, anchor: anchor, gravity: gravity, adjust: adjust, offset: off}
	}
	const (
		bl     = protocol.XdgPositionerAnchorBottomLeft
		br     = protocol.XdgPositionerGravityBottomRight
		flipY  = protocol.XdgPositionerConstraintAdjustmentFlipY
		slideX = protocol.XdgPositionerConstraintAdjustmentSlideX
		resize = protocol.XdgPositionerConstraintAdjustmentResizeX | protocol.XdgPositionerConstraintAdjustmentResizeY
	)
	for _, tc := range []struct {
		name string
		p    *positioner
		want image.Rectangle
	}{
		{"below the button", menu(bl, br, 0, button, image.Point{}), image.Rect(100, 40, 300, 340)},
		{"with offset", menu(bl, br, 0, button, image.Pt(5, 2)), image.Rect(105, 42, 305, 342)},
		{"centred on the anchor rect", menu(protocol.XdgPositionerAnchorNone, protocol.XdgPositionerGravityNone, 0, button, image.Point{}), image.Rect(30, -120, 230, 180)},
		{"unconstrained when not allowed", menu(bl, br, 0, image.Rect(100, 500, 160, 520), image.Point{}), image.Rect(100, 520, 300, 820)},
		{"flipped up at the bottom", menu(bl, br, flipY, image.Rect(100, 500, 160, 520), image.Point{}), image.Rect(100, 200, 300, 500)},
		{"slid left at the right edge", menu(bl, br, slideX, image.Rect(700, 20, 760, 40), image.Point{}), image.Rect(600, 40, 800, 340)},
		{"resized when nothing else fits", menu(bl, br, resize, image.Rect(700, 500, 760, 520), image.Point{}), image.Rect(700, 520, 800, 600)},
	} {
		if got := tc.p.place(screen); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}
