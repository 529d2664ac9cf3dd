package scanout_test

import (
	"context"
	"fmt"
	"image"
	"log"

	"github.com/minicomp/minicomp/scanout"
)

// CPU-only render targets (no device needed) and a damage-only copy
// between them, bracketed for CPU access.
func ExampleCopyDamage() {
	src, err := scanout.MemfdStrategy{}.Allocate(640, 480, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer src.Close()
	dst, err := scanout.MemfdStrategy{}.Allocate(640, 480, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer dst.Close()
	n, err := scanout.CopyDamage(dst, src, []image.Rectangle{image.Rect(0, 0, 64, 64)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(src, "→", n, "bytes copied")
	// Output: 640x480 XR24 LINEAR stride 2560 (memfd) → 16384 bytes copied
}

// The whole kmsro decision on a machine with a display: allocate targets
// with the first strategy that works, import them into the render node, and
// present them; each frame reports whether it was scanned out directly or
// blitted, and why.
func Example() {
	gpus, err := scanout.Discover()
	if err != nil {
		log.Fatal(err)
	}
	display, displayGPU, pipes, err := scanout.OpenDisplay(gpus, "")
	if err != nil {
		log.Fatal(err) // says why each device was passed over
	}
	defer display.Close()
	var render *scanout.Device
	if path, _ := scanout.PairRender(gpus, displayGPU, ""); path != "" {
		render, _ = scanout.OpenDevice(path) // v3d on a Pi 4/5
	}
	defer render.Close()

	p, err := scanout.NewPresenter(display, pipes[0], scanout.PresenterOptions{})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	alloc := scanout.NewAllocator(scanout.AllocatorConfig{Render: render, Display: display})
	defer alloc.Close()
	mode := p.Mode()
	sc, err := scanout.NewSwapchain(alloc, 3, mode.Width, mode.Height, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer sc.Close()
	for range 60 {
		buf, _ := sc.Next()
		// … render into buf …
		v, err := p.Present(scanout.Frame{Buffer: buf})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := p.WaitFlip(context.Background()); err != nil {
			log.Fatal(err)
		}
		_ = v // v.Path is PathDirect, or PathBlit with v.Step, v.Errno and v.Reason
	}
}
