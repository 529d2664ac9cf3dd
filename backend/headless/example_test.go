package headless_test

import (
	"context"
	"fmt"
	"log"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
)

// A headless output paced by its virtual 60 Hz clock: it never opens a
// display device, so it runs without a seat. With no render device the
// targets may be CPU memory.
func ExampleNew() {
	b, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	o := b.Outputs()[0]
	for range 3 {
		target, _, err := o.Next()
		if err != nil {
			log.Fatal(err)
		}
		// … render into target …
		v, err := o.Present(target, nil, nil)
		if err != nil {
			log.Fatal(err)
		}
		if _, err := o.WaitFrame(context.Background()); err != nil {
			log.Fatal(err)
		}
		_ = v // v.Path is scanout.PathNone: nothing scans out
	}
	fmt.Println(o.Name(), o.Mode(), o.Info().Stats.Frames, "frames,", o.Info().Stats.DirectFrames, "scanned out")
	// Output: HEADLESS-1 640x480@60.000Hz 3 frames, 0 scanned out
}
