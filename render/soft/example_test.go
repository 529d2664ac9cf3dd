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
