package x11

import (
	"encoding/binary"
	"errors"
	"image"
	"testing"

	"github.com/jezek/xgb/xfixes"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/testenv"
	"github.com/minicomp/minicomp/scanout"
)

// cursorImage reads the cursor the X server shows at its pointer (XFIXES
// GetCursorImage): size, hotspot and ARGB pixels.
func (p *peer) cursorImage() (w, h int, hot image.Point, pix []uint32) {
	p.tb.Helper()
	if err := xfixes.Init(p.c); err != nil {
		p.tb.Fatalf("XFIXES: %v", err)
	}
	if _, err := xfixes.QueryVersion(p.c, 4, 0).Reply(); err != nil {
		p.tb.Fatalf("XFIXES QueryVersion: %v", err)
	}
	r, err := xfixes.GetCursorImage(p.c).Reply()
	if err != nil {
		p.tb.Fatalf("XFIXES GetCursorImage: %v", err)
	}
	return int(r.Width), int(r.Height), image.Pt(int(r.Xhot), int(r.Yhot)), r.CursorImage
}

// The server's cursor image becomes the window's X cursor (read back
// with XFIXES where the pointer is over the window): its pixels,
// premultiplied alpha included, and its hotspot; nil hides it (a 1×1
// transparent cursor); a hotspot outside the image is refused, and the
// cursor stays.
func TestCursor(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 200, Height: 100}}})
	if b.cursorWhy != "" {
		t.Fatalf("no X cursors on Xvfb: %s", b.cursorWhy)
	}
	peer := newPeer(t, x.Display)
	peer.move(50, 40) // over the window (at the root's origin)
	var cp backend.CursorPlane = b.outputs[0]
	if !b.HasPointer() {
		t.Error("HasPointer false: the server would show no cursor")
	}

	// 6×5, stride 28: opaque red, a half-transparent green (premultiplied
	// 0x80 alpha, 0x80 green) column and transparent corners.
	const w, h, stride = 6, 5, 28
	pix := make([]byte, stride*h)
	want := make([]uint32, w*h)
	for y := range h {
		for x := range w {
			v := uint32(0xffff0000)
			switch {
			case x == 3:
				v = 0x80008000
			case x == 0 && y == 0, x == w-1 && y == h-1:
				v = 0
			}
			binary.LittleEndian.PutUint32(pix[y*stride+x*4:], v)
			want[y*w+x] = v
		}
	}
	if err := cp.SetCursor(&backend.CursorImage{Pix: pix, Width: w, Height: h, Stride: stride, Hotspot: image.Pt(2, 3)}); err != nil {
		t.Fatal(err)
	}
	cp.MoveCursor(60, 40)
	if shown, err := cp.CommitCursor(); err != nil || shown {
		t.Errorf("CommitCursor = %v, %v; want false, nil (X shows it at once)", shown, err)
	}
	gw, gh, hot, got := peer.cursorImage()
	if gw != w || gh != h || hot != image.Pt(2, 3) {
		t.Fatalf("X cursor %dx%d hotspot %v, want %dx%d hotspot (2,3)", gw, gh, hot, w, h)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("X cursor pixel %d,%d = %08x, want %08x", i%w, i/w, got[i], want[i])
		}
	}

	if err := cp.SetCursor(&backend.CursorImage{Pix: pix, Width: w, Height: h, Stride: stride, Hotspot: image.Pt(6, 0)}); err == nil {
		t.Error("hotspot outside the image accepted")
	}
	if gw, _, _, _ := peer.cursorImage(); gw != w {
		t.Errorf("a refused cursor changed the X cursor to %d wide", gw)
	}

	if err := cp.SetCursor(nil); err != nil {
		t.Fatal(err)
	}
	gw, gh, _, got = peer.cursorImage()
	if gw != 1 || gh != 1 || got[0] != 0 {
		t.Errorf("hidden: X cursor %dx%d %08x, want 1x1 transparent", gw, gh, got)
	}
}

// Without RENDER's ARGB32 format SetCursor is refused for good
// (scanout.ErrCursorRefused): the server composes the cursor.
func TestCursorRefused(t *testing.T) {
	x := testenv.StartXvfb(t)
	b := newBackend(t, Options{Display: x.Display, Outputs: []backend.Size{{Width: 100, Height: 100}}})
	b.argb, b.cursorWhy = 0, "test: none"
	if err := b.outputs[0].SetCursor(nil); !errors.Is(err, scanout.ErrCursorRefused) {
		t.Errorf("SetCursor without RENDER: %v, want ErrCursorRefused", err)
	}
}
