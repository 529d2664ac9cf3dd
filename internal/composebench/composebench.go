// Package composebench holds the scene of the CPU compositing benchmarks,
// so that render/internal/scenes' BenchmarkCompose1080p (the renderers on
// the raw scene), internal/server's BenchmarkComposeOccluded1080p (the
// server's occluding compose) and test/bench/pixman_c/compose.c (libpixman
// from C, which mirrors these values) draw the same frames: a 1920×1080
// XRGB target, N surfaces of 800×600 (even ones opaque XRGB, odd ones
// translucent ARGB) at SurfaceAt(i), surface 0's client updating the
// Update block every frame.
package composebench

import (
	"encoding/binary"
	"hash/fnv"
	"image"
	"image/color"
	"testing"

	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// The sizes of the target and of every surface.
const (
	TargetW, TargetH   = 1920, 1080
	SurfaceW, SurfaceH = 800, 600
)

var (
	// Background is the colour under the surfaces.
	Background = color.NRGBA{R: 0x20, G: 0x30, B: 0x40, A: 0xff}
	// Update is the block of surface 0 its client redraws every frame
	// (the damage of the "damage" cases, moved to where surface 0 is).
	Update = image.Rect(100, 100, 356, 356)
)

// SurfaceAt is where surface i is drawn (they overlap).
func SurfaceAt(i int) image.Point { return image.Pt(i*71%1120, i*37%480) }

// Opaque reports whether surface i is opaque (XRGB) rather than
// translucent (ARGB, alpha 0xc0).
func Opaque(i int) bool { return i%2 == 0 }

// Pixels is every surface's content: premultiplied ARGB with alpha 0xc0,
// SurfaceW*4 bytes a row.
func Pixels() []byte { return Noise(SurfaceW, SurfaceH, 0xc0) }

// Noise is w×h pixels (w*4 bytes a row) of the benchmarks' pattern with
// alpha a: colour channels of 0, 0x40, 0x80 or 0xc0 from a
// multiplicative hash of the pixel's index, premultiplied when a ≥ 0xc0.
func Noise(w, h int, a uint8) []byte {
	pix := make([]byte, w*h*4)
	for i := range w * h {
		binary.LittleEndian.PutUint32(pix[i*4:], uint32(a)<<24|uint32(i)*2654435761&0x00c0c0c0)
	}
	return pix
}

// NewTarget allocates the 1080p XRGB target (memfd, as a headless output's)
// and maps it; the benchmark's end releases it.
func NewTarget(b *testing.B) (*scanout.Buffer, []byte) {
	target, err := scanout.MemfdStrategy{}.Allocate(TargetW, TargetH, scanout.XRGB8888)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { target.Close() })
	mem, err := target.Map()
	if err != nil {
		b.Fatal(err)
	}
	return target, mem
}

// Run times frame (after one untimed frame that warms caches), reporting
// ns/frame (wall clock), cpu-ns/frame (CPU time of the whole process, every
// thread: it moves less than the wall clock on a loaded machine) and
// allocations, then logs "fnv HASH", the FNV-1a hash of target (the
// target's bytes) after the last frame: pictures drawn alike hash alike.
func Run(b *testing.B, frame func(), target []byte) {
	frame()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		frame()
	}
	b.ReportMetric(float64(processCPU()-cpu0)/float64(b.N), "cpu-ns/frame")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
	h := fnv.New64a()
	h.Write(target)
	b.Logf("fnv %016x", h.Sum64())
}

// processCPU is the CPU time of the process in ns.
func processCPU() int64 {
	var ts unix.Timespec
	unix.ClockGettime(unix.CLOCK_PROCESS_CPUTIME_ID, &ts)
	return ts.Nano()
}
