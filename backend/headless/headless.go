// Package headless is a backend with virtual outputs and no display device:
// what minicomp is on a Raspberry Pi without a seat (SSH, a service). It
// never opens a DRM primary node; render targets come from the same
// strategies as on a screen (heap, render node, udmabuf, memfd), and frames
// are paced by a virtual refresh clock. Nothing scans them out: a frame's
// path is scanout.PathNone, and it counts as shown once its render fence
// (if any) has signalled and the clock has ticked.
package headless

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/scanout"
)

// Options configures the headless backend.
type Options struct {
	Outputs        []backend.Size // default: one 1920×1080
	RefreshMilliHz int            // default 60000
	Format         scanout.Format
	// Render is the render node the targets are imported into (nil:
	// none, CPU memory allowed), resolved by the caller; the backend does
	// not close it. A headless backend has no display.
	Render *scanout.Device
	// Allocator makes the render targets; nil builds one for Render
	// with HeapPreference that may fall back to CPU-only memfd (closed
	// with the backend). A given Allocator is the caller's to close.
	Allocator      *scanout.Allocator
	HeapPreference []string
	// Buffers is the number of render targets per output (default 3).
	Buffers int
	// Enabled is how many of the Outputs (the first ones) are on at the
	// start; the rest are off until turned on (backend.OutputToggler).
	// 0 or more than len(Outputs): all.
	Enabled int
	// Transform is how every virtual panel is mounted: the compositor
	// draws the picture turned to match (backend.Composed).
	Transform backend.Transform
	Logger    *slog.Logger
}

// Backend is the headless backend.
type Backend struct {
	outputs  []*Output
	alloc    *scanout.Allocator
	ownAlloc bool
}

// Output is a virtual output.
type Output struct {
	name   string
	mode   scanout.Mode
	format scanout.Format
	clock  backend.RefreshClock
	sc     *scanout.Swapchain
	info   backend.Info
	seq    uint64
	// pending is the presented frame not yet "on screen"; fence, the
	// render fence it waits for (a duplicate the output closes).
	pending bool
	fence   *os.File

	mu      sync.Mutex // guards stats, mode and turn (Info, Mode and Transform may run during WaitFrame)
	stats   scanout.Stats
	alloc   *scanout.Allocator
	bufs    int
	initial scanout.Mode // the mode it was made with (preferred)
	off     bool         // turned off: no targets (sc is nil)
	turn    backend.Transform
}

// New allocates each output's targets.
func New(opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(opts.Outputs) == 0 {
		opts.Outputs = []backend.Size{{Width: 1920, Height: 1080}}
	}
	if opts.RefreshMilliHz <= 0 {
		opts.RefreshMilliHz = 60000
	}
	if opts.Format == 0 {
		opts.Format = scanout.XRGB8888
	}
	if opts.Buffers <= 0 {
		opts.Buffers = 3
	}
	b := &Backend{alloc: opts.Allocator}
	if b.alloc == nil {
		b.alloc = scanout.NewAllocator(scanout.AllocatorConfig{Render: opts.Render, HeapPreference: opts.HeapPreference,
			AllowCPUOnly: true, Logger: log})
		b.ownAlloc = true
	}
	renderName := ""
	if r := b.alloc.Render(); r != nil {
		renderName = r.String()
	}
	if opts.Enabled <= 0 || opts.Enabled > len(opts.Outputs) {
		opts.Enabled = len(opts.Outputs)
	}
	for i, sz := range opts.Outputs {
		o := &Output{name: fmt.Sprintf("HEADLESS-%d", i+1), format: opts.Format, turn: opts.Transform,
			mode:  scanout.Mode{Width: sz.Width, Height: sz.Height, RefreshMilliHz: opts.RefreshMilliHz, Name: fmt.Sprintf("%dx%d", sz.Width, sz.Height), Preferred: true},
			clock: backend.RefreshClock{Period: time.Duration(int64(time.Second) * 1000 / int64(opts.RefreshMilliHz))},
			alloc: b.alloc, bufs: opts.Buffers, off: true}
		o.initial = o.mode
		o.info = backend.Info{Backend: "headless", Output: o.name, Mode: o.mode, Render: renderName, Unavailable: b.alloc.Unavailable}
		b.outputs = append(b.outputs, o)
		if i >= opts.Enabled {
			log.Info("headless output", "output", o.name, "mode", o.mode.String(), "enabled", false)
			continue
		}
		if err := o.SetEnabled(true); err != nil {
			b.Close()
			return nil, err
		}
		log.Info("headless output", "output", o.name, "mode", o.mode.String(), "targets", o.sc.Strategy)
	}
	return b, nil
}

// Name returns "headless".
func (b *Backend) Name() string { return "headless" }

// Outputs returns the virtual outputs.
func (b *Backend) Outputs() []backend.Output { return backend.OutputList(b.outputs) }

// RenderDevice returns the render device the targets are imported into,
// or nil.
func (b *Backend) RenderDevice() *scanout.Device { return b.alloc.Render() }

// Close releases every target (and the Allocator it built).
func (b *Backend) Close() error {
	var errs []error
	for _, o := range b.outputs {
		errs = append(errs, o.SetEnabled(false))
	}
	b.outputs = nil
	if b.ownAlloc {
		errs = append(errs, b.alloc.Close())
	}
	return errors.Join(errs...)
}

// Name returns "HEADLESS-N".
func (o *Output) Name() string { return o.name }

// Mode returns the virtual mode.
func (o *Output) Mode() scanout.Mode {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.mode
}

// Format returns the targets' format.
func (o *Output) Format() scanout.Format { return o.format }

// Enabled reports whether the output is on (backend.OutputToggler).
func (o *Output) Enabled() bool { return !o.off }

// SetEnabled turns the output on, making render targets of its mode, or
// off, releasing them (backend.OutputToggler); it keeps its mode.
func (o *Output) SetEnabled(on bool) error {
	if on == !o.off { // already so
		return nil
	}
	if !on {
		err := errors.Join(o.sc.Close(), o.dropFence())
		o.clock.Stop()
		o.sc, o.pending, o.off = nil, false, true
		return err
	}
	sc, err := o.targets(o.Mode())
	if err != nil {
		return fmt.Errorf("headless output %s: %w", o.name, err)
	}
	o.sc, o.off = sc, false
	return nil
}

// targets makes the render targets of mode m and records them (and m)
// in Info.
func (o *Output) targets(m scanout.Mode) (*scanout.Swapchain, error) {
	sc, err := scanout.NewSwapchain(o.alloc, o.bufs, m.Width, m.Height, o.format)
	if err != nil {
		return nil, err
	}
	o.mu.Lock()
	o.info.Mode, o.info.Strategy, o.info.Attempts = m, sc.Strategy, sc.Attempts
	o.mu.Unlock()
	return sc, nil
}

// errOff is Next's error on an output that is turned off.
var errOff = errors.New("output is off")

// Next returns the next target; after SetMode, from new targets of the
// new size.
func (o *Output) Next() (*scanout.Buffer, int, error) {
	if o.off {
		return nil, 0, fmt.Errorf("headless %s: %w", o.name, errOff)
	}
	m := o.Mode()
	if b := o.sc.Buffers; len(b) > 0 && (b[0].Width != m.Width || b[0].Height != m.Height) {
		sc, err := o.targets(m)
		if err != nil {
			return nil, 0, fmt.Errorf("headless %s: render targets for %s: %w", o.name, m, err)
		}
		old := o.sc
		o.sc = sc
		if err := old.Close(); err != nil {
			return nil, 0, fmt.Errorf("headless %s: release old render targets: %w", o.name, err)
		}
	}
	return o.sc.Next()
}

// Present records the frame; it is done at the next clock tick after its
// render fence signalled. Nothing is scanned out (scanout.PathNone).
func (o *Output) Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	if o.pending {
		return scanout.Verdict{}, scanout.ErrFlipPending
	}
	if fence != nil {
		fd, err := unix.FcntlInt(fence.Fd(), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return scanout.Verdict{}, fmt.Errorf("headless %s: keep render fence: %w", o.name, err)
		}
		o.fence = os.NewFile(uintptr(fd), "render-fence")
	}
	o.pending = true
	o.mu.Lock()
	o.stats.Frames++
	o.mu.Unlock()
	return scanout.Verdict{Path: scanout.PathNone, Reason: "headless: nothing scans out"}, nil
}

func (o *Output) dropFence() error {
	if o.fence == nil {
		return nil
	}
	err := o.fence.Close()
	o.fence = nil
	return err
}

// WaitFrame waits for the render fence of the presented frame, then for
// the next tick of the virtual refresh clock.
func (o *Output) WaitFrame(ctx context.Context) (backend.Presented, error) {
	if !o.pending {
		return backend.Presented{Sequence: o.seq, Path: scanout.PathNone}, nil
	}
	if o.fence != nil {
		err := dmabuf.WaitFence(int(o.fence.Fd()), dmabuf.RenderFenceTimeout)
		o.dropFence()
		if err != nil {
			o.pending = false
			return backend.Presented{}, fmt.Errorf("headless %s: render fence: %w", o.name, err)
		}
	}
	if err := o.clock.Wait(ctx); err != nil {
		return backend.Presented{}, err
	}
	o.pending = false
	o.seq++
	return backend.Presented{Sequence: o.seq, Time: backend.Monotonic(), Path: scanout.PathNone}, nil
}

// SetPower accepts the power mode: a virtual output has no screen to
// blank (backend.PowerControl).
func (o *Output) SetPower(on bool) error { return nil }

// Info describes the output.
func (o *Output) Info() backend.Info {
	i := o.info
	o.mu.Lock()
	i.Stats = o.stats
	o.mu.Unlock()
	return i
}
