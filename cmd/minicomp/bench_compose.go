package main

import (
	"encoding/binary"
	"fmt"
	"image"
	"math"
	"time"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// composeResult is the CPU renderer's frame time by the size of the
// damage: a scene like BenchmarkCompose1080p's (4 surfaces of 800×600,
// every other one translucent, the same pixels) but overlapping around the
// centre of a w×h target (not at composebench.SurfaceAt), so that every
// damage square, a centred square of each side, touches all four.
type composeResult struct {
	Renderer string         `json:"renderer"`
	Surfaces int            `json:"surfaces"`
	Points   []composePoint `json:"points,omitempty"`
	Error    string         `json:"error,omitempty"`
}

type composePoint struct {
	Side   int     `json:"side"` // 0: the whole frame
	Pixels int     `json:"pixels"`
	US     float64 `json:"frame_us"` // best of the iterations: upload + compose
}

// composeSides are the damage squares timed (0: the whole frame).
var composeSides = []int{32, 64, 128, 256, 512, 1024, 0}

// benchCompose times CPU composition by damage size with pixman (where
// libpixman-1 loads), else the pure-Go renderer.
func benchCompose(w, h, iters int, progress func(string, ...any)) *composeResult {
	var r render.Renderer
	if p, err := pixman.New(); err == nil {
		r = p
	} else {
		r = soft.New()
	}
	defer r.Close()
	const sw, sh, n = 800, 600, 4
	res := &composeResult{Renderer: r.Name(), Surfaces: n}
	progress("composing %d surfaces into %dx%d with %s by damage size", n, w, h, r.Name())
	target, err := scanout.MemfdStrategy{}.Allocate(w, h, scanout.XRGB8888)
	if err != nil {
		res.Error = oneLine(err)
		return res
	}
	defer target.Close()
	pix := make([]byte, sw*sh*4)
	for i := range sw * sh {
		binary.LittleEndian.PutUint32(pix[i*4:], 0xc0000000|uint32(i)*2654435761&0x00c0c0c0)
	}
	texs := make([]render.Texture, n)
	at := make([]image.Point, n)
	for i := range texs {
		f := scanout.XRGB8888
		if i%2 == 1 {
			f = scanout.ARGB8888
		}
		if texs[i], err = r.NewTexture(sw, sh, f); err != nil {
			res.Error = oneLine(err)
			return res
		}
		defer texs[i].Release()
		if err := texs[i].Update(pix, sw*4, nil); err != nil {
			res.Error = oneLine(err)
			return res
		}
		// Spread over the target, overlapping around its centre.
		at[i] = image.Pt(w/2-sw*7/8+(i%2)*sw*3/4, h/2-sh*7/8+(i/2)*sh*3/4)
	}
	bounds := image.Rect(0, 0, w, h)
	upd := make([]image.Rectangle, 1) // reused: no allocation in the timed loop
	for _, side := range composeSides {
		d := bounds
		if side > 0 {
			if side > w || side > h {
				continue
			}
			d = image.Rect(w/2-side/2, h/2-side/2, w/2-side/2+side, h/2-side/2+side)
		}
		damage := []image.Rectangle{d}
		best := time.Duration(math.MaxInt64)
		for range max(iters, 3) {
			t0 := time.Now()
			for i, t := range texs {
				// The client's update, in texture pixels.
				if upd[0] = d.Sub(at[i]).Intersect(image.Rect(0, 0, sw, sh)); !upd[0].Empty() {
					if err := t.Update(pix, sw*4, upd); err != nil {
						res.Error = oneLine(err)
						return res
					}
				}
			}
			if err := r.Begin(target, damage); err != nil {
				res.Error = oneLine(err)
				return res
			}
			for i, t := range texs {
				r.Draw(t, image.Rect(0, 0, sw, sh), image.Rect(0, 0, sw, sh).Add(at[i]), 1)
			}
			if _, err := r.End(); err != nil {
				res.Error = oneLine(err)
				return res
			}
			best = min(best, time.Since(t0))
		}
		res.Points = append(res.Points, composePoint{Side: side, Pixels: d.Dx() * d.Dy(), US: us(best)})
	}
	return res
}

// Label names a damage square ("256×256", "full frame").
func (p composePoint) Label() string {
	if p.Side == 0 {
		return "full frame"
	}
	return fmt.Sprintf("%d×%d", p.Side, p.Side)
}
