// Package wayland is a nested backend: every minicomp output is a window
// (an xdg_toplevel) in another Wayland compositor, the parent. Frames are
// paced by the parent's frame callbacks and handed over without a copy
// when possible: as linux-dmabuf wl_buffers when the render targets are
// dma-bufs the parent accepts, as wl_shm buffers on the targets' own memfd
// when they are CPU memory, and by copying into wl_shm otherwise. Pointer
// and keyboard input on the windows arrives as backend events; the
// server's cursor image is the parent's cursor over a window (cursor.go).
//
// The client side of the protocol is github.com/neurlang/wayland; its
// event loop runs on a goroutine of its own.
package wayland

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/neurlang/wayland/wl"
	"github.com/neurlang/wayland/xdg"

	linux "github.com/neurlang/wayland/stable/linux-dmabuf-v1"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// errNoParent prefixes New's errors when the parent compositor cannot be
// reached (no socket, nothing listening, a required global missing).
var errNoParent = fmt.Errorf("wayland: %w (no parent compositor)", backend.ErrNoDisplay)

// ErrClosed is wrapped by the errors of a closed backend's outputs.
var ErrClosed = errors.New("wayland: backend closed")

// Options configures the nested Wayland backend.
type Options struct {
	// Display is the parent's socket: a name in RuntimeDir or an
	// absolute path ("": "wayland-0"). The caller reads $WAYLAND_DISPLAY.
	Display string
	// RuntimeDir is where socket names are found (the caller's
	// $XDG_RUNTIME_DIR); required unless Display is an absolute path.
	RuntimeDir string
	// Outputs are the windows' initial sizes (default one 1280×720); the
	// parent may resize them.
	Outputs []backend.Size
	Logger  *slog.Logger
	// NoDMABuf forces wl_shm hand-over even when dma-bufs would work.
	NoDMABuf bool
	// ForceCopy copies frames into separate wl_shm buffers even when a
	// zero-copy hand-over is possible (benchmarks, debugging).
	ForceCopy bool
	// Title prefixes the window titles: "Title - WL-1" (default "minicomp").
	Title string
	// Format is the render targets' format (default XRGB8888).
	Format scanout.Format
	// Buffers is the number of render targets per output (default 3); one
	// more is added when the parent holds all of them.
	Buffers int
	// Allocator makes the render targets (default: a scanout.Allocator
	// without render device that falls back to memfd, as headless does).
	// The backend does not close a given Allocator.
	Allocator *scanout.Allocator

	// memfdAsDmabuf (tests) hands memfd targets over as if they were
	// dma-bufs, to exercise the linux-dmabuf requests on machines with
	// no dma-buf source.
	memfdAsDmabuf bool
}

// Backend is the nested Wayland backend: a connection to the parent and a
// window per output.
type Backend struct {
	log     *slog.Logger
	display string // the parent's socket name, for messages
	opts    Options

	ctx      *wl.Context
	conn     *net.UnixConn // the context's socket, to interrupt the loop (nil: unknown)
	wlDisp   *wl.Display
	registry *wl.Registry
	ids      *ids

	compositor *wl.Compositor
	shm        *wl.Shm
	wmBase     *xdg.WmBase
	dmabuf     *linux.ZwpDmabufV1
	seat       *wl.Seat
	seatVer    uint32

	alloc     *scanout.Allocator
	ownsAlloc bool

	mu       sync.Mutex
	cond     *sync.Cond // signalled on release, frame, configure, loss, close
	caps     parentCaps
	outputs  []*Output
	input    inputState
	cursor   parentCursor // cursor.go
	lost     error        // set once when the parent went away
	closed   bool
	protoErr string

	stopping  atomic.Bool   // Close asked the loop to end
	gone      chan struct{} // closed when the parent is lost or at Close
	goneOnce  sync.Once
	loopDone  chan struct{}
	events    *eventQueue
	closeOnce sync.Once
}

// listener receives the parent's events for the Backend; it keeps the
// handler methods out of Backend's API.
type listener struct{ *Backend }

// connect dials the parent's socket. The library resolves names against
// $XDG_RUNTIME_DIR itself, so an absolute path is made relative to it.
func connect(display, runtime string) (*wl.Display, string, error) {
	if display == "" {
		display = "wayland-0"
	}
	if runtime == "" && filepath.IsAbs(display) {
		runtime = filepath.Dir(display)
	}
	if runtime == "" {
		return nil, display, fmt.Errorf("%w: %s: no runtime directory (XDG_RUNTIME_DIR) to find it in", errNoParent, display)
	}
	name := display
	if filepath.IsAbs(display) {
		rel, err := filepath.Rel(runtime, display)
		if err != nil {
			return nil, display, fmt.Errorf("%w: %s: %w", errNoParent, display, err)
		}
		name = rel
	}
	d, err := wl.Connect(name)
	if err != nil {
		return nil, display, fmt.Errorf("%w: connect to %s: %w", errNoParent, filepath.Join(runtime, name), err)
	}
	return d, display, nil
}

// setupTimeout bounds New's wait for the parent's replies (a variable
// for tests).
var setupTimeout = 5 * time.Second

// New connects to the parent compositor, opens a window per output, waits
// for each window's first configure, and allocates the render targets.
func New(opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if len(opts.Outputs) == 0 {
		opts.Outputs = []backend.Size{{Width: 1280, Height: 720}}
	}
	if opts.Title == "" {
		opts.Title = "minicomp"
	}
	if opts.Format == 0 {
		opts.Format = scanout.XRGB8888
	}
	if opts.Buffers <= 0 {
		opts.Buffers = 3
	}
	d, name, err := connect(opts.Display, opts.RuntimeDir)
	if err != nil {
		return nil, err
	}
	b := &Backend{log: log.With("backend", "wayland", "parent", name), display: name, opts: opts,
		ctx: d.Context(), wlDisp: d, loopDone: make(chan struct{}), gone: make(chan struct{})}
	b.cond = sync.NewCond(&b.mu)
	b.conn = libConn(b.ctx)
	b.ids = newIDs(b.ctx)
	b.caps.shm = map[scanout.Format]bool{}
	b.events = newEventQueue(1024)
	if err := b.setup(); err != nil {
		b.ctx.Close()
		b.events.stop()
		b.releaseAlloc()
		for _, o := range b.outputs {
			o.freeRing()
		}
		return nil, err
	}
	if b.input.kbdFocus == nil {
		// The compositor's seat assumes the keyboard is on the window
		// until told otherwise; it is not before the parent says so
		// (wl_keyboard.enter, after the window maps).
		b.events.push(backend.Event{Kind: backend.KeyboardLeave, Output: b.outputs[0], Time: now()})
	}
	go b.loop()
	return b, nil
}

// setup binds the globals and opens the windows; it runs before the event
// loop, dispatching on the caller's goroutine with roundtrips.
func (b *Backend) setup() error {
	// A parent that does not answer (frozen, or not a Wayland
	// compositor) fails New instead of hanging it.
	if b.conn != nil {
		b.conn.SetReadDeadline(time.Now().Add(setupTimeout))
		defer b.conn.SetReadDeadline(time.Time{})
	}
	b.wlDisp.AddErrorHandler(listener{b})
	b.wlDisp.AddDeleteIdHandler(listener{b})
	reg, err := b.wlDisp.GetRegistry()
	if err != nil {
		return fmt.Errorf("%w: %s: get registry: %w", errNoParent, b.display, err)
	}
	b.registry = reg
	reg.AddGlobalHandler(listener{b})
	if err := b.roundtrip(); err != nil {
		return fmt.Errorf("%w: %s: registry roundtrip: %w", errNoParent, b.display, err)
	}
	var missing []string
	if b.compositor == nil {
		missing = append(missing, "wl_compositor")
	}
	if b.shm == nil {
		missing = append(missing, "wl_shm")
	}
	if b.wmBase == nil {
		missing = append(missing, "xdg_wm_base")
	}
	if len(missing) > 0 {
		return fmt.Errorf("%w: %s lacks %v", errNoParent, b.display, missing)
	}
	// A second roundtrip collects wl_shm formats, linux-dmabuf modifiers
	// and seat capabilities sent in reply to the binds.
	if err := b.roundtrip(); err != nil {
		return fmt.Errorf("%w: %s: roundtrip after binding globals: %w", errNoParent, b.display, err)
	}
	b.log.Info("connected to parent compositor", "shm_formats", len(b.caps.shm),
		"linux_dmabuf", b.dmabuf != nil, "dmabuf_formats", len(b.caps.dmabuf), "seat", b.seat != nil)

	if b.opts.Allocator != nil {
		b.alloc = b.opts.Allocator
	} else {
		b.alloc = scanout.NewAllocator(scanout.AllocatorConfig{AllowCPUOnly: true, Logger: b.log})
		b.ownsAlloc = true
	}
	for i, sz := range b.opts.Outputs {
		o, err := b.newOutput(i, sz)
		if err != nil {
			return err
		}
		b.outputs = append(b.outputs, o)
	}
	// Wait for every window's first configure (bounded: a parent that
	// never configures is broken).
	deadline := time.Now().Add(setupTimeout)
	for {
		all := true
		for _, o := range b.outputs {
			all = all && o.configured
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("wayland: %s: no xdg_surface.configure for the windows within %v", b.display, setupTimeout)
		}
		if err := b.roundtrip(); err != nil {
			return fmt.Errorf("wayland: %s: waiting for the first configure: %w", b.display, err)
		}
	}
	for _, o := range b.outputs {
		if err := o.start(); err != nil {
			return err
		}
	}
	return nil
}

// roundtrip sends wl_display.sync and dispatches until its reply. Only
// before the event loop runs.
func (b *Backend) roundtrip() error {
	done := false
	cb := &callbackProxy{done: func(uint32) { done = true }}
	b.ids.register(cb)
	if err := b.ctx.SendRequest(b.wlDisp, 0, cb); err != nil {
		return fmt.Errorf("wl_display.sync: %w", err)
	}
	for !done {
		if err := b.ctx.Run(); err != nil && fatalRunError(err) {
			if b.protoErr != "" {
				return fmt.Errorf("%w (%s)", err, b.protoErr)
			}
			return err
		}
	}
	b.ids.retire(cb)
	return nil
}

// fatalRunError tells a broken connection from an event the library could
// not route (an event for an object we already destroyed: harmless).
func fatalRunError(err error) bool {
	return !errors.Is(err, wl.ErrContextRunProxyNil) && !errors.Is(err, wl.ErrContextRunNotDispatched)
}

// HandleRegistryGlobal binds the globals the backend uses.
func (b listener) HandleRegistryGlobal(ev wl.RegistryGlobalEvent) {
	bind := func(p wl.Proxy, max uint32) uint32 {
		v := min(ev.Version, max)
		if err := b.registry.Bind(ev.Name, ev.Interface, v, p); err != nil {
			b.log.Warn("bind failed", "interface", ev.Interface, "err", err)
		}
		return v
	}
	switch ev.Interface {
	case "wl_compositor":
		if b.compositor == nil {
			b.compositor = wl.NewCompositor(b.ctx)
			bind(b.compositor, 4) // damage_buffer is version 4
		}
	case "wl_shm":
		if b.shm == nil {
			b.shm = wl.NewShm(b.ctx)
			b.shm.AddFormatHandler(b)
			bind(b.shm, 1)
		}
	case "xdg_wm_base":
		if b.wmBase == nil {
			b.wmBase = xdg.NewWmBase(b.ctx)
			b.wmBase.AddPingHandler(b)
			bind(b.wmBase, 2)
		}
	case "zwp_linux_dmabuf_v1":
		// Version 3 lists format/modifier pairs as events; 4 and later
		// need the feedback format table instead.
		if b.dmabuf == nil && ev.Version >= 3 {
			b.dmabuf = linux.NewZwpDmabufV1(b.ctx)
			b.dmabuf.AddModifierHandler(b)
			b.caps.dmabuf = map[scanout.Format][]uint64{}
			bind(b.dmabuf, 3)
		}
	case "wl_seat":
		if b.seat == nil {
			b.seat = wl.NewSeat(b.ctx)
			b.seat.AddCapabilitiesHandler(b)
			b.seatVer = bind(b.seat, 5)
		}
	}
}

// HandleShmFormat records a wl_shm format.
func (b listener) HandleShmFormat(ev wl.ShmFormatEvent) {
	b.mu.Lock()
	b.caps.shm[shmToFormat(ev.Format)] = true
	b.mu.Unlock()
}

// HandleZwpDmabufV1Modifier records a linux-dmabuf format/modifier pair.
func (b listener) HandleZwpDmabufV1Modifier(ev linux.ZwpDmabufV1ModifierEvent) {
	b.mu.Lock()
	f := scanout.Format(ev.Format)
	b.caps.dmabuf[f] = append(b.caps.dmabuf[f], uint64(ev.ModifierHi)<<32|uint64(ev.ModifierLo))
	b.mu.Unlock()
}

// HandleWmBasePing answers the parent's liveness check.
func (b listener) HandleWmBasePing(ev xdg.WmBasePingEvent) {
	if err := b.wmBase.Pong(ev.Serial); err != nil {
		b.log.Debug("xdg_wm_base.pong failed", "err", err)
	}
}

// HandleDisplayError records a fatal protocol error; the parent closes
// the connection after it.
func (b listener) HandleDisplayError(ev wl.DisplayErrorEvent) {
	id := uint32(0)
	if ev.ObjectId != nil {
		id = uint32(ev.ObjectId.Id())
	}
	msg := fmt.Sprintf("protocol error %d on object %d: %s", ev.Code, id, ev.Message)
	b.mu.Lock()
	b.protoErr = msg
	b.mu.Unlock()
	b.log.Error("parent compositor reported a protocol error", "code", ev.Code, "object", id, "message", ev.Message)
}

// HandleDisplayDeleteId frees an object id for reuse.
func (b listener) HandleDisplayDeleteId(ev wl.DisplayDeleteIdEvent) { b.ids.deleted(ev.Id) }

// loop dispatches the parent's events until the connection ends or Close
// asks it to stop.
func (b *Backend) loop() {
	defer close(b.loopDone)
	for {
		err := b.ctx.Run()
		if b.stopping.Load() {
			return
		}
		if err == nil || !fatalRunError(err) {
			continue
		}
		b.mu.Lock()
		why := "reading its events failed"
		switch {
		case errors.Is(err, io.EOF) || errors.Is(err, wl.ErrContextRunConnectionClosed):
			why = "the compositor closed the connection (it exited or crashed)"
		case errors.Is(err, syscall.ECONNRESET):
			why = "the compositor reset the connection (it exited or crashed)"
		}
		if b.protoErr != "" {
			why = "it disconnected us after a " + b.protoErr
		}
		lost := &backend.LostError{Backend: "wayland", What: "parent compositor " + b.display, Cause: fmt.Errorf("%s: %w", why, err)}
		b.lost = lost
		for _, o := range b.outputs {
			o.parentGone()
		}
		b.cond.Broadcast()
		b.mu.Unlock()
		b.goneOnce.Do(func() { close(b.gone) })
		b.log.Error("lost the parent compositor: shutting the nested outputs down", "err", lost)
		b.events.push(backend.Event{Kind: backend.EventLost, Time: now(), Err: lost})
		b.events.finish()
		return
	}
}

// Name returns "wayland".
func (b *Backend) Name() string { return "wayland" }

// Outputs returns the windows, one per output.
func (b *Backend) Outputs() []backend.Output { return backend.OutputList(b.outputs) }

// RenderDevice returns the render device of the Allocator's targets, or
// nil (CPU memory).
func (b *Backend) RenderDevice() *scanout.Device { return b.alloc.Render() }

// Events returns input and window events. The channel is closed after
// EventLost or by Close. Events queue (up to a bound, after which the
// parent's events wait) so a reader that is briefly busy loses nothing.
func (b *Backend) Events() <-chan backend.Event { return b.events.out }

// Err returns why the parent was lost, or nil.
func (b *Backend) Err() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.lost
}

// Close destroys the windows, disconnects from the parent and releases
// every buffer. It never waits long for a parent that does not answer.
func (b *Backend) Close() error {
	var errs []error
	b.closeOnce.Do(func() {
		b.mu.Lock()
		b.closed = true
		lost := b.lost != nil
		b.cond.Broadcast()
		b.mu.Unlock()
		b.goneOnce.Do(func() { close(b.gone) })
		if !lost {
			for _, o := range b.outputs {
				o.destroyWindow()
			}
			// Ask the loop to stop: a read deadline interrupts its read at
			// once; without the socket, it ends after the reply to a sync.
			b.stopping.Store(true)
			if b.conn != nil {
				b.conn.SetReadDeadline(time.Now())
			} else {
				cb := &callbackProxy{}
				b.ids.register(cb)
				if err := b.ctx.SendRequest(b.wlDisp, 0, cb); err != nil {
					b.log.Debug("wl_display.sync at close", "err", err)
				}
			}
			select {
			case <-b.loopDone:
			case <-time.After(2 * time.Second):
				b.log.Warn("parent compositor did not answer at close; disconnecting anyway")
			}
		}
		if err := b.ctx.Close(); err != nil && !lost {
			errs = append(errs, fmt.Errorf("wayland: close connection to %s: %w", b.display, err))
		}
		<-b.loopDone
		for _, o := range b.outputs {
			o.freeRing()
		}
		errs = append(errs, b.releaseAlloc())
		b.events.stop()
		b.log.Info("nested outputs closed")
	})
	return errors.Join(errs...)
}

func (b *Backend) releaseAlloc() error {
	if b.ownsAlloc && b.alloc != nil {
		a := b.alloc
		b.alloc = nil
		return a.Close()
	}
	return nil
}

// send sends a request; a failure means the connection is gone.
func (b *Backend) send(p wl.Proxy, opcode uint32, args ...any) error {
	if err := b.ctx.SendRequest(p, opcode, args...); err != nil {
		return err
	}
	return nil
}

// now returns CLOCK_MONOTONIC (backend.Monotonic: the vDSO, no system
// call on the input path).
func now() time.Duration { return backend.Monotonic() }

// The backend is an event source as well as a set of outputs.
var (
	_ backend.Backend     = (*Backend)(nil)
	_ backend.EventSource = (*Backend)(nil)
	_ backend.Output      = (*Output)(nil)
)
