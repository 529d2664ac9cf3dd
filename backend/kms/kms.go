// Package kms is the backend that drives real screens through DRM/KMS: it
// finds the display device by capability (not by assuming card0), pairs it
// with a render node (v3d with vc4 on a Raspberry Pi 4/5), sets a mode on
// every connected connector, and presents frames with atomic commits paced
// by page-flip events, through scanout.Presenter's direct-or-blit decision.
package kms

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// Options configures the KMS backend.
type Options struct {
	// Device is the display's primary node; "" finds the first KMS device
	// with a connected connector.
	Device string
	// RenderNode overrides the paired render node ("none": no render
	// device; "": automatic, honouring $MINICOMP_RENDER_NODE).
	RenderNode     string
	HeapPreference []string
	Format         scanout.Format // default XRGB8888
	DisableDirect  bool
	Logger         *slog.Logger
}

// Backend drives the outputs of one KMS device.
type Backend struct {
	display *scanout.Device
	render  *scanout.Device
	alloc   *scanout.Allocator
	outputs []*Output
}

// Output is one connector with its CRTC, primary plane and swapchain.
type Output struct {
	displayDev uint64 // dev_t of the display's primary node
	p          *scanout.Presenter
	sc         *scanout.Swapchain
	info       backend.Info
	fmt        scanout.Format
}

// ErrNoDisplay means no KMS device with a connected screen was found
// (errors from New wrap it).
var ErrNoDisplay = scanout.ErrNoDisplay

// New opens the display and render devices and sets up every connected
// output. It fails with a message that says what to do when the primary
// node cannot be opened (no seat).
func New(opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Format == 0 {
		opts.Format = scanout.XRGB8888
	}
	gpus, err := scanout.Discover()
	if err != nil {
		return nil, fmt.Errorf("kms: %w", err)
	}
	b := &Backend{}
	display, displayGPU, _, err := scanout.OpenDisplay(gpus, opts.Device)
	if err != nil {
		return nil, fmt.Errorf("kms: %w", err)
	}
	b.display = display
	override := opts.RenderNode
	if override == "" {
		override = os.Getenv("MINICOMP_RENDER_NODE")
	}
	if override != "none" {
		if path, why := scanout.PairRender(gpus, displayGPU, override); path != "" {
			if d, err := scanout.OpenDevice(path); err == nil {
				b.render = d
				log.Info("render device", "device", d.String(), "display", b.display.String(), "why", why)
			} else {
				log.Warn("render node unusable, continuing without", "node", path, "err", err)
			}
		}
	}
	b.alloc = scanout.NewAllocator(scanout.AllocatorConfig{Render: b.render, Display: b.display,
		HeapPreference: opts.HeapPreference, Logger: log})
	var st unix.Stat_t
	var displayDev uint64
	if unix.Stat(b.display.Path(), &st) == nil {
		displayDev = uint64(st.Rdev)
	}
	pipes, err := b.display.Pipelines(false)
	if err != nil {
		b.Close()
		return nil, err
	}
	for _, pipe := range pipes {
		p, err := scanout.NewPresenter(b.display, pipe, scanout.PresenterOptions{DisableDirect: opts.DisableDirect, Logger: log})
		if err != nil {
			b.Close()
			return nil, err
		}
		mode := p.Mode()
		sc, err := scanout.NewSwapchain(b.alloc, 3, mode.Width, mode.Height, opts.Format)
		if err != nil {
			p.Close()
			b.Close()
			return nil, fmt.Errorf("kms output %s: %w", pipe.ConnectorName, err)
		}
		o := &Output{displayDev: displayDev, p: p, sc: sc, fmt: opts.Format, info: backend.Info{Backend: "kms", Output: pipe.ConnectorName,
			Mode: mode, Display: b.display.String(), Strategy: sc.Strategy, Attempts: sc.Attempts, Unavailable: b.alloc.Unavailable}}
		if b.render != nil {
			o.info.Render = b.render.String()
		}
		b.outputs = append(b.outputs, o)
		log.Info("kms output", "output", pipe.ConnectorName, "mode", mode.String(), "targets", sc.Strategy)
	}
	return b, nil
}

// Name returns "kms".
func (b *Backend) Name() string { return "kms" }

// Outputs returns the connected outputs.
func (b *Backend) Outputs() []backend.Output { return backend.OutputList(b.outputs) }

// Close turns every output off and releases buffers and devices.
func (b *Backend) Close() error {
	var errs []error
	for _, o := range b.outputs {
		errs = append(errs, o.p.Close(), o.sc.Close())
	}
	b.outputs = nil
	if b.alloc != nil {
		errs = append(errs, b.alloc.Close())
	}
	errs = append(errs, b.render.Close(), b.display.Close())
	return errors.Join(errs...)
}

// Name returns the connector's name.
func (o *Output) Name() string { return o.info.Output }

// Mode returns the mode set on the connector.
func (o *Output) Mode() scanout.Mode { return o.info.Mode }

// Format returns the targets' format.
func (o *Output) Format() scanout.Format { return o.fmt }

// Next returns the next render target.
func (o *Output) Next() (*scanout.Buffer, int) { return o.sc.Next() }

// Present hands the frame to the Presenter (direct or blit).
func (o *Output) Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	return o.p.Present(scanout.Frame{Buffer: target, Damage: damage, InFence: fence})
}

// CanScanOut decides whether a client's buffer can go on the primary
// plane as it is (see scanout.Presenter.Decide).
func (o *Output) CanScanOut(buf *scanout.Buffer) scanout.Verdict { return o.p.Decide(buf) }

// PresentBuffer shows a buffer that did not come from Next (a client's).
func (o *Output) PresentBuffer(buf *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	return o.p.Present(scanout.Frame{Buffer: buf, Damage: damage, InFence: fence})
}

// ScanoutFormats returns the display device's dev_t and its primary
// plane's formats.
func (o *Output) ScanoutFormats() (uint64, map[scanout.Format][]uint64) {
	return o.displayDev, o.p.Pipeline().Primary.Formats
}

// WaitFrame waits for the page flip.
func (o *Output) WaitFrame(ctx context.Context) (backend.Frame, error) {
	f, err := o.p.WaitFlip(ctx)
	if err != nil {
		return backend.Frame{}, err
	}
	return backend.Frame{Sequence: uint64(f.Sequence), Time: f.Time, Path: f.Path}, nil
}

// Info describes the output's buffer path.
func (o *Output) Info() backend.Info {
	i := o.info
	i.Stats = o.p.Stats()
	return i
}
