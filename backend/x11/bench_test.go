package x11

import (
	"image"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/testenv"
)

// BenchmarkUpload measures what one 1080p frame costs to get into the
// window: the copy from the render target plus the PutImage requests and
// a round trip until the server has processed them (no refresh pacing),
// with MIT-SHM and with plain PutImage, for the whole frame and for a
// 256×256 damaged square. All four run against one Xvfb.
func BenchmarkUpload(b *testing.B) {
	x := testenv.StartXvfb(b)
	for _, path := range []struct {
		name  string
		noSHM bool
	}{{"shm", false}, {"plain", true}} {
		be := newBackend(b, Options{Display: x.Display, Outputs: []backend.Size{{Width: 1920, Height: 1080}}, NoSHM: path.noSHM})
		if ok, why := be.SHM(); ok == path.noSHM {
			b.Fatalf("%s: SHM() = %v (%s)", path.name, ok, why)
		}
		o := be.outputs[0]
		for _, d := range []struct {
			name   string
			damage []image.Rectangle
		}{{"full", nil}, {"damage256", []image.Rectangle{image.Rect(800, 400, 1056, 656)}}} {
			b.Run(path.name+"/"+d.name, func(b *testing.B) {
				frame := func() {
					target, _, _ := o.Next()
					if _, err := o.Present(target, d.damage, nil); err != nil {
						b.Fatal(err)
					}
					if err := <-o.sync; err != nil {
						b.Fatal(err)
					}
					o.sync, o.pending = nil, false
				}
				for _, t := range o.sc.Buffers { // fault the targets in
					fill(b, t, pattern)
				}
				frame() // the first frame at a size is uploaded whole
				px := 1920 * 1080
				if d.damage != nil {
					px = d.damage[0].Dx() * d.damage[0].Dy()
				}
				b.SetBytes(int64(px * 4))
				b.ResetTimer()
				for b.Loop() {
					frame()
				}
			})
		}
	}
}
