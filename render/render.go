// Package render defines how minicomp draws frames into render targets
// (scanout.Buffers): one Renderer interface with a CPU implementation
// (render/soft) and, on hardware with a GPU, a GLES one.
package render

import (
	"image"
	"image/color"
	"os"

	"github.com/minicomp/minicomp/scanout"
)

// Renderer draws into render targets.
//
// A frame is Begin, any number of drawing calls, End. Drawing is clipped to
// the damage given to Begin, so a renderer redraws only what changed.
type Renderer interface {
	// Name says which renderer this is ("soft", "gles").
	Name() string
	// Begin starts a frame into target; damage (nil: all of it) clips
	// every drawing call until End.
	Begin(target *scanout.Buffer, damage []image.Rectangle) error
	// Clear fills the damaged region with c.
	Clear(c color.NRGBA)
	// FillRect fills r (clipped to the damage) with c, blending when c is
	// translucent.
	FillRect(r image.Rectangle, c color.NRGBA)
	// End finishes the frame. fence, when not nil, signals when the GPU is
	// done (a sync_file for the Presenter); CPU renderers return nil.
	End() (fence *os.File, err error)
}
