package scenes

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"testing"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// BenchmarkCompose1080p composes 1, 4 and 16 surfaces (800×600, every
// other one translucent ARGB, overlapping) into a 1080p XRGB target with
// each renderer (soft, pixman, gles), redrawing everything ("full") or
// only the 256×256 region a client just updated ("damage"). Each frame
// also uploads that region (Texture.Update). One run gives every
// combination side by side; ns/frame is the time of one frame.
//
// GLES here is Mesa llvmpipe on the CPU with no dma-buf import, so its
// frames include reading the damaged rows back with glReadPixels.
//
// test/bench/pixman_vs_c.sh runs the pixman cases next to the same frames
// drawn by libpixman called from C (test/bench/pixman_c/compose.c).
func BenchmarkCompose1080p(b *testing.B) {
	const sw, sh = 800, 600
	renderers := []struct {
		name string
		make func() (render.Renderer, error)
	}{
		{"soft", func() (render.Renderer, error) { return soft.New(), nil }},
		{"pixman", func() (render.Renderer, error) { return pixman.New() }},
		{"gles", func() (render.Renderer, error) { return gles.New(gles.Options{Log: quiet()}) }},
	}
	pix := make([]byte, sw*sh*4)
	for i := range sw * sh {
		binary.LittleEndian.PutUint32(pix[i*4:], 0xc0000000|uint32(i)*2654435761&0x00c0c0c0)
	}
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
			target, err := scanout.MemfdStrategy{}.Allocate(1920, 1080, scanout.XRGB8888)
			if err != nil {
				b.Fatal(err)
			}
			defer target.Close()
			mem, err := target.Map()
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range []int{1, 4, 16} {
				texs := make([]render.Texture, n)
				at := make([]image.Point, n)
				for i := range texs {
					f := scanout.XRGB8888
					if i%2 == 1 {
						f = scanout.ARGB8888
					}
					if texs[i], err = r.NewTexture(sw, sh, f); err != nil {
						b.Fatal(err)
					}
					texs[i].Update(pix, sw*4, nil)
					at[i] = image.Pt(i*71%1120, i*37%480)
				}
				upd := []image.Rectangle{image.Rect(100, 100, 356, 356)}
				for _, mode := range []string{"full", "damage"} {
					var damage []image.Rectangle
					if mode == "damage" {
						damage = []image.Rectangle{upd[0].Add(at[0])}
					}
					b.Run(fmt.Sprintf("surfaces=%d/%s", n, mode), func(b *testing.B) {
						frame := func() {
							if err := texs[0].Update(pix, sw*4, upd); err != nil {
								b.Fatal(err)
							}
							if err := r.Begin(target, damage); err != nil {
								b.Fatal(err)
							}
							r.Clear(color.NRGBA{R: 0x20, G: 0x30, B: 0x40, A: 0xff})
							for i, t := range texs {
								r.Draw(t, image.Rect(0, 0, sw, sh), image.Rect(0, 0, sw, sh).Add(at[i]), 1)
							}
							if _, err := r.End(); err != nil {
								b.Fatal(err)
							}
						}
						frame() // targets and caches warm
						b.ReportAllocs()
						b.ResetTimer()
						cpu0 := processCPU()
						for b.Loop() {
							frame()
						}
						b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/frame")
						b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
						// The picture's hash: pixman's equals libpixman's
						// from C (test/bench/pixman_vs_c.sh compares them).
						h := fnv.New64a()
						h.Write(mem)
						b.Logf("fnv %016x", h.Sum64())
					})
				}
				for _, t := range texs {
					t.Release()
				}
			}
		})
	}
}

// processCPU is the CPU time of the whole process in ns, every thread
// counted (a renderer's own threads too): on a loaded machine it moves
// less than the wall clock.
func processCPU() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
	return ts.Nano()
}
