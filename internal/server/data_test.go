package server

import (
	"bytes"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/internal/xkb"
)

// wlClipboard runs wl-copy or wl-paste (Debian wl-clipboard) on dir's
// display.
func wlClipboard(t *testing.T, dir, name string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(realProgram(t, name, "wl-clipboard"), args...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	return cmd
}

// startCopy runs `wl-copy --foreground` with data on stdin; its channel
// is closed when wl-copy exits.
func startCopy(t *testing.T, dir string, data []byte) <-chan struct{} {
	t.Helper()
	cmd := wlClipboard(t, dir, "wl-copy", "--foreground", "--type", "text/plain")
	cmd.Stdin = bytes.NewReader(data)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
		}
	})
	return done
}

// paste runs wl-paste and returns what it printed.
func paste(t *testing.T, dir string) ([]byte, error) {
	t.Helper()
	cmd := wlClipboard(t, dir, "wl-paste", "--no-newline")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("wl-paste: %w: %s", err, stderr.Bytes())
	}
	return out, nil
}

// nextSelection reads events until r's wl_data_device dev announces a
// selection with an offer, and returns the offer's id and MIME types.
func (r *raw) nextSelection(dev uint32) (uint32, []string) {
	r.t.Helper()
	var mimes []string
	offers := map[uint32]bool{}
	for {
		obj, op, body, ok := r.next()
		if !ok {
			r.t.Fatal("hung up waiting for a selection")
		}
		switch {
		case obj == dev && op == 0: // data_offer
			offers[binary.NativeEndian.Uint32(body)] = true
			mimes = mimes[:0]
		case offers[obj] && op == 0: // wl_data_offer.offer
			d := wire.NewDecoder(body, nil)
			mimes = append(mimes, d.String())
		case obj == dev && op == 5: // selection
			if id := binary.NativeEndian.Uint32(body); id != 0 {
				return id, mimes
			}
		}
	}
}

// receiveAll asks offer for mime through a pipe and reads it to EOF.
func (r *raw) receiveAll(offer uint32, mime string) []byte {
	r.t.Helper()
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		r.t.Fatal(err)
	}
	rd := os.NewFile(uintptr(p[0]), "pipe")
	defer rd.Close()
	r.req(offer, 1, func(e *wire.Encoder) { e.String(mime); e.FD(p[1]) }, p[1]) // receive
	unix.Close(p[1])
	data, err := io.ReadAll(rd)
	if err != nil {
		r.t.Fatal(err)
	}
	return data
}

// The clipboard between real programs and a focused client through
// wl_data_device: wl-copy → the focused client (small, then 8 MiB through
// the pipe: the compositor only passes the fds), the client → wl-paste
// (wl-copy's source is cancelled when replaced), and the selection is
// gone when its client disconnects; wl-copy → wl-paste (data control) with
// 8 MiB too.
func TestClipboard(t *testing.T) {
	s, dir, _ := startWith(t, make(chan backend.Event))
	r := showSolid(t, s, dir, 100, 100, 0x00ff0000) // focused: the only toplevel
	const seatID, mgr, dev, src = 60, 61, 62, 63
	for id, g := range map[uint32]*protocol.Interface{seatID: protocol.WlSeatInterface, mgr: protocol.WlDataDeviceManagerInterface} {
		name, v := globalName(s, g), min(g.Version, 8)
		r.req(2, 0, func(e *wire.Encoder) { e.Uint(name); e.String(g.Name); e.Uint(v); e.NewID(id) }) // registry 2 from showSolid
	}
	r.req(mgr, 1, func(e *wire.Encoder) { e.NewID(dev); e.Object(seatID) }) // get_data_device

	copied := startCopy(t, dir, []byte("from wl-copy"))
	offer, mimes := r.nextSelection(dev)
	if len(mimes) == 0 || mimes[0] != "text/plain" {
		t.Fatalf("offer %d MIME types %q", offer, mimes)
	}
	if got := r.receiveAll(offer, "text/plain"); string(got) != "from wl-copy" {
		t.Fatalf("received %q", got)
	}

	big := make([]byte, 8<<20)
	rand.Read(big)
	bigCopied := startCopy(t, dir, big)
	select {
	case <-copied: // cancelled
	case <-time.After(5 * time.Second):
		t.Fatal("the replaced wl-copy was not cancelled")
	}
	offer, _ = r.nextSelection(dev)
	begin := time.Now()
	f0 := s.Stats().Frames
	if got := r.receiveAll(offer, "text/plain"); !bytes.Equal(got, big) {
		t.Fatalf("received %d bytes, want the %d copied", len(got), len(big))
	}
	t.Logf("8 MiB wl-copy → client in %v (%d frames meanwhile)", time.Since(begin), s.Stats().Frames-f0)
	begin = time.Now()
	if got, err := paste(t, dir); err != nil || !bytes.Equal(got, big) {
		t.Fatalf("wl-paste: %d bytes, %v", len(got), err)
	}
	t.Logf("8 MiB wl-copy → wl-paste in %v", time.Since(begin))

	// The client's own source replaces wl-copy's.
	r.req(mgr, 0, func(e *wire.Encoder) { e.NewID(src) })                         // create_data_source
	r.req(src, 0, func(e *wire.Encoder) { e.String("text/plain;charset=utf-8") }) // offer
	r.req(dev, 1, func(e *wire.Encoder) { e.Object(src); e.Uint(0) })             // set_selection
	select {
	case <-bigCopied:
	case <-time.After(5 * time.Second):
		t.Fatal("wl-copy was not cancelled by the client's selection")
	}
	type result struct {
		out []byte
		err error
	}
	pasted := make(chan result, 1)
	go func() { out, err := paste(t, dir); pasted <- result{out, err} }()
	for {
		obj, op, body, ok := r.next()
		if !ok {
			t.Fatal("hung up")
		}
		if obj == src && op == 1 { // send
			d := wire.NewDecoder(body, nil)
			if m := d.String(); m != "text/plain;charset=utf-8" {
				t.Fatalf("send for %q", m)
			}
			fd := r.fds[len(r.fds)-1]
			r.fds = r.fds[:len(r.fds)-1]
			unix.Write(fd, []byte("from the client"))
			unix.Close(fd)
			break
		}
	}
	if res := <-pasted; res.err != nil || string(res.out) != "from the client" {
		t.Fatalf("wl-paste: %q %v", res.out, res.err)
	}

	// The source's client goes: no selection.
	unix.Close(r.fd)
	r.fd = -1
	time.Sleep(100 * time.Millisecond)
	if out, err := paste(t, dir); err == nil {
		t.Fatalf("wl-paste found %q after the source's client left", out)
	}
}

// Malformed virtual-input, output-power and clipboard requests are
// protocol errors with the interface's code, and the server goes on.
func TestRemoteBadRequests(t *testing.T) {
	s, dir := start(t)
	seat := globalName(s, protocol.WlSeatInterface)
	vkm := globalName(s, protocol.ZwpVirtualKeyboardManagerV1Interface)
	vpm := globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface)
	pwr := globalName(s, protocol.ZwlrOutputPowerManagerV1Interface)
	dcm := globalName(s, protocol.ZwlrDataControlManagerV1Interface)
	ddm := globalName(s, protocol.WlDataDeviceManagerInterface)
	var outName uint32
	for _, g := range s.globals {
		if g.iface == protocol.WlOutputInterface {
			outName = g.name
		}
	}
	keyboard := func(r *raw) { // virtual keyboard 5
		r.bind(seat, "wl_seat", 8, 3)
		r.req(2, 0, func(e *wire.Encoder) { e.Uint(vkm); e.String("zwp_virtual_keyboard_manager_v1"); e.Uint(1); e.NewID(4) })
		r.req(4, 0, func(e *wire.Encoder) { e.Object(3); e.NewID(5) })
	}
	keymap := func(r *raw, format uint32, fd int, size uint32) {
		r.req(5, 0, func(e *wire.Encoder) { e.Uint(format); e.FD(fd); e.Uint(size) }, fd)
	}
	pointer := func(r *raw) { // virtual pointer 4
		r.bind(vpm, "zwlr_virtual_pointer_manager_v1", 2, 3)
		r.req(3, 0, func(e *wire.Encoder) { e.Object(0); e.NewID(4) })
	}
	small := func(t *testing.T) int {
		fd := memfd(t, int64(len(validKeymap)))
		unix.Pwrite(fd, []byte(validKeymap), 0)
		return fd
	}
	cases := []badCase{
		{"key before keymap", func(t *testing.T, r *raw) {
			keyboard(r)
			r.req(5, 1, func(e *wire.Encoder) { e.Uint(0); e.Uint(30); e.Uint(1) })
		}, 5, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap},
		{"keymap on a pipe", func(t *testing.T, r *raw) {
			keyboard(r)
			var p [2]int
			unix.Pipe2(p[:], unix.O_CLOEXEC)
			defer unix.Close(p[0])
			defer unix.Close(p[1])
			keymap(r, 1, p[0], 100)
		}, 5, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap},
		{"keymap size beyond the file", func(t *testing.T, r *raw) {
			keyboard(r)
			keymap(r, 1, small(t), 4096)
		}, 5, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap},
		{"keymap size 0", func(t *testing.T, r *raw) { keyboard(r); keymap(r, 1, small(t), 0) }, 5, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap},
		{"keymap size huge", func(t *testing.T, r *raw) { keyboard(r); keymap(r, 1, small(t), 1<<31) }, 5, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap},
		{"keymap format", func(t *testing.T, r *raw) { keyboard(r); keymap(r, 7, small(t), uint32(len(validKeymap))) }, 5, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap},
		{"key state", func(t *testing.T, r *raw) {
			keyboard(r)
			keymap(r, 1, small(t), uint32(len(validKeymap)))
			r.req(5, 1, func(e *wire.Encoder) { e.Uint(0); e.Uint(30); e.Uint(9) })
		}, 5, protocol.WlDisplayErrorInvalidMethod},
		{"keyboard without a seat", func(t *testing.T, r *raw) {
			r.bind(vkm, "zwp_virtual_keyboard_manager_v1", 1, 4)
			r.req(4, 0, func(e *wire.Encoder) { e.Object(99); e.NewID(5) })
		}, 4, protocol.WlDisplayErrorInvalidObject},
		{"pointer axis", func(t *testing.T, r *raw) {
			pointer(r)
			r.req(4, 3, func(e *wire.Encoder) { e.Uint(0); e.Uint(7); e.Fixed(wire.FixedFromFloat(1)) })
		}, 4, protocol.ZwlrVirtualPointerV1ErrorInvalidAxis},
		{"pointer axis source", func(t *testing.T, r *raw) {
			pointer(r)
			r.req(4, 5, func(e *wire.Encoder) { e.Uint(99) })
		}, 4, protocol.ZwlrVirtualPointerV1ErrorInvalidAxisSource},
		{"pointer button state", func(t *testing.T, r *raw) {
			pointer(r)
			r.req(4, 2, func(e *wire.Encoder) { e.Uint(0); e.Uint(272); e.Uint(2) })
		}, 4, protocol.WlDisplayErrorInvalidMethod},
		{"output power mode", func(t *testing.T, r *raw) {
			r.bind(outName, "wl_output", 4, 3)
			r.req(2, 0, func(e *wire.Encoder) { e.Uint(pwr); e.String("zwlr_output_power_manager_v1"); e.Uint(1); e.NewID(4) })
			r.req(4, 0, func(e *wire.Encoder) { e.NewID(5); e.Object(3) })
			r.req(5, 0, func(e *wire.Encoder) { e.Uint(2) })
		}, 5, protocol.ZwlrOutputPowerV1ErrorInvalidMode},
		{"data control source set twice", func(t *testing.T, r *raw) {
			r.bind(seat, "wl_seat", 8, 3)
			r.req(2, 0, func(e *wire.Encoder) { e.Uint(dcm); e.String("zwlr_data_control_manager_v1"); e.Uint(2); e.NewID(4) })
			r.req(4, 1, func(e *wire.Encoder) { e.NewID(5); e.Object(3) }) // device 5
			r.req(4, 0, func(e *wire.Encoder) { e.NewID(6) })              // source 6
			r.req(5, 0, func(e *wire.Encoder) { e.Object(6) })
			r.req(5, 0, func(e *wire.Encoder) { e.Object(6) })
		}, 5, protocol.ZwlrDataControlDeviceV1ErrorUsedSource},
		{"data control offer after use", func(t *testing.T, r *raw) {
			r.bind(seat, "wl_seat", 8, 3)
			r.req(2, 0, func(e *wire.Encoder) { e.Uint(dcm); e.String("zwlr_data_control_manager_v1"); e.Uint(2); e.NewID(4) })
			r.req(4, 1, func(e *wire.Encoder) { e.NewID(5); e.Object(3) })
			r.req(4, 0, func(e *wire.Encoder) { e.NewID(6) })
			r.req(5, 0, func(e *wire.Encoder) { e.Object(6) })
			r.req(6, 0, func(e *wire.Encoder) { e.String("text/plain") })
		}, 6, protocol.ZwlrDataControlSourceV1ErrorInvalidOffer},
		{"data source action mask", func(t *testing.T, r *raw) {
			r.bind(ddm, "wl_data_device_manager", 3, 3)
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(4) })
			r.req(4, 2, func(e *wire.Encoder) { e.Uint(0x80) })
		}, 4, protocol.WlDataSourceErrorInvalidActionMask},
	}
	if k, err := xkb.NewKeymap(xkb.Names{}); err == nil {
		k.Close()
		// Checked only where libxkbcommon loads (the host suite requires
		// it); without it a keymap is passed on unchecked.
		cases = append(cases, badCase{"keymap that does not compile", func(t *testing.T, r *raw) {
			keyboard(r)
			fd := memfd(t, 15)
			unix.Pwrite(fd, []byte("xkb_keymap {};\x00"), 0)
			keymap(r, 1, fd, 15)
		}, 5, protocol.ZwpVirtualKeyboardV1ErrorNoKeymap})
	}
	checkBadRequests(t, s, dir, cases)
}

// waitErrorObj is waitError with the object the error names.
func (r *raw) waitErrorObj() (obj, code uint32, msg string) {
	r.t.Helper()
	for {
		o, op, body, ok := r.next()
		if !ok {
			return 0, ^uint32(0), "hung up without an error event"
		}
		if o == 1 && op == 0 {
			d := wire.NewDecoder(body, nil)
			obj = d.Object()
			code = d.Uint()
			return obj, code, d.String()
		}
	}
}

// readKeymap takes any bytes of any claimed size without a crash: a
// keymap or an error.
// validKeymap is the smallest keymap text libxkbcommon compiles.
const validKeymap = `xkb_keymap { xkb_keycodes { include "evdev" }; xkb_types { include "complete" }; ` +
	`xkb_compat { include "complete" }; xkb_symbols { include "pc+us" }; };` + "\x00"

func FuzzReadKeymap(f *testing.F) {
	f.Add([]byte(validKeymap), uint32(len(validKeymap)), uint32(1))
	f.Add([]byte("xkb_keymap {};\x00"), uint32(15), uint32(1))
	f.Add([]byte("x"), uint32(4096), uint32(1))
	f.Fuzz(func(t *testing.T, text []byte, size, format uint32) {
		fd, err := unix.MemfdCreate("fuzz-keymap", unix.MFD_CLOEXEC)
		if err != nil {
			t.Skip(err)
		}
		defer unix.Close(fd)
		unix.Pwrite(fd, text, 0)
		km, err := readKeymap(format, fd, size)
		if err != nil {
			return
		}
		defer km.close()
		got, _ := os.ReadFile(filepath.Join("/proc/self/fd", strconv.Itoa(int(km.f.Fd()))))
		if len(got) != km.size || km.size > int(size)+1 {
			t.Fatalf("keymap of %d bytes, size %d, asked %d", len(got), km.size, size)
		}
	})
}
