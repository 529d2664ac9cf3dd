package server

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"image/png"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// start runs a server on a headless 640×480 output in a fresh runtime dir.
func start(t *testing.T) (*Server, string) {
	t.Helper()
	s, dir, _ := startWith(t, nil)
	return s, dir
}

// inputBackend is the headless backend with events the test sends.
type inputBackend struct {
	*headless.Backend
	ch chan backend.Event
}

func (b inputBackend) Events() <-chan backend.Event { return b.ch }

// startWith runs a server like start; with events non-nil the backend
// delivers what the test sends there. wait returns Run's error when the
// server stops by itself (the cleanup then accepts any error).
func startWith(t *testing.T, events chan backend.Event) (s *Server, dir string, wait func() error) {
	t.Helper()
	return startRenderer(t, events, nil)
}

// startRenderer is startWith composing with r (nil: the CPU renderer).
func startRenderer(t *testing.T, events chan backend.Event, r render.Renderer) (s *Server, dir string, wait func() error) {
	t.Helper()
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	var be backend.Backend = hb
	if events != nil {
		be = inputBackend{hb, events}
	}
	return startOn(t, be, r)
}

// mainDevice is the dev_t of be's render device, or 0.
func mainDevice(be backend.Backend) uint64 {
	if d := be.RenderDevice(); d != nil {
		rdev, _ := d.Rdev()
		return rdev
	}
	return 0
}

// openKMS opens the display and its render node (unless opts has its
// devices) and a KMS backend on them, all closed at cleanup (the backend
// after the server).
func openKMS(t *testing.T, opts kms.Options) *kms.Backend {
	t.Helper()
	if opts.Devices.Display == nil {
		devs, err := scanout.OpenDevices(scanout.DevicesConfig{Display: true})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { devs.Close() })
		opts.Devices = devs
	}
	be, err := kms.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return be
}

func testLog(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// startOn runs a server on be (closed at cleanup) composing with r.
func startOn(t *testing.T, be backend.Backend, r render.Renderer) (s *Server, dir string, wait func() error) {
	t.Helper()
	return startServer(t, be, Options{Renderer: r})
}

// startServer runs a server on be with opts (a nil Renderer: the CPU
// renderer; the test's logger and be's main device filled in).
func startServer(t *testing.T, be backend.Backend, opts Options) (s *Server, dir string, wait func() error) {
	t.Helper()
	dir = t.TempDir()
	os.Chmod(dir, 0o700)
	var err error
	if opts.Renderer == nil {
		opts.Renderer = soft.New()
	}
	if opts.Logger == nil {
		opts.Logger = testLog(t)
	}
	opts.MainDevice = mainDevice(be)
	s, err = New(dir, be, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var ended bool
	var runErr error
	wait = func() error {
		if !ended {
			ended, runErr = true, <-done
		}
		return runErr
	}
	t.Cleanup(func() {
		cancel()
		if !ended {
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		}
		be.Close()
	})
	return s, dir, wait
}

func client(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s missing in CI (test/rig/deps.sh installs it): %v", name, err)
		}
		t.Skipf("%s not installed", name)
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	return cmd
}

func TestWaylandInfoListsGlobals(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	_, dir := start(t)
	out, err := client(t, dir, "wayland-info").CombinedOutput()
	if err != nil {
		t.Fatalf("wayland-info: %v\n%s", err, out)
	}
	for _, want := range []string{
		"'wl_compositor',                              version:  6",
		"'wl_shm',                                     version:  1",
		"'wl_subcompositor'", "'wl_data_device_manager',                     version:  3",
		"'wl_seat',                                    version:  8",
		"'xdg_wm_base',                                version:  5",
		"'wl_output',                                  version:  4",
		"'wp_presentation',                            version:  1",
		"'zxdg_output_manager_v1',                     version:  3",
		"'wp_viewporter',                              version:  1",
		"'zwp_linux_dmabuf_v1',                        version:  4",
		"'zwlr_screencopy_manager_v1',                 version:  3",
		"'zwlr_virtual_pointer_manager_v1',            version:  2",
		"'zwp_virtual_keyboard_manager_v1',            version:  1",
		"'zwlr_output_power_manager_v1',               version:  1",
		"'zwlr_data_control_manager_v1',               version:  2",
		"'zwlr_layer_shell_v1',                        version:  4",
		"'ext_idle_notifier_v1',                       version:  1",
		"'zwp_idle_inhibit_manager_v1',                version:  1",
		"'zwlr_output_manager_v1',                     version:  2",
		"name: HEADLESS-1", "width: 640 px, height: 480 px, refresh: 60.000 Hz", "'XR24'", "'AR24'",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("wayland-info output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", out)
	}
}

// Real clients for two seconds each: frames at the output's refresh, no
// protocol error, nothing left open after. weston-simple-egl renders with
// Mesa's llvmpipe and hands its frames over as wl_shm.
func TestWestonClients(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	// The property is pacing: never more callbacks than the output's 60 Hz,
	// and steady progress. The lower bounds leave room for a loaded
	// machine (the race detector, llvmpipe's threads, other test packages).
	minRate := map[string]uint64{"weston-simple-shm": 20, "weston-simple-damage": 20, "weston-simple-egl": 5}
	for _, name := range []string{"weston-simple-shm", "weston-simple-damage", "weston-simple-egl"} {
		t.Run(name, func(t *testing.T) {
			rigtest.CheckFDs(t)
			s, dir := start(t)
			cmd := client(t, dir, name)
			cmd.Env = append(cmd.Env, "LIBGL_ALWAYS_SOFTWARE=1")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(time.Second)
			before := s.Stats()
			time.Sleep(time.Second)
			after := s.Stats()
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
			if strings.Contains(stderr.String(), "error") {
				t.Errorf("client reported: %s", stderr.String())
			}
			commits := after.Commits - before.Commits
			t.Logf("%s: %d commits, %d frame callbacks in 1 s; %+v", name, commits, after.FrameCallbacks-before.FrameCallbacks, after)
			if commits < minRate[name] || commits > 63 {
				t.Errorf("%d commits in a second at 60 Hz (want %d..63)", commits, minRate[name])
			}
			if after.ProtocolErrors != 0 {
				t.Errorf("%d protocol errors", after.ProtocolErrors)
			}
		})
	}
}

// weston-presentation-shm: feedback arrives for every frame, one refresh
// period (16.7 ms at 60 Hz) apart, with increasing sequence numbers.
func TestWestonPresentationShm(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	rigtest.CheckFDs(t)
	_, dir := start(t)
	cmd := client(t, dir, "weston-presentation-shm")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	cmd.Process.Signal(os.Interrupt)
	cmd.Wait()
	var p2p []int
	lastSeq := -1
	for _, line := range strings.Split(out.String(), "\n") {
		var n, f2c, c2p, f2p, us, t2p, seq int
		var flags string
		if _, err := fmt.Sscanf(strings.TrimSpace(line), "%d: f2c %d ms, c2p %d ms, f2p %d ms, p2p %d us, t2p %d, %s seq %d", &n, &f2c, &c2p, &f2p, &us, &t2p, &flags, &seq); err != nil {
			continue
		}
		if lastSeq >= 0 && seq <= lastSeq {
			t.Errorf("sequence went from %d to %d", lastSeq, seq)
		}
		lastSeq = seq
		p2p = append(p2p, us)
	}
	if len(p2p) < 60 {
		t.Fatalf("%d presented frames in 2 s:\n%s", len(p2p), out.String())
	}
	slices.Sort(p2p)
	median := p2p[len(p2p)/2]
	t.Logf("%d frames presented, median presentation interval %d µs", len(p2p), median)
	if median < 15000 || median > 22000 {
		t.Errorf("median interval %d µs, want ~16667 at 60 Hz", median)
	}
}

// events reads events until pred accepts one (object, opcode, body); a
// protocol error or a hang-up fails the test.
func (r *raw) events(pred func(obj uint32, op uint16, body []byte) bool) {
	r.t.Helper()
	for {
		obj, op, body, ok := r.next()
		if !ok {
			r.t.Fatal("server hung up")
		}
		if obj == 1 && op == 0 {
			d := wire.NewDecoder(body, nil)
			d.Object()
			d.Uint()
			r.t.Fatalf("protocol error: %s", d.String())
		}
		if pred(obj, op, body) {
			return
		}
	}
}

// bindAll gets the registry and binds each global at the given id.
func (r *raw) bindAll(s *Server, ids map[uint32]*protocol.Interface) {
	r.req(1, 1, func(e *wire.Encoder) { e.NewID(2) })
	for id, g := range ids {
		name, iface, v := globalName(s, g), g.Name, g.Version
		r.req(2, 0, func(e *wire.Encoder) { e.Uint(name); e.String(iface); e.Uint(v); e.NewID(id) })
	}
}

// mapToplevel makes surface 6 a toplevel (xdg_surface 7, toplevel 8) with
// buffer attached, the way a real client does (configure, ack, attach,
// commit). xdg_wm_base must be bound at 5 and wl_compositor at 3.
func (r *raw) mapToplevel(buffer uint32, w, h int) {
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(6) })              // wl_surface 6
	r.req(5, 2, func(e *wire.Encoder) { e.NewID(7); e.Object(6) }) // xdg_surface 7
	r.req(7, 1, func(e *wire.Encoder) { e.NewID(8) })              // xdg_toplevel 8
	r.req(6, 6, nil)                                               // initial commit
	var serial uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 7 && op == 0 {
			serial = binary.NativeEndian.Uint32(body)
			return true
		}
		return false
	})
	r.req(7, 4, func(e *wire.Encoder) { e.Uint(serial) }) // ack_configure
	r.req(6, 1, func(e *wire.Encoder) { e.Object(buffer); e.Int(0); e.Int(0) })
	r.req(6, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(int32(w)); e.Int(int32(h)) })
	r.req(6, 6, nil)
	r.roundtrip(50)
}

// shmBuffer makes pool (wl_shm bound at 4) over the memfd fd and an
// XRGB8888 buffer of w×h with stride in it.
func (r *raw) shmBuffer(pool, buffer uint32, fd, w, h, stride int) {
	r.req(4, 0, func(e *wire.Encoder) { e.NewID(pool); e.Int(int32(stride * h)) }, fd)
	r.req(pool, 0, func(e *wire.Encoder) {
		e.NewID(buffer)
		e.Int(0)
		e.Int(int32(w))
		e.Int(int32(h))
		e.Int(int32(stride))
		e.Uint(protocol.WlShmFormatXrgb8888)
	})
}

// showSolid maps a w×h toplevel filled with one XRGB colour from wl_shm.
func showSolid(t *testing.T, s *Server, dir string, w, h int, px uint32) *raw {
	return showPixels(t, s, dir, w, h, func(x, y int) uint32 { return px })
}

// showPixels is showSolid with the pixel at (x, y) from px.
func showPixels(t *testing.T, s *Server, dir string, w, h int, px func(x, y int) uint32) *raw {
	r := dial(t, dir)
	r.bindAll(s, map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface, 5: protocol.XdgWmBaseInterface})
	size := w * h * 4
	fd := memfd(t, int64(size))
	pix := make([]byte, size)
	for i := 0; i < size; i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], px(i/4%w, i/4/w))
	}
	unix.Pwrite(fd, pix, 0)
	r.shmBuffer(9, 10, fd, w, h, w*4)
	r.mapToplevel(10, w, h)
	return r
}

// grim captures, through wlr-screencopy, exactly what the clients drew:
// a red 100×100 toplevel at the origin on the compositor's background.
func TestGrimScreenshot(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	s, dir := start(t)
	showSolid(t, s, dir, 100, 100, 0x00ff0000)
	t.Logf("stats %+v", s.Stats())
	img := grimShot(t, dir)
	if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 480 {
		t.Fatalf("screenshot is %v", b)
	}
	check := func(x, y int, want [3]uint8) {
		r, g, b, _ := img.At(x, y).RGBA()
		got := [3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}
		if got != want {
			t.Errorf("pixel (%d,%d) = %v, want %v", x, y, got, want)
		}
	}
	check(0, 0, [3]uint8{255, 0, 0})
	check(99, 99, [3]uint8{255, 0, 0})
	check(100, 100, [3]uint8{background.R, background.G, background.B})
	check(639, 479, [3]uint8{background.R, background.G, background.B})
}

// raw is a hand-written client for sending what real clients never would.
type raw struct {
	t   *testing.T
	fd  int
	buf []byte
	fds []int // received with events, in order
}

func dial(t *testing.T, dir string) *raw {
	t.Helper()
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: filepath.Join(dir, "wayland-0")}); err != nil {
		t.Fatal(err)
	}
	r := &raw{t: t, fd: fd}
	t.Cleanup(func() {
		unix.Close(fd)
		for _, f := range r.fds {
			unix.Close(f)
		}
	})
	return r
}

func (r *raw) send(msg []byte, fds ...int) {
	r.t.Helper()
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	err := unix.Sendmsg(r.fd, msg, oob, nil, 0)
	for err == unix.EINTR {
		err = unix.Sendmsg(r.fd, msg, oob, nil, 0)
	}
	if err != nil {
		r.t.Fatal(err)
	}
}

func (r *raw) req(obj uint32, op uint16, build func(e *wire.Encoder), fds ...int) {
	e := wire.Begin(nil, obj, op)
	if build != nil {
		build(&e)
	}
	b, _, _ := e.Finish()
	r.send(b, fds...)
}

// next returns the next event, reading from the socket as needed; ok is
// false when the server hung up.
func (r *raw) next() (obj uint32, op uint16, body []byte, ok bool) {
	r.t.Helper()
	// Generous: the suite runs beside QEMU guests on two cores.
	unix.SetsockoptTimeval(r.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Sec: 15})
	tmp := make([]byte, 4096)
	for {
		if len(r.buf) >= 8 {
			if h, err := wire.ParseHeader(r.buf); err == nil && int(h.Size) <= len(r.buf) {
				body = r.buf[8:h.Size]
				r.buf = r.buf[h.Size:]
				return h.Object, h.Opcode, body, true
			}
		}
		oob := make([]byte, unix.CmsgSpace(28*4))
		n, oobn, _, _, err := unix.Recvmsg(r.fd, tmp, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR { // a signal (a child's end, the runtime's preemption): not an answer
			continue
		}
		if err == unix.EAGAIN {
			r.t.Log("no event from the server within 15 s")
		}
		if err != nil || n == 0 {
			if err != nil && err != unix.EAGAIN {
				r.t.Logf("reading from the server: %v", err)
			}
			return 0, 0, nil, false
		}
		if msgs, err := unix.ParseSocketControlMessage(oob[:oobn]); err == nil {
			for _, m := range msgs {
				if fds, err := unix.ParseUnixRights(&m); err == nil {
					r.fds = append(r.fds, fds...)
				}
			}
		}
		r.buf = append(r.buf, tmp[:n]...)
	}
}

// waitError reads events until wl_display.error arrives (returning its
// code) or the server hangs up.
func (r *raw) waitError() (uint32, string) {
	r.t.Helper()
	for {
		obj, op, body, ok := r.next()
		if !ok {
			return ^uint32(0), "hung up without an error event"
		}
		if obj == 1 && op == 0 {
			d := wire.NewDecoder(body, nil)
			d.Object()
			code := d.Uint()
			return code, d.String()
		}
	}
}

// roundtrip waits until the server has handled everything sent so far.
func (r *raw) roundtrip(id uint32) {
	r.t.Helper()
	r.req(1, 0, func(e *wire.Encoder) { e.NewID(id) })
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == id })
}

// bind gets the registry and binds global name at id.
func (r *raw) bind(name uint32, iface string, version, id uint32) {
	r.req(1, 1, func(e *wire.Encoder) { e.NewID(2) }) // get_registry → 2
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(name); e.String(iface); e.Uint(version); e.NewID(id) })
}

func globalName(s *Server, iface *protocol.Interface) uint32 {
	for _, g := range s.globals {
		if g.iface == iface {
			return g.name
		}
	}
	return 0
}

func memfd(t *testing.T, size int64) int {
	fd, err := unix.MemfdCreate("pool", unix.MFD_CLOEXEC)
	if err != nil {
		t.Fatal(err)
	}
	unix.Ftruncate(fd, size)
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// Misbehaving clients each get a protocol error (or a hang-up), and a
// well-behaved client keeps getting frames throughout.
func TestBadClients(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("runs on the host")
	}
	rigtest.CheckFDs(t)
	s, dir := start(t)
	good := client(t, dir, "weston-simple-shm")
	if err := good.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { good.Process.Signal(os.Interrupt); good.Wait() }()
	time.Sleep(500 * time.Millisecond)
	shmName := globalName(s, protocol.WlShmInterface)
	compName := globalName(s, protocol.WlCompositorInterface)

	cases := []struct {
		name string
		run  func(r *raw)
		code uint32
	}{
		{"unknown object", func(r *raw) { r.req(77, 0, nil) }, protocol.WlDisplayErrorInvalidObject},
		{"unknown opcode", func(r *raw) { r.req(1, 9, nil) }, protocol.WlDisplayErrorInvalidMethod},
		{"truncated message", func(r *raw) {
			b := make([]byte, 8) // get_registry without its new_id
			binary.NativeEndian.PutUint32(b, 1)
			binary.NativeEndian.PutUint32(b[4:], 8<<16|1)
			r.send(b)
		}, protocol.WlDisplayErrorInvalidMethod},
		{"bad size field", func(r *raw) {
			b := make([]byte, 8)
			binary.NativeEndian.PutUint32(b, 1)
			binary.NativeEndian.PutUint32(b[4:], 6<<16)
			r.send(b)
		}, protocol.WlDisplayErrorInvalidMethod},
		{"fd missing for create_pool", func(r *raw) {
			r.bind(shmName, "wl_shm", 1, 3)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(4); e.Int(4096) })
		}, protocol.WlDisplayErrorInvalidMethod},
		{"pool larger than its file", func(r *raw) {
			r.bind(shmName, "wl_shm", 1, 3)
			fd := memfd(t, 4096)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(4); e.Int(1 << 20) }, fd)
		}, protocol.WlShmErrorInvalidFd},
		{"buffer beyond its pool", func(r *raw) {
			r.bind(shmName, "wl_shm", 1, 3)
			fd := memfd(t, 4096)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(4); e.Int(4096) }, fd)
			r.req(4, 0, func(e *wire.Encoder) {
				e.NewID(5)
				e.Int(0)
				e.Int(64)
				e.Int(64)
				e.Int(256)
				e.Uint(1)
			})
		}, protocol.WlShmErrorInvalidStride},
		{"absurd buffer size", func(r *raw) {
			r.bind(shmName, "wl_shm", 1, 3)
			fd := memfd(t, 4096)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(4); e.Int(4096) }, fd)
			r.req(4, 0, func(e *wire.Encoder) {
				e.NewID(5)
				e.Int(0)
				e.Int(1 << 30)
				e.Int(1)
				e.Int(-4)
				e.Uint(1)
			})
		}, protocol.WlShmErrorInvalidStride},
		{"file truncated after the pool was made (SIGBUS)", func(r *raw) {
			r.bind(shmName, "wl_shm", 1, 3)
			r.req(2, 0, func(e *wire.Encoder) { e.Uint(compName); e.String("wl_compositor"); e.Uint(4); e.NewID(6) })
			fd := memfd(t, 64*64*4)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(4); e.Int(64 * 64 * 4) }, fd)
			r.req(4, 0, func(e *wire.Encoder) {
				e.NewID(5)
				e.Int(0)
				e.Int(64)
				e.Int(64)
				e.Int(256)
				e.Uint(1)
			})
			r.roundtrip(100)
			unix.Ftruncate(fd, 0)
			r.req(6, 0, func(e *wire.Encoder) { e.NewID(7) })                      // create_surface
			r.req(7, 1, func(e *wire.Encoder) { e.Object(5); e.Int(0); e.Int(0) }) // attach
			r.req(7, 6, nil)                                                       // commit (no role: copied anyway)
		}, protocol.WlShmErrorInvalidFd},
		{"new_id reused", func(r *raw) {
			r.req(1, 1, func(e *wire.Encoder) { e.NewID(2) })
			r.req(1, 1, func(e *wire.Encoder) { e.NewID(2) })
		}, protocol.WlDisplayErrorInvalidObject},
		{"bind a missing global", func(r *raw) { r.bind(999, "wl_shm", 1, 3) }, protocol.WlDisplayErrorInvalidObject},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := dial(t, dir)
			r.t = t
			c.run(r)
			code, msg := r.waitError()
			if code != c.code {
				t.Errorf("error code %d (%s), want %d", code, msg, c.code)
			}
			t.Logf("%s → %d: %s", c.name, code, msg)
		})
	}
	// A flood of requests: sync after sync until the socket fills. The
	// server must keep up or drop the client, never stall the others.
	r := dial(t, dir)
	e := wire.Begin(nil, 1, 0)
	e.NewID(3)
	one, _, _ := e.Finish()
	flood := make([]byte, 0, len(one)*10000)
	for i := 0; i < 10000; i++ {
		binary.NativeEndian.PutUint32(one[8:], uint32(3+i))
		flood = append(flood, one...)
	}
	unix.SetsockoptTimeval(r.fd, unix.SOL_SOCKET, unix.SO_SNDTIMEO, &unix.Timeval{Sec: 2})
	unix.Write(r.fd, flood)
	before := s.Stats().FrameCallbacks
	time.Sleep(500 * time.Millisecond)
	if got := s.Stats().FrameCallbacks - before; got < 15 {
		t.Errorf("the good client got %d frame callbacks in 500 ms while others misbehaved", got)
	}
	if err := good.Process.Signal(unix.Signal(0)); err != nil {
		t.Errorf("the good client died: %v", err)
	}
}

var pngDecode = png.Decode

// failingRenderer is the CPU renderer whose frames fail with err (a lost
// GL context, say).
type failingRenderer struct {
	render.Renderer
	err    error
	closed atomic.Bool
}

func (r *failingRenderer) End() (*os.File, error) {
	r.Renderer.End()
	return nil, r.err
}

func (r *failingRenderer) Close() error { r.closed.Store(true); return r.Renderer.Close() }

// The server knows no concrete renderer: a failing one is handed to
// Options.RecoverRenderer, whose replacement draws from then on; without
// one, the server keeps going and retries.
func TestRecoverRenderer(t *testing.T) {
	lost := errors.New("context lost")
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 64, Height: 64}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	bad := &failingRenderer{Renderer: soft.New(), err: lost}
	var asked atomic.Int32
	s, dir, _ := startServer(t, hb, Options{Renderer: bad, RecoverRenderer: func(r render.Renderer, err error) (render.Renderer, string, bool) {
		asked.Add(1)
		if r != bad || !errors.Is(err, lost) {
			t.Errorf("asked to replace %v after %v", r, err)
		}
		r.Close()
		return soft.New(), "test", true
	}})
	r := showSolid(t, s, dir, 64, 64, 0x0000ff00)
	r.req(6, 3, func(e *wire.Encoder) { e.NewID(70) }) // frame callback
	r.req(6, 6, nil)
	r.events(func(obj uint32, op uint16, body []byte) bool { return obj == 70 && op == 0 })
	if asked.Load() != 1 || !bad.closed.Load() {
		t.Fatalf("recover asked %d times, failing renderer closed %v", asked.Load(), bad.closed.Load())
	}
}
