package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/backend/wayland"
	"github.com/minicomp/minicomp/backend/x11"
	"github.com/minicomp/minicomp/internal/keymap"
	"github.com/minicomp/minicomp/internal/server"
	"github.com/minicomp/minicomp/internal/xkb"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/auto"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

type runFlags struct {
	backend    string
	size       string
	outputs    int
	outputsOn  int // --outputs-enabled
	refresh    float64
	frames     int
	duration   time.Duration
	heap       string
	noDirect   bool
	device     string
	renderNode string
	logLevel   string
	renderer   string
	session    string // auto, libseat or none ("" is none: tests)
	pattern    bool   // draw the test pattern instead of serving Wayland clients
	xkb        xkb.Names
	withhold   server.Privileged // powerful globals not offered
	command    []string          // client to start (after --)
	input      inputFlags        // input.go
	// display: cursor and modes (display.go)
	hideCursor, noCursorPlane bool
	cursorTheme               string
	cursorSize                int
	modes                     string
	idle                      time.Duration
	transform                 string
}

func runCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	var f runFlags
	fs.StringVar(&f.backend, "backend", "auto", "auto, kms, headless, x11 or wayland (auto: a window when inside Wayland or X11, KMS with a seat and a display, else headless)")
	fs.StringVar(&f.size, "size", "", "output size, WIDTHxHEIGHT (default 1920x1080 headless, 1280x720 for a window)")
	fs.IntVar(&f.outputs, "outputs", 1, "number of headless outputs")
	fs.IntVar(&f.outputsOn, "outputs-enabled", 0, "how many of the --outputs headless outputs are on at the start; the others wait, off, to be turned on with wlr-randr --output HEADLESS-N --on (0: all)")
	fs.Float64Var(&f.refresh, "refresh", 60, "headless refresh rate, Hz")
	fs.IntVar(&f.frames, "frames", 0, "stop after this many frames per output (0: run until interrupted)")
	fs.DurationVar(&f.duration, "duration", 0, "stop after this long (0: run until interrupted)")
	fs.StringVar(&f.heap, "heap", "", "DMA-BUF heaps to try, separated by ':' (default $MINICOMP_HEAP, then vc4:default_cma_region:linux,cma:reserved:vidbuf_cached)")
	fs.BoolVar(&f.noDirect, "no-direct", false, "never scan out render targets directly; always blit (also "+envNoDirect+"=1)")
	fs.StringVar(&f.device, "device", "", "KMS display primary node (default: the first with a connected screen)")
	fs.StringVar(&f.renderNode, "render-node", "", "render node, or \"none\" (default: paired automatically; $MINICOMP_RENDER_NODE)")
	fs.StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	fs.StringVar(&f.renderer, "renderer", "auto", "auto, gles, pixman or soft (auto: GLES when a GPU can import the render targets, else pixman, else the pure-Go renderer; the log says why)")
	fs.StringVar(&f.xkb.Layout, "xkb-layout", os.Getenv("XKB_DEFAULT_LAYOUT"), "keyboard layout(s), e.g. de or us,ru (default $XKB_DEFAULT_LAYOUT, else us)")
	fs.StringVar(&f.xkb.Variant, "xkb-variant", os.Getenv("XKB_DEFAULT_VARIANT"), "layout variant(s), e.g. nodeadkeys (default $XKB_DEFAULT_VARIANT)")
	fs.StringVar(&f.xkb.Options, "xkb-options", os.Getenv("XKB_DEFAULT_OPTIONS"), "XKB options, e.g. ctrl:nocaps,grp:alt_shift_toggle (default $XKB_DEFAULT_OPTIONS)")
	fs.StringVar(&f.xkb.Model, "xkb-model", os.Getenv("XKB_DEFAULT_MODEL"), "keyboard model (default $XKB_DEFAULT_MODEL, else pc105)")
	fs.StringVar(&f.xkb.Rules, "xkb-rules", os.Getenv("XKB_DEFAULT_RULES"), "XKB rules (default $XKB_DEFAULT_RULES, else evdev)")
	fs.BoolVar(&f.hideCursor, "hide-cursor", false, "never show a cursor (a touch-only kiosk)")
	fs.BoolVar(&f.noCursorPlane, "no-cursor-plane", false, "compose the cursor into the frames instead of using the display's cursor plane")
	fs.StringVar(&f.cursorTheme, "cursor-theme", "", "Xcursor theme of the default cursor (default $XCURSOR_THEME, else default)")
	fs.IntVar(&f.cursorSize, "cursor-size", 0, "cursor size (default $XCURSOR_SIZE, else 24)")
	fs.StringVar(&f.modes, "mode", "", "KMS mode, WIDTHxHEIGHT[@HZ] for every screen or CONNECTOR=WIDTHxHEIGHT[@HZ],... (default: each screen's preferred mode)")
	fs.StringVar(&f.transform, "transform", "normal", "how the screens (kms, headless) are mounted: normal, 90, 180, 270, flipped, flipped-90, flipped-180 or flipped-270 (turned by the display's plane where it can, else composed turned)")
	fs.DurationVar(&f.idle, "idle", 0, "blank the screens after this long without input, e.g. 10m (0: never); input turns them back on")
	fs.StringVar(&f.session, "session", sessionAuto, "KMS: how to get the display: libseat (seatd, logind or builtin; VT switching with Ctrl+Alt+Fn), none (open it directly: root or group video), or auto (libseat when it opens a seat, else none)")
	f.input.register(fs)
	fs.BoolVar(&f.pattern, "pattern", false, "draw an animated test pattern through the buffer path instead of serving Wayland clients")
	fs.Func("withhold", "powerful protocols no client gets, comma-separated: capture (screencopy), input (virtual pointer and keyboard), clipboard (data control), outputs (output management and power), or all (default: none; any client of this user may use them)", func(v string) error {
		p, err := server.ParsePrivileged(v)
		f.withhold |= p
		return err
	})
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: minicomp run [flags] [-- command args...]\n\nServes Wayland clients on $XDG_RUNTIME_DIR/wayland-N; a command after -- is started with WAYLAND_DISPLAY set, and minicomp exits when it does.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	f.command = fs.Args()
	log := logger(f.logLevel)
	cleanup, err := ensureRuntimeDir(log)
	if err != nil {
		return err
	}
	defer cleanup()
	f.noDirect = f.noDirect || os.Getenv(envNoDirect) == "1"
	f.renderNode = renderNodeFlag(f.renderNode)
	oneProc(log)
	_, err = runMinicomp(ctx, f, log)
	return err
}

// ensureRuntimeDir makes sure $XDG_RUNTIME_DIR names a private directory
// for the Wayland socket. Unset (a system service, a root shell on a fresh
// machine), it uses /run/user/UID when that exists, is ours and private,
// else makes a private directory of its own (removed by the returned
// cleanup), sets the variable for the clients, and says where.
func ensureRuntimeDir(log *slog.Logger) (func(), error) {
	nothing := func() {}
	if os.Getenv("XDG_RUNTIME_DIR") != "" {
		return nothing, nil
	}
	uid := os.Getuid()
	if dir := fmt.Sprintf("/run/user/%d", uid); privateDir(dir, uid) {
		os.Setenv("XDG_RUNTIME_DIR", dir)
		log.Info("XDG_RUNTIME_DIR was not set: using the user's runtime directory", "XDG_RUNTIME_DIR", dir)
		return nothing, nil
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("minicomp-runtime-%d-", uid))
	if err != nil {
		return nothing, fmt.Errorf("XDG_RUNTIME_DIR is not set and a private one cannot be made: %w", err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		os.Remove(dir)
		return nothing, fmt.Errorf("XDG_RUNTIME_DIR is not set and a private one cannot be made: %w", err)
	}
	os.Setenv("XDG_RUNTIME_DIR", dir)
	log.Warn("XDG_RUNTIME_DIR was not set: made a private one for this run (clients need it too: the command after -- gets it)",
		"XDG_RUNTIME_DIR", dir)
	return func() { os.RemoveAll(dir) }, nil
}

// privateDir reports whether dir is a directory owned by uid that nobody
// else may enter.
func privateDir(dir string, uid int) bool {
	var st unix.Stat_t
	return unix.Stat(dir, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFDIR && int(st.Uid) == uid && st.Mode&0o077 == 0
}

// runMinicomp runs the outputs until ctx ends or f.frames are shown and
// returns what each output did.
func runMinicomp(ctx context.Context, f runFlags, log *slog.Logger) ([]backend.Info, error) {
	be, devs, st, err := openBackend(ctx, f, log)
	if err != nil && ctx.Err() != nil && errors.Is(err, context.Canceled) {
		log.Info("stopped before the display was opened", "why", err)
		return nil, nil // stopped, as asked (exit status 0)
	}
	if err != nil {
		return nil, err
	}
	// Closed last, also when a panic unwinds this goroutine: the seat
	// provider gives the VT back its text mode. (A panic elsewhere, or a
	// SIGKILL, ends the process: seatd and logind restore the VT when its
	// connection drops.)
	defer st.close()
	defer devs.Close()
	ctx, stopLost := untilSeatLost(ctx, st)
	defer stopLost()
	if f.duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.duration)
		defer cancel()
	}
	r, err := newRenderer(be, devs, f, log)
	if err != nil {
		return nil, errors.Join(err, be.Close())
	}
	if !f.pattern {
		err := serve(ctx, be, devs, r, f, st, log)
		return infosOf(be), errors.Join(err, be.Close(), seatLostErr(ctx))
	}
	defer r.Close()
	unwatch := st.watch(be, nil)
	defer unwatch()
	var wg sync.WaitGroup
	var drawing sync.Mutex // one renderer, one goroutine at a time
	errs := make([]error, len(be.Outputs()))
	start := time.Now()
	for i, o := range be.Outputs() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = animate(ctx, o, r, &drawing, f.frames)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var infos []backend.Info
	for _, o := range be.Outputs() {
		in := o.Info()
		infos = append(infos, in)
		fps := float64(in.Stats.Frames) / elapsed.Seconds()
		log.Info("output summary", "backend", in.Backend, "output", in.Output, "mode", in.Mode.String(),
			"targets", in.Strategy, "frames", in.Stats.Frames, "direct", in.Stats.DirectFrames,
			"blit", in.Stats.BlitFrames, "bytes_copied", in.Stats.BytesCopied, "fps", fmt.Sprintf("%.1f", fps))
	}
	unwatch() // no Pause from the session's goroutine while the backend closes
	cerr := errors.Join(be.Close(), seatLostErr(ctx))
	for _, e := range errs {
		if e != nil && !errors.Is(e, context.Canceled) && !errors.Is(e, context.DeadlineExceeded) {
			return infos, errors.Join(e, cerr)
		}
	}
	return infos, cerr
}

func infosOf(be backend.Backend) []backend.Info {
	var out []backend.Info
	for _, o := range be.Outputs() {
		out = append(out, o.Info())
	}
	return out
}

// keyboard compiles the keymap named by the --xkb-* flags (or the
// XKB_DEFAULT_* variables) with libxkbcommon; without the library it is
// the built-in US keymap, and the log says so (a warning when another
// layout was asked for). Names that do not compile are an error.
func keyboard(names xkb.Names, log *slog.Logger) (keymap.Keyboard, error) {
	kb, err := keymap.NewXKB(names)
	switch {
	case err == nil:
		log.Info("keymap", "layout", or(names.Layout, "us"), "variant", names.Variant, "options", names.Options, "by", "libxkbcommon")
		return kb, nil
	case errors.Is(err, xkb.ErrNoXKB):
		lvl := slog.LevelInfo
		if names.Layout != "" || names.Variant != "" || names.Options != "" {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "keymap: built-in US (libxkbcommon is missing, so --xkb-* and XKB_DEFAULT_* cannot apply)", "err", err)
		return keymap.NewUS(), nil
	}
	return nil, fmt.Errorf("keyboard: %w (see /usr/share/X11/xkb/rules/evdev.lst for layouts, variants and options)", err)
}

func or(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// renderDevice is the device the renderer draws with: the one the
// backend's targets were imported into, else the render node resolved for
// the session (window backends draw into CPU memory), or nil (EGL's
// surfaceless platform).
func renderDevice(be backend.Backend, devs scanout.Devices) *scanout.Device {
	if d := be.RenderDevice(); d != nil {
		return d
	}
	return devs.Render
}

// newRenderer picks the renderer (--renderer) for the session's render
// device and logs why.
func newRenderer(be backend.Backend, devs scanout.Devices, f runFlags, log *slog.Logger) (render.Renderer, error) {
	path := ""
	if d := renderDevice(be, devs); d != nil {
		path = d.Path()
	}
	opts := auto.Options{Device: path, Log: log}
	if exe, err := os.Executable(); err == nil {
		// Decide in a child: a driver that is not chosen leaves nothing
		// mapped here, and one that crashes takes only the child down.
		opts.Probe = auto.ExecProbe(exe, probeGLESCmd)
	}
	r, why, err := auto.New(f.renderer, opts)
	if err != nil {
		return nil, err
	}
	log.Info("renderer", "renderer", r.Name(), "why", why)
	return r, nil
}

// serve runs the Wayland server on the backend until ctx ends or the
// command started after -- exits. The server closes r.
func serve(ctx context.Context, be backend.Backend, devs scanout.Devices, r render.Renderer, f runFlags, sess *seated, log *slog.Logger) error {
	var mainDev uint64
	if d := renderDevice(be, devs); d != nil {
		mainDev, _ = d.Rdev()
	}
	kb, err := keyboard(f.xkb, log)
	if err != nil {
		r.Close()
		return err
	}
	rate, delay, err := f.input.repeat()
	if err != nil {
		r.Close()
		return err
	}
	var cursor *backend.CursorImage
	if !f.hideCursor {
		cursor = defaultCursor(f.cursorTheme, f.cursorSize, log)
	}
	srv, err := server.New(os.Getenv("XDG_RUNTIME_DIR"), be, server.Options{Logger: log, Renderer: r, MainDevice: mainDev, Keyboard: kb,
		RecoverRenderer: auto.Recover, SwitchVT: sess.switchVT(), Withhold: f.withhold, RepeatRate: rate, RepeatDelay: delay,
		HideCursor: f.hideCursor, DefaultCursor: cursor, IdleTimeout: f.idle})
	if err != nil {
		r.Close()
		return fmt.Errorf("wayland socket: %w (is XDG_RUNTIME_DIR set?)", err)
	}
	defer sess.watch(be, srv)()
	os.Setenv("WAYLAND_DISPLAY", srv.Name())
	log.Info("serving Wayland clients", "WAYLAND_DISPLAY", srv.Name())
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var cmdErr error
	var cmd *exec.Cmd
	clientFirst := false // the command exited while the server was still running
	done := make(chan struct{})
	if len(f.command) > 0 {
		// Not CommandContext: that would SIGKILL the client the moment the
		// server stops, before it sees the hang-up; stopClient ends it.
		cmd = exec.Command(f.command[0], f.command[1:]...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", f.command[0], err)
		}
		go func() {
			cmdErr = cmd.Wait()
			log.Info("client exited", "command", f.command[0], "err", cmdErr)
			clientFirst = ctx.Err() == nil
			cancel()
			close(done)
		}()
	} else {
		close(done)
	}
	err = srv.Run(ctx)
	cancel()
	stopClient(cmd, done, log)
	st := srv.Stats()
	lat := st.CommitToPresent
	log.Info("server summary", "clients", st.Clients, "protocol_errors", st.ProtocolErrors, "commits", st.Commits,
		"frames", st.Frames, "commit_to_present_mean", lat.Mean.Round(10*time.Microsecond),
		"commit_to_present_p50", lat.P50.Round(10*time.Microsecond), "commit_to_present_p99", lat.P99.Round(10*time.Microsecond),
		"commit_to_present_max", lat.Max.Round(10*time.Microsecond), "latency_samples", lat.Samples)
	if errors.Is(err, server.ErrOutputsClosed) {
		log.Info("every output window was closed: exiting")
		err = nil
	}
	if err != nil {
		return err
	}
	var ee *exec.ExitError
	if errors.As(cmdErr, &ee) && clientFirst {
		return fmt.Errorf("%s: %w", f.command[0], cmdErr)
	}
	return nil
}

// Grace periods for the command started after -- once the server has
// stopped (and hung up on it): to exit by itself, then after SIGTERM.
const (
	clientHangupGrace = 3 * time.Second
	clientTermGrace   = 3 * time.Second
)

// stopClient waits for the command (nil: none) to exit after the server
// hung up on it, then sends SIGTERM, then SIGKILL; done is closed when it
// has exited.
func stopClient(cmd *exec.Cmd, done <-chan struct{}, log *slog.Logger) {
	if cmd == nil {
		<-done
		return
	}
	select {
	case <-done:
		return
	case <-time.After(clientHangupGrace):
	}
	log.Info("client still running after the server stopped: sending SIGTERM", "command", cmd.Path)
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(clientTermGrace):
	}
	log.Warn("client ignored SIGTERM: killing it", "command", cmd.Path)
	cmd.Process.Kill()
	<-done
}

// chooseBackend picks KMS when there is a seat and a display, headless
// otherwise, and says why.
func chooseBackend() (string, string) {
	if d := os.Getenv("WAYLAND_DISPLAY"); d != "" {
		return "wayland", "inside a Wayland session (WAYLAND_DISPLAY=" + d + "): a window there"
	}
	if d := os.Getenv("DISPLAY"); d != "" {
		return "x11", "inside an X session (DISPLAY=" + d + "): a window there"
	}
	seat := os.Getenv("XDG_SEAT")
	if ok, which := seatAvailable(); seat == "" && ok {
		seat = which
	}
	if seat == "" && os.Getenv("XDG_SESSION_TYPE") != "tty" {
		return "headless", "no seat (XDG_SEAT unset, not a tty session, no seatd): headless; --backend=kms drives a display directly"
	}
	gpus, err := scanout.Discover()
	if err != nil {
		return "headless", "no DRM devices: " + err.Error()
	}
	for _, g := range gpus {
		if g.Primary != "" && g.Render == "" || g.Driver == "vc4" || g.Driver == "vc4-drm" {
			return "kms", "seat " + seat + " and display device " + g.Primary + " (" + g.Driver + ")"
		}
	}
	for _, g := range gpus {
		if g.Primary != "" {
			return "kms", "seat " + seat + " and DRM device " + g.Primary
		}
	}
	return "headless", "no DRM primary node"
}

// fallbackOf is what auto tries when a backend cannot start.
var fallbackOf = map[string]string{"wayland": "x11", "x11": "headless", "kms": "headless"}

// openBackend resolves the session's devices once (the display only for
// KMS; a render node for every backend, which needs no seat) and opens
// the backend on them. Close the devices after the backend.
// With --backend=kms (chosen or fallen to) it opens the session first
// (--session) and the display through it; close the session last.
func openBackend(ctx context.Context, f runFlags, log *slog.Logger) (backend.Backend, scanout.Devices, *seated, error) {
	name, why := f.backend, "chosen with --backend"
	if name == "auto" {
		name, why = chooseBackend()
	}
	for {
		log.Info("backend", "backend", name, "why", why)
		var st *seated
		var devs scanout.Devices
		var err error
		if name == "kms" {
			st, err = openSeat(ctx, f.session, log)
		}
		if err == nil {
			devs, err = scanout.OpenDevices(scanout.DevicesConfig{Display: name == "kms", DisplayPath: f.device, RenderNode: f.renderNode,
				HeapPreference: heapList(f.heap), Logger: log, OpenDisplay: st.openDisplay()})
			st.keepOnly(devs.Display)
		}
		var b backend.Backend
		if err == nil {
			if devs.Render != nil || devs.RenderReason != "" {
				log.Info("render device", "device", devs.Render.String(), "display", devs.Display.String(), "why", devs.RenderReason)
			}
			f.input.opener = st.deviceOpener() // input devices through the session too
			f.input.seat = st.seatName()
			if b, err = openNamed(name, devs, f, log); err != nil {
				devs.Close()
			}
		}
		if err != nil {
			st.close()
			st = nil
		}
		if err == nil || f.backend != "auto" || fallbackOf[name] == "" || ctx.Err() != nil {
			return b, devs, st, err
		}
		next := fallbackOf[name]
		if next == "x11" && os.Getenv("DISPLAY") == "" {
			next = "headless"
		}
		log.Warn("backend unavailable, falling back", "backend", name, "err", err, "next", next)
		name, why = next, name+" failed: "+err.Error()
	}
}

// outputSize parses --size, defaulting to def.
func outputSize(f runFlags, def string) (int, int, error) {
	size := f.size
	if size == "" {
		size = def
	}
	var w, h int
	if _, err := fmt.Sscanf(size, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
		return 0, 0, fmt.Errorf("--size %q: want WIDTHxHEIGHT", size)
	}
	return w, h, nil
}

func openNamed(name string, devs scanout.Devices, f runFlags, log *slog.Logger) (backend.Backend, error) {
	tr, err := f.transformFor(name)
	if err != nil {
		return nil, err
	}
	switch name {
	case "kms":
		input, err := f.input.options()
		if err != nil {
			return nil, err
		}
		modes, err := parseModes(f.modes)
		if err != nil {
			return nil, err
		}
		return kms.New(kms.Options{Devices: devs, HeapPreference: heapList(f.heap), DisableDirect: f.noDirect, Logger: log,
			Modes: modes, DisableCursorPlane: f.noCursorPlane, Hotplug: true, Transform: tr, Input: input})
	case "headless":
		w, h, err := outputSize(f, "1920x1080")
		if err != nil {
			return nil, err
		}
		if f.outputsOn < 0 || f.outputsOn > max(f.outputs, 1) || f.outputsOn > 0 && f.outputsOn < max(f.outputs, 1) && f.pattern {
			return nil, fmt.Errorf("--outputs-enabled %d: want 0 (all) to --outputs (%d), and none off with --pattern", f.outputsOn, max(f.outputs, 1))
		}
		return headless.New(headless.Options{Outputs: sizes(f, w, h), RefreshMilliHz: int(f.refresh * 1000),
			Render: devs.Render, HeapPreference: heapList(f.heap), Enabled: f.outputsOn, Transform: tr, Logger: log})
	case "x11":
		w, h, err := outputSize(f, "1280x720")
		if err != nil {
			return nil, err
		}
		return x11.New(x11.Options{Display: os.Getenv("DISPLAY"), Outputs: sizes(f, w, h), RefreshMilliHz: int(f.refresh * 1000), Logger: log})
	case "wayland":
		w, h, err := outputSize(f, "1280x720")
		if err != nil {
			return nil, err
		}
		return wayland.New(wayland.Options{Display: os.Getenv("WAYLAND_DISPLAY"), RuntimeDir: os.Getenv("XDG_RUNTIME_DIR"),
			Outputs: sizes(f, w, h), Logger: log})
	}
	return nil, fmt.Errorf("--backend %q: want auto, kms, headless, x11 or wayland", name)
}

// sizes is --outputs outputs of w×h.
func sizes(f runFlags, w, h int) []backend.Size {
	out := make([]backend.Size, max(f.outputs, 1))
	for i := range out {
		out[i] = backend.Size{Width: w, Height: h}
	}
	return out
}

// animate draws colour bars with a bouncing square with r, redrawing only
// what changed (by buffer age), until ctx ends or frames are done.
func animate(ctx context.Context, o backend.Output, r render.Renderer, drawing *sync.Mutex, frames int) error {
	mode := o.Mode()
	bounds := image.Rect(0, 0, mode.Width, mode.Height)
	const side = 128
	var history [4]image.Rectangle // the damage of the last frames, newest first
	pos := image.Pt(0, 0)
	vel := image.Pt(7, 5)
	prev := image.Rectangle{}
	damage := make([]image.Rectangle, 0, 8)
	presented := make([]image.Rectangle, 1)
	for n := 0; frames == 0 || n < frames; n++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		pos = pos.Add(vel)
		if pos.X < 0 || pos.X+side > mode.Width {
			vel.X = -vel.X
			pos.X = max(0, min(pos.X, mode.Width-side))
		}
		if pos.Y < 0 || pos.Y+side > mode.Height {
			vel.Y = -vel.Y
			pos.Y = max(0, min(pos.Y, mode.Height-side))
		}
		sq := image.Rect(pos.X, pos.Y, pos.X+side, pos.Y+side).Intersect(bounds)
		frameDamage := sq.Union(prev)
		prev = sq
		copy(history[1:], history[:len(history)-1])
		history[0] = frameDamage

		target, age, err := o.Next()
		if errors.Is(err, backend.ErrPaused) {
			n-- // the session is away (another VT): wait for it
			waitPaused(ctx)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", o.Name(), err)
		}
		damage = damage[:0]
		if age == 0 || age > len(history) {
			damage = append(damage, bounds)
		} else {
			damage = append(damage, history[:age]...)
		}
		fence, err := drawPattern(r, drawing, target, damage, sq, n)
		if err != nil {
			return err
		}
		if n == 0 {
			frameDamage = bounds
		}
		presented[0] = frameDamage
		_, err = o.Present(target, presented, fence)
		if fence != nil {
			fence.Close() // Present's caller keeps the fence
		}
		if errors.Is(err, backend.ErrPaused) {
			n--
			waitPaused(ctx)
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: present: %w", o.Name(), err)
		}
		if _, err := o.WaitFrame(ctx); err != nil {
			return err
		}
	}
	return nil
}

// drawPattern draws one frame of the pattern into target with r (held
// by drawing: outputs animate on goroutines of their own).
func drawPattern(r render.Renderer, drawing *sync.Mutex, target *scanout.Buffer, damage []image.Rectangle, sq image.Rectangle, n int) (*os.File, error) {
	drawing.Lock()
	defer drawing.Unlock()
	if err := r.Begin(target, damage); err != nil {
		return nil, err
	}
	drawBars(r, target.Width, target.Height)
	r.FillRect(sq, color.NRGBA{R: 255, G: 255, B: 255, A: 255})
	r.FillRect(sq.Inset(16), color.NRGBA{R: uint8(n), G: 64, B: 160, A: 200})
	return r.End()
}

var bars = []color.NRGBA{
	{192, 192, 192, 255}, {192, 192, 0, 255}, {0, 192, 192, 255}, {0, 192, 0, 255},
	{192, 0, 192, 255}, {192, 0, 0, 255}, {0, 0, 192, 255}, {16, 16, 16, 255},
}

func drawBars(r render.Renderer, w, h int) {
	for i, c := range bars {
		r.FillRect(image.Rect(i*w/len(bars), 0, (i+1)*w/len(bars), h), c)
	}
}
