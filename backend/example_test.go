package backend_test

import (
	"context"
	"fmt"
	"time"

	"github.com/minicomp/minicomp/backend"
)

// Pace a frame loop with no display of its own at 60 Hz, as the headless
// and X11 backends do in WaitFrame.
func ExampleRefreshClock() {
	clock := backend.RefreshClock{Period: time.Second / 60}
	defer clock.Stop()
	start := backend.Monotonic()
	for range 3 {
		// draw and present a frame, then:
		if err := clock.Wait(context.Background()); err != nil {
			fmt.Println(err)
			return
		}
	}
	fmt.Println("3 frames, at least 50 ms:", backend.Monotonic()-start >= 50*time.Millisecond)
	// Output: 3 frames, at least 50 ms: true
}
