package scanout

import (
	"context"
	"errors"
	"image"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
)

// cursorImage is a w×h premultiplied ARGB8888 cursor: opaque c with a
// fully transparent top-left quarter, so blending is checked too.
func cursorImage(w, h int, c uint32) []byte {
	pix := make([]byte, w*h*4)
	for y := range h {
		for x := range w {
			if x >= w/2 || y >= h/2 {
				*(*uint32)(unsafe.Pointer(&pix[(y*w+x)*4])) = c
			}
		}
	}
	return pix
}

// withCursor returns want (a frame's pixels) with cursorImage drawn at pos.
func withCursor(want []uint32, fw, fh int, pos image.Point, w, h int, c uint32) []uint32 {
	out := slices.Clone(want)
	for y := range h {
		for x := range w {
			px, py := pos.X+x, pos.Y+y
			if (x >= w/2 || y >= h/2) && px >= 0 && py >= 0 && px < fw && py < fh {
				out[py*fw+px] = c
			}
		}
	}
	return out
}

func waitFlip(t *testing.T, p *Presenter) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := p.WaitFlip(ctx); err != nil {
		t.Fatalf("WaitFlip: %v", err)
	}
}

func primaryFB(t *testing.T, d *Device, plane uint32) uint64 {
	t.Helper()
	props, err := d.dev.Props(plane, drm.ObjectPlane)
	if err != nil {
		t.Fatal(err)
	}
	return props.Values["FB_ID"]
}

// vkms has a cursor plane: the cursor goes there, moves by commits that
// name only the cursor plane (the primary plane's framebuffer stays, no
// frame is counted), rides on a frame's commit when one comes, and the
// writeback (what vkms composes) shows it where it was put, blended.
func TestRigVkmsCursorPlane(t *testing.T) {
	rigtest.Require(t, "vkms")
	display, p, pipe, b := blitPresenter(t)
	mode := pipe.PreferredMode()
	plane, cw, ch, ok := p.CursorPlane()
	if !ok {
		t.Fatal("vkms offers no cursor plane (vkms.enable_cursor=1 is its default)")
	}
	t.Logf("cursor plane %d, %dx%d", plane.ID, cw, ch)
	frame := pattern(t, b, 3)
	const w, h, magenta = 24, 24, 0xffff00ff
	img := cursorImage(w, h, magenta)
	if err := p.SetCursor(img, w, h, w*4, image.Pt(4, 4)); !errors.Is(err, ErrCursorNotReady) {
		t.Fatalf("SetCursor before the first frame: %v, want ErrCursorNotReady", err)
	}
	present(t, p, Submission{Buffer: b}) // modeset
	if err := p.SetCursor(make([]byte, (cw+1)*4*4), cw+1, 4, (cw+1)*4, image.Point{}); !errors.Is(err, ErrCursorRefused) {
		t.Fatalf("SetCursor of an image wider than the plane: %v, want ErrCursorRefused", err)
	}
	if err := p.SetCursor(img, w, h, w*4, image.Pt(4, 4)); err != nil {
		t.Fatal(err)
	}
	fb0 := primaryFB(t, display, pipe.Primary.ID)
	frames0 := p.Stats().Frames
	wb := newWriteback(t, display, pipe.CRTC, mode.Width, mode.Height)
	for i, hot := range []image.Point{{200, 100}, {50, 300}, {2, 1}} {
		p.MoveCursor(hot.X, hot.Y)
		if !p.CursorDirty() {
			t.Fatal("a move left the cursor clean")
		}
		wb.arm(p, pipe.CRTC)
		t0 := time.Now()
		if err := p.CommitCursor(); err != nil {
			t.Fatal(err)
		}
		took := time.Since(t0)
		if objs := p.req.Objects(); slices.Contains(objs, pipe.Primary.ID) || !slices.Contains(objs, plane.ID) {
			t.Fatalf("cursor commit set objects %v: want the cursor plane %d and not the primary plane %d", objs, plane.ID, pipe.Primary.ID)
		}
		waitFlip(t, p)
		pos := hot.Sub(image.Pt(4, 4))
		comparePixels(t, "writeback with the cursor at "+pos.String(), wb.wait(t), int(wb.dumb.Pitch), mode.Width, mode.Height,
			withCursor(frame, mode.Width, mode.Height, pos, w, h, magenta))
		t.Logf("move %d: cursor-only commit took %v", i, took)
	}
	if fb := primaryFB(t, display, pipe.Primary.ID); fb != fb0 {
		t.Errorf("primary plane framebuffer changed from %d to %d by cursor moves", fb0, fb)
	}
	st := p.Stats()
	if st.Frames != frames0 || st.CursorCommits != 3 {
		t.Errorf("stats %+v: want %d frames and 3 cursor commits", st, frames0)
	}
	// A move with a frame rides on the frame's commit.
	p.MoveCursor(300, 200)
	wb.arm(p, pipe.CRTC)
	present(t, p, Submission{Buffer: b, Damage: []image.Rectangle{}})
	if p.CursorDirty() {
		t.Error("the cursor is still dirty after a frame's commit")
	}
	comparePixels(t, "writeback of a frame with the cursor moved", wb.wait(t), int(wb.dumb.Pitch), mode.Width, mode.Height,
		withCursor(frame, mode.Width, mode.Height, image.Pt(296, 196), w, h, magenta))
	// Hidden: the frame alone.
	if err := p.SetCursor(nil, 0, 0, 0, image.Point{}); err != nil {
		t.Fatal(err)
	}
	wb.arm(p, pipe.CRTC)
	if err := p.CommitCursor(); err != nil {
		t.Fatal(err)
	}
	waitFlip(t, p)
	comparePixels(t, "writeback with the cursor hidden", wb.wait(t), int(wb.dumb.Pitch), mode.Width, mode.Height, frame)
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if fb := primaryFB(t, display, plane.ID); fb != 0 {
		t.Errorf("cursor plane still shows framebuffer %d after Close", fb)
	}
}

// blitPresenter is a Presenter on the rig's display with direct scanout
// off (every frame copied into its dumb buffers) and a mode-sized buffer
// from the system heap, all closed at cleanup.
func blitPresenter(t testing.TB) (*Device, *Presenter, Pipeline, *Buffer) {
	t.Helper()
	display, render := rigDevices(t)
	pipe := firstPipeline(t, display)
	mode := pipe.PreferredMode()
	p, err := NewPresenter(display, pipe, PresenterOptions{DisableDirect: true})
	if err != nil {
		t.Fatal(err)
	}
	a := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: []string{"system"}})
	b, _, err := a.Allocate(mode.Width, mode.Height, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close(); b.Close(); a.Close() })
	return display, p, pipe, b
}

// DisableCursorPlane: SetCursor refuses, so the caller composes.
func TestRigCursorPlaneDisabled(t *testing.T) {
	rigtest.Require(t, "vkms")
	display, _ := rigDevices(t)
	pipe := firstPipeline(t, display)
	p := rigPresenter(t, display, pipe, PresenterOptions{DisableCursorPlane: true})
	if _, _, _, ok := p.CursorPlane(); ok {
		t.Error("CursorPlane ok with DisableCursorPlane")
	}
	if err := p.SetCursor(cursorImage(8, 8, 0xffffffff), 8, 8, 32, image.Point{}); !errors.Is(err, ErrCursorRefused) {
		t.Errorf("SetCursor: %v, want ErrCursorRefused", err)
	}
}

// BenchmarkRigCursorMove: the commit cost of a cursor move on vkms, on
// the cursor plane (CommitCursor: the cursor plane alone) and composed
// (the damage of the old and new cursor rectangles copied into the
// fallback buffer and the primary plane committed). The wait for the
// flip is not timed.
func BenchmarkRigCursorMove(b *testing.B) {
	rigtest.Require(b, "vkms")
	for _, composed := range []bool{false, true} {
		name := "plane"
		if composed {
			name = "composed"
		}
		b.Run(name, func(b *testing.B) {
			_, p, _, buf := blitPresenter(b)
			present(b, p, Submission{Buffer: buf})
			present(b, p, Submission{Buffer: buf})
			if !composed {
				if err := p.SetCursor(cursorImage(24, 24, 0xffffffff), 24, 24, 96, image.Point{}); err != nil {
					b.Fatal(err)
				}
			}
			damage := make([]image.Rectangle, 2)
			ctx := context.Background()
			b.ResetTimer()
			for i := range b.N {
				x, y := 100+i%200, 100+i%150
				if composed {
					damage[0], damage[1] = image.Rect(x-1, y-1, x+63, y+63), image.Rect(x, y, x+64, y+64)
					if _, err := p.Present(Submission{Buffer: buf, Damage: damage}); err != nil {
						b.Fatal(err)
					}
				} else {
					p.MoveCursor(x, y)
					if err := p.CommitCursor(); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				if _, err := p.WaitFlip(ctx); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}
