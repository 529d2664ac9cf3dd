package soft_test

import (
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"log"

	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// Draw only the damaged part of a frame with the CPU renderer.
func ExampleRenderer() {
	target, err := scanout.MemfdStrategy{}.Allocate(320, 240, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()
	r := soft.New()
	if err := r.Begin(target, []image.Rectangle{image.Rect(0, 0, 100, 100)}); err != nil {
		log.Fatal(err)
	}
	r.Clear(color.NRGBA{R: 0x20, G: 0x40, B: 0x60, A: 0xff})
	if _, err := r.End(); err != nil {
		log.Fatal(err)
	}
	mem, _ := target.Map()
	fmt.Printf("%08x %08x\n", binary.LittleEndian.Uint32(mem[0:]), binary.LittleEndian.Uint32(mem[200*int(target.Stride):]))
	// Output: ff204060 00000000
}

// Draw a texture scaled (bilinear) and at half opacity.
func ExampleRenderer_Draw() {
	target, err := scanout.MemfdStrategy{}.Allocate(64, 64, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()
	r := soft.New()
	defer r.Close()
	tex, err := r.NewTexture(2, 2, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer tex.Release()
	white := []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	tex.Update(white, 8, nil) // 2×2 white
	r.Begin(target, nil)
	r.Clear(color.NRGBA{A: 0xff})
	r.Draw(tex, image.Rect(0, 0, 2, 2), image.Rect(0, 0, 32, 32), 0.5)
	r.End()
	mem, _ := target.Map()
	fmt.Printf("%08x %08x\n", binary.LittleEndian.Uint32(mem[0:]), binary.LittleEndian.Uint32(mem[40*4:]))
	// Output: ff808080 ff000000
}
