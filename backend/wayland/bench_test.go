package wayland

import (
	"context"
	"image"
	"testing"

	"github.com/minicomp/minicomp/backend"
)

// BenchmarkHandover measures what handing a 1080p frame to the parent
// costs us per frame (Present: copy if any, attach, damage, frame, commit),
// for each hand-over, with full-frame and small damage. Waiting for the
// parent's frame callback is outside the timer. Nested in a 1920×1080
// minicomp parent.
func BenchmarkHandover(b *testing.B) {
	startMinicomp(b, "1920x1080")
	type mode struct {
		name  string
		opts  Options
		want  Handover
		dmabf bool
	}
	for _, m := range []mode{
		{"shm-copy", Options{ForceCopy: true}, HandoverShmCopy, false},
		{"shm-zero-copy", Options{}, HandoverShmZeroCopy, false},
		{"dmabuf", Options{}, HandoverDmabuf, true},
	} {
		for _, dmg := range []struct {
			name string
			r    []image.Rectangle
		}{{"full", nil}, {"damage-64x64", []image.Rectangle{image.Rect(900, 500, 964, 564)}}} {
			b.Run(m.name+"/"+dmg.name, func(b *testing.B) {
				opts := m.opts
				opts.Outputs = []backend.Size{{Width: 1920, Height: 1080}}
				opts.Logger = quietLogger()
				be, err := newEnv(opts)
				if err != nil {
					b.Fatal(err)
				}
				defer be.Close()
				o := be.outputs[0]
				if got := o.Handover(); got != m.want {
					if m.dmabf {
						b.Skipf("no dma-buf hand-over here: targets %q, hand-over %v (%s)", o.Info().Strategy, got, o.handoverWhy)
					}
					b.Fatalf("hand-over %v, want %v", got, m.want)
				}
				ctx := context.Background()
				// Warm up: the first frames copy whole targets.
				for range 4 {
					target, _, _ := o.Next()
					o.Present(target, nil, nil)
					o.WaitFrame(ctx)
				}
				before := o.Info().Stats.BytesCopied
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					target, _, _ := o.Next()
					if _, err := o.Present(target, dmg.r, nil); err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if _, err := o.WaitFrame(ctx); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
				b.StopTimer()
				b.ReportMetric(float64(o.Info().Stats.BytesCopied-before)/float64(b.N), "copied-B/frame")
			})
		}
	}
}
