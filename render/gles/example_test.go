package gles_test

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"io"
	"log"
	"log/slog"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// Draw a frame with the GPU (Mesa llvmpipe without a device: surfaceless,
// read back into the target), falling back to the CPU renderer when EGL
// is unavailable; both draw the same pixels.
func ExampleNew() {
	var r render.Renderer
	g, err := gles.New(gles.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		r = soft.New() // the reason is in err; render/auto reports it
	} else {
		r = g
	}
	defer r.Close()
	target, err := scanout.MemfdStrategy{}.Allocate(64, 64, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()
	if err := r.Begin(target, []image.Rectangle{image.Rect(0, 0, 32, 32)}); err != nil {
		log.Fatal(err)
	}
	r.Clear(color.NRGBA{R: 0x20, G: 0x40, B: 0x60, A: 0xff})
	r.FillRect(image.Rect(0, 0, 8, 8), color.NRGBA{R: 0xff, A: 0x80})
	if _, err := r.End(); err != nil {
		log.Fatal(err)
	}
	mem, _ := target.Map()
	at := func(x, y int) uint32 { return binary.LittleEndian.Uint32(mem[y*int(target.Stride)+x*4:]) & 0xffffff }
	fmt.Printf("%06x %06x %06x\n", at(0, 0), at(20, 20), at(40, 40))
	// Output: 902030 204060 000000
}
