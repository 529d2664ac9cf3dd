package gles

import (
	"encoding/binary"
	"image"
	"image/color"
	"testing"

	"github.com/minicomp/minicomp/scanout"
)

// A frame virgl drew into a render-native target, read by the CPU (what
// the blit fallback and a screenshot do): virgl renders in the host's GL,
// so the guest's pages hold the frame only after a transfer from the host
// (scanout's BeginCPUAccess does VIRTGPU_TRANSFER_FROM_HOST and waits).
// Without it the CPU reads the pages as they were before the frame.
func TestRigVirglCPUReadback(t *testing.T) {
	v := newVirglRig(t)
	const w, h = 64, 48
	b, err := scanout.RenderNativeStrategy{Render: v.dev}.Allocate(w, h, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for i, bg := range []color.NRGBA{{B: 0xff, A: 0xff}, {G: 0xff, A: 0xff}} {
		fence := drawFenced(t, v.r, b, bg)
		checkSyncFile(t, fence) // waits until the GPU is done
		fence.Close()
		mem, err := b.Map()
		if err != nil {
			t.Fatal(err)
		}
		if err := b.BeginCPUAccess(scanout.Read); err != nil {
			t.Fatal(err)
		}
		at := func(p image.Point) uint32 {
			return binary.LittleEndian.Uint32(mem[int(b.Offset)+p.Y*int(b.Stride)+p.X*4:]) & 0xffffff
		}
		want := uint32(bg.R)<<16 | uint32(bg.G)<<8 | uint32(bg.B)
		for p, c := range map[image.Point]uint32{
			{0, 0}: want, {w - 1, h - 1}: want, {10, 10}: 0xff0000, {23, 23}: 0xff0000, {24, 24}: want, {10, h - 11}: want,
		} {
			if got := at(p); got != c {
				t.Errorf("frame %d: CPU read of pixel %v = %06x, want %06x", i, p, got, c)
			}
		}
		if err := b.EndCPUAccess(scanout.Read); err != nil {
			t.Fatal(err)
		}
	}
}
