package scanout

import (
	"image"
	"testing"
)

// The fallback blit of a full 1080p XRGB8888 frame next to a plain
// memmove of the same bytes: `go test -bench 'Blit|Memmove' ./scanout`
// reports both in one run; the ratio is the blit's overhead.
const benchW, benchH, benchStride = 1920, 1080, 1920 * 4

func benchBuffers() (dst, src []byte) {
	dst = make([]byte, benchStride*benchH)
	src = make([]byte, benchStride*benchH)
	for i := range src {
		src[i] = byte(i)
	}
	return
}

func BenchmarkMemmove1080p(b *testing.B) {
	dst, src := benchBuffers()
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		copy(dst, src)
	}
}

func BenchmarkBlitFull1080p(b *testing.B) {
	dst, src := benchBuffers()
	r := image.Rect(0, 0, benchW, benchH)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		copyRect(dst, benchStride, src, benchStride, r, 4)
	}
}

// Padded strides force the row-by-row path for the full frame.
func BenchmarkBlitFull1080pPaddedStride(b *testing.B) {
	const dstStride = benchStride + 256
	dst := make([]byte, dstStride*benchH)
	_, src := benchBuffers()
	r := image.Rect(0, 0, benchW, benchH)
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		copyRect(dst, dstStride, src, benchStride, r, 4)
	}
}

// A 256×256 damage rectangle: its cost should be ~3% of the full frame's
// (its share of the area), not the frame's.
func BenchmarkBlitDamage256(b *testing.B) {
	dst, src := benchBuffers()
	r := image.Rect(800, 400, 1056, 656)
	b.SetBytes(int64(r.Dx() * r.Dy() * 4))
	b.ReportAllocs()
	for b.Loop() {
		copyRect(dst, benchStride, src, benchStride, r, 4)
	}
}
