// Package x11 is a backend that shows each output as a window on an X
// server: minicomp nested in a desktop, the way weston and wlroots run
// under X. Frames are copied from CPU-readable render targets into the
// window with MIT-SHM PutImage of the damaged rectangles (SysV shared
// memory; xgb cannot pass file descriptors), or with plain PutImage when
// the server cannot share memory with us (a remote display). Pointer and
// keyboard input in a window, resizes and WM_DELETE_WINDOW arrive as
// backend.Events; a lost X server ends the event stream with EventLost.
// The server's cursor image is the window's X cursor (cursor.go).
// Keyboard focus follows X focus: when no window has it at start, the
// first event is KeyboardLeave.
//
// It speaks the X protocol with github.com/jezek/xgb: no cgo, no Xlib.
package x11

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/render"
	"github.com/jezek/xgb/xproto"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// Options configures the X11 backend.
type Options struct {
	// Display is the X display (":0"), required: the caller reads
	// $DISPLAY.
	Display string
	// Outputs are the windows to open; default one 1280×720.
	Outputs []backend.Size
	// Title prefixes each window's title: "Title - X11-1". Default
	// "minicomp".
	Title string
	// RefreshMilliHz paces WaitFrame (default 60000): X has no vblank
	// for a window, so frames are paced by the server's round trip and
	// this clock.
	RefreshMilliHz int
	// NoSHM forces plain PutImage even when MIT-SHM works (tests,
	// benchmarks).
	NoSHM bool
	// Allocator makes the render targets; nil uses CPU-only memfd
	// buffers, which is all a window needs (the copy reads them with the
	// CPU). Its Close is the caller's.
	Allocator *scanout.Allocator
	Logger    *slog.Logger
}

// ErrUnsupported reports an X server whose screen this backend cannot
// draw on (no 24-bit TrueColor visual in BGRX layout).
var ErrUnsupported = errors.New("unsupported X server")

// Backend is a set of windows on one X server.
type Backend struct {
	conn    *xgb.Conn
	display string
	log     *slog.Logger
	screen  *xproto.ScreenInfo
	visual  xproto.Visualid
	depth   byte
	cmap    xproto.Colormap // 0 when the root visual is used
	maxReq  int             // bytes in one request
	shmWhy  string          // why MIT-SHM is not used ("" when it is)
	// argb is RENDER's ARGB32 picture format for cursors (0: none, and
	// cursorWhy says why; cursor.go).
	argb      render.Pictformat
	cursorWhy string
	period    time.Duration

	alloc     *scanout.Allocator
	ownsAlloc bool

	atomProtocols, atomDelete, atomNetName, atomUTF8 xproto.Atom

	outputs []*Output
	byWin   map[xproto.Window]*Output

	events   chan backend.Event
	done     chan struct{} // closed by Close: stop delivering
	loopDone chan struct{} // closed when the event goroutines exit
	closing  atomic.Bool
	lost     atomic.Pointer[backend.LostError]
	repeats  atomic.Uint64 // auto-repeat pairs dropped

	// unfocusedAtStart: New queued KeyboardLeave as the first event (no
	// window had the keyboard). Read-only after New.
	unfocusedAtStart bool

	closeOnce sync.Once
	closeErr  error
}

var xgbLogOnce sync.Once

// logger is where xgb's own messages go (its Logger is a process-wide
// log.Logger that its goroutines read without locking, so it is set once,
// before the first connection, and forwards to the latest backend's
// slog.Logger).
var logger atomic.Pointer[slog.Logger]

type xgbWriter struct{}

func (xgbWriter) Write(p []byte) (int, error) {
	if l := logger.Load(); l != nil {
		l.Debug("xgb", "msg", strings.TrimSpace(string(p)))
	}
	return len(p), nil
}

// New connects to the X server and opens a window per output. It fails
// with an error wrapping backend.ErrNoDisplay when there is no X server to
// connect to (no display given, or dialing it failed; the dial error is
// wrapped too); errors from a backend whose server went away wrap
// backend.ErrLost.
func New(opts Options) (*Backend, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	logger.Store(log)
	xgbLogOnce.Do(func() { xgb.Logger = newStdLogger() })

	display := opts.Display
	if display == "" {
		return nil, fmt.Errorf("x11: %w: no X display given ($DISPLAY is not set? run inside an X session or pass a display such as :0)", backend.ErrNoDisplay)
	}
	if len(opts.Outputs) == 0 {
		opts.Outputs = []backend.Size{{Width: 1280, Height: 720}}
	}
	if opts.Title == "" {
		opts.Title = "minicomp"
	}
	if opts.RefreshMilliHz <= 0 {
		opts.RefreshMilliHz = 60000
	}
	for _, s := range opts.Outputs {
		if s.Width <= 0 || s.Height <= 0 || s.Width > 16384 || s.Height > 16384 {
			return nil, fmt.Errorf("x11: bad output size %dx%d", s.Width, s.Height)
		}
	}

	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("x11: connect to X server %s: %w: %w", display, backend.ErrNoDisplay, err)
	}
	b := &Backend{conn: conn, display: display, log: log.With("backend", "x11", "display", display),
		period: time.Duration(int64(time.Second) * 1000 / int64(opts.RefreshMilliHz)),
		byWin:  map[xproto.Window]*Output{},
		events: make(chan backend.Event, 256), done: make(chan struct{}), loopDone: make(chan struct{})}
	if err := b.setup(opts); err != nil {
		b.shutdown()
		close(b.loopDone)
		return nil, err
	}
	if opts.Allocator != nil {
		b.alloc = opts.Allocator
	} else {
		b.alloc = &scanout.Allocator{Strategies: []scanout.Strategy{scanout.MemfdStrategy{}}}
		b.ownsAlloc = true
	}
	x := 0
	for i, sz := range opts.Outputs {
		o, err := b.newOutput(i, sz, x, opts.Title)
		if err != nil {
			b.shutdown()
			close(b.loopDone)
			b.release()
			return nil, err
		}
		x += sz.Width
		b.outputs = append(b.outputs, o)
		b.byWin[o.win] = o
	}
	// Everything above is on the wire; a round trip makes errors (a
	// refused window, say) show up here rather than later.
	if _, err := xproto.GetInputFocus(conn).Reply(); err != nil {
		b.shutdown()
		close(b.loopDone)
		b.release()
		return nil, fmt.Errorf("x11: set up windows on %s: %w", display, err)
	}
	b.initialFocus()
	go b.eventLoop()
	for _, o := range b.outputs {
		b.log.Info("x11 output", "output", o.name, "window", fmt.Sprintf("0x%x", uint32(o.win)),
			"mode", o.mode.String(), "upload", o.upload, "targets", o.sc.Strategy)
	}
	return b, nil
}

// initialFocus reports, as the first event, KeyboardLeave when no window
// has the keyboard at start: the compositor's seat assumes the keyboard
// is on minicomp's window until told otherwise, and X sends no event for
// focus a window never had. X focus on a window, or on PointerRoot or
// the root with the pointer in a window, is the keyboard there.
func (b *Backend) initialFocus() {
	f, err := xproto.GetInputFocus(b.conn).Reply()
	if err != nil {
		b.log.Debug("x11: query input focus", "err", err)
		return
	}
	var under xproto.Window
	if f.Focus == xproto.Window(xproto.InputFocusPointerRoot) || f.Focus == b.screen.Root {
		if p, err := xproto.QueryPointer(b.conn, b.screen.Root).Reply(); err == nil && p.SameScreen {
			under = p.Child
		}
	}
	for _, o := range b.outputs {
		if f.Focus == o.win || under == o.win {
			o.focused = true // before the event goroutine starts
			return
		}
	}
	b.unfocusedAtStart = true
	b.events <- backend.Event{Kind: backend.KeyboardLeave, Output: b.outputs[0], Time: monotonic()}
}

func newStdLogger() *log.Logger { return log.New(xgbWriter{}, "", 0) }

// setup reads the screen, picks the visual, interns atoms and decides on
// MIT-SHM.
func (b *Backend) setup(opts Options) error {
	c := b.conn
	info := xproto.Setup(c)
	if info == nil || len(info.Roots) == 0 {
		return fmt.Errorf("x11: %s: %w: no screens", b.display, ErrUnsupported)
	}
	scr := c.DefaultScreen
	if scr < 0 || scr >= len(info.Roots) {
		scr = 0
	}
	b.screen = &info.Roots[scr]
	if info.ImageByteOrder != xproto.ImageOrderLSBFirst {
		return fmt.Errorf("x11: %s: %w: image byte order is MSB first", b.display, ErrUnsupported)
	}
	bpp32 := false
	for _, f := range info.PixmapFormats {
		if f.Depth == 24 && f.BitsPerPixel == 32 {
			bpp32 = true
		}
	}
	if !bpp32 {
		return fmt.Errorf("x11: %s: %w: depth 24 is not stored as 32 bits per pixel", b.display, ErrUnsupported)
	}
	b.visual, b.depth = 0, 0
	for _, d := range b.screen.AllowedDepths {
		if d.Depth != 24 {
			continue
		}
		for _, v := range d.Visuals {
			if v.Class == xproto.VisualClassTrueColor && v.RedMask == 0xff0000 && v.GreenMask == 0xff00 && v.BlueMask == 0xff {
				if b.visual == 0 || v.VisualId == b.screen.RootVisual {
					b.visual, b.depth = v.VisualId, 24
				}
			}
		}
	}
	if b.visual == 0 {
		return fmt.Errorf("x11: %s: %w: no 24-bit TrueColor visual with XRGB8888 masks", b.display, ErrUnsupported)
	}
	if b.visual != b.screen.RootVisual || b.screen.RootDepth != 24 {
		cm, err := xproto.NewColormapId(c)
		if err != nil {
			return fmt.Errorf("x11: %s: colormap id: %w", b.display, err)
		}
		xproto.CreateColormap(c, xproto.ColormapAllocNone, cm, b.screen.Root, b.visual)
		b.cmap = cm
	}
	b.maxReq = int(info.MaximumRequestLength) * 4
	atoms := []struct {
		name string
		dst  *xproto.Atom
	}{{"WM_PROTOCOLS", &b.atomProtocols}, {"WM_DELETE_WINDOW", &b.atomDelete},
		{"_NET_WM_NAME", &b.atomNetName}, {"UTF8_STRING", &b.atomUTF8}}
	cookies := make([]xproto.InternAtomCookie, len(atoms))
	for i, a := range atoms {
		cookies[i] = xproto.InternAtom(c, false, uint16(len(a.name)), a.name)
	}
	for i, a := range atoms {
		r, err := cookies[i].Reply()
		if err != nil {
			return fmt.Errorf("x11: %s: intern atom %s: %w", b.display, a.name, err)
		}
		*a.dst = r.Atom
	}
	b.initCursors()
	if b.cursorWhy != "" {
		b.log.Info("X cursors unusable: the cursor is composed into the frames", "err", b.cursorWhy)
	}
	switch {
	case opts.NoSHM:
		b.shmWhy = "MIT-SHM disabled by option"
	default:
		if err := b.probeSHM(); err != nil {
			b.shmWhy = err.Error()
			b.log.Info("MIT-SHM unusable: frames go over the socket with plain PutImage", "err", err)
		}
	}
	return nil
}

// Name returns "x11".
func (b *Backend) Name() string { return "x11" }

// RenderDevice returns the render device of the Allocator's targets, or
// nil (CPU memory, the default).
func (b *Backend) RenderDevice() *scanout.Device { return b.alloc.Render() }

// Outputs returns the windows.
func (b *Backend) Outputs() []backend.Output { return backend.OutputList(b.outputs) }

// Events returns input and output changes; see backend.EventSource.
func (b *Backend) Events() <-chan backend.Event { return b.events }

// SHM reports whether frames are uploaded with MIT-SHM and, if not, why.
func (b *Backend) SHM() (bool, string) { return b.shmWhy == "", b.shmWhy }

// Display returns the display string the backend connected to.
func (b *Backend) Display() string { return b.display }

// lostErr returns why the server is gone; nil while it is there.
func (b *Backend) lostErr() error {
	if e := b.lost.Load(); e != nil {
		return e
	}
	return nil
}

// markLost records the loss once and returns the error.
func (b *Backend) markLost(cause error) *backend.LostError {
	if cause == nil || errors.Is(cause, io.EOF) {
		cause = fmt.Errorf("connection closed (%w)", io.EOF)
	}
	b.lost.CompareAndSwap(nil, &backend.LostError{Backend: "x11", What: "X server " + b.display, Cause: cause})
	return b.lost.Load()
}

// closeTimeout bounds each step of Close against a server that stopped
// answering without closing the connection.
const closeTimeout = 2 * time.Second

// Close destroys the windows, detaches and unmaps shared memory, closes
// the connection, stops the event goroutines (closing the Events
// channel) and releases every render target. Stop calling the outputs'
// Next, Present and WaitFrame first. It is idempotent and does not hang
// when the server is gone.
func (b *Backend) Close() error {
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		if b.lost.Load() == nil {
			for _, o := range b.outputs {
				o.destroyX()
			}
			if b.cmap != 0 {
				xproto.FreeColormap(b.conn, b.cmap)
			}
			if !b.roundTrip(closeTimeout) {
				b.log.Warn("X server did not confirm that the windows are gone")
			}
		}
		b.shutdown()
		close(b.done)
		select {
		case <-b.loopDone:
		case <-time.After(closeTimeout):
			b.log.Warn("x11 event goroutine did not stop")
		}
		b.closeErr = b.release()
	})
	return b.closeErr
}

// shutdown closes the connection, bounded in time: xgb's Close makes a
// round trip first, which a hung server would never answer.
func (b *Backend) shutdown() {
	ch := make(chan struct{})
	go func() { b.conn.Close(); close(ch) }()
	select {
	case <-ch:
	case <-time.After(closeTimeout):
		b.log.Warn("closing the X connection timed out")
	}
}

// release frees client-side memory: shm mappings and render targets.
func (b *Backend) release() error {
	var errs []error
	for _, o := range b.outputs {
		errs = append(errs, o.release())
	}
	if b.ownsAlloc && b.alloc != nil {
		errs = append(errs, b.alloc.Close())
	}
	return errors.Join(errs...)
}

// roundTrip waits for the server to process everything sent so far; it
// reports false on timeout or a closed connection.
func (b *Backend) roundTrip(timeout time.Duration) bool {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return b.awaitReply(ctx, xproto.GetInputFocus(b.conn).Cookie) == nil
}

// awaitReply waits for a reply cookie, or ctx. The waiting goroutine ends
// when the reply arrives or the connection closes.
func (b *Backend) awaitReply(ctx context.Context, ck *xgb.Cookie) error {
	ch := make(chan error, 1)
	go func() {
		_, err := ck.Reply()
		ch <- err
	}()
	select {
	case err := <-ch:
		if errors.Is(err, io.EOF) {
			return b.markLost(err)
		}
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// KeymapNames are the XKB rule names the X server's keyboard uses (the
// root window's _XKB_RULES_NAMES), so the seat can build a matching
// wl_keyboard keymap: X keycodes are evdev codes + 8 on servers using
// the evdev or libinput driver (and Xvfb, Xwayland).
type KeymapNames struct {
	Rules, Model, Layout, Variant, Options string
}

// KeymapNames reads the X server's XKB rule names. ok is false when the
// server does not publish them (no XKB).
func (b *Backend) KeymapNames() (names KeymapNames, ok bool, err error) {
	a, err := xproto.InternAtom(b.conn, true, uint16(len("_XKB_RULES_NAMES")), "_XKB_RULES_NAMES").Reply()
	if err != nil {
		return names, false, fmt.Errorf("x11: intern _XKB_RULES_NAMES: %w", err)
	}
	if a.Atom == xproto.AtomNone {
		return names, false, nil
	}
	r, err := xproto.GetProperty(b.conn, false, b.screen.Root, a.Atom, xproto.AtomString, 0, 1024).Reply()
	if err != nil {
		return names, false, fmt.Errorf("x11: read _XKB_RULES_NAMES: %w", err)
	}
	if r.Format != 8 || len(r.Value) == 0 {
		return names, false, nil
	}
	f := strings.Split(string(r.Value), "\x00")
	for len(f) < 5 {
		f = append(f, "")
	}
	return KeymapNames{Rules: f[0], Model: f[1], Layout: f[2], Variant: f[3], Options: f[4]}, true, nil
}
