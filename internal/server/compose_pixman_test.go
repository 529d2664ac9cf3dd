package server

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"os"
	"testing"

	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// BenchmarkComposeOccluded1080p is render/internal/scenes'
// BenchmarkCompose1080p scene (1, 4 and 16 surfaces of 800×600, every other
// one translucent ARGB, into a 1080p XRGB target, redrawn whole or in the
// 256×256 block surface 0's client just wrote) drawn by the pixman
// renderer the way the server composes: output.compose, which draws each
// surface only in the pieces that no opaque surface above hides, and the
// background only where no surface is. The surfaces are shm-like views
// (no upload): a frame copies the block into surface 0's memory, as its
// client would, and composes. test/bench/pixman_vs_c.sh sets it against
// pixman called from C on the raw scene; the fnv line of each case is
// the FNV-1a hash of the target, equal to the raw scene's (what is hidden is not
// drawn, what shows is the same).
func BenchmarkComposeOccluded1080p(b *testing.B) {
	const sw, sh = 800, 600
	r, err := pixman.New()
	if err != nil {
		if errors.Is(err, pixman.ErrNoPixman) && os.Getenv("MINICOMP_REQUIRE_PIXMAN") != "1" {
			b.Skipf("pixman renderer unavailable here (%v); set MINICOMP_REQUIRE_PIXMAN=1 to fail instead", err)
		}
		b.Fatal(err)
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
	// The scene benchmark's background, so that the pictures compare.
	defer func(c color.NRGBA) { background = c }(background)
	background = color.NRGBA{R: 0x20, G: 0x30, B: 0x40, A: 0xff}
	pix := make([]byte, sw*sh*4)
	for i := range sw * sh {
		binary.LittleEndian.PutUint32(pix[i*4:], 0xc0000000|uint32(i)*2654435761&0x00c0c0c0)
	}
	upd := image.Rect(100, 100, 356, 356)
	for _, n := range []int{1, 4, 16} {
		s := &Server{renderer: r}
		o := &output{s: s, bounds: image.Rect(0, 0, 1920, 1080)}
		for i := range n {
			sf := &surface{scale: 1, vp: noViewport, content: append([]byte(nil), pix...), width: sw, height: sh,
				opaque: i%2 == 0, role: &xdgSurface{pos: image.Pt(i*71%1120, i*37%480)}}
			sf.stack = []*surface{sf}
			if err := sf.updateTexture(r); err != nil {
				b.Fatal(err)
			}
			s.surfaces = append(s.surfaces, sf)
		}
		for _, mode := range []string{"full", "damage"} {
			draw := []image.Rectangle{o.bounds}
			if mode == "damage" {
				draw = []image.Rectangle{upd.Add(s.surfaces[0].role.pos)}
			}
			b.Run(fmt.Sprintf("surfaces=%d/%s", n, mode), func(b *testing.B) {
				frame := func() {
					content := s.surfaces[0].content
					for y := upd.Min.Y; y < upd.Max.Y; y++ {
						row := y*sw*4 + upd.Min.X*4
						copy(content[row:row+upd.Dx()*4], pix[row:])
					}
					if err := r.Begin(target, draw); err != nil {
						b.Fatal(err)
					}
					o.compose(draw)
					if _, err := r.End(); err != nil {
						b.Fatal(err)
					}
				}
				frame()
				b.ReportAllocs()
				b.ResetTimer()
				cpu0 := processCPU()
				for b.Loop() {
					frame()
				}
				b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/frame")
				b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
				h := fnv.New64a()
				h.Write(mem)
				b.Logf("fnv %016x", h.Sum64())
			})
		}
		for _, sf := range s.surfaces {
			sf.releaseTexture()
		}
	}
}

// processCPU is the CPU time of the whole process in ns, every thread
// counted.
func processCPU() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
	return ts.Nano()
}
