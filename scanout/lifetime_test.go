package scanout

import (
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"
)

// nextTarget is Swapchain.Next for tests that expect a free buffer.
func nextTarget(t testing.TB, sc *Swapchain) *Buffer {
	t.Helper()
	b, _, err := sc.Next()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cpuSwapchain(t *testing.T, n int) *Swapchain {
	t.Helper()
	dir := t.TempDir()
	a := NewAllocator(AllocatorConfig{HeapDir: filepath.Join(dir, "none"), UdmabufPath: filepath.Join(dir, "udmabuf"),
		AllowCPUOnly: true, Logger: quietLog()})
	t.Cleanup(func() { a.Close() })
	sc, err := NewSwapchain(a, n, 64, 32, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	return sc
}

// countingAddon records when the buffer it hangs off is released.
type countingAddon struct {
	detached int
	err      error
}

func (c *countingAddon) DetachBuffer(*Buffer) error { c.detached++; return c.err }

// A buffer someone holds is skipped by Next; with all held, Next says
// so; unlocked, it comes back with the right age.
func TestSwapchainSkipsBusyAndExhausts(t *testing.T) {
	sc := cpuSwapchain(t, 2)
	defer sc.Close()
	b0 := nextTarget(t, sc)
	b0.Lock() // on screen
	b1, age, err := sc.Next()
	if err != nil || b1 == b0 || age != 0 {
		t.Fatalf("second: %v %d %v", b1, age, err)
	}
	b1.Lock() // queued
	if b, _, err := sc.Next(); !errors.Is(err, ErrSwapchainExhausted) || b != nil {
		t.Fatalf("all busy: %v %v", b, err)
	}
	if err := b0.Unlock(); err != nil {
		t.Fatal(err)
	}
	b, age, err := sc.Next()
	if err != nil || b != b0 || age != 2 {
		t.Fatalf("after unlock: %v age %d %v (want b0, age 2)", b, age, err)
	}
	b1.Unlock()
	if err := b1.Unlock(); !errors.Is(err, ErrNotLocked) {
		t.Fatalf("unbalanced unlock: %v", err)
	}
}

// Closing a locked buffer (a swapchain closed before the Presenter that
// shows it) defers the release to the last Unlock, which runs the addons
// once and returns their error; the fd stays open until then.
func TestCloseWhileLockedDefersRelease(t *testing.T) {
	sc := cpuSwapchain(t, 1)
	b := nextTarget(t, sc)
	var owner struct{}
	ad := &countingAddon{err: errors.New("addon says no")}
	if err := b.SetAddon(&owner, ad); err != nil {
		t.Fatal(err)
	}
	b.Lock()
	b.Lock()
	fd := b.FD()
	if err := sc.Close(); err != nil {
		t.Fatal(err)
	}
	if ad.detached != 0 || !fdOpen(fd) {
		t.Fatalf("released while locked: detached %d, fd open %v", ad.detached, fdOpen(fd))
	}
	if _, err := b.Map(); err != nil {
		t.Fatalf("a locked, closed buffer is still usable: %v", err)
	}
	if err := b.Unlock(); err != nil || ad.detached != 0 {
		t.Fatalf("first unlock: %v, detached %d", err, ad.detached)
	}
	if err := b.Unlock(); err == nil || err.Error() != "addon says no" || ad.detached != 1 {
		t.Fatalf("last unlock: %v, detached %d", err, ad.detached)
	}
	if fdOpen(fd) {
		t.Fatal("dma-buf fd still open after release")
	}
	if err := b.Close(); err != nil || ad.detached != 1 {
		t.Fatalf("second close: %v, detached %d", err, ad.detached)
	}
	if _, err := b.Map(); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("map after release: %v", err)
	}
	if err := b.SetAddon(&owner, ad); !errors.Is(err, os.ErrClosed) {
		t.Fatalf("addon after release: %v", err)
	}
}

// Addons are per owner: replaced, looked up and removed by owner;
// RemoveAddon does not detach; release detaches the rest in order.
func TestAddonsPerOwner(t *testing.T) {
	sc := cpuSwapchain(t, 1)
	b := nextTarget(t, sc)
	var o1, o2 int
	a1, a1b, a2 := &countingAddon{}, &countingAddon{}, &countingAddon{}
	b.SetAddon(&o1, a1)
	b.SetAddon(&o2, a2)
	b.SetAddon(&o1, a1b)
	if b.Addon(&o1) != a1b || b.Addon(&o2) != a2 {
		t.Fatal("lookup by owner")
	}
	if b.RemoveAddon(&o2) != a2 || b.Addon(&o2) != nil || a2.detached != 0 {
		t.Fatal("remove")
	}
	sc.Close()
	if a1.detached != 0 || a1b.detached != 1 || a2.detached != 0 {
		t.Fatalf("detached %d %d %d", a1.detached, a1b.detached, a2.detached)
	}
}

// A Strategy from outside the package: NewSwapchain names it by the
// strategy that made the buffers, whatever Origin the buffers carry.
type outsideStrategy struct{ made int }

func (s *outsideStrategy) Name() string { return "outside" }
func (s *outsideStrategy) Allocate(w, h int, f Format) (*Buffer, error) {
	b, err := MemfdStrategy{}.Allocate(w, h, f)
	if err != nil {
		return nil, err
	}
	// Re-wrap the memory as an outside strategy would.
	file, err := os.Open("/proc/self/fd/" + itoa(b.FD()))
	if err != nil {
		return nil, err
	}
	b.Close()
	s.made++
	return NewCPUBuffer(file, w, h, f, uint32(w*4))
}

func itoa(n int) string { return fmtInt(n) }

func TestOutsideStrategySwapchain(t *testing.T) {
	s := &outsideStrategy{}
	a := &Allocator{Strategies: []Strategy{failing{}, s}, log: quietLog()}
	sc, err := NewSwapchain(a, 3, 16, 16, XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	if sc.Strategy != "outside" || len(sc.Buffers) != 3 || s.made != 3 || sc.Buffers[0].Origin != "cpu" {
		t.Fatalf("strategy %q, %d buffers, %d made, origin %q", sc.Strategy, len(sc.Buffers), s.made, sc.Buffers[0].Origin)
	}
	if len(sc.Attempts) != 1 || sc.Attempts[0].Name != "failing" {
		t.Fatalf("attempts %v", sc.Attempts)
	}
	if _, err := NewCPUBuffer(sc.Buffers[0].File, 1000, 1000, XRGB8888, 4000); !errors.Is(err, ErrLayout) {
		t.Fatalf("lying size: %v", err)
	}
}

type failing struct{}

func (failing) Name() string { return "failing" }
func (failing) Allocate(int, int, Format) (*Buffer, error) {
	return nil, errors.New("cannot")
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func fmtInt(n int) string { return strconv.Itoa(n) }

// fdOpen reports whether fd is an open file descriptor.
func fdOpen(fd int) bool {
	_, err := unix.FcntlInt(uintptr(fd), unix.F_GETFD, 0)
	return err == nil
}
