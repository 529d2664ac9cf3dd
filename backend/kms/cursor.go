package kms

import (
	"image"

	"github.com/minicomp/minicomp/backend"
)

// SetCursor puts the cursor on the CRTC's cursor plane (nil hides it); an
// error wrapping scanout.ErrCursorRefused means the plane cannot show it
// and the caller composes it; while the session is paused it fails with
// backend.ErrPaused.
func (o *Output) SetCursor(img *backend.CursorImage) error {
	if err := o.sess.enter(o.Name()); err != nil {
		return err
	}
	defer o.sess.leave()
	if img == nil {
		return o.p.SetCursor(nil, 0, 0, 0, image.Point{})
	}
	return masterLost(o.p.SetCursor(img.Pix, img.Width, img.Height, img.Stride, img.Hotspot))
}

// MoveCursor puts the cursor's hotspot at x, y, from the next commit on.
func (o *Output) MoveCursor(x, y int) { o.p.MoveCursor(x, y) }

// CommitCursor commits the cursor plane alone when the cursor changed;
// WaitFrame then returns when the change is on screen.
func (o *Output) CommitCursor() (bool, error) {
	if !o.p.CursorDirty() {
		return false, nil
	}
	if err := o.sess.enter(o.Name()); err != nil {
		return false, err
	}
	defer o.sess.leave()
	if err := o.p.CommitCursor(); err != nil {
		return false, masterLost(err)
	}
	return true, nil
}

var _ backend.CursorPlane = (*Output)(nil)
