package x11

import (
	"fmt"

	"github.com/jezek/xgb/render"
	"github.com/jezek/xgb/xproto"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// The pointer's cursor in a window: the server's cursor image (a
// client's wl_pointer.set_cursor surface, or the default cursor) becomes
// the window's X cursor, made with RENDER CreateCursor from a 32-bit ARGB
// picture (premultiplied, as the image is), so the X server draws it
// where the host pointer is and nothing is composed. A hidden cursor is a
// 1×1 transparent one. Without RENDER 0.5 (or 32-bit pixmaps) SetCursor
// refuses and the server composes the cursor into the frames.

// initCursors finds RENDER's ARGB32 picture format; why says what is
// missing when cursors cannot be made.
func (b *Backend) initCursors() {
	c := b.conn
	if err := render.Init(c); err != nil {
		b.cursorWhy = "no RENDER extension: " + err.Error()
		return
	}
	v, err := render.QueryVersion(c, 0, 11).Reply()
	if err != nil {
		b.cursorWhy = "RENDER QueryVersion: " + err.Error()
		return
	}
	if v.MajorVersion == 0 && v.MinorVersion < 5 {
		b.cursorWhy = fmt.Sprintf("RENDER %d.%d has no CreateCursor (0.5)", v.MajorVersion, v.MinorVersion)
		return
	}
	pf, err := render.QueryPictFormats(c).Reply()
	if err != nil {
		b.cursorWhy = "RENDER QueryPictFormats: " + err.Error()
		return
	}
	for _, f := range pf.Formats {
		d := f.Direct
		if f.Type == render.PictTypeDirect && f.Depth == 32 && d.AlphaShift == 24 && d.AlphaMask == 0xff &&
			d.RedShift == 16 && d.RedMask == 0xff && d.GreenShift == 8 && d.GreenMask == 0xff && d.BlueShift == 0 && d.BlueMask == 0xff {
			b.argb = f.Id
			return
		}
	}
	b.cursorWhy = "RENDER has no ARGB32 picture format"
}

// errNoCursors wraps scanout.ErrCursorRefused: the server composes.
var errNoCursors = fmt.Errorf("x11 cursor: %w", scanout.ErrCursorRefused)

// HasPointer reports true: the X server's pointer is the seat's, so the
// window shows a cursor (backend.PointerDevices).
func (b *Backend) HasPointer() bool { return true }

// SetCursor makes img the window's cursor (nil: a transparent one). It
// implements backend.CursorPlane; the change is immediate.
func (o *Output) SetCursor(img *backend.CursorImage) error {
	b := o.b
	if b.argb == 0 {
		return fmt.Errorf("%w (%s)", errNoCursors, b.cursorWhy)
	}
	if b.closing.Load() {
		return errClosed
	}
	if img == nil {
		img = &backend.CursorImage{Pix: make([]byte, 4), Width: 1, Height: 1, Stride: 4}
	}
	cur, err := b.makeCursor(img)
	if err != nil {
		return err
	}
	// Unchecked (one round trip a change, CreateCursor's): the window
	// lives as long as the output.
	c := b.conn
	xproto.ChangeWindowAttributes(c, o.win, xproto.CwCursor, []uint32{uint32(cur)})
	if o.cursor != 0 {
		xproto.FreeCursor(c, o.cursor) // the window holds its own reference
	}
	o.cursor = cur
	return nil
}

// MoveCursor does nothing: the X server draws the cursor at its pointer.
func (o *Output) MoveCursor(x, y int) {}

// CommitCursor reports false: SetCursor's change is shown already.
func (o *Output) CommitCursor() (bool, error) { return false, nil }

// makeCursor uploads img into a 32-bit pixmap and makes an X cursor of it.
func (b *Backend) makeCursor(img *backend.CursorImage) (xproto.Cursor, error) {
	c := b.conn
	w, h := img.Width, img.Height
	if err := img.Check(); err != nil {
		return 0, fmt.Errorf("x11 cursor: %w", err)
	}
	if w > 0x7fff || h > 0x7fff {
		return 0, fmt.Errorf("x11 cursor: %dx%d is larger than X allows", w, h)
	}
	if hx, hy := img.Hotspot.X, img.Hotspot.Y; hx < 0 || hy < 0 || hx >= w || hy >= h {
		return 0, fmt.Errorf("x11 cursor: hotspot %d,%d outside the %dx%d image", hx, hy, w, h)
	}
	if w*h*4+24 > b.maxReq {
		return 0, fmt.Errorf("x11 cursor: %dx%d is more than one request (%d bytes)", w, h, b.maxReq)
	}
	pix, err := xproto.NewPixmapId(c)
	if err != nil {
		return 0, fmt.Errorf("x11 cursor: pixmap id: %w", err)
	}
	gc, err := xproto.NewGcontextId(c)
	if err != nil {
		return 0, fmt.Errorf("x11 cursor: gc id: %w", err)
	}
	pic, err := render.NewPictureId(c)
	if err != nil {
		return 0, fmt.Errorf("x11 cursor: picture id: %w", err)
	}
	cur, err := xproto.NewCursorId(c)
	if err != nil {
		return 0, fmt.Errorf("x11 cursor: cursor id: %w", err)
	}
	data := img.Pix
	if img.Stride != w*4 {
		data = make([]byte, 0, w*h*4)
		for y := range h {
			data = append(data, img.Pix[y*img.Stride:y*img.Stride+w*4]...)
		}
	} else {
		data = data[:w*h*4]
	}
	xproto.CreatePixmap(c, 32, pix, xproto.Drawable(b.screen.Root), uint16(w), uint16(h))
	xproto.CreateGC(c, gc, xproto.Drawable(pix), 0, nil)
	xproto.PutImage(c, xproto.ImageFormatZPixmap, xproto.Drawable(pix), gc, uint16(w), uint16(h), 0, 0, 0, 32, data)
	render.CreatePicture(c, pic, xproto.Drawable(pix), b.argb, 0, nil)
	err = render.CreateCursorChecked(c, xproto.Cursor(cur), pic, uint16(img.Hotspot.X), uint16(img.Hotspot.Y)).Check()
	render.FreePicture(c, pic)
	xproto.FreeGC(c, gc)
	xproto.FreePixmap(c, pix)
	if err != nil {
		return 0, fmt.Errorf("x11 cursor: RENDER CreateCursor %dx%d: %w", w, h, err)
	}
	return cur, nil
}
