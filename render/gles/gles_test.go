package gles

import (
	"errors"
	"image"
	"image/color"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/dl"
	"github.com/minicomp/minicomp/scanout"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// requireGLES: a missing EGL fails instead of skipping (test/all.sh sets
// MINICOMP_REQUIRE_GLES=1; the rig guest that ships Mesa sets
// MINICOMP_RIG_MESA=1).
func requireGLES() bool {
	return os.Getenv("MINICOMP_REQUIRE_GLES") == "1" || os.Getenv("MINICOMP_RIG_MESA") == "1"
}

// eglMissing reports whether err means "no EGL here" (a skip unless
// MINICOMP_REQUIRE_GLES=1).
func eglMissing(err error) bool {
	return errors.Is(err, ErrNoEGL) || errors.Is(err, ErrMissingExtension)
}

func newR(t testing.TB, opts Options) *Renderer {
	t.Helper()
	if opts.Log == nil {
		opts.Log = quiet()
	}
	r, err := New(opts)
	if err != nil {
		if eglMissing(err) {
			if requireGLES() {
				t.Fatalf("MINICOMP_REQUIRE_GLES=1 (or MINICOMP_RIG_MESA=1) but EGL is unavailable: %v (test/rig/deps.sh installs libegl1 libgles2 libegl-mesa0)", err)
			}
			t.Skipf("GLES renderer unavailable here (%v); install libegl1 libgles2 libegl-mesa0, or set MINICOMP_REQUIRE_GLES=1 to fail instead", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// requireEGL skips (or fails with MINICOMP_REQUIRE_GLES=1) without EGL.
func requireEGL(t *testing.T) {
	t.Helper()
	newR(t, Options{}).Close()
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
	p := m[int(b.Offset)+y*int(b.Stride)+x*4:]
	return uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16 | uint32(p[3])<<24
}

func TestInfo(t *testing.T) {
	r := newR(t, Options{})
	i := r.Info()
	t.Logf("%+v", i)
	if i.GLVersion == "" || i.GLRenderer == "" || i.Platform != "surfaceless" {
		t.Errorf("info %+v", i)
	}
	if !i.DMABufImport && i.NoDMABufCause == "" {
		t.Error("no dma-buf import and no reason given")
	}
}

// A broken shader goes through the same compile path as the real ones;
// the error names the file, the variant and the file's own line, quoting it.
func TestShaderCompileError(t *testing.T) {
	r := newR(t, Options{})
	broken := "precision mediump float;\nuniform vec4 color;\nvoid main() {\n\tgl_FragColor = colour;\n}\n"
	sourceOverride = map[string]string{"solid.frag": broken}
	defer func() { sourceOverride = nil }()
	_, err := New(Options{Log: quiet()})
	if !errors.Is(err, ErrShaderCompile) {
		t.Fatalf("New with a broken shader: %v, want ErrShaderCompile", err)
	}
	msg := err.Error()
	t.Logf("error:\n%s", msg)
	for _, want := range []string{"glCompileShader solid.frag", "solid.frag:4", "gl_FragColor = colour;"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q", want)
		}
	}
	// A variant (#defines prepended) still reports the file's line.
	sourceOverride = map[string]string{"tex.frag": "precision mediump float;\nvoid main() {\n\tgl_FragColor = vec4(1.0)\n}\n"}
	_, err = New(Options{Log: quiet()})
	if !errors.Is(err, ErrShaderCompile) || !strings.Contains(err.Error(), "tex.frag:4") {
		t.Fatalf("tex.frag: %v", err)
	}
	err = r.do(func() error {
		_, err := r.compile("tex.frag", glFragmentShader, "SWAP", "OPAQUE")
		return err
	})
	if !errors.Is(err, ErrShaderCompile) || !strings.Contains(err.Error(), "tex.frag [SWAP OPAQUE]") || !strings.Contains(err.Error(), "tex.frag:4") {
		t.Fatalf("variant: %v", err)
	}
	t.Logf("variant error:\n%s", err)
}

func TestReadableLog(t *testing.T) {
	src := "#version 100\n#define SWAP 1\nvoid main() {\n\tbad;\n}\n"
	for _, log := range []string{"0:4(2): error: `bad' undeclared", "ERROR: 0:4: 'bad' : undeclared identifier"} {
		got := ReadableLog("x.frag", log, src, 2)
		if !strings.HasPrefix(got, "x.frag:2") || !strings.Contains(got, "2 | bad;") {
			t.Errorf("log %q → %q", log, got)
		}
	}
}

// A missing extension is a clear error naming it (render/auto then falls
// back to the CPU renderer; see its tests).
func TestMissingExtension(t *testing.T) {
	requireEGL(t)
	for _, ext := range []string{"EGL_KHR_surfaceless_context", "EGL_MESA_platform_surfaceless"} {
		_, err := New(Options{Log: quiet(), Disable: []string{ext}})
		if !errors.Is(err, ErrMissingExtension) || !strings.Contains(err.Error(), ext) {
			t.Errorf("without %s: %v", ext, err)
		}
	}
}

// Without EGL_EXT_image_dma_buf_import (llvmpipe without /dev/dri has
// none; disabled here to make sure on any machine) targets are read back
// and client dma-bufs are refused with the reason.
func TestNoDMABufImport(t *testing.T) {
	r := newR(t, Options{Disable: []string{"EGL_EXT_image_dma_buf_import"}})
	if r.Info().DMABufImport {
		t.Fatal("import reported despite the extension disabled")
	}
	b := newTarget(t, 16, 16)
	_, err := r.ImportDMABuf(b)
	if !errors.Is(err, ErrNoDMABufImport) || !strings.Contains(err.Error(), "EGL_EXT_image_dma_buf_import is absent") {
		t.Fatalf("ImportDMABuf: %v", err)
	}
	if err := r.Begin(b, nil); err != nil {
		t.Fatal(err)
	}
	r.Clear(color.NRGBA{R: 1, G: 2, B: 3, A: 255})
	fence, err := r.End()
	if err != nil || fence != nil {
		t.Fatalf("End: %v, fence %v (read-back frames have none)", fence, err)
	}
	if got := px(b, 15, 15); got != 0xff010203 {
		t.Errorf("pixel %08x", got)
	}
	if !r.targets[b].readback {
		t.Error("target not read back")
	}
	// A tiled target cannot be read back: clear error.
	tiled := &scanout.Buffer{File: b.File, Width: 16, Height: 16, Format: scanout.XRGB8888,
		Modifier: 0x0700000000000001, Stride: b.Stride} // BROADCOM_VC4_T_TILED
	if err := r.Begin(tiled, nil); !errors.Is(err, ErrNoDMABufImport) {
		t.Errorf("tiled target without import: %v", err)
	}
}

// The render node is matched against EGL's devices; a node that is not
// there is a clear error listing what EGL has.
func TestDeviceNotFound(t *testing.T) {
	requireEGL(t)
	_, err := New(Options{Log: quiet(), Device: "/dev/dri/renderD199"})
	if !errors.Is(err, ErrNoDevice) && !errors.Is(err, ErrMissingExtension) {
		t.Fatalf("unknown render node: %v", err)
	}
	t.Log(err)
}

// Lost context: every later call fails with ErrContextLost, nothing
// crashes, Close still releases what it can.
func TestContextLost(t *testing.T) {
	r, err := New(Options{Log: quiet()})
	if err != nil {
		if eglMissing(err) && !requireGLES() {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	b := newTarget(t, 32, 32)
	tex, err := r.NewTexture(8, 8, scanout.ARGB8888)
	if err != nil {
		t.Fatal(err)
	}
	frame := func() error {
		if err := r.Begin(b, nil); err != nil {
			return err
		}
		r.Clear(color.NRGBA{A: 255})
		r.Draw(tex, image.Rect(0, 0, 8, 8), image.Rect(0, 0, 16, 16), 1)
		_, err := r.End()
		return err
	}
	if err := frame(); err != nil {
		t.Fatal(err)
	}
	// Lose the context behind the renderer's back, as a GPU reset would.
	r.do(func() error {
		dl.Call(r.l.eglMakeCurrent, r.dpy, 0, 0, 0)
		dl.Call(r.l.eglDestroyContext, r.dpy, r.ctx)
		return nil
	})
	err = frame()
	if !errors.Is(err, ErrContextLost) {
		t.Fatalf("frame after loss: %v, want ErrContextLost", err)
	}
	t.Log(err)
	if _, err := r.NewTexture(4, 4, scanout.XRGB8888); !errors.Is(err, ErrContextLost) {
		t.Errorf("NewTexture after loss: %v", err)
	}
	if err := tex.Update(make([]byte, 8*8*4), 32, nil); !errors.Is(err, ErrContextLost) {
		t.Errorf("Update after loss: %v", err)
	}
	tex.Release()
	r.Close()
	if len(r.textures) != 0 || len(r.targets) != 0 {
		t.Errorf("after Close: %d textures, %d targets", len(r.textures), len(r.targets))
	}
}

// Without EGL_ANDROID_native_fence_sync (llvmpipe surfaceless has none)
// the dma-buf target path ends with glFinish and returns no fence; a
// read-back frame never has one. A real fence needs a device: not
// exercised here.
func TestFenceLogic(t *testing.T) {
	r := newR(t, Options{})
	if r.Info().NativeFence {
		t.Log("EGL_ANDROID_native_fence_sync present")
	}
	r.info.NativeFence = false
	r.frame.fence = nil
	if err := r.do(r.glFence); err != nil || r.frame.fence != nil {
		t.Fatalf("glFence without the extension: %v, fence %v", err, r.frame.fence)
	}
	if r.l.eglDupNativeFenceFDANDROID != 0 && !r.eglExt.has("EGL_ANDROID_native_fence_sync") {
		t.Error("fence entry point loaded without its extension string")
	}
}

// Textures, framebuffers and EGLImages are released by Release, Forget,
// the target limit and Close; New/Close cycles leak no file descriptors.
func TestRelease(t *testing.T) {
	requireEGL(t)
	fds := func() int { e, _ := os.ReadDir("/proc/self/fd"); return len(e) }
	before := fds()
	for range 3 {
		r := newR(t, Options{MaxTargets: 2})
		var texs []interface{ Release() }
		for range 3 {
			tx, err := r.NewTexture(16, 16, scanout.XRGB8888)
			if err != nil {
				t.Fatal(err)
			}
			texs = append(texs, tx)
		}
		bufs := []*scanout.Buffer{newTarget(t, 8, 8), newTarget(t, 8, 8), newTarget(t, 8, 8)}

		for _, b := range bufs {
			r.Begin(b, nil)
			r.Clear(color.NRGBA{A: 255})
			if _, err := r.End(); err != nil {
				t.Fatal(err)
			}
		}
		if s := r.Stats(); s.Textures != 3 || s.Targets != 2 {
			t.Errorf("stats %+v, want 3 textures, 2 targets (limit)", s)
		}
		if _, ok := r.targets[bufs[0]]; ok {
			t.Error("least recently used target kept")
		}
		texs[0].Release()
		texs[0].Release()
		r.Forget(bufs[2])
		if s := r.Stats(); s.Textures != 2 || s.Targets != 1 {
			t.Errorf("after Release+Forget: %+v", s)
		}
		if err := r.Close(); err != nil {
			t.Fatal(err)
		}
		if len(r.textures) != 0 || len(r.targets) != 0 || r.ctx != 0 || r.dpy != 0 {
			t.Errorf("Close left %d textures, %d targets, ctx %#x, dpy %#x", len(r.textures), len(r.targets), r.ctx, r.dpy)
		}
		texs[1].Release() // after Close: harmless
		if err := r.Begin(bufs[1], nil); !errors.Is(err, ErrClosed) {
			t.Errorf("Begin after Close: %v", err)
		}
		if err := r.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		for _, b := range bufs {
			b.Close()
		}
	}
	if after := fds(); after > before {
		t.Errorf("fds %d → %d", before, after)
	}
}

// Update uploads only the damaged rectangles.
func TestUpdateDamageOnly(t *testing.T) {
	r := newR(t, Options{})
	tex, err := r.NewTexture(8, 8, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer tex.Release()
	fill := func(v byte) []byte {
		p := make([]byte, 12*8*4) // stride 48: wider than the texture
		for i := range p {
			p[i] = v
		}
		return p
	}
	if err := tex.Update(fill(0x11), 48, nil); err != nil {
		t.Fatal(err)
	}
	if err := tex.Update(fill(0x22), 48, []image.Rectangle{image.Rect(2, 2, 4, 4)}); err != nil {
		t.Fatal(err)
	}
	if err := tex.Update(fill(0), 4, nil); err == nil {
		t.Error("short stride accepted")
	}
	b := newTarget(t, 8, 8)
	r.Begin(b, nil)
	r.Draw(tex, image.Rect(0, 0, 8, 8), image.Rect(0, 0, 8, 8), 1)
	if _, err := r.End(); err != nil {
		t.Fatal(err)
	}
	if px(b, 0, 0)&0xffffff != 0x111111 || px(b, 3, 3)&0xffffff != 0x222222 || px(b, 4, 4)&0xffffff != 0x111111 {
		t.Errorf("pixels %08x %08x %08x", px(b, 0, 0), px(b, 3, 3), px(b, 4, 4))
	}
}

// A frame into a known target and a texture update allocate nothing.
func TestNoAllocPerFrame(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates; run without -race")
	}
	r := newR(t, Options{})
	b := newTarget(t, 64, 64)
	tex, err := r.NewTexture(32, 32, scanout.ARGB8888)
	if err != nil {
		t.Fatal(err)
	}
	pix := make([]byte, 32*32*4)
	damage := []image.Rectangle{image.Rect(0, 0, 16, 16)}
	frame := func() {
		tex.Update(pix, 32*4, damage)
		r.Begin(b, damage)
		r.Clear(color.NRGBA{A: 255})
		r.FillRect(image.Rect(1, 1, 9, 9), color.NRGBA{R: 255, A: 128})
		r.Draw(tex, image.Rect(0, 0, 32, 32), image.Rect(0, 0, 48, 48), 0.5)
		r.End()
	}
	frame()
	if n := testing.AllocsPerRun(20, frame); n != 0 {
		t.Errorf("%.1f allocations per frame", n)
	}
}

// Calls from different goroutines, one at a time, are safe.
func TestOtherGoroutines(t *testing.T) {
	r := newR(t, Options{})
	b := newTarget(t, 16, 16)
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
	if got := px(b, 0, 0); got != 0xff030000 {
		t.Errorf("pixel %08x", got)
	}
}
