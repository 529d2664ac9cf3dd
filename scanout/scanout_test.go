package scanout

import (
	"errors"
	"image"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/drm"
)

func TestCopyRect(t *testing.T) {
	const w, h, cpp = 10, 6, 4
	src := make([]byte, 48*h) // stride 48 > 40
	for i := range src {
		src[i] = byte(i)
	}
	dst := make([]byte, 64*h)
	r := image.Rect(2, 1, 7, 4)
	n := copyRect(dst, 64, src, 48, r, cpp)
	if n != r.Dx()*r.Dy()*cpp {
		t.Fatalf("copied %d bytes", n)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			in := image.Pt(x, y).In(r)
			for c := 0; c < cpp; c++ {
				got := dst[y*64+x*cpp+c]
				want := byte(0)
				if in {
					want = src[y*48+x*cpp+c]
				}
				if got != want {
					t.Fatalf("pixel %d,%d byte %d = %d, want %d", x, y, c, got, want)
				}
			}
		}
	}
	// Full-width rows with equal strides take the single-copy path.
	dst2 := make([]byte, 40*h)
	src2 := make([]byte, 40*h)
	for i := range src2 {
		src2[i] = byte(i * 7)
	}
	if n := copyRect(dst2, 40, src2, 40, image.Rect(0, 2, 10, 5), cpp); n != 3*40 {
		t.Fatalf("full-width copy %d", n)
	}
	if string(dst2[80:200]) != string(src2[80:200]) || dst2[79] != 0 || dst2[200] != 0 {
		t.Fatal("full-width copy wrong")
	}
}

func TestStaleMerge(t *testing.T) {
	s := &dumbSlot{}
	for i := 0; i < maxStale; i++ {
		s.addStale(image.Rect(i, i, i+1, i+1))
	}
	if len(s.stale) != maxStale {
		t.Fatalf("%d stale rects", len(s.stale))
	}
	s.addStale(image.Rect(20, 20, 21, 21))
	if len(s.stale) != 1 || s.stale[0] != image.Rect(0, 0, 21, 21) {
		t.Fatalf("merged to %v", s.stale)
	}
	s.addStale(image.Rectangle{})
	if len(s.stale) != 1 {
		t.Fatal("an empty rect was recorded")
	}
	s.addStale(image.Rect(2, 2, 3, 3))
	if len(s.stale) != 1 {
		t.Fatal("a rect inside a stale one was recorded again")
	}
	s.stale = s.stale[:0]
	s.addStale(image.Rect(2, 2, 3, 3))
	s.addStale(image.Rect(0, 0, 5, 5))
	if len(s.stale) != 1 || s.stale[0] != image.Rect(0, 0, 5, 5) {
		t.Fatalf("a covering rect did not replace the covered one: %v", s.stale)
	}
}

func TestLinearLayout(t *testing.T) {
	stride, size, err := linearLayout(1920, 1080, XRGB8888)
	if err != nil || stride != 7680 || size != 7680*1080 {
		t.Fatalf("1080p: %d %d %v", stride, size, err)
	}
	stride, _, _ = linearLayout(1366, 768, RGB565)
	if stride != 2752 {
		t.Fatalf("1366 RGB565 stride %d, want 2752 (64-aligned)", stride)
	}
	for _, c := range []struct{ w, h int }{{0, 10}, {10, -1}, {20000, 10}} {
		if _, _, err := linearLayout(c.w, c.h, XRGB8888); err == nil {
			t.Errorf("%dx%d accepted", c.w, c.h)
		}
	}
	if _, _, err := linearLayout(10, 10, Format(0x12345678)); err == nil {
		t.Error("unknown format accepted")
	}
}

func TestVerdictString(t *testing.T) {
	v := refused(StepImport, &os.SyscallError{Syscall: "x", Err: syscall.EINVAL}, "not contiguous")
	if v.Path != PathBlit || v.Errno != syscall.EINVAL {
		t.Fatalf("%+v", v)
	}
	if got := v.String(); got != "blit (refused at import: EINVAL): not contiguous" {
		t.Errorf("%q", got)
	}
	if got := (Verdict{Path: PathDirect}).String(); got != "direct scanout" {
		t.Errorf("%q", got)
	}
	if !strings.Contains(importHint(syscall.EINVAL, "vc4"), "contiguous") {
		t.Error("EINVAL hint does not explain contiguity")
	}
}

// A client that declares more than its dma-buf holds is refused before any
// device sees the buffer.
func TestNewBufferRejectsLyingLayout(t *testing.T) {
	fd, err := unix.MemfdCreate("buf", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	unix.Ftruncate(fd, 64*64*4)
	f := os.NewFile(uintptr(fd), "memfd")
	defer f.Close()
	if _, err := NewBuffer(f, 64, 65, XRGB8888, ModLinear, 0, 256); !errors.Is(err, ErrLayout) {
		t.Errorf("too tall: %v", err)
	}
	if _, err := NewBuffer(f, 64, 64, XRGB8888, ModLinear, 0, 200); !errors.Is(err, ErrLayout) {
		t.Errorf("stride too small: %v", err)
	}
	if _, err := NewBuffer(f, 64, 64, XRGB8888, ModLinear, 4, 256); !errors.Is(err, ErrLayout) {
		t.Errorf("offset pushes past the end: %v", err)
	}
	if _, err := NewBuffer(f, 64, 64, Format(1), ModLinear, 0, 256); !errors.Is(err, ErrLayout) {
		t.Errorf("unknown format: %v", err)
	}
	b, err := NewBuffer(f, 64, 64, XRGB8888, ModLinear, 0, 256)
	if err != nil {
		t.Fatal(err)
	}
	if b.Size != 64*64*4 {
		t.Errorf("size %d", b.Size)
	}
}

// Without heaps, a render node, a display or udmabuf, allocation fails
// with every reason listed, not a panic or a silent nil.
func TestAllocatorNothingAvailable(t *testing.T) {
	dir := t.TempDir()
	a := NewAllocator(AllocatorConfig{HeapDir: filepath.Join(dir, "none"), UdmabufPath: filepath.Join(dir, "udmabuf")})
	defer a.Close()
	if len(a.Unavailable) < 3 {
		t.Errorf("unavailable: %v", a.Unavailable)
	}
	_, attempts, err := a.Allocate(64, 64, XRGB8888)
	if err == nil || len(attempts) != 1 || !errors.Is(err, unix.ENOENT) {
		t.Fatalf("Allocate: %v %v", attempts, err)
	}
	if !strings.Contains(err.Error(), "udmabuf") {
		t.Errorf("error does not name the strategy: %v", err)
	}
}

func TestMemfdFallbackAndCopyDamage(t *testing.T) {
	dir := t.TempDir()
	a := NewAllocator(AllocatorConfig{HeapDir: filepath.Join(dir, "none"), UdmabufPath: filepath.Join(dir, "udmabuf"), AllowCPUOnly: true})
	defer a.Close()
	sc, err := NewSwapchain(a, 2, 100, 50, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if sc.Strategy != "memfd" || len(sc.Attempts) != 1 {
		t.Fatalf("strategy %s after %v", sc.Strategy, sc.Attempts)
	}
	b0, age0, _ := sc.Next()
	b1, age1, _ := sc.Next()
	b2, age2, _ := sc.Next()
	if b2 != b0 || age0 != 0 || age1 != 0 || age2 != 2 {
		t.Fatalf("ages %d %d %d", age0, age1, age2)
	}
	src, _ := b0.Map()
	for i := range src {
		src[i] = byte(i)
	}
	n, err := CopyDamage(b1, b0, []image.Rectangle{image.Rect(10, 10, 20, 15), image.Rect(90, 45, 200, 200)})
	if err != nil {
		t.Fatal(err)
	}
	if n != 10*5*4+10*5*4 {
		t.Fatalf("copied %d", n)
	}
	dst, _ := b1.Map()
	if dst[12*int(b1.Stride)+15*4] != src[12*int(b0.Stride)+15*4] || dst[0] != 0 {
		t.Fatal("wrong bytes copied")
	}
	if b0.IsDmabuf() {
		t.Error("memfd buffer claims to be a dma-buf")
	}
}

// Regressions from review: a buffer smaller than the fallback chain, and a
// direct frame between blitted ones, must neither panic nor leave stale
// pixels.
func TestBlitChainSmallerBufferAndDirectDamage(t *testing.T) {
	c := &blitChain{w: 64, h: 64, format: XRGB8888}
	for range 2 {
		s := &dumbSlot{dmabuf: -1, pitch: 256, mem: make([]byte, 256*64), stale: []image.Rectangle{image.Rect(0, 0, 64, 64)}}
		c.slots = append(c.slots, s)
	}
	src := make([]byte, 32*4*32)
	for i := range src {
		src[i] = 9
	}
	bounds := image.Rect(0, 0, 32, 32)
	for _, r := range c.slots[0].stale {
		copyRect(c.slots[0].mem, 256, src, 128, r.Intersect(bounds), 4)
	}
	c.slots[0].stale = c.slots[0].stale[:0]
	c.markStale([]image.Rectangle{image.Rect(4, 4, 8, 8)}, image.Rect(0, 0, 64, 64))
	if len(c.slots[0].stale) != 1 || c.slots[0].stale[0] != image.Rect(4, 4, 8, 8) {
		t.Fatalf("a direct frame's damage was not recorded: %v", c.slots[0].stale)
	}
	c.markStale(nil, image.Rect(0, 0, 64, 64))
	if c.slots[1].stale[0] != image.Rect(0, 0, 64, 64) {
		t.Fatalf("nil damage is everything: %v", c.slots[1].stale)
	}
	var nilChain *blitChain
	nilChain.markStale(nil, image.Rect(0, 0, 1, 1))
}

// Two outputs on one device: each flip goes to its own CRTC's Presenter,
// never to the other one.
func TestRouteFlipsByCRTC(t *testing.T) {
	a, b := make(chan drm.FlipEvent, 1), make(chan drm.FlipEvent, 1)
	subs := map[uint32]chan drm.FlipEvent{41: a, 42: b}
	if route(subs, drm.FlipEvent{CRTCID: 42}) != b || route(subs, drm.FlipEvent{CRTCID: 41}) != a {
		t.Fatal("flip routed to the wrong Presenter")
	}
	if route(subs, drm.FlipEvent{CRTCID: 99}) != nil || route(subs, drm.FlipEvent{}) != nil {
		t.Fatal("an unknown or unreported CRTC must not be guessed with two subscribers")
	}
	one := map[uint32]chan drm.FlipEvent{41: a}
	if route(one, drm.FlipEvent{}) != a {
		t.Fatal("a kernel without crtc_id in events: the only Presenter gets it")
	}
}

// With no DRM device at all, OpenDisplay says so (and formats no nil
// error into its message).
func TestOpenDisplayNoDevices(t *testing.T) {
	_, _, _, err := OpenDisplay(nil, "")
	if !errors.Is(err, ErrNoDisplay) || strings.Contains(err.Error(), "%!") || !strings.Contains(err.Error(), "no DRM primary node") {
		t.Fatalf("err = %v", err)
	}
}

// Plus adds every counter: a field added to Stats and not to Plus fails
// here (the struct is filled by reflection).
func TestStatsPlusAddsEveryField(t *testing.T) {
	var a Stats
	v := reflect.ValueOf(&a).Elem()
	for i := range v.NumField() {
		v.Field(i).SetUint(uint64(i + 1))
	}
	sum := reflect.ValueOf(a.Plus(a))
	for i := range sum.NumField() {
		if got := sum.Field(i).Uint(); got != uint64(2*(i+1)) {
			t.Errorf("Stats.Plus: %s = %d, want %d", sum.Type().Field(i).Name, got, 2*(i+1))
		}
	}
}
