package scanout_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log"
	"log/slog"

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

// The whole kmsro decision on a machine with a display: resolve the
// display and its render node once, allocate targets with the first
// strategy that works (imported into the render node), and present them;
// each frame reports whether it was scanned out directly or blitted, and
// why. The Presenter locks the buffer on screen, so the swapchain never
// hands it out again while it is shown, and closing order cannot free it
// under the display.
func Example() {
	devs, err := scanout.OpenDevices(scanout.DevicesConfig{Display: true})
	if err != nil {
		log.Fatal(err) // says why each device was passed over
	}
	defer devs.Close()
	pipes, err := devs.Display.Pipelines(false)
	if err != nil {
		log.Fatal(err)
	}
	alloc := scanout.NewAllocator(scanout.AllocatorConfig{Render: devs.Render, Display: devs.Display})
	defer alloc.Close()
	mode := pipes[0].PreferredMode()
	sc, err := scanout.NewSwapchain(alloc, 3, mode.Width, mode.Height, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer sc.Close()
	p, err := scanout.NewPresenter(devs.Display, pipes[0], scanout.PresenterOptions{Mode: mode})
	if err != nil {
		log.Fatal(err)
	}
	defer p.Close() // runs before sc.Close: the screen goes dark, then the buffers go
	for range 60 {
		buf, age, err := sc.Next()
		if err != nil {
			log.Fatal(err) // ErrSwapchainExhausted: every buffer is on screen or queued
		}
		_ = age // … render into buf what changed in the last age frames …
		v, err := p.Present(scanout.Submission{Buffer: buf})
		if err != nil {
			log.Fatal(err)
		}
		if _, err := p.WaitFlip(context.Background()); err != nil {
			log.Fatal(err)
		}
		_ = v // v.Path is PathDirect, or PathBlit with v.Step, v.Errno and v.Reason
	}
}

// A swapchain hands out the buffers in turn with their age, skips the one
// on screen (locked by whoever shows it), and says when every buffer is
// busy. CPU-only targets: no device needed.
func ExampleSwapchain_Next() {
	a := scanout.NewAllocator(scanout.AllocatorConfig{HeapDir: "/nonexistent", UdmabufPath: "/nonexistent",
		AllowCPUOnly: true, Logger: slog.New(slog.DiscardHandler)})
	defer a.Close()
	sc, err := scanout.NewSwapchain(a, 2, 64, 64, scanout.XRGB8888)
	if err != nil {
		log.Fatal(err)
	}
	defer sc.Close()
	b0, age, _ := sc.Next()
	fmt.Println("first:", age)
	b0.Lock() // on screen: a Presenter holds it
	b1, age, _ := sc.Next()
	fmt.Println("second:", age, b1 != b0)
	b1.Lock() // queued for the next flip
	_, _, err = sc.Next()
	fmt.Println(errors.Is(err, scanout.ErrSwapchainExhausted))
	b0.Unlock() // the flip completed: b0 left the screen
	b, age, _ := sc.Next()
	fmt.Println("again:", age, b == b0)
	b1.Unlock()
	// Output:
	// first: 0
	// second: 0 true
	// true
	// again: 2 true
}
