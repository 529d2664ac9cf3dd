package pixman_test

import (
	"image"
	"image/color"
	"log"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// Draw with pixman where libpixman is installed, else with render/soft.
// (Not run: which one draws depends on the machine.)
func ExampleNew() {
	var r render.Renderer
	if p, err := pixman.New(); err == nil {
		r = p
	} else {
		log.Printf("%v; drawing with render/soft", err) // names libpixman-1.so.0 and libpixman-1-0
		r = soft.New()
	}
	defer r.Close()
	target, err := scanout.MemfdStrategy{}.Allocate(320, 240, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()
	if err := r.Begin(target, []image.Rectangle{image.Rect(0, 0, 100, 100)}); err != nil {
		log.Fatal(err)
	}
	r.Clear(color.NRGBA{R: 0x20, G: 0x40, B: 0x60, A: 0xff})
	r.FillRect(image.Rect(10, 10, 50, 50), color.NRGBA{R: 0xff, A: 0x80})
	if _, err := r.End(); err != nil {
		log.Fatal(err)
	}
}
