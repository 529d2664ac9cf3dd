package render_test

import (
	"image"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/composebench"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// BenchmarkTurned is the cost of composing turned (BeginTransformed 90)
// against upright on a 1080p panel, for the CPU renderers: a kiosk
// frame (an opaque surface filling the picture and a translucent
// 800×600 one over it), redrawn whole ("full") or only a 256×256 region
// ("damage"). The picture is 1920×1080 upright and 1080×1920 turned;
// the target is the same 1920×1080 buffer. Compare normal and 90 of one
// run: ns/frame is the time of one frame (composebench.Run, which also
// reports cpu-ns/frame and logs the picture's hash).
func BenchmarkTurned(b *testing.B) {
	renderers := []struct {
		name string
		make func() (render.Renderer, error)
	}{
		{"soft", func() (render.Renderer, error) { return soft.New(), nil }},
		{"pixman", func() (render.Renderer, error) { return pixman.New() }},
	}
	for _, rr := range renderers {
		b.Run(rr.name, func(b *testing.B) {
			r, err := rr.make()
			if err != nil {
				b.Fatalf("%s unavailable: %v", rr.name, err)
			}
			defer r.Close()
			target, mem := composebench.NewTarget(b) // 1920×1080 XRGB
			for _, xf := range []backend.Transform{backend.TransformNormal, backend.Transform90} {
				lw, lh := xf.LogicalSize(1920, 1080)
				bg, err := r.NewTexture(lw, lh, scanout.XRGB8888)
				if err != nil {
					b.Fatal(err)
				}
				bg.Update(composebench.Noise(lw, lh, 0), lw*4, nil)
				fg, err := r.NewTexture(800, 600, scanout.ARGB8888)
				if err != nil {
					b.Fatal(err)
				}
				fg.Update(composebench.Noise(800, 600, 0xc0), 800*4, nil)
				for _, mode := range []string{"full", "damage"} {
					var damage []image.Rectangle
					if mode == "damage" {
						damage = []image.Rectangle{image.Rect(100, 100, 356, 356)}
					}
					b.Run(mode+"/"+xf.String(), func(b *testing.B) {
						tr := r.(render.Transformer)
						composebench.Run(b, func() {
							if err := tr.BeginTransformed(target, damage, xf); err != nil {
								b.Fatal(err)
							}
							r.Clear(composebench.Background)
							r.Draw(bg, image.Rect(0, 0, lw, lh), image.Rect(0, 0, lw, lh), 1)
							r.Draw(fg, image.Rect(0, 0, 800, 600), image.Rect(40, 60, 840, 660), 1)
							if _, err := r.End(); err != nil {
								b.Fatal(err)
							}
						}, mem)
					})
				}
				bg.Release()
				fg.Release()
			}
		})
	}
}
