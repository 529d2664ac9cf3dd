package pixman

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"math/rand/v2"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/internal/scenes"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// newR returns a renderer, skipping when libpixman is missing unless
// MINICOMP_REQUIRE_PIXMAN=1.
func newR(t testing.TB) *Renderer {
	t.Helper()
	r, err := New()
	if err != nil {
		if errors.Is(err, ErrNoPixman) && os.Getenv("MINICOMP_REQUIRE_PIXMAN") != "1" {
			t.Skipf("pixman unavailable here (%v); set MINICOMP_REQUIRE_PIXMAN=1 to fail instead", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func newTarget(t testing.TB, w, h int) *scanout.Buffer {
	t.Helper()
	b, err := scanout.MemfdStrategy{}.Allocate(w, h, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func px(b *scanout.Buffer, x, y int) uint32 {
	m, _ := b.Map()
	return binary.LittleEndian.Uint32(m[int(b.Offset)+y*int(b.Stride)+x*4:])
}

// A library that is not there is an error naming it and the Debian
// package (or, in a static -tags nogles build, the tag), wrapping
// ErrNoPixman; never a crash.
func TestMissingLibrary(t *testing.T) {
	_, err := open("libpixman-nonexistent.so.0")
	if !errors.Is(err, ErrNoPixman) {
		t.Fatalf("open of a missing library: %v, want ErrNoPixman", err)
	}
	want := []string{"libpixman-nonexistent.so.0", DebPackage}
	if dl.Static {
		want = []string{"libpixman-nonexistent.so.0", "-tags nogles"}
	}
	for _, want := range want {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not name %s", err, want)
		}
	}
	t.Log(err)
}

func TestClearFillBlendDamage(t *testing.T) {
	b := newTarget(t, 64, 32)
	r := newR(t)
	if err := r.Begin(b, nil); err != nil {
		t.Fatal(err)
	}
	r.Clear(color.NRGBA{R: 10, G: 20, B: 30, A: 255})
	r.FillRect(image.Rect(4, 4, 8, 8), color.NRGBA{R: 255, A: 255})
	r.FillRect(image.Rect(6, 6, 12, 12), color.NRGBA{B: 255, A: 128})
	r.FillRect(image.Rect(-100, -100, 1, 1), color.NRGBA{G: 255, A: 255}) // clipped to the target
	if _, err := r.End(); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		x, y int
		want uint32
	}{
		{0, 0, 0x00ff00},
		{1, 1, 0x0a141e},
		{5, 5, 0xff0000},
		{7, 7, 0x7f0080}, // red under 50% blue
		{10, 10, 0x050a8f},
		{63, 31, 0x0a141e},
	} {
		if got := px(b, c.x, c.y) & 0xffffff; got != c.want {
			t.Errorf("(%d,%d) = %06x, want %06x", c.x, c.y, got, c.want)
		}
	}
	// Damage clips: only the damaged rectangles change, and overlapping
	// ones blend once.
	r.Begin(b, []image.Rectangle{image.Rect(0, 0, 2, 2), image.Rect(1, 1, 3, 3), image.Rect(-5, -5, -1, -1)})
	r.FillRect(image.Rect(0, 0, 64, 32), color.NRGBA{G: 255, A: 128})
	r.End()
	if px(b, 1, 1)&0xffffff != 0x058a0f || px(b, 2, 2)&0xffffff != 0x058a0f || px(b, 3, 3)&0xffffff != 0x0a141e || px(b, 5, 5)&0xffffff != 0xff0000 {
		t.Errorf("damage not respected: %08x %08x %08x %08x", px(b, 1, 1), px(b, 2, 2), px(b, 3, 3), px(b, 5, 5))
	}
	// Damage entirely outside the target draws nothing.
	r.Begin(b, []image.Rectangle{image.Rect(100, 100, 200, 200)})
	r.Clear(color.NRGBA{A: 255})
	r.End()
	if px(b, 0, 0)&0xffffff != 0x00ff00 {
		t.Errorf("damage outside the target drew: %08x", px(b, 0, 0))
	}
}

func TestRejectsBadUse(t *testing.T) {
	r := newR(t)
	if _, err := r.End(); err == nil {
		t.Error("End without Begin")
	}
	b, err := scanout.MemfdStrategy{}.Allocate(8, 8, scanout.RGB565)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := r.Begin(b, nil); err == nil {
		t.Error("RGB565 accepted")
	}
	tgt := newTarget(t, 8, 8)
	if err := r.Begin(tgt, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.Begin(tgt, nil); err == nil {
		t.Error("Begin inside a frame accepted")
	}
	// A texture of another renderer, or a released one: End says so.
	st, _ := soft.NewTexture(4, 4, scanout.XRGB8888)
	r.Draw(st, image.Rect(0, 0, 4, 4), image.Rect(0, 0, 4, 4), 1)
	if _, err := r.End(); err == nil {
		t.Error("Draw of a soft texture not reported")
	}
	tex, _ := r.NewTexture(4, 4, scanout.XRGB8888)
	for _, rr := range [][2]image.Rectangle{
		{image.Rect(0, 0, 4, 4), image.Rect(-1<<20, 0, 8, 8)},
		{image.Rect(0, 0, 1<<30, 4), image.Rect(0, 0, 8, 8)},
		{image.Rect(0, 0, 4, 4), image.Rect(0, 0, 1<<16, 1<<16)},
	} {
		r.Begin(tgt, nil)
		r.Draw(tex, rr[0], rr[1], 1)
		if _, err := r.End(); err == nil {
			t.Errorf("Draw from %v to %v not reported", rr[0], rr[1])
		}
	}
	tex.Release()
	r.Begin(tgt, nil)
	r.Draw(tex, image.Rect(0, 0, 4, 4), image.Rect(0, 0, 4, 4), 1)
	if _, err := r.End(); err == nil {
		t.Error("Draw of a released texture not reported")
	}
	for _, sz := range [][2]int{{0, 4}, {4, -1}, {16385, 1}} {
		if _, err := r.NewTexture(sz[0], sz[1], scanout.XRGB8888); err == nil {
			t.Errorf("texture %dx%d accepted", sz[0], sz[1])
		}
	}
	if _, err := r.NewTexture(4, 4, scanout.RGB565); err == nil {
		t.Error("RGB565 texture accepted")
	}
	r.Close()
	if err := r.Begin(tgt, nil); !errors.Is(err, ErrClosed) {
		t.Errorf("Begin after Close: %v", err)
	}
	if _, err := r.NewTexture(4, 4, scanout.XRGB8888); !errors.Is(err, ErrClosed) {
		t.Errorf("NewTexture after Close: %v", err)
	}
	if err := r.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func pattern(rng *rand.Rand, w, h int, alpha bool) []byte {
	p := make([]byte, w*h*4)
	for i := range w * h {
		a := uint32(0xff)
		if alpha {
			a = rng.Uint32N(256)
		}
		v := rng.Uint32()
		c := func(sh uint) uint32 { return (v >> sh & 0xff) * a / 255 << sh }
		binary.LittleEndian.PutUint32(p[i*4:], a<<24|c(16)|c(8)|c(0))
	}
	return p
}

// bilinearTolerance bounds the difference from render/soft of scaled
// draws of noise (every texel unlike its neighbours): pixman's bilinear
// weights have 7 bits, soft's 8, so a weight can be off by one 7-bit
// step, which moves a channel by up to 255/128 ≈ 2 in each direction,
// plus rounding. The scenes (smooth pictures) stay within
// scenes.Tolerance.
const bilinearTolerance = scenes.Tolerance + 1

// Random draws — scaled up and down by every kind of ratio, unscaled,
// partly outside the texture or the target, translucent, with damage —
// agree with render/soft: within scenes.Tolerance when unscaled, within
// bilinearTolerance when scaled.
func TestMatchesSoft(t *testing.T) {
	p := newR(t)
	s := soft.New()
	rng := rand.New(rand.NewPCG(1, 2))
	const W, H = 200, 150
	worst := 0
	for i := range 300 {
		tw, th := 1+rng.IntN(40), 1+rng.IntN(40)
		opaque := rng.IntN(2) == 0
		f := scanout.ARGB8888
		if opaque {
			f = scanout.XRGB8888
		}
		pix := pattern(rng, tw, th, !opaque)
		var src image.Rectangle
		src.Min = image.Pt(rng.IntN(tw+4)-2, rng.IntN(th+4)-2)
		src.Max = src.Min.Add(image.Pt(1+rng.IntN(tw), 1+rng.IntN(th)))
		var dst image.Rectangle
		dst.Min = image.Pt(rng.IntN(W+20)-10, rng.IntN(H+20)-10)
		switch rng.IntN(3) {
		case 0: // unscaled
			dst.Max = dst.Min.Add(src.Size())
		case 1: // an integer factor
			k := 1 + rng.IntN(6)
			dst.Max = dst.Min.Add(src.Size().Mul(k))
		default:
			dst.Max = dst.Min.Add(image.Pt(1+rng.IntN(W), 1+rng.IntN(H)))
		}
		alpha := float32(1)
		if rng.IntN(3) == 0 {
			alpha = rng.Float32()
		}
		var damage []image.Rectangle
		if rng.IntN(2) == 0 {
			for range 1 + rng.IntN(3) {
				m := image.Pt(rng.IntN(W), rng.IntN(H))
				damage = append(damage, image.Rectangle{m, m.Add(image.Pt(1+rng.IntN(W/2), 1+rng.IntN(H/2)))})
			}
		}
		var out [2][]uint32
		for k, r := range []render.Renderer{s, p} {
			b := newTarget(t, W, H)
			tex, err := r.NewTexture(tw, th, f)
			if err != nil {
				t.Fatal(err)
			}
			if err := tex.Update(pix, tw*4, nil); err != nil {
				t.Fatal(err)
			}
			r.Begin(b, nil)
			r.Clear(color.NRGBA{R: 0x20, G: 0x80, B: 0xe0, A: 255})
			r.End()
			r.Begin(b, damage)
			r.FillRect(image.Rect(0, 0, W/2, H), color.NRGBA{R: 0xff, G: 0x40, A: 0xff})
			r.Draw(tex, src, dst, alpha)
			if _, err := r.End(); err != nil {
				t.Fatal(err)
			}
			tex.Release()
			if out[k], err = scenes.Pixels(b); err != nil {
				t.Fatal(err)
			}
		}
		d := scenes.Compare(out[1], out[0], W)
		worst = max(worst, d.Max)
		tol := scenes.Tolerance
		if src.Size() != dst.Size() {
			tol = bilinearTolerance
		}
		if d.Max > tol {
			t.Errorf("draw %d: %dx%d opaque=%v src %v dst %v alpha %.3f damage %v: pixman vs soft: %v", i, tw, th, opaque, src, dst, alpha, damage, d)
		}
	}
	t.Logf("largest channel difference from soft over all draws: %d", worst)
}

// Scaling by large factors across a 1080p target stays within the
// tolerance at the far end of the span (16.16 fixed-point scale).
func TestScaledFarEnd(t *testing.T) {
	p := newR(t)
	s := soft.New()
	rng := rand.New(rand.NewPCG(3, 4))
	pix := pattern(rng, 37, 23, false)
	for _, dst := range []image.Rectangle{image.Rect(0, 0, 1920, 1080), image.Rect(3, 1, 1917, 1079), image.Rect(0, 0, 1280, 7)} {
		var out [2][]uint32
		for k, r := range []render.Renderer{s, p} {
			b := newTarget(t, 1920, 1080)
			tex, _ := r.NewTexture(37, 23, scanout.XRGB8888)
			tex.Update(pix, 37*4, nil)
			r.Begin(b, nil)
			r.Clear(color.NRGBA{A: 255})
			r.Draw(tex, image.Rect(0, 0, 37, 23), dst, 1)
			r.End()
			tex.Release()
			out[k], _ = scenes.Pixels(b)
		}
		d := scenes.Compare(out[1], out[0], 1920)
		t.Logf("%v: %v", dst, d)
		if d.Max > bilinearTolerance {
			t.Errorf("%v: pixman vs soft: %v", dst, d)
		}
	}
}

// A texture view draws what is in the caller's memory now, without
// Update, survives garbage collections (pinned), and Update from that
// same memory copies nothing.
func TestTextureView(t *testing.T) {
	r := newR(t)
	pix := make([]byte, 4*4*4)
	tex, err := r.NewTextureView(pix, 4, 4, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	if err := tex.Update(pix, 16, nil); err != nil {
		t.Fatal(err)
	}
	tgt := newTarget(t, 4, 4)
	for _, v := range []uint32{0x123456, 0x654321} {
		for i := 0; i < len(pix); i += 4 {
			binary.LittleEndian.PutUint32(pix[i:], v)
		}
		runtime.GC()
		if err := r.Begin(tgt, nil); err != nil {
			t.Fatal(err)
		}
		r.Draw(tex, image.Rect(0, 0, 4, 4), image.Rect(0, 0, 4, 4), 1)
		if _, err := r.End(); err != nil {
			t.Fatal(err)
		}
		if got := px(tgt, 3, 3) & 0xffffff; got != v {
			t.Errorf("drawn %06x, want the view's %06x", got, v)
		}
	}
	// Update from other memory writes into the caller's.
	other := bytes.Repeat([]byte{0x11}, 4*4*4)
	if err := tex.Update(other, 16, []image.Rectangle{image.Rect(0, 0, 1, 1)}); err != nil {
		t.Fatal(err)
	}
	if pix[0] != 0x11 || pix[4] == 0x11 {
		t.Error("Update of a view did not copy the damage into the caller's memory")
	}
	tex.Release()
	tex.Release()
	if _, err := r.NewTextureView(pix[:10], 4, 4, scanout.XRGB8888); err == nil {
		t.Error("a view over too little memory was accepted")
	}
	if _, err := r.NewTextureView(nil, 4, 4, scanout.XRGB8888); err == nil {
		t.Error("a view over no memory was accepted")
	}
	if _, err := r.NewTextureView(pix[1:], 3, 3, scanout.XRGB8888); err == nil {
		t.Error("a misaligned view was accepted")
	}
}

// Update refuses what render.CheckPixels refuses, and copies only the
// damage.
func TestUpdate(t *testing.T) {
	r := newR(t)
	tex, _ := r.NewTexture(4, 4, scanout.ARGB8888)
	tx := tex.(*Texture)
	one := bytes.Repeat([]byte{1}, 4*4*4)
	two := bytes.Repeat([]byte{2}, 4*4*4)
	tex.Update(one, 16, nil)
	tex.Update(two, 16, []image.Rectangle{image.Rect(1, 1, 2, 3), image.Rect(-5, -5, 0, 0), image.Rect(3, 3, 99, 99)})
	if tx.pix[0] != 1 || tx.pix[(1*4+1)*4] != 2 || tx.pix[(2*4+1)*4] != 2 || tx.pix[(3*4+1)*4] != 1 || tx.pix[(3*4+3)*4] != 2 {
		t.Errorf("damage not respected: % x", tx.pix)
	}
	for _, c := range []struct {
		n, stride int
	}{{10, 16}, {64, 15}, {63, 16}, {0, 16}, {64, -16}, {64, 0}, {48 + 15, 16}} {
		if err := tex.Update(one[:c.n], c.stride, nil); err == nil {
			t.Errorf("%d bytes at stride %d accepted", c.n, c.stride)
		}
	}
	// A longer stride with the last row short is fine.
	if err := tex.Update(make([]byte, 20*3+16), 20, nil); err != nil {
		t.Errorf("padded stride: %v", err)
	}
	tex.Release()
	if err := tex.Update(one, 16, nil); err == nil {
		t.Error("update after release accepted")
	}
}

// Whatever Update is given, it errors or copies; it never panics.
func FuzzUpdate(f *testing.F) {
	f.Add(uint16(64), 16, 4, 4, 0, 0, 4, 4)
	f.Add(uint16(10), 16, 4, 4, -1, -1, 2, 2)
	f.Add(uint16(100), 3, 4, 4, 0, 0, 4, 4)
	r := newR(f)
	tex, err := r.NewTexture(7, 5, scanout.XRGB8888)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, n uint16, stride, w, h, x0, y0, x1, y1 int) {
		pix := make([]byte, n)
		err := tex.Update(pix, stride, []image.Rectangle{image.Rect(x0, y0, x1, y1)})
		if (render.CheckPixels(pix, stride, 7, 5) == nil) != (err == nil) {
			t.Errorf("Update: %v, CheckPixels disagrees", err)
		}
		v, err := r.NewTextureView(pix, w%64, h%64, scanout.ARGB8888)
		if err == nil {
			if len(pix) < (w%64)*(h%64)*4 {
				t.Errorf("view of %d bytes as %dx%d accepted", n, w%64, h%64)
			}
			v.Release()
		}
	})
}

// Every pixman image — textures, views, target images, the mask — is
// freed by Release, the target buffer's release, Forget and Close.
func TestReleaseCountsImages(t *testing.T) {
	r := newR(t)
	if n := r.liveImages(); n != 1 {
		t.Fatalf("a new renderer holds %d images, want 1 (the mask)", n)
	}
	var texs []render.Texture
	for range 3 {
		tx, err := r.NewTexture(8, 8, scanout.ARGB8888)
		if err != nil {
			t.Fatal(err)
		}
		texs = append(texs, tx)
	}
	view := make([]byte, 8*8*4)
	v, err := r.NewTextureView(view, 8, 8, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	texs = append(texs, v)
	var bufs []*scanout.Buffer
	for range 3 {
		b, err := scanout.MemfdStrategy{}.Allocate(16, 16, scanout.XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		bufs = append(bufs, b)
		for range 2 { // the second frame reuses the image
			r.Begin(b, nil)
			r.Clear(color.NRGBA{A: 255})
			r.Draw(texs[0], image.Rect(0, 0, 8, 8), image.Rect(0, 0, 16, 16), 0.5)
			if _, err := r.End(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := r.liveImages(); n != 1+4+3 {
		t.Errorf("%d images, want 8 (mask, 4 textures, 3 targets)", n)
	}
	texs[0].Release()
	texs[0].Release()
	texs[3].Release()
	bufs[0].Close() // detaches the addon
	r.Forget(bufs[1])
	r.Forget(bufs[1])
	if n := r.liveImages(); n != 1+2+1 {
		t.Errorf("after Release, buffer release and Forget: %d images, want 4", n)
	}
	if len(r.targets) != 1 || len(r.textures) != 2 {
		t.Errorf("renderer keeps %d targets, %d textures; want 1, 2", len(r.targets), len(r.textures))
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := r.liveImages(); n != 0 {
		t.Errorf("after Close: %d images", n)
	}
	if bufs[2].Addon(r) != nil {
		t.Error("Close left its addon on a target")
	}
	texs[1].Release() // after Close: harmless
	bufs[1].Close()
	bufs[2].Close()
	runtime.GC() // a view left pinned would panic in a finalizer
}

// A frame into a known target and a texture update allocate nothing.
func TestNoAllocPerFrame(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates; run without -race")
	}
	r := newR(t)
	b := newTarget(t, 64, 64)
	tex, err := r.NewTexture(32, 32, scanout.ARGB8888)
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]byte, 32*32*4)
	view, err := r.NewTextureView(make([]byte, 16*16*4), 16, 16, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	damage := []image.Rectangle{image.Rect(0, 0, 16, 16), image.Rect(8, 8, 40, 40)}
	frame := func() {
		tex.Update(pix, 32*4, damage)
		r.Begin(b, damage)
		r.Clear(color.NRGBA{A: 255})
		r.FillRect(image.Rect(1, 1, 9, 9), color.NRGBA{R: 255, A: 128})
		r.Draw(tex, image.Rect(0, 0, 32, 32), image.Rect(0, 0, 48, 48), 0.5)
		r.Draw(view, image.Rect(0, 0, 16, 16), image.Rect(4, 4, 20, 20), 1)
		r.Draw(tex, image.Rect(0, 0, 32, 32), image.Rect(10, 10, 42, 42), 1)
		r.End()
		r.Begin(b, nil)
		r.Draw(view, image.Rect(0, 0, 16, 16), image.Rect(0, 0, 64, 64), 1)
		r.End()
	}
	frame()
	if n := testing.AllocsPerRun(50, frame); n != 0 {
		t.Errorf("%.1f allocations per frame", n)
	}
}

// Calls from different goroutines, one at a time, are safe; a target
// released on another goroutine frees its image there.
func TestOtherGoroutines(t *testing.T) {
	r := newR(t)
	b, err := scanout.MemfdStrategy{}.Allocate(16, 16, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	for i := range 4 {
		go func() {
			err := r.Begin(b, nil)
			if err == nil {
				r.Clear(color.NRGBA{R: uint8(i), A: 255})
				_, err = r.End()
			}
			done <- err
		}()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	if got := px(b, 0, 0) & 0xffffff; got != 0x030000 {
		t.Errorf("pixel %06x", got)
	}
	go func() { done <- b.Close() }()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := r.liveImages(); n != 1 {
		t.Errorf("%d images after the target's release, want 1 (the mask)", n)
	}
}

// Version reports the loaded library.
func TestVersion(t *testing.T) {
	newR(t)
	v, err := Version()
	if err != nil || v == "" || !strings.Contains(v, ".") {
		t.Errorf("Version() = %q, %v", v, err)
	}
	t.Logf("libpixman %s", v)
}

func BenchmarkClear1080p(b *testing.B) {
	buf, _ := scanout.MemfdStrategy{}.Allocate(1920, 1080, scanout.XRGB8888)
	defer buf.Close()
	r := newR(b)
	b.SetBytes(1920 * 1080 * 4)
	b.ReportAllocs()
	for b.Loop() {
		r.Begin(buf, nil)
		r.Clear(color.NRGBA{R: 1, A: 255})
		r.End()
	}
}
