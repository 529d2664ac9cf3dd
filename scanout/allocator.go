package scanout

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/minicomp/minicomp/heap"
)

// AllocatorConfig says which devices render targets are for.
type AllocatorConfig struct {
	// Render is the GPU's render node; targets are imported into it. nil
	// when nothing renders with a GPU.
	Render *Device
	// Display is the KMS device, nil in headless mode (then the legacy
	// kmsro strategy, which needs the primary node, is never used).
	Display *Device
	// HeapPreference overrides the contiguous-heap order (nil:
	// heap.DefaultPreference).
	HeapPreference []string
	// HeapDir is where heaps live (empty: heap.Dir).
	HeapDir string
	// UdmabufPath is the udmabuf device (empty: /dev/udmabuf).
	UdmabufPath string
	// RenderNativeFirst puts the render-native strategy before the
	// contiguous heap (Placement.RenderNativeFirst: a display behind an
	// IOMMU, where CMA is scarce and not needed).
	RenderNativeFirst bool
	// AllowCPUOnly adds the memfd strategy last: CPU-only targets for the
	// CPU renderer in headless mode when no dma-buf source exists.
	AllowCPUOnly bool
	Logger       *slog.Logger
}

// Allocator makes render targets with the first strategy that works, in
// the order heap (contiguous) → render-native → kmsro dumb → heap
// "system" → udmabuf (→ memfd, CPU only, when allowed) — render-native
// first when the display has an IOMMU (RenderNativeFirst) — and imports each
// dma-buf into the render device.
type Allocator struct {
	Strategies []Strategy
	// Unavailable lists strategies that could not even be set up, and why
	// (a heap that is missing or root-only, no display in headless mode).
	Unavailable []Attempt

	render *Device
	heaps  []*heap.Heap
	log    *slog.Logger
}

// NewAllocator builds the strategy chain for cfg. It never fails: a
// strategy that cannot be set up is recorded in Unavailable.
func NewAllocator(cfg AllocatorConfig) *Allocator {
	a := &Allocator{render: cfg.Render, log: cfg.Logger}
	if a.log == nil {
		a.log = slog.Default()
	}
	dir := cfg.HeapDir
	if dir == "" {
		dir = heap.Dir
	}
	prefs := cfg.HeapPreference
	if prefs == nil {
		prefs = heap.Preference("", false)
	}
	h, tried, err := heap.AutoIn(dir, prefs)
	if err != nil {
		a.Unavailable = append(a.Unavailable, Attempt{Name: "heap " + fmt.Sprint(prefs), Err: err})
	} else {
		for _, t := range tried {
			a.log.Debug("heap not available", "heap", t.Name, "err", t.Err)
		}
		a.heaps = append(a.heaps, h)
		a.Strategies = append(a.Strategies, HeapStrategy{h})
	}
	if cfg.Render != nil {
		if cfg.RenderNativeFirst {
			a.Strategies = append([]Strategy{RenderNativeStrategy{cfg.Render}}, a.Strategies...)
		} else {
			a.Strategies = append(a.Strategies, RenderNativeStrategy{cfg.Render})
		}
	} else {
		a.Unavailable = append(a.Unavailable, Attempt{Name: "render-native", Err: errors.New("no render device")})
	}
	switch {
	case cfg.Display != nil && cfg.Render != nil && hostRendered(cfg.Render.Driver()):
		a.Unavailable = append(a.Unavailable, Attempt{Name: "kmsro-dumb", Err: errDumbHostRendered})
	case cfg.Display != nil:
		a.Strategies = append(a.Strategies, KMSRODumbStrategy{cfg.Display})
	default:
		a.Unavailable = append(a.Unavailable, Attempt{Name: "kmsro-dumb", Err: errors.New("no display device (headless): the primary node is never opened")})
	}
	if h == nil || h.Name != "system" {
		if sys, err := heap.OpenIn(dir, "system"); err == nil {
			a.heaps = append(a.heaps, sys)
			a.Strategies = append(a.Strategies, HeapStrategy{sys})
		} else {
			a.Unavailable = append(a.Unavailable, Attempt{Name: "heap system", Err: err})
		}
	}
	a.Strategies = append(a.Strategies, UdmabufStrategy{Path: cfg.UdmabufPath})
	if cfg.AllowCPUOnly {
		a.Strategies = append(a.Strategies, MemfdStrategy{})
	}
	return a
}

// errDumbHostRendered says why kmsro-dumb is not used with virgl.
var errDumbHostRendered = errors.New("not with a host-rendered device (virgl): a dumb buffer is a 2D resource whose guest pages the display copies to the host on each update, over what virgl drew (the screen shows them: black)")

// Render returns the render device targets are imported into, or nil.
func (a *Allocator) Render() *Device { return a.render }

// Allocate makes one render target with the first strategy whose buffer
// also imports into the render device.
func (a *Allocator) Allocate(width, height int, format Format) (*Buffer, []Attempt, error) {
	b, _, attempts, err := a.allocateFrom(a.Strategies, width, height, format)
	return b, attempts, err
}

// allocateFrom returns the first buffer made (and imported) by one of
// strategies, with the index of the strategy that made it.
func (a *Allocator) allocateFrom(strategies []Strategy, width, height int, format Format) (*Buffer, int, []Attempt, error) {
	var attempts []Attempt
	for i, s := range strategies {
		b, tried, err := Allocate(strategies[i:i+1], width, height, format, a.log)
		attempts = append(attempts, tried...)
		if err != nil {
			continue
		}
		if a.render != nil && !b.cpuOnly {
			if _, err := b.ImportInto(a.render); err != nil {
				err = fmt.Errorf("import into render device %s: %w", a.render, err)
				a.log.Warn("render device refused the buffer, trying the next strategy", "strategy", s.Name(), "err", err)
				attempts = append(attempts, Attempt{Name: s.Name(), Err: err})
				b.Close()
				continue
			}
		}
		return b, i, attempts, nil
	}
	var errs []error
	for _, t := range attempts {
		errs = append(errs, fmt.Errorf("%s: %w", t.Name, t.Err))
	}
	return nil, -1, attempts, fmt.Errorf("every allocation strategy failed: %w", errors.Join(errs...))
}

// Close closes the heaps the allocator opened; buffers stay valid.
func (a *Allocator) Close() error {
	var errs []error
	for _, h := range a.heaps {
		errs = append(errs, h.Close())
	}
	a.heaps = nil
	return errors.Join(errs...)
}

// Swapchain is a set of render targets of one size and format, made by
// one strategy (Replace may swap some for another's), handed out in turn
// with their buffer age. A buffer someone holds a lock on (on screen, or
// held by a parent compositor) is skipped until it is unlocked.
type Swapchain struct {
	Buffers []*Buffer
	// Strategy names what made the buffers now: one strategy's name, or,
	// once Replace swapped some for another strategy's, each with its
	// count in slot order ("heap system (2 of 3) + heap linux,cma (1 of
	// 3)").
	Strategy string
	Attempts []Attempt // strategies that failed first

	alloc   *Allocator
	ages    []int    // the frame each buffer was last handed out in (0: never)
	origins []string // the strategy that made each buffer
	next    int
	frame   int
}

// ErrSwapchainExhausted means every buffer of a Swapchain is busy: on
// screen, queued for it, or held by a parent compositor.
var ErrSwapchainExhausted = errors.New("every buffer of the swapchain is busy")

// NewSwapchain allocates n targets. If a later buffer fails with the
// strategy that made the first, the whole swapchain moves to the next.
func NewSwapchain(a *Allocator, n, width, height int, format Format) (*Swapchain, error) {
	if n < 1 {
		return nil, fmt.Errorf("swapchain of %d buffers: want at least 1", n)
	}
	strategies := a.Strategies
	var attempts []Attempt
	for len(strategies) > 0 {
		first, idx, tried, err := a.allocateFrom(strategies, width, height, format)
		attempts = append(attempts, tried...)
		if err != nil {
			return nil, err
		}
		sc := &Swapchain{Buffers: []*Buffer{first}, Strategy: strategies[idx].Name(), Attempts: attempts, alloc: a}
		ok := true
		for len(sc.Buffers) < n {
			b, _, tried, err := a.allocateFrom(strategies[idx:idx+1], width, height, format)
			if err != nil {
				attempts = append(attempts, tried...)
				ok = false
				break
			}
			sc.Buffers = append(sc.Buffers, b)
		}
		if ok {
			sc.ages = make([]int, n)
			sc.origins = slices.Repeat([]string{sc.Strategy}, n)
			return sc, nil
		}
		sc.Close()
		strategies = strategies[idx+1:]
	}
	return nil, fmt.Errorf("no strategy could allocate %d buffers of %dx%d %v", n, width, height, format)
}

// Next returns the next target that is not busy and its age: how many
// frames ago its content was last drawn (0: never, draw everything). When
// every buffer is busy it returns ErrSwapchainExhausted: wait for a frame
// to leave the screen (or a parent to release one) and try again.
func (s *Swapchain) Next() (*Buffer, int, error) {
	n := len(s.Buffers)
	for k := range n {
		i := (s.next + k) % n
		b := s.Buffers[i]
		if b.Busy() {
			continue
		}
		s.next = (i + 1) % n
		s.frame++
		age := 0
		if s.ages[i] != 0 {
			age = s.frame - s.ages[i]
		}
		s.ages[i] = s.frame
		return b, age, nil
	}
	return nil, 0, fmt.Errorf("%w (%d buffers)", ErrSwapchainExhausted, n)
}

// Replace swaps old, one of the swapchain's buffers that the display
// refused, for a new one of the same size and format that accept takes
// (typically: the Presenter's Decide says direct), trying the allocator's
// strategies in order but the one that made old. This is what wlroots
// does after a failed test commit (it re-creates its swapchain), per
// buffer: a system-heap swapchain whose buffers were contiguous by chance
// but one keeps the others and replaces that one, instead of blitting
// one frame in three for ever. old is closed (released once its
// Presenter lets go of it); its slot starts again at age 0. When no
// strategy makes a buffer accept takes, old stays and the error says why
// each was passed over.
func (s *Swapchain) Replace(old *Buffer, accept func(*Buffer) error) (*Buffer, []Attempt, error) {
	i := -1
	for k, b := range s.Buffers {
		if b == old {
			i = k
		}
	}
	if i < 0 || s.alloc == nil {
		return nil, nil, fmt.Errorf("replace %v: not a buffer of this swapchain", old)
	}
	var attempts []Attempt
	for k, st := range s.alloc.Strategies {
		if st.Name() == s.origins[i] {
			continue
		}
		b, _, tried, err := s.alloc.allocateFrom(s.alloc.Strategies[k:k+1], old.Width, old.Height, old.Format)
		attempts = append(attempts, tried...)
		if err != nil {
			continue
		}
		if err := accept(b); err != nil {
			attempts = append(attempts, Attempt{Name: st.Name(), Err: err})
			b.Close()
			continue
		}
		s.Buffers[i], s.ages[i], s.origins[i] = b, 0, st.Name()
		s.Strategy = mix(s.origins)
		return b, attempts, old.Close()
	}
	var errs []error
	for _, t := range attempts {
		errs = append(errs, fmt.Errorf("%s: %w", t.Name, t.Err))
	}
	return nil, attempts, fmt.Errorf("replace %v: no other strategy made a buffer that is accepted: %w", old, errors.Join(errs...))
}

// mix names the strategies that made a swapchain's buffers (one per
// slot): the name when one made them all, else each with its count, in
// the order they first appear.
func mix(origins []string) string {
	var names []string
	count := map[string]int{}
	for _, o := range origins {
		if count[o] == 0 {
			names = append(names, o)
		}
		count[o]++
	}
	if len(names) == 1 {
		return names[0]
	}
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = fmt.Sprintf("%s (%d of %d)", n, count[n], len(origins))
	}
	return strings.Join(parts, " + ")
}

// Close gives up every buffer: a buffer still on screen is released when
// its Presenter lets go of it.
func (s *Swapchain) Close() error {
	if s == nil {
		return nil
	}
	var errs []error
	for _, b := range s.Buffers {
		errs = append(errs, b.Close())
	}
	s.Buffers = nil
	return errors.Join(errs...)
}
