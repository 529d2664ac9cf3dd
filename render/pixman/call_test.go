package pixman

import "testing"

// BenchmarkCall is the fixed cost of one call into libpixman through
// purego (pixman_image_get_stride, which does nothing): what every
// Begin, Clear, FillRect and Draw adds to pixman's own work. A frame of
// BenchmarkCompose1080p makes 2 to 17 such calls (a fill and a composite
// per surface; the clip only when the damage changes).
func BenchmarkCall(b *testing.B) {
	r := newR(b)
	b.ReportAllocs()
	for b.Loop() {
		r.fc.Call(r.l.imageGetStride, r.mask)
	}
}
