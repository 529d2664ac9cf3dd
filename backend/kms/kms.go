// Package kms is the backend that drives real screens through DRM/KMS: on
// the display device it is given (or finds), it sets a mode on every
// connected connector and presents frames with atomic commits paced by
// page-flip events, through scanout.Presenter's direct-or-blit decision.
// Render targets are imported into the render device it is given (v3d
// with vc4 on a Raspberry Pi 4/5). With Options.Input it also reads the
// seat's keyboards, mice and touchscreens through libinput (input.go).
package kms

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"sync"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// Options configures the KMS backend.
type Options struct {
	// Devices are the display (required) and the render device (nil:
	// none), resolved by the caller (scanout.OpenDevices, or
	// scanout.NewDevice on a seat's fds). The backend does not close
	// them.
	Devices scanout.Devices
	// Allocator makes the render targets; nil builds one for Devices
	// with HeapPreference (and closes it with the backend). A given
	// Allocator is the caller's to close.
	Allocator      *scanout.Allocator
	HeapPreference []string
	// Buffers is the number of render targets per output (default 3).
	Buffers int
	// Modes picks a mode per connector name ("HDMI-A-1"); a connector
	// not listed gets the mode under "*", else its preferred mode. A
	// mode the connector does not offer is an error from New.
	Modes         map[string]scanout.Mode
	Format        scanout.Format // default XRGB8888
	DisableDirect bool
	// DisableCursorPlane composes the cursor into the frames instead of
	// using the CRTC's cursor plane.
	DisableCursorPlane bool
	// Transform is how every screen is mounted at start
	// (Output.SetTransform changes one later): the primary plane turns
	// the picture where its rotation property offers the turn (180
	// degrees and flips); otherwise (90 and 270 degrees, or a plane
	// without it) the compositor draws the picture turned
	// (Output.RenderTransform).
	Transform backend.Transform
	// Hotplug watches the kernel's uevents and re-probes the connectors
	// on a change: outputs come and go with OutputAdded and
	// OutputRemoved events (Events).
	Hotplug bool
	Logger  *slog.Logger

	// Input, when set, reads the seat's input devices through libinput
	// (input.go); the backend is then an EventSource. nil: no input.
	Input *InputOptions
}

// Backend drives the outputs of one KMS device.
type Backend struct {
	mu         sync.Mutex // guards outputs (hotplug changes them)
	allocMu    sync.Mutex // the allocator: outputs made by hotplug, targets replaced by Present
	hp         *hotplug   // nil without Options.Hotplug
	opts       Options
	displayDev uint64
	devs       scanout.Devices
	alloc      *scanout.Allocator
	ownAlloc   bool
	outputs    []*Output
	log        *slog.Logger
	sess       session      // paused while the seat is away (session.go)
	input      *inputSource // nil without input
	// events carries input (input.go) and hotplug (hotplug.go) events;
	// nil with neither. Closed by Close once both have stopped.
	events chan backend.Event
}

// Output is one connector with its CRTC, primary plane and swapchain.
type Output struct {
	b          *Backend
	closed     bool   // guarded by b.mu
	displayDev uint64 // dev_t of the display's primary node
	p          *scanout.Presenter
	sc         *scanout.Swapchain
	info       backend.Info
	fmt        scanout.Format
	log        *slog.Logger
	sess       *session

	triedReplace map[*scanout.Buffer]bool // targets refused and replaced (or tried)
	replaced     int

	// Mode changes (modes.go): what the Presenter is made again from,
	// the mode asked for and not yet set, and the frames of the
	// Presenters before. mu guards info, p, wantMode, statsBase,
	// mounted, turn and wantTurn against Mode, Info and Transform from
	// other goroutines.
	mu        sync.Mutex
	dev       *scanout.Device
	alloc     *scanout.Allocator
	noDirect  bool
	wantMode  *scanout.Mode
	statsBase scanout.Stats
	// mounted is how the screen is mounted (Transform: Options.Transform
	// or SetTransform's); turn is the transform the compositor draws
	// (RenderTransform): mounted when the plane cannot turn the picture.
	// wantTurn: the Presenter is to be made again for them (turn.go).
	mounted, turn backend.Transform
	wantTurn      bool
}

// New sets up every connected output of opts.Devices.Display.
func New(opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Format == 0 {
		opts.Format = scanout.XRGB8888
	}
	if opts.Buffers <= 0 {
		opts.Buffers = 3
	}
	display := opts.Devices.Display
	if display == nil {
		return nil, fmt.Errorf("kms: %w: no display device given (scanout.OpenDevices with Display: true finds one)", backend.ErrNoDisplay)
	}
	opts.Logger = log
	b := &Backend{devs: opts.Devices, alloc: opts.Allocator, opts: opts, log: log}
	if b.alloc == nil {
		b.alloc = scanout.NewAllocator(scanout.AllocatorConfig{Render: b.devs.Render, Display: display,
			HeapPreference: opts.HeapPreference, RenderNativeFirst: opts.Devices.Placement.RenderNativeFirst, Logger: log})
		if pl := opts.Devices.Placement; pl.Rule != "" {
			log.Info("render target placement", "rule", pl.Rule, "why", pl.Reason)
		}
		b.ownAlloc = true
	}
	var err error
	b.displayDev, err = display.Rdev()
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("kms: %w", err)
	}
	if err := display.EnableKMS(); err != nil {
		b.Close()
		return nil, fmt.Errorf("kms: %w", err)
	}
	pipes, err := display.Pipelines(false)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("kms: %w", err)
	}
	if len(pipes) == 0 {
		b.Close()
		return nil, fmt.Errorf("kms: %w: %s has no connected connector", backend.ErrNoDisplay, display)
	}
	for _, pipe := range pipes {
		o, err := b.newOutput(pipe)
		if err != nil {
			b.Close()
			return nil, err
		}
		b.outputs = append(b.outputs, o)
	}
	if opts.Hotplug || opts.Input != nil {
		b.events = make(chan backend.Event, 256)
	}
	if opts.Hotplug {
		if err := b.startHotplug(); err != nil {
			b.Close()
			return nil, fmt.Errorf("kms: connector hotplug: %w", err)
		}
	}
	if opts.Input != nil {
		b.startInput(*opts.Input, log)
	}
	return b, nil
}

// newOutput sets up the output of one connector: its Presenter (the
// mode from Options.Modes) and its swapchain.
func (b *Backend) newOutput(pipe scanout.Pipeline) (*Output, error) {
	opts, log, display := &b.opts, b.opts.Logger, b.devs.Display
	mode, ok := opts.Modes[pipe.ConnectorName]
	if !ok {
		mode = opts.Modes["*"]
	}
	p, turn, err := newPresenter(display, pipe, mode, opts)
	if err != nil {
		return nil, fmt.Errorf("kms output %s: %w", pipe.ConnectorName, err)
	}
	mode = p.Mode()
	b.allocMu.Lock()
	sc, err := scanout.NewSwapchain(b.alloc, opts.Buffers, mode.Width, mode.Height, opts.Format)
	b.allocMu.Unlock()
	if err != nil {
		p.Close()
		return nil, fmt.Errorf("kms output %s: %w", pipe.ConnectorName, err)
	}
	o := &Output{b: b, displayDev: b.displayDev, p: p, sc: sc, mounted: opts.Transform, turn: turn, fmt: opts.Format, log: log, sess: &b.sess,
		dev: display, alloc: b.alloc, noDirect: opts.DisableDirect, info: backend.Info{Backend: "kms", Output: pipe.ConnectorName,
			Mode: mode, Display: display.String(), Strategy: sc.Strategy, Attempts: sc.Attempts, Unavailable: b.alloc.Unavailable}}
	if b.alloc.Render() != nil {
		o.info.Render = b.alloc.Render().String()
	}
	log.Info("kms output", "output", pipe.ConnectorName, "mode", mode.String(), "targets", sc.Strategy)
	return o, nil
}

// Name returns "kms".
func (b *Backend) Name() string { return "kms" }

// Outputs returns the connected outputs.
func (b *Backend) Outputs() []backend.Output {
	b.mu.Lock()
	defer b.mu.Unlock()
	return backend.OutputList(b.outputs)
}

// Events returns the backend's events: input from the seat's devices
// (Options.Input) and outputs added and removed (Options.Hotplug); nil
// with neither. The channel is closed by Close.
func (b *Backend) Events() <-chan backend.Event {
	if b.events == nil {
		return nil
	}
	return b.events
}

// RenderDevice returns the render device the targets are imported into.
func (b *Backend) RenderDevice() *scanout.Device { return b.alloc.Render() }

// Close turns every output off and releases its buffers (and the
// Allocator it built); the devices stay open.
func (b *Backend) Close() error {
	var errs []error
	if b.input != nil {
		errs = append(errs, b.input.close())
		b.input = nil
	}
	removed := b.stopHotplug()
	if b.events != nil {
		close(b.events) // both senders have stopped
		b.events = nil
	}
	b.mu.Lock()
	outs := append(b.outputs, removed...)
	b.outputs = nil
	b.mu.Unlock()
	for _, o := range outs {
		errs = append(errs, o.Close())
	}
	if b.ownAlloc {
		errs = append(errs, b.alloc.Close())
	}
	return errors.Join(errs...)
}

// Name returns the connector's name.
func (o *Output) Name() string { return o.info.Output }

// Mode returns the mode set on the connector (or asked for by SetMode).
func (o *Output) Mode() scanout.Mode {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.info.Mode
}

// Format returns the targets' format.
func (o *Output) Format() scanout.Format { return o.fmt }

// Next returns the next render target that is not on screen (after a
// SetMode, from new targets on the new mode). While the session is
// paused it fails with backend.ErrPaused.
func (o *Output) Next() (*scanout.Buffer, int, error) {
	if err := o.sess.enter(o.Name()); err != nil {
		return nil, 0, err
	}
	defer o.sess.leave()
	if err := o.applyMode(); err != nil {
		return nil, 0, err
	}
	return o.sc.Next()
}

// Present hands the frame to the Presenter (direct or blit). A target
// the display refused (import, framebuffer, test or commit: the buffer
// itself, not the format or a setting) is replaced, once, by one from a
// strategy the display accepts (scanout.Swapchain.Replace), so one
// unlucky buffer does not send one frame in three through the blit for
// ever; when no strategy is accepted the target stays on the blit path.
func (o *Output) Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	if err := o.sess.enter(o.Name()); err != nil {
		return scanout.Verdict{}, err
	}
	defer o.sess.leave()
	v, err := o.p.Present(scanout.Submission{Buffer: target, Damage: damage, InFence: fence})
	if err == nil && v.Path == scanout.PathBlit && replaceable(v.Step) && !o.triedReplace[target] {
		o.replace(target, v)
	}
	return v, masterLost(err)
}

// replaceable reports whether a refusal at step is about the buffer, so
// that a buffer from another strategy may be accepted.
func replaceable(step scanout.Step) bool {
	switch step {
	case scanout.StepImport, scanout.StepAddFB, scanout.StepTest, scanout.StepCommit:
		return true
	}
	return false
}

func (o *Output) replace(target *scanout.Buffer, v scanout.Verdict) {
	if o.triedReplace == nil {
		o.triedReplace = map[*scanout.Buffer]bool{}
	}
	if bv, ok := target.Verdict(); !ok || bv.Path != scanout.PathBlit {
		return // a passing condition (not remembered): the next frame asks again
	}
	o.triedReplace[target] = true
	o.b.allocMu.Lock()
	defer o.b.allocMu.Unlock()
	nb, tried, err := o.sc.Replace(target, func(b *scanout.Buffer) error {
		if v := o.p.Decide(b); v.Path != scanout.PathDirect {
			return errors.New(v.String())
		}
		return nil
	})
	if err != nil {
		o.log.Warn("the display refused a render target and no other strategy makes one it accepts: it stays on the blit path",
			"output", o.Name(), "target", target.String(), "verdict", v.String(), "err", err)
		return
	}
	delete(o.triedReplace, target)
	o.triedReplace[nb] = true
	o.replaced++
	o.mu.Lock()
	o.info.Strategy = o.sc.Strategy // the mix now: Info says what made the targets on screen
	o.mu.Unlock()
	o.log.Info("replaced a render target the display refused", "output", o.Name(), "old", target.String(),
		"verdict", v.String(), "new", nb.String(), "passed_over", len(tried), "targets", o.sc.Strategy)
}

// Replaced returns how many render targets were replaced because the
// display refused them.
func (o *Output) Replaced() int { return o.replaced }

// CanScanOut decides whether a client's buffer can go on the primary
// plane as it is (see scanout.Presenter.Decide).
func (o *Output) CanScanOut(buf *scanout.Buffer) scanout.Verdict {
	if err := o.sess.enter(o.Name()); err != nil {
		return pausedVerdict()
	}
	defer o.sess.leave()
	if err := o.applyMode(); err != nil {
		return scanout.Verdict{Path: scanout.PathBlit, Reason: err.Error()}
	}
	return o.p.Decide(buf)
}

// PresentBuffer shows a buffer that did not come from Next (a client's).
// The Presenter locks it while it is on screen.
func (o *Output) PresentBuffer(buf *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error) {
	if err := o.sess.enter(o.Name()); err != nil {
		return scanout.Verdict{}, err
	}
	defer o.sess.leave()
	v, err := o.p.Present(scanout.Submission{Buffer: buf, Damage: damage, InFence: fence})
	return v, masterLost(err)
}

// ScanoutFormats returns the display device's dev_t and its primary
// plane's formats.
func (o *Output) ScanoutFormats() (uint64, map[scanout.Format][]uint64) {
	return o.displayDev, o.p.Pipeline().Primary.Formats
}

// WaitFrame waits for the page flip. When the device's events stop, it
// fails with an error wrapping backend.ErrLost.
func (o *Output) WaitFrame(ctx context.Context) (backend.Presented, error) {
	f, err := o.p.WaitFlip(ctx)
	if errors.Is(err, scanout.ErrEventsStopped) {
		return backend.Presented{}, fmt.Errorf("kms output %s: %w: %w", o.Name(), backend.ErrLost, err)
	}
	if err != nil {
		return backend.Presented{}, err
	}
	return backend.Presented{Sequence: uint64(f.Sequence), Time: f.Time, Path: f.Path, VSync: true}, nil
}

// Info describes the output's buffer path.
func (o *Output) Info() backend.Info {
	o.mu.Lock()
	defer o.mu.Unlock()
	i := o.info
	i.Stats = o.statsBase.Plus(o.p.Stats())
	return i
}
