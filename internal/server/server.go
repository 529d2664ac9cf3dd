// Package server is minicomp's Wayland compositor core: the client
// connections and their objects, the globals (wl_compositor, wl_shm,
// wl_output, wl_seat, wl_data_device_manager, xdg_wm_base, screencopy,
// virtual pointer and keyboard, output power, data control, layer-shell,
// output management, idle notify and inhibit, xdg-activation; the
// powerful ones can be withheld, see Privileged), double-buffered
// surface state, and composition of the mapped surfaces into each output's
// render target once per output frame, with frame callbacks after it.
//
// One goroutine (Run) owns all state and waits on one epoll set for every
// client, the listening socket and its timers; only the backends' blocking
// frame waits run on goroutines of their own (one per output).
package server

import (
	"context"
	"errors"
	"fmt"
	"image"
	"log/slog"
	"os"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/keymap"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/render"
)

// Server is a Wayland display served on a socket.
type Server struct {
	log      *slog.Logger
	listener *wire.Listener
	outputs  []*output
	clients  map[*Client]bool
	globals  []*global
	serial   uint32
	surfaces []*surface // mapped toplevels, bottom to top
	start    time.Time
	waiters  sync.WaitGroup // the outputs' waitFrames goroutines
	paused   bool           // the seat's session is away (session.go)
	switchVT func(vt int)   // Options.SwitchVT
	vtHeld   uint32         // the VT switch key held: its release is not for clients

	// counters behind Stats, read from other goroutines
	clientCount, disconnectCount, protocolErrorCount atomic.Int64
	commitCount, callbackCount, frameCount           atomic.Uint64
	directFrames                                     atomic.Uint64
	latency                                          latency
	// mainDevice is the dev_t of the render node clients should allocate for.
	mainDevice uint64

	loop *loop
	byFD map[int32]*Client

	renderer render.Renderer
	recover  func(render.Renderer, error) (render.Renderer, string, bool)
	// clientScanout: some output can show client buffers directly, so
	// committed dma-bufs are held rather than copied at once.
	clientScanout bool
	seat          *seat
	events        <-chan backend.Event // from the backend, nil without input
	devNull       *os.File             // the fd of a keymap-less wl_keyboard.keymap
	selection     selection
	// layer-shell (layershell.go): the layer surfaces
	layers   []*layerSurface
	idle     idleState        // idle.go
	outMgmt  outputManagement // outputmgmt.go
	withhold Privileged       // trust.go
	xdgx     xdgExtras        // xdgextra.go
	blank    *blankState      // nil: no blanking (blank.go)
	// surfaces sent wl_surface.enter, and updateEnters' count (layout.go)
	entered   []*surface
	enterMark uint64
}

type frameDone struct {
	o   *output
	f   backend.Presented
	err error
}

// global is one advertised global.
type global struct {
	removed bool // withdrawn (its output went): not announced any more
	name    uint32
	iface   *protocol.Interface
	version uint32
	bind    func(c *Client, id, version uint32) error
}

// Stats counts what the server did.
type Stats struct {
	Clients, Disconnects, ProtocolErrors int
	Commits, FrameCallbacks, Frames      uint64
	// DirectFrames showed a client's buffer itself, not a composition.
	DirectFrames uint64
	// CommitToPresent: from a commit with new content to the frame
	// showing it on screen.
	CommitToPresent Latency
}

// Stats returns a snapshot of the counters (safe from any goroutine).
func (s *Server) Stats() Stats {
	return Stats{
		Clients: int(s.clientCount.Load()), Disconnects: int(s.disconnectCount.Load()),
		ProtocolErrors: int(s.protocolErrorCount.Load()),
		Commits:        s.commitCount.Load(), FrameCallbacks: s.callbackCount.Load(), Frames: s.frameCount.Load(),
		CommitToPresent: s.latency.summary(), DirectFrames: s.directFrames.Load(),
	}
}

// Options configures a Server.
type Options struct {
	Logger *slog.Logger // default slog.Default()
	// Renderer composes the outputs (required). The server uses it from
	// Run's goroutine only and closes it when Run returns.
	Renderer render.Renderer
	// RecoverRenderer, when set, is asked for a replacement when the
	// renderer fails (auto.Recover: the CPU renderer after a lost GL
	// context); ok false keeps the renderer.
	RecoverRenderer func(r render.Renderer, err error) (next render.Renderer, why string, ok bool)
	// Keyboard is the keymap sent to clients and the modifier state of the
	// backend's keyboard (nil: the built-in US keymap; keymap.NewXKB
	// compiles others with libxkbcommon).
	Keyboard keymap.Keyboard
	// MainDevice is the dev_t of the render device clients should
	// allocate for (dma-buf feedback's main device): the device the
	// backend's targets live on (backend.Backend.RenderDevice). 0: none.
	MainDevice uint64
	// HideCursor never shows a cursor (a touch-only kiosk).
	HideCursor bool
	// DefaultCursor is the cursor shown where no client set one (nil:
	// a built-in arrow; cmd loads the theme's left_ptr).
	DefaultCursor *backend.CursorImage
	// IdleTimeout blanks the outputs after this long without input
	// (0: never); input turns them back on.
	IdleTimeout time.Duration
	// SwitchVT, when set, is called for Ctrl+Alt+F1..F12 from the
	// backend's keyboard (with the VT number; the keys do not reach
	// clients): a seated compositor switches VT through its session.
	SwitchVT func(vt int)
	// Withhold leaves these groups of powerful globals out of the
	// registry (screen capture, virtual input, data control, output
	// control; see Privileged). 0: every client may use them all.
	Withhold Privileged
	// PingInterval is how often clients with a window are pinged (one
	// that has not answered by the next ping is logged as not
	// responding). 0: DefaultPingInterval; negative: never.
	PingInterval time.Duration
	// RepeatRate (keys per second) and RepeatDelay (ms) are the key
	// repeat clients are told (wl_keyboard.repeat_info); 0 takes 25 and
	// 600, a negative rate turns repeat off.
	RepeatRate, RepeatDelay int
}

// ErrNoRenderer is returned by New without Options.Renderer.
var ErrNoRenderer = errors.New("server: no renderer")

// New listens on a new wayland-N socket in runtimeDir and serves the
// backend's outputs.
func New(runtimeDir string, be backend.Backend, opts Options) (*Server, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Renderer == nil {
		return nil, ErrNoRenderer
	}
	l, err := wire.Listen(runtimeDir)
	if err != nil {
		return nil, err
	}
	lp, err := newLoop()
	if err != nil {
		l.Close()
		return nil, err
	}
	if err := lp.add(l.FD()); err != nil {
		lp.close()
		l.Close()
		return nil, err
	}
	s := &Server{log: log, listener: l, clients: map[*Client]bool{}, start: time.Now(),
		loop: lp, byFD: map[int32]*Client{}, renderer: opts.Renderer, mainDevice: opts.MainDevice,
		recover: opts.RecoverRenderer, switchVT: opts.SwitchVT, withhold: opts.Withhold}
	s.xdgx.pingEvery = opts.PingInterval
	if s.xdgx.pingEvery == 0 {
		s.xdgx.pingEvery = DefaultPingInterval
	}
	if es, ok := be.(backend.EventSource); ok {
		s.events = es.Events()
	}
	if s.seat, err = newSeat(s, s.events != nil, opts.Keyboard); err == nil {
		s.seat.cursor = newCursorState(s.seat, opts.HideCursor, opts.DefaultCursor, pointerPresent(be))
		s.devNull, err = os.Open(os.DevNull)
	}
	if err != nil {
		lp.close()
		l.Close()
		return nil, err
	}
	s.seat.seated.setRepeat(opts.RepeatRate, opts.RepeatDelay)
	s.addGlobal(protocol.WlCompositorInterface, 6, s.bindCompositor)
	s.addGlobal(protocol.WlShmInterface, 1, s.bindShm)
	s.addGlobal(protocol.WlSubcompositorInterface, 1, s.bindSubcompositor)
	s.addGlobal(protocol.WlDataDeviceManagerInterface, 3, s.bindDataDeviceManager)
	s.addGlobal(protocol.WlSeatInterface, 8, s.bindSeat)
	s.addGlobal(protocol.XdgWmBaseInterface, 5, s.bindXdgWmBase)
	s.addGlobal(protocol.WpPresentationInterface, 1, s.bindPresentation)
	s.addGlobal(protocol.ZxdgOutputManagerV1Interface, 3, s.bindXdgOutputManager)
	s.addGlobal(protocol.ZwlrScreencopyManagerV1Interface, 3, s.bindScreencopy)
	s.addGlobal(protocol.ZwpLinuxDmabufV1Interface, 4, s.bindLinuxDmabuf)
	s.addGlobal(protocol.WpViewporterInterface, 1, s.bindViewporter)
	s.addGlobal(protocol.ZwlrVirtualPointerManagerV1Interface, 2, s.bindVirtualPointerManager)
	s.addGlobal(protocol.ZwpVirtualKeyboardManagerV1Interface, 1, s.bindVirtualKeyboardManager)
	s.addGlobal(protocol.ZwlrOutputPowerManagerV1Interface, 1, s.bindOutputPowerManager)
	s.addGlobal(protocol.ZwlrDataControlManagerV1Interface, 2, s.bindDataControlManager)
	s.addGlobal(protocol.ZwlrLayerShellV1Interface, 4, s.bindLayerShell)
	s.addGlobal(protocol.ExtIdleNotifierV1Interface, 1, s.bindIdleNotifier)
	s.addGlobal(protocol.ZwlrOutputManagerV1Interface, 2, s.bindOutputManager)
	s.addGlobal(protocol.XdgActivationV1Interface, 1, s.bindXdgActivation)
	s.addGlobal(protocol.ZwpIdleInhibitManagerV1Interface, 1, s.bindIdleInhibitManager)
	for _, o := range be.Outputs() {
		if t, ok := o.(backend.OutputToggler); ok && !t.Enabled() {
			s.outMgmt.off = append(s.outMgmt.off, o) // off until turned on (outputtoggle.go)
			continue
		}
		s.addOutput(o)
	}
	if opts.IdleTimeout > 0 {
		s.blank = &blankState{timeout: opts.IdleTimeout, last: time.Now()}
	}
	return s, nil
}

// Name returns the socket name, the WAYLAND_DISPLAY for clients.
func (s *Server) Name() string { return s.listener.Name }

// addGlobal offers a global to every client (nil when it is withheld,
// see Privileged).
func (s *Server) addGlobal(iface *protocol.Interface, version uint32, bind func(*Client, uint32, uint32) error) *global {
	if p := privilegeOf(iface); p&s.withhold != 0 {
		s.log.Debug("global withheld", "interface", iface.Name, "group", p.String())
		return nil
	}
	g := &global{name: uint32(len(s.globals) + 1), iface: iface, version: version, bind: bind}
	s.globals = append(s.globals, g)
	return g
}

func (s *Server) nextSerial() uint32 {
	s.serial++
	return s.serial
}

// now returns the compositor's clock in milliseconds, for frame callbacks.
func (s *Server) nowMS() uint32 { return uint32(monotonic() / time.Millisecond) }

// Run serves clients and draws frames until ctx ends (or the backend's
// windows are all closed, or the backend loses its parent: then it
// returns why); on return every client is disconnected and the socket
// closed.
func (s *Server) Run(ctx context.Context) error {
	// Reading a client's shm pool whose file shrank raises SIGBUS: turn it
	// into a panic the copy recovers from, not a crash.
	debug.SetPanicOnFault(true)
	stop := context.AfterFunc(ctx, s.loop.wake)
	defer stop()
	defer s.shutdown()
	for _, o := range s.outputs {
		o.addDamage(o.bounds)
		s.waiters.Add(1)
		go func() {
			defer s.waiters.Done()
			o.waitFrames()
		}()
		s.render(o)
	}
	s.armBlank()
	if s.events != nil {
		// What the backend queued before serving (a window starting
		// without the keyboard, say) is the seat's state before any
		// client binds: take it now, not after a client raced it.
	initial:
		for {
			select {
			case ev, ok := <-s.events:
				if !ok {
					break initial
				}
				if err := s.backendEvent(ev); err != nil {
					return err
				}
			default:
				break initial
			}
		}
		go func() {
			for ev := range s.events {
				s.loop.postEvent(ev)
			}
		}()
	}
	for ctx.Err() == nil {
		events, err := s.loop.wait()
		if err != nil {
			return err
		}
		for _, ev := range events {
			switch fd := int(ev.Fd); fd {
			case s.loop.wakeFD:
				s.loop.drainWake()
			case s.loop.timeFD:
				s.loop.timerFired()
				s.scheduleFrames()
				s.idleTick()
				s.blankTick()
				s.pingTick()
			case s.listener.FD():
				s.acceptAll()
			default:
				if c := s.byFD[ev.Fd]; c != nil {
					s.readClient(c)
				}
			}
		}
		for _, ev := range s.loop.takeEvents() {
			if err := s.backendEvent(ev); err != nil {
				return err
			}
		}
		for _, f := range s.loop.takeFrames() {
			if f.o.removed {
				s.finishRemoval(f.o) // gone: its last frame's fate does not matter
				continue
			}
			if f.err != nil {
				if errors.Is(f.err, context.Canceled) {
					return nil
				}
				return fmt.Errorf("output %s: %w", f.o.o.Name(), f.err)
			}
			f.o.frameDone(f.f)
		}
		s.flush()
	}
	return nil
}

// acceptAll accepts every waiting client.
func (s *Server) acceptAll() {
	for {
		conn, err := s.listener.Accept()
		if err != nil {
			if err != unix.EAGAIN {
				s.log.Warn("accept", "err", err)
			}
			return
		}
		if err := s.loop.add(conn.FD()); err != nil {
			s.log.Warn("accept", "err", err)
			conn.Close()
			continue
		}
		s.addClient(conn)
	}
}

func (s *Server) addClient(conn *wire.Conn) {
	c := &Client{s: s, conn: conn, objects: map[uint32]*object{}, outputIDs: map[*output][]uint32{}}
	c.log = s.log.With("client", conn.FD())
	if cred, err := unix.GetsockoptUcred(conn.FD(), unix.SOL_SOCKET, unix.SO_PEERCRED); err == nil {
		c.log = s.log.With("pid", cred.Pid)
	}
	c.add(1, protocol.WlDisplayInterface, 1, func(v uint32, op uint16, d *wire.Decoder) error {
		return protocol.DispatchWlDisplay(&display{c}, v, op, d)
	})
	s.clients[c] = true
	s.byFD[int32(conn.FD())] = c
	s.clientCount.Add(1)
	c.log.Debug("client connected")
}

// readClient reads what a client sent and dispatches its requests.
func (s *Server) readClient(c *Client) {
	n, err := c.conn.Read()
	if n > 0 {
		if herr := c.handle(); herr != nil {
			s.removeClient(c, herr)
			return
		}
	}
	switch {
	case err == nil || err == unix.EAGAIN:
		if c.gone {
			s.removeClient(c, nil)
		}
	case errors.Is(err, wire.ErrProtocol):
		s.removeClient(c, errorf(1, protocol.WlDisplayErrorInvalidMethod, "%v", err))
	default: // the client hung up
		s.removeClient(c, nil)
	}
}

// removeClient posts err (if it is a protocol error) and disconnects.
func (s *Server) removeClient(c *Client, err error) {
	if !s.clients[c] {
		return
	}
	s.disconnectCount.Add(1)
	var pe *protocolError
	if errors.As(err, &pe) {
		s.protocolErrorCount.Add(1)
		c.log.Warn("protocol error, disconnecting client", "object", pe.object, "code", pe.code, "msg", pe.msg)
		protocol.WlDisplayError(c.conn, 1, pe.object, pe.code, pe.msg)
		c.conn.Flush()
	} else if err != nil {
		c.log.Warn("disconnecting client", "err", err)
	}
	delete(s.clients, c)
	for _, o := range s.outputs {
		o.forgetClient(c)
	}
	for id := range c.objects {
		o := c.objects[id]
		delete(c.objects, id)
		if o.onDestroy != nil {
			o.onDestroy()
		}
	}
	s.loop.remove(c.conn.FD())
	delete(s.byFD, int32(c.conn.FD()))
	c.conn.Close()
	s.damageAll()
}

func (s *Server) flush() {
	for c := range s.clients {
		if err := c.conn.Flush(); err != nil {
			s.removeClient(c, err)
		}
		if c.gone {
			s.removeClient(c, nil)
		}
	}
}

func (s *Server) shutdown() {
	for c := range s.clients {
		s.removeClient(c, nil)
	}
	s.listener.Close()
	for _, o := range s.outputs {
		close(o.waitReq)
	}
	// A frame goroutine may still wait for the last presented frame: let
	// it finish (within a refresh) before Run returns, or the caller's
	// backend Close would race it for that flip event (outputs are not
	// safe for concurrent use) and time out waiting for it.
	waited := make(chan struct{})
	go func() { s.waiters.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(2 * time.Second):
		s.log.Warn("an output's last frame did not complete; stopping anyway")
	}
	// Client buffers still on screen are closed now (the backend turns
	// the outputs off when it closes).
	for _, o := range s.outputs {
		for _, b := range []*dmabufBuffer{o.shownDirect, o.presentedDirect} {
			if b != nil {
				b.shown--
				b.maybeFree()
			}
		}
		o.shownDirect, o.presentedDirect = nil, nil
	}
	s.loop.close()
	s.seat.close()
	s.devNull.Close()
	s.renderer.Close()
}

// ErrOutputsClosed ends Run when the user closed every output's window
// (a nested backend): a normal way to quit.
var ErrOutputsClosed = errors.New("every output was closed")

// backendEvent handles input and output changes from the backend. The
// backend losing its parent (X server or compositor gone) ends Run with
// the backend's reason.
func (s *Server) backendEvent(ev backend.Event) error {
	switch ev.Kind {
	case backend.EventLost:
		return fmt.Errorf("backend lost: %w", ev.Err)
	case backend.OutputClosed:
		o := s.outputOf(ev.Output)
		if o != nil && !o.closed {
			o.closed = true
			s.log.Info("output closed", "output", o.o.Name())
			s.layersOutputGone(o)
			s.replaceToplevels() // those fullscreen on it go to the first
		}
		for _, o := range s.outputs {
			if !o.closed {
				return nil
			}
		}
		return ErrOutputsClosed
	case backend.OutputAdded:
		s.outputAdded(ev.Output)
	case backend.OutputRemoved:
		s.outputRemoved(ev.Output)
	case backend.OutputResized:
		if o := s.outputOf(ev.Output); o != nil {
			o.resized()
		}
	case backend.SessionPaused, backend.SessionActive:
		s.sessionEvent(ev)
	default:
		if ev.Kind == backend.Key && s.vtKey(ev) {
			return nil
		}
		if !s.internalEvent(ev) {
			s.seat.input(ev)
		}
	}
	return nil
}

// damageAll marks every output fully damaged (a client went away, a
// surface was unmapped).
func (s *Server) damageAll() {
	for _, o := range s.outputs {
		o.addDamage(image.Rect(0, 0, 1<<20, 1<<20))
	}
}

// damage marks r (in the layout's coordinates) on the outputs it
// overlaps.
func (s *Server) damage(r image.Rectangle) {
	for _, o := range s.outputs {
		o.addLayoutDamage(r)
	}
}
