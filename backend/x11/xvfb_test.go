package x11

import (
	"fmt"
	"testing"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"
)

// peer is a second X client: it plays the window manager and the user.
type peer struct {
	tb   testing.TB
	c    *xgb.Conn
	root xproto.Window
}

func newPeer(tb testing.TB, display string) *peer {
	tb.Helper()
	c, err := xgb.NewConnDisplay(display)
	if err != nil {
		tb.Fatalf("peer connection to %s: %v", display, err)
	}
	tb.Cleanup(c.Close)
	if err := xtest.Init(c); err != nil {
		tb.Fatalf("XTEST: %v", err)
	}
	return &peer{tb: tb, c: c, root: xproto.Setup(c).DefaultScreen(c).Root}
}

// fake sends an XTEST event and waits until the server has processed it.
func (p *peer) fake(typ byte, detail byte, x, y int16) {
	p.tb.Helper()
	if err := xtest.FakeInputChecked(p.c, typ, detail, 0, p.root, x, y, 0).Check(); err != nil {
		p.tb.Fatalf("XTEST FakeInput type %d detail %d: %v", typ, detail, err)
	}
}

func (p *peer) move(x, y int16) { p.fake(xproto.MotionNotify, 0, x, y) }

// image reads the window's pixels (ZPixmap, 32 bits per pixel).
func (p *peer) image(win uint32, w, h int) []byte {
	p.tb.Helper()
	r, err := xproto.GetImage(p.c, xproto.ImageFormatZPixmap, xproto.Drawable(win), 0, 0, uint16(w), uint16(h), 0xffffffff).Reply()
	if err != nil {
		p.tb.Fatalf("GetImage of window 0x%x: %v", win, err)
	}
	if len(r.Data) < w*h*4 {
		p.tb.Fatalf("GetImage returned %d bytes, want %d", len(r.Data), w*h*4)
	}
	return r.Data
}

func (p *peer) String() string { return fmt.Sprintf("peer %p", p.c) }
