package rigtest

import (
	"os"
	"testing"
)

// Fragment scatters a DMA-BUF heap's free memory: it takes 32 blocks of
// 1 MiB (the system heap's largest chunk) from alloc (a heap's Alloc) and
// gives back every other one, so the next large buffer from that heap is
// made of blocks that are not neighbours. Without it a freshly booted
// guest may hand out adjacent blocks, and a buffer that is contiguous by
// chance imports into a display that needs contiguous memory (as it can
// on a Pi). The returned func gives back the rest.
func Fragment(t testing.TB, alloc func(size int64) (*os.File, error)) (release func()) {
	t.Helper()
	var held []*os.File
	release = func() {
		for _, f := range held {
			f.Close()
		}
		held = nil
	}
	for i := 0; i < 32; i++ {
		f, err := alloc(1 << 20)
		if err != nil {
			release()
			t.Fatalf("fragmenting the heap: %v", err)
		}
		if i%2 == 0 {
			f.Close()
		} else {
			held = append(held, f)
		}
	}
	return release
}
