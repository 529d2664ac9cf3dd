package render_test

import (
	"errors"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/internal/scenes"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// turned draws every frame of a scene turned by xf: its Begin is the
// renderer's BeginTransformed.
type turned struct {
	render.Renderer
	xf backend.Transform
}

func (t turned) Begin(target *scanout.Buffer, damage []image.Rectangle) error {
	return t.Renderer.(render.Transformer).BeginTransformed(target, damage, t.xf)
}

// turnPixels is the upright w×h picture px as the panel for xf shows
// it: each panel pixel takes the picture pixel under its centre.
func turnPixels(px []uint32, w, h int, xf backend.Transform) (out []uint32, bw, bh int) {
	bw, bh = xf.LogicalSize(w, h) // the panel's size (the swap is its own inverse)
	out = make([]uint32, bw*bh)
	for y := range bh {
		for x := range bw {
			lx, ly := xf.ToLogical(bw, bh, float64(x)+0.5, float64(y)+0.5)
			out[y*bw+x] = px[int(ly)*w+int(lx)]
		}
	}
	return out, bw, bh
}

func newRenderers(t *testing.T) map[string]render.Renderer {
	t.Helper()
	rs := map[string]render.Renderer{"soft": soft.New()}
	p, err := pixman.New()
	switch {
	case err == nil:
		rs["pixman"] = p
		t.Cleanup(func() { p.Close() })
	case errors.Is(err, pixman.ErrNoPixman) && os.Getenv("MINICOMP_REQUIRE_PIXMAN") != "1":
		t.Logf("pixman renderer unavailable here (%v): not compared", err)
	default:
		t.Fatal(err)
	}
	g, err := gles.New(gles.Options{})
	switch {
	case err == nil:
		rs["gles"] = g
		t.Cleanup(func() { g.Close() })
	case (errors.Is(err, gles.ErrNoEGL) || errors.Is(err, gles.ErrMissingExtension)) && os.Getenv("MINICOMP_REQUIRE_GLES") != "1":
		t.Logf("GLES renderer unavailable here (%v): not compared", err)
	default:
		t.Fatal(err)
	}
	return rs
}

// Every scene drawn turned by each of the eight transforms, by every
// renderer, is the scene drawn upright by soft (which
// render/internal/scenes checks against its reference images) turned,
// within scenes.Tolerance, and the renderers agree with each other.
func TestScenesTurned(t *testing.T) {
	rs := newRenderers(t)
	for _, sc := range scenes.All() {
		w, h := scenes.W, scenes.H
		upright, err := scanout.MemfdStrategy{}.Allocate(w, h, scanout.XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		defer upright.Close()
		if err := sc.Run(soft.New(), upright); err != nil {
			t.Fatal(err)
		}
		ref, err := scenes.Pixels(upright)
		if err != nil {
			t.Fatal(err)
		}
		for xf := backend.TransformNormal; xf <= backend.TransformFlipped270; xf++ {
			want, bw, bh := turnPixels(ref, w, h, xf)
			t.Run(sc.Name+"/"+xf.String(), func(t *testing.T) {
				got := map[string][]uint32{}
				for name, r := range rs {
					target, err := scanout.MemfdStrategy{}.Allocate(bw, bh, scanout.XRGB8888)
					if err != nil {
						t.Fatal(err)
					}
					defer target.Close()
					if err := sc.Run(turned{r, xf}, target); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					if g, ok := r.(*gles.Renderer); ok {
						g.Forget(target)
					}
					px, err := scenes.Pixels(target)
					if err != nil {
						t.Fatal(err)
					}
					got[name] = px
					d := scenes.Compare(px, want, bw)
					if d.Max > scenes.Tolerance {
						out := filepath.Join(t.TempDir(), name+".png")
						scenes.WritePNG(out, px, bw, bh)
						t.Errorf("%s differs from the turned reference: %v (drawn: %s)", name, d, out)
					}
				}
				for name, px := range got {
					if name == "soft" {
						continue
					}
					if d := scenes.Compare(px, got["soft"], bw); d.Max > scenes.Tolerance {
						t.Errorf("%s vs soft: %v", name, d)
					}
				}
			})
		}
	}
}

// A transform outside the eight is refused by every renderer.
func TestBeginTransformedRefusesBadTransform(t *testing.T) {
	for name, r := range newRenderers(t) {
		target, err := scanout.MemfdStrategy{}.Allocate(16, 16, scanout.XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		for _, xf := range []backend.Transform{-1, 8} {
			if err := r.(render.Transformer).BeginTransformed(target, nil, xf); err == nil {
				t.Errorf("%s: BeginTransformed with %v accepted", name, xf)
				r.End()
			}
		}
	}
}

// A turned frame (damage, fills, unscaled and scaled draws) allocates
// nothing once the renderer's scratch has grown, on soft and pixman.
func TestTurnedFrameAllocatesNothing(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector's instrumentation allocates; run without -race (test/all.sh does)")
	}
	rs := newRenderers(t)
	delete(rs, "gles") // its GL thread's hand-off is measured by its own tests
	for name, r := range rs {
		target, err := scanout.MemfdStrategy{}.Allocate(160, 100, scanout.XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		defer target.Close()
		tex, err := r.NewTexture(32, 24, scanout.ARGB8888)
		if err != nil {
			t.Fatal(err)
		}
		defer tex.Release()
		damage := []image.Rectangle{image.Rect(5, 5, 60, 90), image.Rect(40, 40, 100, 150)}
		frame := func() {
			if err := r.(render.Transformer).BeginTransformed(target, damage, backend.Transform90); err != nil {
				t.Fatal(err)
			}
			r.Clear(color.NRGBA{R: 9, A: 255})
			r.FillRect(image.Rect(10, 10, 50, 50), color.NRGBA{G: 200, A: 128})
			r.Draw(tex, image.Rect(0, 0, 32, 24), image.Rect(20, 30, 52, 54), 1)
			r.Draw(tex, image.Rect(0, 0, 32, 24), image.Rect(0, 60, 96, 132), 0.5)
			if _, err := r.End(); err != nil {
				t.Fatal(err)
			}
		}
		frame()
		if n := testing.AllocsPerRun(20, frame); n != 0 {
			t.Errorf("%s: %v allocations per turned frame", name, n)
		}
	}
}
