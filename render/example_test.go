package render_test

import (
	"fmt"
	"image"

	"github.com/minicomp/minicomp/render"
)

// Overlapping damage becomes disjoint rectangles, so translucent drawing
// blends once per pixel.
func ExampleAppendDisjoint() {
	damage := []image.Rectangle{image.Rect(0, 0, 20, 20), image.Rect(10, 0, 30, 20)}
	fmt.Println(render.AppendDisjoint(nil, damage, image.Rect(0, 0, 100, 100), 8))
	// Output: [(0,0)-(20,20) (20,0)-(30,20)]
}
