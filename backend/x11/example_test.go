package x11_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/x11"
	"github.com/minicomp/minicomp/scanout"
)

// Example opens a window on $DISPLAY (the tests run a private Xvfb),
// shows a blue frame with a white square, then a frame where only the
// square changed, and reads an event.
func Example() {
	b, err := x11.New(x11.Options{Display: os.Getenv("DISPLAY"), Outputs: []backend.Size{{Width: 320, Height: 240}},
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	if errors.Is(err, backend.ErrNoDisplay) {
		fmt.Println("no X server:", err)
		return
	}
	if err != nil {
		fmt.Println(err)
		return
	}
	defer b.Close()
	o := b.Outputs()[0]
	square := image.Rect(100, 80, 164, 144)
	for i, colour := range []uint32{0xffffff, 0xff8000} {
		target, _, err := o.Next()
		if err != nil {
			fmt.Println(err)
			return
		}
		mem, err := target.Map()
		if err != nil {
			fmt.Println(err)
			return
		}
		if err := target.BeginCPUAccess(scanout.Write); err != nil {
			fmt.Println(err)
			return
		}
		for y := 0; y < target.Height; y++ {
			for x := 0; x < target.Width; x++ {
				c := uint32(0x2040c0)
				if image.Pt(x, y).In(square) {
					c = colour
				}
				binary.LittleEndian.PutUint32(mem[y*int(target.Stride)+x*4:], c)
			}
		}
		if err := target.EndCPUAccess(scanout.Write); err != nil {
			fmt.Println(err)
			return
		}
		damage := []image.Rectangle{square}
		if i == 0 {
			damage = nil // everything
		}
		v, err := o.Present(target, damage, nil)
		if err != nil {
			fmt.Println(err)
			return
		}
		f, err := o.WaitFrame(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(o.Name(), o.Mode().Name, "frame", f.Sequence, v.Path)
	}
	var events backend.EventSource = b
	_ = events.Events() // input and window changes arrive here
	fmt.Println(o.Info().Stats.BytesCopied, "bytes uploaded")
	// Output:
	// X11-1 320x240 frame 1 blit
	// X11-1 320x240 frame 2 blit
	// 323584 bytes uploaded
}
