package scenes

import (
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

var update = flag.Bool("update", false, "rewrite the reference images from the soft renderer")

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// newGLES returns the GLES renderer on llvmpipe (surfaceless), skipping
// when EGL is missing unless MINICOMP_REQUIRE_GLES=1.
func newGLES(t *testing.T) *gles.Renderer {
	t.Helper()
	r, err := gles.New(gles.Options{Log: quiet()})
	if err != nil {
		if errors.Is(err, gles.ErrNoEGL) || errors.Is(err, gles.ErrMissingExtension) {
			if os.Getenv("MINICOMP_REQUIRE_GLES") == "1" {
				t.Fatalf("MINICOMP_REQUIRE_GLES=1 but EGL is unavailable: %v (test/rig/deps.sh installs libegl1 libgles2 libegl-mesa0)", err)
			}
			t.Skipf("GLES renderer unavailable here (%v); install libegl1 libgles2 libegl-mesa0, or set MINICOMP_REQUIRE_GLES=1 to fail instead", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func runScene(t *testing.T, r render.Renderer, s Scene) []uint32 {
	t.Helper()
	target, err := scanout.MemfdStrategy{}.Allocate(W, H, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer target.Close()
	if err := s.Run(r, target); err != nil {
		t.Fatalf("%s on %s: %v", s.Name, r.Name(), err)
	}
	if g, ok := r.(*gles.Renderer); ok {
		g.Forget(target)
	}
	px, err := Pixels(target)
	if err != nil {
		t.Fatal(err)
	}
	return px
}

// Every scene, drawn by soft and by gles, matches the hand-checked pixels,
// the reference image, and the other renderer, within Tolerance.
func TestScenes(t *testing.T) {
	g := newGLES(t)
	s := soft.New()
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			sp := runScene(t, s, sc)
			gp := runScene(t, g, sc)
			if *update {
				if err := WritePNG(RefPath(sc.Name), sp, W, H); err != nil {
					t.Fatal(err)
				}
			}
			for name, px := range map[string][]uint32{"soft": sp, "gles": gp} {
				for _, b := range CheckPixels(sc, px) {
					t.Errorf("%s: hand-checked pixel %s", name, b)
				}
			}
			ref, w, h, err := ReadPNG(RefPath(sc.Name))
			if err != nil || w != W || h != H {
				t.Fatalf("reference %s: %v (%dx%d); regenerate with go test -run TestScenes -update", RefPath(sc.Name), err, w, h)
			}
			for name, px := range map[string][]uint32{"soft": sp, "gles": gp} {
				d := Compare(px, ref, W)
				t.Logf("%s vs reference: %v", name, d)
				if d.Max > Tolerance {
					t.Errorf("%s differs from %s: %v", name, RefPath(sc.Name), d)
					WritePNG(t.TempDir()+"/"+name+".png", px, W, H)
				}
			}
			d := Compare(gp, sp, W)
			t.Logf("gles vs soft: %v", d)
			if d.Max > Tolerance {
				t.Errorf("gles vs soft: %v", d)
			}
		})
	}
}
