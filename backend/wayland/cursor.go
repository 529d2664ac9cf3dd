package wayland

import (
	"fmt"
	"image"

	"github.com/neurlang/wayland/wl"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// The pointer's cursor in a window: the server's cursor image (a
// client's wl_pointer.set_cursor surface, or the default cursor) is
// copied into a wl_shm ARGB8888 buffer on a wl_surface of ours, which is
// the parent's cursor (wl_pointer.set_cursor with the serial of the
// parent's last enter) while its pointer is on that output's window; so
// the parent draws it where its pointer is and nothing is composed. A
// hidden cursor (or none set yet) is set_cursor with no surface.

// cursorImage is an output's cursor, guarded by b.mu.
type cursorImage struct {
	set    bool // SetCursor was called
	hidden bool
	wb     *bufferProxy
	buf    *scanout.Buffer
	hot    image.Point
}

// parentCursor is the parent pointer's state for the cursor, guarded by
// b.mu.
type parentCursor struct {
	pointer  *wl.Pointer
	serial   uint32  // of the last wl_pointer.enter
	on       *Output // whose window the parent's pointer is on
	surface  *wl.Surface
	attached *bufferProxy // on surface
}

// HasPointer reports true: the parent's pointer is the seat's, so the
// windows show a cursor (backend.PointerDevices).
func (b *Backend) HasPointer() bool { return true }

// SetCursor makes img the cursor while the parent's pointer is on the
// output's window (nil hides it). It implements backend.CursorPlane; the
// change is sent at once.
func (o *Output) SetCursor(img *backend.CursorImage) error {
	b := o.b
	var ci cursorImage
	if img != nil {
		if err := img.Check(); err != nil {
			return fmt.Errorf("wayland cursor: %w", err)
		}
		w, h := img.Width, img.Height
		buf, err := scanout.MemfdStrategy{}.Allocate(w, h, scanout.ARGB8888)
		if err != nil {
			return fmt.Errorf("wayland cursor: %w", err)
		}
		mem, err := buf.Map()
		if err != nil {
			buf.Close()
			return fmt.Errorf("wayland cursor: %w", err)
		}
		for y := range h {
			copy(mem[int(buf.Offset)+y*int(buf.Stride):], img.Pix[y*img.Stride:y*img.Stride+w*4])
		}
		ci = cursorImage{set: true, buf: buf, wb: &bufferProxy{}, hot: img.Hotspot}
	} else {
		ci = cursorImage{set: true, hidden: true}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := o.goneErr("cursor"); err != nil {
		ci.close()
		return err
	}
	if ci.wb != nil {
		if err := b.shmBuffer(ci.wb, ci.buf); err != nil {
			ci.buf.Close()
			return fmt.Errorf("wayland cursor: %w", err)
		}
	}
	old := o.cursor
	o.cursor = ci
	err := b.applyCursor(o)
	if old.wb != nil {
		if b.cursor.attached == old.wb {
			b.cursor.attached = nil // destroyed: the content is gone
		}
		b.ids.retire(old.wb)
		b.ctx.SendRequest(old.wb, 0) // wl_buffer.destroy
	}
	old.close()
	return err
}

// MoveCursor does nothing: the parent draws the cursor at its pointer.
func (o *Output) MoveCursor(x, y int) {}

// CommitCursor reports false: SetCursor's change is sent already.
func (o *Output) CommitCursor() (bool, error) { return false, nil }

// close frees the image's memory (its wl_buffer is destroyed apart).
func (ci *cursorImage) close() {
	if ci.buf != nil {
		ci.buf.Close()
		ci.buf = nil
	}
}

// applyCursor shows o's cursor when the parent's pointer is on o's
// window; b.mu held.
func (b *Backend) applyCursor(o *Output) error {
	pc := &b.cursor
	if pc.pointer == nil || pc.on != o {
		return nil
	}
	ci := &o.cursor
	if !ci.set || ci.hidden {
		return pc.pointer.SetCursor(pc.serial, nil, 0, 0)
	}
	if pc.surface == nil {
		s, err := b.compositor.CreateSurface()
		if err != nil {
			return fmt.Errorf("wayland cursor: wl_compositor.create_surface: %w", err)
		}
		pc.surface = s
	}
	if pc.attached != ci.wb {
		w, h := ci.buf.Width, ci.buf.Height
		err := b.send(pc.surface, 1, ci.wb, int32(0), int32(0)) // attach
		if err == nil {
			err = pc.surface.DamageBuffer(0, 0, int32(w), int32(h))
		}
		if err == nil {
			err = pc.surface.Commit()
		}
		if err != nil {
			return fmt.Errorf("wayland cursor: %w", err)
		}
		pc.attached = ci.wb
	}
	return pc.pointer.SetCursor(pc.serial, pc.surface, int32(ci.hot.X), int32(ci.hot.Y))
}

// cursorEntered: the parent's pointer entered o's window (event loop).
func (b *Backend) cursorEntered(p *wl.Pointer, serial uint32, o *Output) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cursor.pointer, b.cursor.serial, b.cursor.on = p, serial, o
	if err := b.applyCursor(o); err != nil {
		b.log.Warn("cursor not shown", "output", o.name, "err", err)
	}
}

// cursorLeft: the parent's pointer left our windows, or went (event
// loop).
func (b *Backend) cursorLeft(gone bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cursor.on = nil
	if gone {
		b.cursor.pointer = nil
	}
}
