// Command testclient is a tiny Wayland client that exists for minicomp's
// end-to-end tests (cmd/minicomp/nested_test.go): real clients such as
// weston-simple-shm show pixels but do not say what input they received.
//
// It maps one xdg_toplevel filled with a solid colour (a wl_shm XRGB8888
// buffer on a memfd), redraws at the size each xdg_toplevel.configure
// asks for, answers pings, and prints one line per event on stdout, in a
// stable format the tests grep for:
//
//	configure 1280 720
//	mapped                          (after the first frame is committed)
//	drawn 1280 720                  (the frame callback of a frame of that size)
//	pointer enter 10.00 20.00
//	pointer motion 50.00 60.00
//	pointer leave
//	pointer button 272 pressed
//	pointer axis 0 10.00
//	keyboard keymap xkb_v1 <size> [<file>]   (the file with -keymap-dir)
//	keyboard enter [held keys...]
//	keyboard key 30 pressed
//	keyboard modifiers <depressed> <latched> <locked> <group>
//	keyboard leave
//	surface enter HEADLESS-2         (wl_surface.enter/leave, by output name)
//	surface leave HEADLESS-2
//	disconnected: <reason>
//
// It exits 0 when the compositor hangs up (or on SIGTERM/SIGINT) and 1
// after a wl_display.error or any other failure.
//
//	testclient -color 0xff0000 -size 320x240
//	testclient -fullscreen HEADLESS-2   (xdg_toplevel.set_fullscreen on that output)
//
// It speaks the wire protocol itself (internal/wire encodes and decodes,
// internal/protocol supplies interface names and message numbers).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

func main() {
	colorFlag := flag.String("color", "0xff0000", "fill colour, 0xRRGGBB")
	sizeFlag := flag.String("size", "256x256", "initial size, WIDTHxHEIGHT (a configure with a size replaces it)")
	title := flag.String("title", "testclient", "xdg_toplevel title")
	flag.StringVar(&keymapDir, "keymap-dir", "", "save each keymap received there (keymap-N.xkb) and print its path")
	fullscreen := flag.String("fullscreen", "", "ask to be fullscreen on the wl_output of this name")
	protoErr := flag.Bool("protocol-error", false, "after the first frame, send a request the compositor must reject (reuses an object id), to test the error path")
	flag.Parse()
	col, err := strconv.ParseUint(*colorFlag, 0, 32)
	if err != nil || col > 0xffffff {
		fatalf("-color %q: want 0xRRGGBB", *colorFlag)
	}
	var w, h int
	if _, err := fmt.Sscanf(*sizeFlag, "%dx%d", &w, &h); err != nil || w <= 0 || h <= 0 {
		fatalf("-size %q: want WIDTHxHEIGHT", *sizeFlag)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		s := <-sigs
		fmt.Printf("disconnected: %v\n", s)
		os.Exit(0)
	}()

	c, err := dial()
	if err != nil {
		fatalf("%v", err)
	}
	cl := &client{conn: c, color: uint32(col) | 0xff000000, width: w, height: h, title: *title, protoErr: *protoErr, fullscreen: *fullscreen, outputs: map[uint32]string{},
		ifaces: map[uint32]*protocol.Interface{1: protocol.WlDisplayInterface}, next: 2}
	err = cl.run()
	var pe *protocolError
	switch {
	case errors.As(err, &pe):
		fmt.Printf("disconnected: %v\n", pe)
		os.Exit(1)
	case errors.Is(err, errHangup):
		fmt.Printf("disconnected: %v\n", err)
		os.Exit(0)
	default:
		fmt.Printf("disconnected: %v\n", err)
		os.Exit(1)
	}
}

func fatalf(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "testclient: "+format+"\n", a...)
	os.Exit(1)
}

// keymapDir: where -keymap-dir saves keymaps; keymaps counts them.
var (
	keymapDir string
	keymaps   int
)

// saveKeymap copies a received keymap to keymapDir and returns its path.
func saveKeymap(fd int, size uint32) string {
	if keymapDir == "" || fd < 0 || size == 0 || size > 1<<20 {
		return ""
	}
	buf := make([]byte, size)
	if n, err := unix.Pread(fd, buf, 0); err != nil || n != int(size) {
		return ""
	}
	keymaps++
	path := filepath.Join(keymapDir, fmt.Sprintf("keymap-%d.xkb", keymaps))
	if os.WriteFile(path, buf, 0o600) != nil {
		return ""
	}
	return " " + path
}

var errHangup = errors.New("connection closed by the compositor")

// protocolError is a wl_display.error from the compositor.
type protocolError struct {
	object, code uint32
	iface, msg   string
}

func (e *protocolError) Error() string {
	return fmt.Sprintf("protocol error on %s@%d, code %d: %s", e.iface, e.object, e.code, e.msg)
}

// dial connects to $WAYLAND_DISPLAY (a name in $XDG_RUNTIME_DIR, or a path).
func dial() (int, error) {
	name := os.Getenv("WAYLAND_DISPLAY")
	if name == "" {
		name = "wayland-0"
	}
	path := name
	if !filepath.IsAbs(path) {
		dir := os.Getenv("XDG_RUNTIME_DIR")
		if dir == "" {
			return -1, errors.New("XDG_RUNTIME_DIR is not set")
		}
		path = filepath.Join(dir, name)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("connect to %s: %w", path, err)
	}
	return fd, nil
}

// client is the connection and the few objects the program uses.
type client struct {
	conn   int
	in     []byte
	fds    []int
	ifaces map[uint32]*protocol.Interface // live objects
	next   uint32

	color         uint32
	width, height int
	title         string
	protoErr      bool
	fullscreen    string            // -fullscreen: the output's name
	outputs       map[uint32]string // wl_output id → its name
	namesDone     uint32            // the sync after the wl_output binds

	registry, compositor, shm, wmBase, seat uint32
	surface, xdgSurface, toplevel           uint32
	pointer, keyboard                       uint32

	pendW, pendH int // from the last xdg_toplevel.configure
	buf          *buffer
	mapped       bool
	frames       map[uint32][2]int // frame callback → the size it was committed at
}

// buffer is one wl_buffer in its own pool on a memfd.
type buffer struct {
	id, pool uint32
	fd       int
	mem      []byte
	w, h     int
}

// newID allocates a client object id of interface i.
func (c *client) newID(i *protocol.Interface) uint32 {
	id := c.next
	c.next++
	c.ifaces[id] = i
	return id
}

// send sends request name of object id; args writes its arguments.
func (c *client) send(id uint32, name string, args func(e *wire.Encoder)) error {
	i := c.ifaces[id]
	op := -1
	for n, m := range i.Requests {
		if m.Name == name {
			op = n
		}
	}
	if op < 0 {
		panic(i.Name + " has no request " + name)
	}
	e := wire.Begin(nil, id, uint16(op))
	if args != nil {
		args(&e)
	}
	b, fds, err := e.Finish()
	if err != nil {
		return err
	}
	var oob []byte
	if len(fds) > 0 {
		oob = unix.UnixRights(fds...)
	}
	for {
		err = unix.Sendmsg(c.conn, b, oob, nil, 0)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("send %s.%s: %w", i.Name, name, err)
	}
	if i.Requests[op].Destructor {
		delete(c.ifaces, id)
	}
	return nil
}

// read blocks until at least one more byte (and its fds) arrive.
func (c *client) read() error {
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(28*4))
	for {
		n, oobn, _, _, err := unix.Recvmsg(c.conn, buf, oob, unix.MSG_CMSG_CLOEXEC)
		if err == unix.EINTR {
			continue
		}
		if err == unix.ECONNRESET || err == nil && n == 0 && oobn == 0 {
			return errHangup
		}
		if err != nil {
			return fmt.Errorf("read: %w", err)
		}
		if oobn > 0 {
			msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
			for _, m := range msgs {
				if fds, err := unix.ParseUnixRights(&m); err == nil {
					c.fds = append(c.fds, fds...)
				}
			}
		}
		c.in = append(c.in, buf[:n]...)
		return nil
	}
}

// run sets the window up and handles events until the connection ends.
func (c *client) run() error {
	c.frames = map[uint32][2]int{}
	c.registry = c.newID(protocol.WlRegistryInterface)
	if err := c.send(1, "get_registry", func(e *wire.Encoder) { e.NewID(c.registry) }); err != nil {
		return err
	}
	done := c.newID(protocol.WlCallbackInterface)
	if err := c.send(1, "sync", func(e *wire.Encoder) { e.NewID(done) }); err != nil {
		return err
	}
	for {
		for len(c.in) >= 8 {
			h, err := wire.ParseHeader(c.in)
			if err != nil {
				return err
			}
			if len(c.in) < int(h.Size) {
				break
			}
			body := c.in[8:h.Size]
			if err := c.event(h.Object, h.Opcode, body, done); err != nil {
				return err
			}
			c.in = c.in[h.Size:]
		}
		if err := c.read(); err != nil {
			return err
		}
	}
}

// event handles one event; done is the first sync's callback, after which
// the globals are known and the window is made.
func (c *client) event(id uint32, op uint16, body []byte, done uint32) error {
	i := c.ifaces[id]
	if i == nil || int(op) >= len(i.Events) {
		return nil // an event for an object already destroyed
	}
	d := wire.NewDecoder(body, &c.fds)
	switch i.Name + "." + i.Events[op].Name {
	case "wl_display.error":
		obj, code, msg := d.Object(), d.Uint(), d.String()
		name := "unknown"
		if oi := c.ifaces[obj]; oi != nil {
			name = oi.Name
		}
		return &protocolError{object: obj, code: code, iface: name, msg: msg}
	case "wl_display.delete_id":
		delete(c.ifaces, d.Uint())
	case "wl_registry.global":
		return c.global(d.Uint(), d.String(), d.Uint())
	case "wl_callback.done":
		delete(c.ifaces, id)
		if id == done && c.fullscreen != "" {
			// The outputs' names come with their binds: one more
			// round trip before the window asks for one.
			c.namesDone = c.newID(protocol.WlCallbackInterface)
			return c.send(1, "sync", func(e *wire.Encoder) { e.NewID(c.namesDone) })
		}
		if id == done || id == c.namesDone && c.namesDone != 0 {
			return c.createWindow()
		}
		if sz, ok := c.frames[id]; ok {
			delete(c.frames, id)
			fmt.Printf("drawn %d %d\n", sz[0], sz[1])
		}
	case "xdg_wm_base.ping":
		serial := d.Uint()
		return c.send(c.wmBase, "pong", func(e *wire.Encoder) { e.Uint(serial) })
	case "xdg_toplevel.configure":
		c.pendW, c.pendH = int(d.Int()), int(d.Int())
		fmt.Printf("configure %d %d\n", c.pendW, c.pendH)
	case "xdg_toplevel.close":
		fmt.Println("close")
	case "xdg_surface.configure":
		serial := d.Uint()
		if err := c.send(c.xdgSurface, "ack_configure", func(e *wire.Encoder) { e.Uint(serial) }); err != nil {
			return err
		}
		if c.pendW > 0 && c.pendH > 0 {
			c.width, c.height = c.pendW, c.pendH
		}
		if c.buf == nil || c.buf.w != c.width || c.buf.h != c.height {
			return c.draw()
		}
		return c.send(c.surface, "commit", nil)
	case "wl_output.name":
		c.outputs[id] = d.String()
	case "wl_surface.enter", "wl_surface.leave":
		fmt.Printf("surface %s %s\n", i.Events[op].Name, c.outputs[d.Object()])
	case "wl_seat.capabilities":
		return c.capabilities(d.Uint())
	case "wl_pointer.enter":
		d.Uint()
		d.Object()
		x, y := d.Fixed(), d.Fixed()
		fmt.Printf("pointer enter %.2f %.2f\n", x.Float(), y.Float())
	case "wl_pointer.leave":
		fmt.Println("pointer leave")
	case "wl_pointer.motion":
		d.Uint()
		x, y := d.Fixed(), d.Fixed()
		fmt.Printf("pointer motion %.2f %.2f\n", x.Float(), y.Float())
	case "wl_pointer.button":
		d.Uint()
		d.Uint()
		button, state := d.Uint(), d.Uint()
		fmt.Printf("pointer button %d %s\n", button, pressed(state))
	case "wl_pointer.axis":
		d.Uint()
		axis, v := d.Uint(), d.Fixed()
		fmt.Printf("pointer axis %d %.2f\n", axis, v.Float())
	case "wl_keyboard.keymap":
		format, fd, size := d.Uint(), d.FD(), d.Uint()
		name, saved := "no_keymap", ""
		if format == protocol.WlKeyboardKeymapFormatXkbV1 {
			name, saved = "xkb_v1", saveKeymap(fd, size)
		}
		if fd >= 0 {
			unix.Close(fd)
		}
		fmt.Printf("keyboard keymap %s %d%s\n", name, size, saved)
	case "wl_keyboard.enter":
		d.Uint()
		d.Object()
		keys := d.Array()
		line := "keyboard enter"
		for k := 0; k+4 <= len(keys); k += 4 {
			line += " " + strconv.Itoa(int(uint32(keys[k])|uint32(keys[k+1])<<8|uint32(keys[k+2])<<16|uint32(keys[k+3])<<24))
		}
		fmt.Println(line)
	case "wl_keyboard.leave":
		fmt.Println("keyboard leave")
	case "wl_keyboard.key":
		d.Uint()
		d.Uint()
		key, state := d.Uint(), d.Uint()
		fmt.Printf("keyboard key %d %s\n", key, pressed(state))
	case "wl_keyboard.modifiers":
		d.Uint()
		fmt.Printf("keyboard modifiers %d %d %d %d\n", d.Uint(), d.Uint(), d.Uint(), d.Uint())
	}
	return nil
}

func pressed(state uint32) string {
	if state == 1 {
		return "pressed"
	}
	return "released"
}

// global binds the globals the client uses.
func (c *client) global(name uint32, iface string, version uint32) error {
	var i *protocol.Interface
	var dst *uint32
	want := uint32(1)
	switch iface {
	case "wl_compositor":
		i, dst, want = protocol.WlCompositorInterface, &c.compositor, 4
	case "wl_shm":
		i, dst = protocol.WlShmInterface, &c.shm
	case "xdg_wm_base":
		i, dst = protocol.XdgWmBaseInterface, &c.wmBase
	case "wl_seat":
		i, dst, want = protocol.WlSeatInterface, &c.seat, 5
	case "wl_output":
		id := c.newID(protocol.WlOutputInterface)
		c.outputs[id] = ""
		return c.send(c.registry, "bind", func(e *wire.Encoder) {
			e.Uint(name)
			e.String(iface)
			e.Uint(min(version, 4))
			e.NewID(id)
		})
	default:
		return nil
	}
	if *dst != 0 {
		return nil
	}
	v := min(version, want)
	*dst = c.newID(i)
	return c.send(c.registry, "bind", func(e *wire.Encoder) {
		e.Uint(name)
		e.String(i.Name)
		e.Uint(v)
		e.NewID(*dst)
	})
}

// capabilities gets a wl_pointer and a wl_keyboard when the seat has them.
func (c *client) capabilities(caps uint32) error {
	if caps&protocol.WlSeatCapabilityPointer != 0 && c.pointer == 0 {
		c.pointer = c.newID(protocol.WlPointerInterface)
		if err := c.send(c.seat, "get_pointer", func(e *wire.Encoder) { e.NewID(c.pointer) }); err != nil {
			return err
		}
	}
	if caps&protocol.WlSeatCapabilityKeyboard != 0 && c.keyboard == 0 {
		c.keyboard = c.newID(protocol.WlKeyboardInterface)
		if err := c.send(c.seat, "get_keyboard", func(e *wire.Encoder) { e.NewID(c.keyboard) }); err != nil {
			return err
		}
	}
	return nil
}

// createWindow makes the xdg_toplevel and commits it without a buffer;
// the first configure then draws.
func (c *client) createWindow() error {
	for _, g := range []struct {
		id   uint32
		name string
	}{{c.compositor, "wl_compositor"}, {c.shm, "wl_shm"}, {c.wmBase, "xdg_wm_base"}} {
		if g.id == 0 {
			return fmt.Errorf("the compositor has no %s", g.name)
		}
	}
	c.surface = c.newID(protocol.WlSurfaceInterface)
	if err := c.send(c.compositor, "create_surface", func(e *wire.Encoder) { e.NewID(c.surface) }); err != nil {
		return err
	}
	c.xdgSurface = c.newID(protocol.XdgSurfaceInterface)
	if err := c.send(c.wmBase, "get_xdg_surface", func(e *wire.Encoder) { e.NewID(c.xdgSurface); e.Object(c.surface) }); err != nil {
		return err
	}
	c.toplevel = c.newID(protocol.XdgToplevelInterface)
	if err := c.send(c.xdgSurface, "get_toplevel", func(e *wire.Encoder) { e.NewID(c.toplevel) }); err != nil {
		return err
	}
	if err := c.send(c.toplevel, "set_title", func(e *wire.Encoder) { e.String(c.title) }); err != nil {
		return err
	}
	if c.fullscreen != "" {
		var out uint32
		for id, name := range c.outputs {
			if name == c.fullscreen {
				out = id
			}
		}
		if out == 0 {
			return fmt.Errorf("no wl_output named %q", c.fullscreen)
		}
		if err := c.send(c.toplevel, "set_fullscreen", func(e *wire.Encoder) { e.Object(out) }); err != nil {
			return err
		}
	}
	return c.send(c.surface, "commit", nil)
}

// draw makes a buffer of the current size filled with the colour and
// commits it, with a frame callback.
func (c *client) draw() error {
	b, err := c.newBuffer(c.width, c.height)
	if err != nil {
		return err
	}
	old := c.buf
	c.buf = b
	if err := c.send(c.surface, "attach", func(e *wire.Encoder) { e.Object(b.id); e.Int(0); e.Int(0) }); err != nil {
		return err
	}
	if err := c.send(c.surface, "damage", func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(int32(b.w)); e.Int(int32(b.h)) }); err != nil {
		return err
	}
	cb := c.newID(protocol.WlCallbackInterface)
	c.frames[cb] = [2]int{b.w, b.h}
	if err := c.send(c.surface, "frame", func(e *wire.Encoder) { e.NewID(cb) }); err != nil {
		return err
	}
	if err := c.send(c.surface, "commit", nil); err != nil {
		return err
	}
	if old != nil {
		// Replaced by the commit above: the compositor no longer
		// needs it (it keeps its own mapping of the pool).
		old.free()
		if err := c.send(old.id, "destroy", nil); err != nil {
			return err
		}
		if err := c.send(old.pool, "destroy", nil); err != nil {
			return err
		}
	}
	if !c.mapped {
		c.mapped = true
		fmt.Println("mapped")
		if c.protoErr {
			// The surface's id is taken: wl_display.error follows.
			return c.send(c.compositor, "create_surface", func(e *wire.Encoder) { e.NewID(c.surface) })
		}
	}
	return nil
}

// newBuffer makes a w×h XRGB8888 buffer filled with the colour.
func (c *client) newBuffer(w, h int) (*buffer, error) {
	size := w * h * 4
	fd, err := unix.MemfdCreate("testclient", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("memfd: %w", err)
	}
	if err := unix.Ftruncate(fd, int64(size)); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("memfd size %d: %w", size, err)
	}
	mem, err := unix.Mmap(fd, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("mmap: %w", err)
	}
	px := [4]byte{byte(c.color), byte(c.color >> 8), byte(c.color >> 16), byte(c.color >> 24)}
	for o := 0; o < size; o += 4 {
		copy(mem[o:o+4], px[:])
	}
	b := &buffer{fd: fd, mem: mem, w: w, h: h}
	b.pool = c.newID(protocol.WlShmPoolInterface)
	if err := c.send(c.shm, "create_pool", func(e *wire.Encoder) { e.NewID(b.pool); e.FD(fd); e.Int(int32(size)) }); err != nil {
		b.free()
		return nil, err
	}
	b.id = c.newID(protocol.WlBufferInterface)
	err = c.send(b.pool, "create_buffer", func(e *wire.Encoder) {
		e.NewID(b.id)
		e.Int(0)
		e.Int(int32(w))
		e.Int(int32(h))
		e.Int(int32(w * 4))
		e.Uint(protocol.WlShmFormatXrgb8888)
	})
	return b, err
}

func (b *buffer) free() {
	if b.mem != nil {
		unix.Munmap(b.mem)
		b.mem = nil
	}
	if b.fd >= 0 {
		unix.Close(b.fd)
		b.fd = -1
	}
}
