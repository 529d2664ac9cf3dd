package server

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// swayidle (Debian's, over ext-idle-notify) runs its timeout command
// after a second without input and its resume command on the next input
// (a virtual pointer's motion); a client's idle inhibitor on its shown
// toplevel holds the timeout off until the inhibitor goes.
func TestSwayidle(t *testing.T) {
	bin := realProgram(t, "swayidle", "swayidle")
	s, dir := start(t)
	log := filepath.Join(t.TempDir(), "idle.log")
	started := time.Now()
	cmd := exec.Command(bin, "-w", "timeout", "1", "echo idle >> "+log, "resume", "echo resume >> "+log)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+dir, "WAYLAND_DISPLAY=wayland-0")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	waitLog := func(want string, within time.Duration) time.Duration {
		t.Helper()
		t0 := time.Now()
		for time.Since(t0) < within {
			b, _ := os.ReadFile(log)
			if strings.TrimSpace(string(b)) == want {
				return time.Since(t0)
			}
			time.Sleep(20 * time.Millisecond)
		}
		b, _ := os.ReadFile(log)
		t.Fatalf("swayidle's log is %q, want %q within %v", b, want, within)
		return 0
	}
	waitLog("idle", 5*time.Second)
	if d := time.Since(started); d < time.Second {
		t.Fatalf("idle after %v, before the 1 s timeout", d)
	}

	// Input resumes.
	ptr := dial(t, dir)
	ptr.bind(globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface), "zwlr_virtual_pointer_manager_v1", 2, 3)
	ptr.req(3, 0, func(e *wire.Encoder) { e.Object(0); e.NewID(4) })
	move := func(x uint32) {
		ptr.req(4, 1, func(e *wire.Encoder) { e.Uint(0); e.Uint(x); e.Uint(10); e.Uint(640); e.Uint(480) })
		ptr.req(4, 4, nil)
		ptr.roundtrip(5)
	}
	move(10)
	waitLog("idle\nresume", 5*time.Second)

	// A shown toplevel with an inhibitor: no idle while it lives, even
	// well past the timeout; idle a timeout after it is destroyed.
	win := showSolid(t, s, dir, 64, 64, 0x00ff00)
	inhibit := globalName(s, protocol.ZwpIdleInhibitManagerV1Interface)
	win.req(2, 0, func(e *wire.Encoder) {
		e.Uint(inhibit)
		e.String("zwp_idle_inhibit_manager_v1")
		e.Uint(1)
		e.NewID(20)
	})
	win.req(20, 1, func(e *wire.Encoder) { e.NewID(21); e.Object(6) })
	win.roundtrip(22)
	move(20)
	time.Sleep(2500 * time.Millisecond)
	if b, _ := os.ReadFile(log); strings.TrimSpace(string(b)) != "idle\nresume" {
		t.Fatalf("idled while inhibited: %q", b)
	}
	win.req(21, 0, nil)
	gone := time.Now()
	win.roundtrip(23)
	waitLog("idle\nresume\nidle", 5*time.Second)
	if d := time.Since(gone); d < 900*time.Millisecond {
		t.Fatalf("idle %v after the inhibitor went, want the full second", d)
	}
}

func TestIdleBadRequests(t *testing.T) {
	s, dir := start(t)
	notifier := globalName(s, protocol.ExtIdleNotifierV1Interface)
	inhibit := globalName(s, protocol.ZwpIdleInhibitManagerV1Interface)
	seat := globalName(s, protocol.WlSeatInterface)
	comp := globalName(s, protocol.WlCompositorInterface)
	checkBadRequests(t, s, dir, []badCase{
		{"notification without a seat", func(t *testing.T, r *raw) {
			r.bind(notifier, "ext_idle_notifier_v1", 1, 3)
			r.req(3, 1, func(e *wire.Encoder) { e.NewID(4); e.Uint(1000); e.Object(3) })
		}, 3, protocol.WlDisplayErrorInvalidObject},
		{"timeout beyond a day", func(t *testing.T, r *raw) {
			r.bind(seat, "wl_seat", 8, 3)
			r.req(2, 0, func(e *wire.Encoder) { e.Uint(notifier); e.String("ext_idle_notifier_v1"); e.Uint(1); e.NewID(4) })
			r.req(4, 1, func(e *wire.Encoder) { e.NewID(5); e.Uint(1 << 31); e.Object(3) })
		}, 4, protocol.WlDisplayErrorInvalidMethod},
		{"inhibitor on a non-surface", func(t *testing.T, r *raw) {
			r.bind(inhibit, "zwp_idle_inhibit_manager_v1", 1, 3)
			r.req(3, 1, func(e *wire.Encoder) { e.NewID(4); e.Object(3) })
		}, 3, protocol.WlDisplayErrorInvalidObject},
		{"inhibitor id in use", func(t *testing.T, r *raw) {
			r.bind(comp, "wl_compositor", 6, 3)
			r.req(2, 0, func(e *wire.Encoder) { e.Uint(inhibit); e.String("zwp_idle_inhibit_manager_v1"); e.Uint(1); e.NewID(4) })
			r.req(3, 0, func(e *wire.Encoder) { e.NewID(5) })
			r.req(4, 1, func(e *wire.Encoder) { e.NewID(5); e.Object(5) })
		}, 1, protocol.WlDisplayErrorInvalidObject},
	})
}
