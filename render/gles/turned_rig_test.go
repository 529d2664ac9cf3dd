package gles

import (
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// drawTurnedFrame draws a frame whose orientation shows into b, turned
// by xf: a background, an opaque gradient texture, a translucent fill
// and a scaled draw.
func drawTurnedFrame(t *testing.T, r render.Renderer, b *scanout.Buffer, xf backend.Transform) {
	t.Helper()
	tex, err := r.NewTexture(24, 16, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer tex.Release()
	pix := make([]byte, 24*16*4)
	for y := range 16 {
		for x := range 24 {
			binary.LittleEndian.PutUint32(pix[(y*24+x)*4:], uint32(x*10)<<16|uint32(y*15)<<8|0x40)
		}
	}
	if err := tex.Update(pix, 24*4, nil); err != nil {
		t.Fatal(err)
	}
	if err := r.(render.Transformer).BeginTransformed(b, nil, xf); err != nil {
		t.Fatal(err)
	}
	r.Clear(color.NRGBA{B: 0xc0, A: 0xff})
	r.Draw(tex, image.Rect(0, 0, 24, 16), image.Rect(4, 6, 28, 22), 1)
	r.FillRect(image.Rect(20, 10, 50, 40), color.NRGBA{R: 0xff, A: 0x80})
	r.Draw(tex, image.Rect(0, 0, 12, 8), image.Rect(30, 50, 54, 90), 1)
	fence, err := r.End()
	if err != nil {
		t.Fatal(err)
	}
	if fence != nil {
		checkSyncFile(t, fence)
		fence.Close()
	}
}

// On virgl (the GPU drawing into an imported EGLImage target, not the
// read-back path), a frame turned by 90 degrees and one flipped and
// turned by 270 match the soft renderer's turned frames within the
// scenes' tolerance, read back through the GPU.
func TestRigVirglTurned(t *testing.T) {
	v := newVirglRig(t)
	const w, h = 96, 64 // the panel; the picture is 64×96
	for _, xf := range []backend.Transform{backend.Transform90, backend.TransformFlipped270} {
		b, err := scanout.RenderNativeStrategy{Render: v.dev}.Allocate(w, h, scanout.XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		drawTurnedFrame(t, v.r, b, xf)
		if tg := v.r.targets[b]; tg == nil || tg.readback {
			t.Fatalf("target %+v: want an EGLImage framebuffer", tg)
		}
		ref, err := scanout.MemfdStrategy{}.Allocate(w, h, scanout.XRGB8888)
		if err != nil {
			t.Fatal(err)
		}
		defer ref.Close()
		drawTurnedFrame(t, soft.New(), ref, xf)
		mem, err := ref.Map()
		if err != nil {
			t.Fatal(err)
		}
		bad := 0
		for y := 0; y < h; y += 3 {
			for x := 0; x < w; x += 3 {
				want := binary.LittleEndian.Uint32(mem[int(ref.Offset)+y*int(ref.Stride)+x*4:]) & 0xffffff
				got := glPixel(t, v.r, b, x, y)
				if d := maxChannelDiff(got, want); d > 2 {
					if bad++; bad <= 5 {
						t.Errorf("%v: pixel (%d,%d) = %06x, soft drew %06x", xf, x, y, got, want)
					}
				}
			}
		}
		if bad > 0 {
			t.Errorf("%v: %d sampled pixels differ from soft's by more than 2", xf, bad)
		}
	}
}

// maxChannelDiff is the largest difference of the red, green and blue
// channels of two 0xRRGGBB pixels.
func maxChannelDiff(a, b uint32) uint32 {
	var m uint32
	for sh := 0; sh < 24; sh += 8 {
		x, y := a>>sh&0xff, b>>sh&0xff
		m = max(m, max(x, y)-min(x, y))
	}
	return m
}
