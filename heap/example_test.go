package heap_test

import (
	"errors"
	"fmt"
	"log"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/heap"
)

// The heaps tried for a display that needs contiguous memory (vc4 on a Pi
// 4), and for one that accepted a non-contiguous buffer.
func ExamplePreference() {
	fmt.Println(heap.Preference("", false))
	fmt.Println(heap.Preference("", true))
	fmt.Println(heap.Preference("linux,cma:system", false))
	// Output:
	// [vc4 default_cma_region linux,cma reserved vidbuf_cached]
	// [vc4 default_cma_region linux,cma reserved vidbuf_cached system]
	// [linux,cma system]
}

// Allocate a 1080p XRGB8888 frame from the first contiguous heap this
// machine offers, and tell the user what to do when none can be used.
func ExampleAuto() {
	h, _, err := heap.Auto(heap.Preference("", false))
	switch {
	case errors.Is(err, heap.ErrNoHeaps):
		log.Print("kernel without DMA-BUF heaps: ", err)
		return
	case errors.Is(err, unix.EACCES):
		log.Print("heaps are root-only: ", err) // the message names the udev rule
		return
	case err != nil:
		log.Print(err)
		return
	}
	defer h.Close()
	buf, err := h.Alloc(1920 * 1080 * 4)
	if err != nil {
		log.Print(err) // ENOMEM says how to grow CMA
		return
	}
	defer buf.Close()
	fmt.Println("allocated from", h.Name)
}
