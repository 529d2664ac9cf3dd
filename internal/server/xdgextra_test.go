package server

import (
	"bytes"
	"encoding/binary"
	"image"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
	"golang.org/x/sys/unix"
)

// syncBuffer is a log sink read while the server writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (w *syncBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// waitFor waits up to 5 s for s in the log.
func (w *syncBuffer) waitFor(t *testing.T, s string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		w.mu.Lock()
		found := strings.Contains(w.b.String(), s)
		w.mu.Unlock()
		if found {
			return
		}
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	t.Fatalf("no %q in the log within 5 s:\n%s", s, w.b.String())
}

// A client with a window is pinged; one that does not answer is logged as
// not responding, and again when it answers.
func TestPingUnresponsive(t *testing.T) {
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 64, Height: 64}}, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	var logs syncBuffer
	s, dir, _ := startServer(t, hb, Options{PingInterval: 100 * time.Millisecond, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	r := showSolid(t, s, dir, 64, 64, 0xff0000)
	var serial uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 5 && op == 0 {
			serial = binary.NativeEndian.Uint32(body)
			return true
		}
		return false
	})
	logs.waitFor(t, "client not responding to xdg_wm_base.ping")
	r.req(5, 3, func(e *wire.Encoder) { e.Uint(serial) })
	logs.waitFor(t, "client responding again")
	// Answered from now on: pinged again, and the answer keeps it quiet.
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 5 && op == 0 {
			serial = binary.NativeEndian.Uint32(body)
			return true
		}
		return false
	})
	r.req(5, 3, func(e *wire.Encoder) { e.Uint(serial) })
	r.roundtrip(50)
}

// xdg-activation: a window under another one raises and takes the
// keyboard with a token from the compositor; a made-up token does nothing.
func TestActivation(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("grim runs on the host")
	}
	s, dir := start(t)
	a := showSolid(t, s, dir, 640, 480, 0xff0000)
	showSolid(t, s, dir, 640, 480, 0x00ff00)
	expectPixels(t, "b on top", grimShot(t, dir), map[image.Point]uint32{{10, 10}: 0x00ff00})
	act := globalName(s, protocol.XdgActivationV1Interface)
	a.req(2, 0, func(e *wire.Encoder) { e.Uint(act); e.String("xdg_activation_v1"); e.Uint(1); e.NewID(30) })
	a.req(30, 2, func(e *wire.Encoder) { e.String("0123456789abcdef0123456789abcdef"); e.Object(6) }) // not issued
	a.roundtrip(31)
	expectPixels(t, "made-up token", grimShot(t, dir), map[image.Point]uint32{{10, 10}: 0x00ff00})
	a.req(30, 1, func(e *wire.Encoder) { e.NewID(32) })
	a.req(32, 2, func(e *wire.Encoder) { e.Object(6) }) // set_surface
	a.req(32, 3, nil)                                   // commit
	var token string
	a.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 32 && op == 0 {
			d := wire.NewDecoder(body, nil)
			token = d.String()
			return true
		}
		return false
	})
	if len(token) != 32 {
		t.Fatalf("token %q", token)
	}
	a.req(30, 2, func(e *wire.Encoder) { e.String(token); e.Object(6) })
	a.roundtrip(33)
	expectPixels(t, "a activated", grimShot(t, dir), map[image.Point]uint32{{10, 10}: 0xff0000})
}

func TestXdgDetailsBadRequests(t *testing.T) {
	s, dir := start(t)
	act := globalName(s, protocol.XdgActivationV1Interface)
	wm := globalName(s, protocol.XdgWmBaseInterface)
	comp := globalName(s, protocol.WlCompositorInterface)
	checkBadRequests(t, s, dir, []badCase{
		{"wm_base destroyed before its surfaces", func(t *testing.T, r *raw) {
			r.bind(comp, "wl_compositor", 6, 3)
			r.req(2, 0, func(e *wire.Encoder) { e.Uint(wm); e.String("xdg_wm_base"); e.Uint(5); e.NewID(4) })
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(5) })
			r.req(4, 2, func(e *wire.Encoder) { e.NewID(6); e.Object(5) })
			r.req(4, 0, nil)
		}, 4, protocol.XdgWmBaseErrorDefunctSurfaces},
		{"token committed twice", func(t *testing.T, r *raw) {
			r.bind(act, "xdg_activation_v1", 1, 3)
			r.req(3, 1, func(e *wire.Encoder) { e.NewID(4) })
			r.req(4, 3, nil)
			r.req(4, 3, nil)
		}, 4, protocol.XdgActivationTokenV1ErrorAlreadyUsed},
		{"token seat is not a seat", func(t *testing.T, r *raw) {
			r.bind(act, "xdg_activation_v1", 1, 3)
			r.req(3, 1, func(e *wire.Encoder) { e.NewID(4) })
			r.req(4, 0, func(e *wire.Encoder) { e.Uint(1); e.Object(3) })
		}, 4, protocol.WlDisplayErrorInvalidObject},
		{"activate a non-surface", func(t *testing.T, r *raw) {
			r.bind(act, "xdg_activation_v1", 1, 3)
			r.req(3, 2, func(e *wire.Encoder) { e.String("x"); e.Object(3) })
		}, 3, protocol.WlDisplayErrorInvalidObject},
	})
	// Destroying the surfaces first, then the wm_base, is fine.
	r := dial(t, dir)
	r.bind(comp, "wl_compositor", 6, 3)
	r.req(2, 0, func(e *wire.Encoder) { e.Uint(wm); e.String("xdg_wm_base"); e.Uint(5); e.NewID(4) })
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(5) })
	r.req(4, 2, func(e *wire.Encoder) { e.NewID(6); e.Object(5) })
	r.req(6, 0, nil)
	r.req(4, 0, nil)
	r.roundtrip(7)
}

// Activation tokens never block the loop on the kernel's random pool: while
// getrandom would block (EAGAIN with GRND_NONBLOCK), tokens still come,
// all different, with one warning; once the pool is ready they come from it.
func TestTokenBytesWithoutEntropy(t *testing.T) {
	real := getrandom
	defer func() { getrandom = real }()
	ready := false
	getrandom = func(b []byte, flags int) (int, error) {
		if flags&unix.GRND_NONBLOCK == 0 {
			t.Fatal("getrandom without GRND_NONBLOCK: it may block the event loop")
		}
		if !ready {
			return 0, unix.EAGAIN
		}
		for i := range b {
			b[i] = 0xa5
		}
		return len(b), nil
	}
	var logBuf strings.Builder
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	var x xdgExtras
	seen := map[[16]byte]bool{}
	for range 100 {
		var b [16]byte
		x.tokenBytes(b[:], log)
		if seen[b] {
			t.Fatalf("token %x issued twice", b)
		}
		seen[b] = true
	}
	if n := strings.Count(logBuf.String(), "random pool is not ready"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, logBuf.String())
	}
	ready = true
	var b [16]byte
	x.tokenBytes(b[:], log)
	if b[0] != 0xa5 || b[15] != 0xa5 {
		t.Errorf("token %x not from getrandom once the pool is ready", b)
	}
}
