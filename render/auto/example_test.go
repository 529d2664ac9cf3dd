package auto_test

import (
	"fmt"
	"image"
	"image/color"
	"io"
	"log"
	"log/slog"

	"github.com/minicomp/minicomp/render/auto"
	"github.com/minicomp/minicomp/scanout"
)

// Pick a renderer as --renderer=soft would and draw one frame with it.
func ExampleNew() {
	r, why, err := auto.New("soft", auto.Options{Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	fmt.Println(why)
	target, err := scanout.MemfdStrategy{}.Allocate(64, 64, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer target.Close()
	if err := r.Begin(target, nil); err != nil {
		log.Fatal(err)
	}
	r.Clear(color.NRGBA{B: 0xff, A: 0xff})
	r.FillRect(image.Rect(0, 0, 8, 8), color.NRGBA{R: 0xff, A: 0xff})
	if _, err := r.End(); err != nil {
		log.Fatal(err)
	}
	// Output: soft: pure-Go CPU renderer (--renderer=soft)
}
