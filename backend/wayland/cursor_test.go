package wayland

import (
	"encoding/binary"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xfixes"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/testenv"
)

// xCursor reads the cursor the X server shows at its pointer (XFIXES
// GetCursorImage).
func xCursor(t *testing.T, c *xgb.Conn) (w, h int, hot image.Point, pix []uint32) {
	t.Helper()
	r, err := xfixes.GetCursorImage(c).Reply()
	if err != nil {
		t.Fatalf("XFIXES GetCursorImage: %v", err)
	}
	return int(r.Width), int(r.Height), image.Pt(int(r.Xhot), int(r.Yhot)), r.CursorImage
}

// waitXCursor polls the X cursor until ok accepts it (the change goes
// through two compositors).
func waitXCursor(t *testing.T, c *xgb.Conn, what string, ok func(w, h int, hot image.Point, pix []uint32) bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w, h, hot, pix := xCursor(t, c)
		if ok(w, h, hot, pix) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("X cursor %dx%d hotspot %v, want %s", w, h, hot, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// The nested window's cursor is the server's cursor image: this backend
// nested in a minicomp parent that runs in a window on Xvfb (its x11
// backend), with the X pointer moved (XTEST) onto the parent's window,
// which shows ours. SetCursor's image becomes our wl_surface the parent's
// client cursor, which the parent gives the X server as the window's
// cursor: XFIXES reads back exactly our pixels and hotspot. nil hides it
// (a null set_cursor: the parent's X cursor is transparent), and a new
// image shows again.
func TestCursorNested(t *testing.T) {
	x := testenv.StartXvfb(t)
	bin, err := minicompBinary()
	if err != nil {
		t.Fatal(err)
	}
	dir := runtimeDir(t)
	p := &parent{kind: "minicomp (x11)", dir: dir, out: &syncBuffer{w: io.Discard}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, "run", "--backend=x11", "--size", "400x300", "--render-node", "none")
	p.cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=", "DISPLAY="+x.Display)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(p.stop)
	if err := p.waitSocket(""); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WAYLAND_DISPLAY", p.display)
	log, _ := testLogger(t)
	b, err := newEnv(Options{Outputs: []backend.Size{{Width: 400, Height: 300}}, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	o := b.outputs[0]
	frames(t, o, 1, 0x336699) // mapped in the parent

	xc, err := xgb.NewConnDisplay(x.Display)
	if err != nil {
		t.Fatal(err)
	}
	defer xc.Close()
	if err := xtest.Init(xc); err != nil {
		t.Fatal(err)
	}
	if err := xfixes.Init(xc); err != nil {
		t.Fatal(err)
	}
	if _, err := xfixes.QueryVersion(xc, 4, 0).Reply(); err != nil {
		t.Fatal(err)
	}
	root := xproto.Setup(xc).DefaultScreen(xc).Root
	// The parent's window is at the root's origin (no window manager).
	for i, at := range [][2]int16{{100, 80}, {120, 90}} {
		if err := xtest.FakeInputChecked(xc, xproto.MotionNotify, 0, 0, root, at[0], at[1], 0).Check(); err != nil {
			t.Fatalf("XTEST motion %d: %v", i, err)
		}
	}
	// No image set yet: hidden (the parent's X cursor is transparent).
	hidden := func(w, h int, _ image.Point, pix []uint32) bool { return w == 1 && h == 1 && pix[0] == 0 }
	waitXCursor(t, xc, "hidden (1x1 transparent) before any SetCursor", hidden)

	show := func(w, h int, hot image.Point, c uint32) {
		t.Helper()
		pix := make([]byte, w*h*4)
		for i := 0; i < len(pix); i += 4 {
			binary.LittleEndian.PutUint32(pix[i:], c)
		}
		binary.LittleEndian.PutUint32(pix[0:], 0) // a transparent corner
		if err := o.SetCursor(&backend.CursorImage{Pix: pix, Width: w, Height: h, Stride: w * 4, Hotspot: hot}); err != nil {
			t.Fatal(err)
		}
		waitXCursor(t, xc, fmt.Sprintf("%dx%d %08x hotspot %v", w, h, c, hot), func(gw, gh int, ghot image.Point, got []uint32) bool {
			return gw == w && gh == h && ghot == hot && got[0] == 0 && got[1] == c && got[w*h-1] == c
		})
	}
	show(8, 6, image.Pt(3, 2), 0xff00ff00)
	if err := o.SetCursor(nil); err != nil {
		t.Fatal(err)
	}
	waitXCursor(t, xc, "hidden (1x1 transparent) after SetCursor(nil)", hidden)
	show(5, 7, image.Pt(1, 4), 0x80800000) // premultiplied half-transparent red
}
