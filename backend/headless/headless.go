// Package headless is a backend with virtual outputs and no display device:
// what minicomp is on a Raspberry Pi without a seat (SSH, a service). It
// never opens a DRM primary node; render targets come from the same
// strategies as on a screen (heap, render node, udmabuf, memfd), and frames
// are paced by a virtual refresh clock.
package headless

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// Size is a virtual output's size.
type Size struct{ Width, Height int }

// Options configures the headless backend.
type Options struct {
	Outputs        []Size // default: one 1920×1080
	RefreshMilliHz int    // default 60000
	Format         scanout.Format
	// RenderNode overrides the render node ("" picks one; "none" uses
	// none). Heap preference and allocation follow scanout.AllocatorConfig.
	RenderNode     string
	HeapPreference []string
	Logger         *slog.Logger
}

// Backend is the headless backend.
type Backend struct {
	outputs []*Output
	render  *scanout.Device
	alloc   *scanout.Allocator
}

// Output is a virtual output.
type Output struct {
	name    string
	mode    scanout.Mode
	format  scanout.Format
	clock   backend.RefreshClock
	sc      *scanout.Swapchain
	info    backend.Info
	seq     uint64
	pending bool
	stats   scanout.Stats
}

// New opens the render node (if any) and allocates each output's targets.
func New(opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(opts.Outputs) == 0 {
		opts.Outputs = []Size{{1920, 1080}}
	}
	if opts.RefreshMilliHz <= 0 {
		opts.RefreshMilliHz = 60000
	}
	if opts.Format == 0 {
		opts.Format = scanout.XRGB8888
	}
	b := &Backend{}
	renderName := ""
	if opts.RenderNode != "none" {
		gpus, err := scanout.Discover()
		if err != nil {
			log.Info("no DRM devices: rendering into CPU memory", "err", err)
		} else if path, why := scanout.PairRender(gpus, nil, opts.RenderNode); path != "" {
			if d, err := scanout.OpenDevice(path); err != nil {
				log.Warn("render node unusable, continuing without", "node", path, "err", err)
			} else {
				b.render = d
				renderName = d.String()
				log.Info("render device", "device", d.String(), "why", why)
			}
		} else {
			log.Info("no render node", "why", why)
		}
	}
	b.alloc = scanout.NewAllocator(scanout.AllocatorConfig{Render: b.render, HeapPreference: opts.HeapPreference,
		AllowCPUOnly: true, Logger: log})
	for i, sz := range opts.Outputs {
		o := &Output{name: fmt.Sprintf("HEADLESS-%d", i+1), format: opts.Format,
			mode:  scanout.Mode{Width: sz.Width, Height: sz.Height, RefreshMilliHz: opts.RefreshMilliHz, Name: fmt.Sprintf("%dx%d", sz.Width, sz.Height), Preferred: true},
			clock: backend.RefreshClock{Period: time.Duration(int64(time.Second) * 1000 / int64(opts.RefreshMilliHz))}}
		sc, err := scanout.NewSwapchain(b.alloc, 3, sz.Width, sz.Height, opts.Format)
		if err != nil {
			b.Close()
			return nil, fmt.Errorf("headless output %s: %w", o.name, err)
		}
		o.sc = sc
		o.info = backend.Info{Backend: "headless", Output: o.name, Mode: o.mode, Render: renderName,
			Strategy: sc.Strategy, Attempts: sc.Attempts, Unavailable: b.alloc.Unavailable}
		b.outputs = append(b.outputs, o)
		log.Info("headless output", "output", o.name, "mode", o.mode.String(), "targets", sc.Strategy)
	}
	return b, nil
}

// Name returns "headless".
func (b *Backend) Name() string { return "headless" }

// Outputs returns the virtual outputs.
func (b *Backend) Outputs() []backend.Output { return backend.OutputList(b.outputs) }

// Close releases every target and the render device.
func (b *Backend) Close() error {
	var errs []error
	for _, o := range b.outputs {
		errs = append(errs, o.sc.Close())
	}
	b.outputs = nil
	if b.alloc != nil {
		errs = append(errs, b.alloc.Close())
	}
	errs = append(errs, b.render.Close())
	return errors.Join(errs...)
}

// Name returns "HEADLESS-N".
func (o *Output) Name() string { return o.name }

// Mode returns the virtual mode.
func (o *Output) Mode() scanout.Mode { return o.mode }

// Format returns the targets' format.
func (o *Output) Format() scanout.Format { return o.format }

// Next returns the next target.
func (o *Output) Next() (*scanout.Buffer, int) { return o.sc.Next() }

// Present records the frame; it is "on screen" at the next clock tick.
func (o *Output) Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	if o.pending {
		return scanout.Verdict{}, scanout.ErrFlipPending
	}
	o.pending = true
	o.stats.Frames++
	return scanout.Verdict{Path: scanout.PathDirect, Reason: "headless: no display to copy into"}, nil
}

// WaitFrame waits for the next tick of the virtual refresh clock.
func (o *Output) WaitFrame(ctx context.Context) (backend.Frame, error) {
	if !o.pending {
		return backend.Frame{Sequence: o.seq}, nil
	}
	if err := o.clock.Wait(ctx); err != nil {
		return backend.Frame{}, err
	}
	o.pending = false
	o.seq++
	o.stats.DirectFrames++
	return backend.Frame{Sequence: o.seq, Time: backend.Monotonic(), Path: scanout.PathDirect}, nil
}

// Info describes the output.
func (o *Output) Info() backend.Info {
	i := o.info
	i.Stats = o.stats
	return i
}
