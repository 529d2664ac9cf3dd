package scenes

import (
	"fmt"
	"image"
	"testing"

	"github.com/minicomp/minicomp/internal/composebench"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// BenchmarkCompose1080p composes 1, 4 and 16 surfaces (800×600, every
// other one translucent ARGB, overlapping) into a 1080p XRGB target with
// each renderer (soft, pixman, gles), redrawing everything ("full") or
// only the 256×256 region a client just updated ("damage"). Each frame
// also uploads that region (Texture.Update). One run gives every
// combination side by side; ns/frame is the time of one frame, cpu-ns/frame
// the CPU time of the process (llvmpipe's threads too), and each case logs
// the hash of its picture (see internal/composebench, which holds the
// scene).
//
// GLES here is Mesa llvmpipe on the CPU with no dma-buf import, so its
// frames include reading the damaged rows back with glReadPixels.
//
// test/bench/pixman_vs_c.sh runs the pixman cases next to the same frames
// drawn by libpixman called from C (test/bench/pixman_c/compose.c).
func BenchmarkCompose1080p(b *testing.B) {
	const sw, sh = composebench.SurfaceW, composebench.SurfaceH
	renderers := []struct {
		name string
		make func() (render.Renderer, error)
	}{
		{"soft", func() (render.Renderer, error) { return soft.New(), nil }},
		{"pixman", func() (render.Renderer, error) { return pixman.New() }},
		{"gles", func() (render.Renderer, error) { return gles.New(gles.Options{Log: quiet()}) }},
	}
	pix := composebench.Pixels()
	// The yardstick in the same run: one memmove of a 1080p frame. Under
	// emulation (the rig's arm64 guest) only ratios to it mean anything.
	b.Run("memmove", func(b *testing.B) {
		dst, src := make([]byte, 1920*1080*4), make([]byte, 1920*1080*4)
		for i := range src {
			src[i], dst[i] = byte(i), 1
		}
		b.SetBytes(int64(len(src)))
		for b.Loop() {
			copy(dst, src)
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
	})
	for _, rr := range renderers {
		b.Run(rr.name, func(b *testing.B) {
			r, err := rr.make()
			if err != nil {
				b.Skipf("%s unavailable: %v", rr.name, err)
			}
			defer r.Close()
			target, mem := composebench.NewTarget(b)
			for _, n := range []int{1, 4, 16} {
				texs := make([]render.Texture, n)
				at := make([]image.Point, n)
				for i := range texs {
					f := scanout.ARGB8888
					if composebench.Opaque(i) {
						f = scanout.XRGB8888
					}
					if texs[i], err = r.NewTexture(sw, sh, f); err != nil {
						b.Fatal(err)
					}
					texs[i].Update(pix, sw*4, nil)
					at[i] = composebench.SurfaceAt(i)
				}
				upd := []image.Rectangle{composebench.Update}
				for _, mode := range []string{"full", "damage"} {
					var damage []image.Rectangle
					if mode == "damage" {
						damage = []image.Rectangle{upd[0].Add(at[0])}
					}
					b.Run(fmt.Sprintf("surfaces=%d/%s", n, mode), func(b *testing.B) {
						// The picture's hash: pixman's equals libpixman's
						// from C (test/bench/pixman_vs_c.sh compares them).
						composebench.Run(b, func() {
							if err := texs[0].Update(pix, sw*4, upd); err != nil {
								b.Fatal(err)
							}
							if err := r.Begin(target, damage); err != nil {
								b.Fatal(err)
							}
							r.Clear(composebench.Background)
							for i, t := range texs {
								r.Draw(t, image.Rect(0, 0, sw, sh), image.Rect(0, 0, sw, sh).Add(at[i]), 1)
							}
							if _, err := r.End(); err != nil {
								b.Fatal(err)
							}
						}, mem)
					})
				}
				for _, t := range texs {
					t.Release()
				}
			}
		})
	}
}
