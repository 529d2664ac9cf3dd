package server

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"testing"

	"github.com/minicomp/minicomp/internal/composebench"
	"github.com/minicomp/minicomp/render/pixman"
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
// pixman called from C on the raw scene; the fnv line of each case is the
// target's hash, equal to the raw scene's (what is hidden is not drawn,
// what shows is the same).
func BenchmarkComposeOccluded1080p(b *testing.B) {
	const sw, sh = composebench.SurfaceW, composebench.SurfaceH
	r, err := pixman.New()
	if err != nil {
		if errors.Is(err, pixman.ErrNoPixman) && os.Getenv("MINICOMP_REQUIRE_PIXMAN") != "1" {
			b.Skipf("pixman renderer unavailable here (%v); set MINICOMP_REQUIRE_PIXMAN=1 to fail instead", err)
		}
		b.Fatal(err)
	}
	defer r.Close()
	target, mem := composebench.NewTarget(b)
	// The scene's background, so that the pictures compare.
	defer func(c color.NRGBA) { background = c }(background)
	background = composebench.Background
	pix := composebench.Pixels()
	upd := composebench.Update
	for _, n := range []int{1, 4, 16} {
		s := &Server{renderer: r}
		o := &output{s: s, bounds: image.Rect(0, 0, composebench.TargetW, composebench.TargetH)}
		s.outputs = []*output{o} // compose asks which output each surface is on
		for i := range n {
			sf := &surface{scale: 1, vp: noViewport, content: append([]byte(nil), pix...), width: sw, height: sh, mapped: true,
				opaque: composebench.Opaque(i), role: &xdgSurface{pos: composebench.SurfaceAt(i)}}
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
				composebench.Run(b, func() {
					// Surface 0's client writes the block into its buffer.
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
				}, mem)
			})
		}
		for _, sf := range s.surfaces {
			sf.releaseTexture()
		}
	}
}
