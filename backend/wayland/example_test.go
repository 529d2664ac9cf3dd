package wayland_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/wayland"
)

// minicomp as a window in the Wayland compositor it runs in
// ($WAYLAND_DISPLAY): frames are paced by the parent, and input arrives
// on Events. (The test binary starts a minicomp parent for this example;
// it makes its toplevels the size of its 800×600 output.)
func ExampleNew() {
	b, err := wayland.New(wayland.Options{Display: os.Getenv("WAYLAND_DISPLAY"), RuntimeDir: os.Getenv("XDG_RUNTIME_DIR"),
		Outputs: []backend.Size{{Width: 640, Height: 480}},
		Logger:  slog.New(slog.DiscardHandler)})
	if err != nil {
		log.Fatal(err) // errors.Is(err, backend.ErrNoDisplay): no parent to nest in
	}
	defer b.Close()
	go func() {
		for ev := range b.Events() {
			_ = ev // pointer, keyboard, resize, close; EventLost ends the stream
		}
	}()
	o := b.Outputs()[0]
	for range 3 {
		target, _, err := o.Next()
		if err != nil {
			log.Fatal(err)
		}
		// … render into target …
		if _, err := o.Present(target, nil, nil); err != nil {
			log.Fatal(err)
		}
		if _, err := o.WaitFrame(context.Background()); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println(o.Name(), o.Mode(), o.Info().Stats.Frames, "frames")
	// Output: WL-1 800x600@60.000Hz 3 frames
}
