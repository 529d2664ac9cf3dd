package headless_test

import (
	"context"
	"fmt"
	"log"

	"github.com/minicomp/minicomp/backend/headless"
)

// A headless output paced by its virtual 60 Hz clock: it never opens a
// display device, so it runs without a seat.
func ExampleNew() {
	b, err := headless.New(headless.Options{Outputs: []headless.Size{{Width: 640, Height: 480}}, RenderNode: "none"})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()
	o := b.Outputs()[0]
	for range 3 {
		target, _ := o.Next()
		// … render into target …
		if _, err := o.Present(target, nil, nil); err != nil {
			log.Fatal(err)
		}
		if _, err := o.WaitFrame(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(o.Name(), o.Mode(), o.Info().Stats.Frames, "frames")
	// Output: HEADLESS-1 640x480@60.000Hz 3 frames
}
