package auto

import (
	"errors"
	"image"
	"image/color"
	"io"
	"log/slog"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/scanout"
)

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func requireGLES(t *testing.T) {
	t.Helper()
	r, err := gles.New(gles.Options{Log: quiet()})
	if err != nil {
		if os.Getenv("MINICOMP_REQUIRE_GLES") == "1" || os.Getenv("MINICOMP_RIG_MESA") == "1" {
			t.Fatalf("MINICOMP_REQUIRE_GLES=1 (or MINICOMP_RIG_MESA=1) but EGL is unavailable: %v", err)
		}
		t.Skipf("GLES unavailable here: %v", err)
	}
	r.Close()
}

func TestKinds(t *testing.T) {
	r, why, err := New("soft", Options{Log: quiet()})
	if err != nil || r.Name() != "soft" || !strings.Contains(why, "--renderer=soft") {
		t.Fatalf("soft: %v %q %v", r, why, err)
	}
	r.Close()
	if _, _, err := New("vulkan", Options{}); !errors.Is(err, ErrKind) {
		t.Errorf("unknown kind: %v", err)
	}
}

// Software GL (Mesa's swrast/llvmpipe on the surfaceless platform;
// forced, since where a GPU exists, as in the rig's guest with virgl,
// surfaceless picks it) is no GPU: auto runs the CPU renderer and says
// why; --renderer=gles still gets GLES, drawing offscreen and reading
// back.
func TestAutoSoftwareGL(t *testing.T) {
	t.Setenv("LIBGL_ALWAYS_SOFTWARE", "1")
	requireGLES(t)
	r, why, err := New("auto", Options{Log: quiet()})
	if err != nil || r.Name() != cpuName() || !strings.Contains(why, "software rendering") || !strings.Contains(why, "llvmpipe") {
		t.Fatalf("auto: %v, %q, %v", r, why, err)
	}
	t.Log(why)
	r.Close()
	r, why, err = New("gles", Options{Log: quiet()})
	if err != nil || r.Name() != "gles" || !strings.Contains(why, "reading back") || !strings.Contains(why, "software rendering") {
		t.Fatalf("gles: %v, %q, %v", r, why, err)
	}
	t.Log(why)
	r.Close()
}

// The decision on what gles.New found, for the drivers the rig and a Pi
// have.
func TestUsable(t *testing.T) {
	for _, c := range []struct {
		name string
		info gles.Info
		ok   bool
		want []string
	}{
		{"v3d", gles.Info{Driver: "v3d", GLRenderer: "V3D 4.2", DMABufImport: true, NativeFence: true}, true, nil},
		{"virgl", gles.Info{Driver: "virtio_gpu", GLRenderer: "virgl (LLVMPIPE (LLVM 15.0.6, 256 bits))", DMABufImport: true, NativeFence: true}, true, nil},
		{"kms_swrast", gles.Info{Driver: "kms_swrast", GLRenderer: "llvmpipe (LLVM 15.0.6, 256 bits)", Software: true,
			NoDMABufCause: "kms_swrast is software rendering"}, false, []string{"software rendering", "kms_swrast", "llvmpipe"}},
		{"llvmpipe without a driver name", gles.Info{GLRenderer: "llvmpipe (LLVM 15.0.6, 256 bits)", Software: true}, false,
			[]string{"software rendering", "driver unknown"}},
		{"GPU without import", gles.Info{Driver: "v3d", GLRenderer: "V3D 4.2", NoDMABufCause: "EGL_EXT_image_dma_buf_import is absent on this display"}, false,
			[]string{"cannot import dma-bufs", "EGL_EXT_image_dma_buf_import is absent"}},
	} {
		why, ok := usable(c.info)
		if ok != c.ok {
			t.Errorf("%s: usable %v (%q), want %v", c.name, ok, why, c.ok)
		}
		for _, w := range c.want {
			if !strings.Contains(why, w) {
				t.Errorf("%s: %q lacks %q", c.name, why, w)
			}
		}
	}
}

// A missing extension or a broken EGL: auto falls back with the reason,
// --renderer=gles fails with it.
func TestAutoFallback(t *testing.T) {
	requireGLES(t)
	opts := Options{Log: quiet(), GLES: gles.Options{Disable: []string{"EGL_KHR_surfaceless_context"}}}
	r, why, err := New("auto", opts)
	if err != nil || r.Name() != cpuName() || !strings.Contains(why, "GLES is unavailable") || !strings.Contains(why, "EGL_KHR_surfaceless_context") {
		t.Fatalf("auto: %v %q %v", r, why, err)
	}
	t.Log(why)
	if _, _, err := New("gles", opts); !errors.Is(err, gles.ErrMissingExtension) {
		t.Errorf("gles: %v", err)
	}
	opts = Options{Log: quiet(), Device: "/dev/dri/renderD199"}
	r, why, _ = New("auto", opts)
	if r.Name() != cpuName() || !strings.Contains(why, "renderD199") {
		t.Errorf("auto with a missing device: %q", why)
	}
	t.Log(why)
}

// A lost context is recovered by switching to the CPU renderer; the next
// frame draws.
func TestRecover(t *testing.T) {
	requireGLES(t)
	g, err := gles.New(gles.Options{Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	target, _ := scanout.MemfdStrategy{}.Allocate(16, 16, scanout.XRGB8888)
	defer target.Close()
	g.Close() // as good as lost for this test: every call fails
	r, why, ok := Recover(g, g.Begin(target, nil))
	if ok {
		t.Fatalf("ErrClosed is not a lost context: %q", why)
	}
	lost := &gles.Error{Call: "glGetGraphicsResetStatus", Code: 0x8253, Err: gles.ErrContextLost}
	r, why, ok = Recover(r, lost)
	if !ok || r.Name() != cpuName() || !strings.Contains(why, "GL_GUILTY_CONTEXT_RESET") {
		t.Fatalf("Recover: %v %q %v", r, why, ok)
	}
	t.Log(why)
	if err := r.Begin(target, nil); err != nil {
		t.Fatal(err)
	}
	r.FillRect(image.Rect(0, 0, 16, 16), color.NRGBA{G: 255, A: 255})
	if _, err := r.End(); err != nil {
		t.Fatal(err)
	}
}

// cpuName is the CPU renderer auto falls back to here: pixman where
// libpixman-1 loads (the host suite requires it: MINICOMP_REQUIRE_PIXMAN),
// else soft (the rig guests ship no pixman).
func cpuName() string {
	r, _ := cpu()
	defer r.Close()
	return r.Name()
}

// pixman is a kind of its own; auto's CPU fallback names what it runs.
func TestPixmanKind(t *testing.T) {
	r, why, err := New("pixman", Options{Log: quiet()})
	if cpuName() != "pixman" {
		if err == nil || !errors.Is(err, pixman.ErrNoPixman) {
			t.Fatalf("without libpixman: %v %q %v", r, why, err)
		}
		return
	}
	if err != nil || r.Name() != "pixman" || !strings.Contains(why, "--renderer=pixman") {
		t.Fatalf("pixman: %v %q %v", r, why, err)
	}
	r.Close()
	c, name := cpu()
	defer c.Close()
	if c.Name() != "pixman" || !strings.HasPrefix(name, "pixman ") {
		t.Fatalf("cpu fallback %s %q", c.Name(), name)
	}
}

// probeChildEnv makes this test binary the probe's child (see
// TestProbeChild): "serve" answers, "crash" dies of SIGSEGV.
const probeChildEnv = "MINICOMP_AUTO_PROBE_CHILD"

// TestProbeChild is the child side of TestExecProbe; it does nothing in a
// normal run.
func TestProbeChild(t *testing.T) {
	switch os.Getenv(probeChildEnv) {
	case "serve":
		dev := os.Args[len(os.Args)-1]
		if dev == "-" {
			dev = ""
		}
		ServeProbe(os.Stdout, gles.Options{Device: dev, Log: quiet()})
		os.Exit(0)
	case "crash":
		syscall.Kill(os.Getpid(), syscall.SIGSEGV)
		time.Sleep(time.Second)
		os.Exit(3)
	}
}

// The probe runs in a child: it reports what GLES is (here llvmpipe:
// software, so auto takes the CPU renderer without loading GLES itself),
// and a child that crashes is a reason, not a crash of the caller.
func TestExecProbe(t *testing.T) {
	requireGLES(t)
	t.Setenv("LIBGL_ALWAYS_SOFTWARE", "1") // llvmpipe even where a GPU exists (the Mesa rig's virgl)
	probe := ExecProbe(os.Args[0], "-test.run=^TestProbeChild$", "--")
	t.Setenv(probeChildEnv, "serve")
	info, err := probe(gles.Options{})
	if err != nil || info.GLRenderer == "" || !info.Software {
		t.Fatalf("probe: %+v %v (want llvmpipe, software)", info, err)
	}
	r, why, err := New("auto", Options{Log: quiet(), Probe: probe})
	if err != nil || r.Name() != cpuName() || !strings.Contains(why, "software rendering") {
		t.Fatalf("auto with a child probe: %v %q %v", r, why, err)
	}
	r.Close()
	if _, err := probe(gles.Options{Device: "/dev/dri/renderD199"}); err == nil || !strings.Contains(err.Error(), "renderD199") {
		t.Fatalf("probe of a missing node: %v", err)
	}
	t.Setenv(probeChildEnv, "crash")
	if _, err := probe(gles.Options{}); err == nil || !strings.Contains(err.Error(), "SIGSEGV") {
		t.Fatalf("crashing probe: %v", err)
	}
	r, why, err = New("auto", Options{Log: quiet(), Probe: probe})
	if err != nil || r.Name() != cpuName() || !strings.Contains(why, "SIGSEGV") {
		t.Fatalf("auto after a crashing probe: %v %q %v", r, why, err)
	}
	t.Log(why)
	r.Close()
}
