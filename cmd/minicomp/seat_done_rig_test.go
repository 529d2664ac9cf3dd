package main

import (
	"fmt"
	"image/color"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// Evdev key codes (input-event-codes.h) the test types.
const (
	evKeyLeftCtrl = 29
	evKeyLeftAlt  = 56
	evKeyF1       = 59
)

// planeState is what a plane shows, from its properties.
type planeState struct {
	fb, crtc uint32
	x, y     int32
}

// planeNow reads plane id's FB_ID, CRTC_ID, CRTC_X and CRTC_Y.
func (s *screen) planeNow(t *testing.T, id uint32) planeState {
	t.Helper()
	pr, err := s.d.Props(id, drm.ObjectPlane)
	if err != nil {
		t.Fatalf("plane %d properties: %v", id, err)
	}
	v := pr.Values
	return planeState{fb: uint32(v["FB_ID"]), crtc: uint32(v["CRTC_ID"]), x: int32(int64(v["CRTC_X"])), y: int32(int64(v["CRTC_Y"]))}
}

// waitPlane waits until plane id's state satisfies ok.
func (s *screen) waitPlane(t *testing.T, id uint32, what string, ok func(planeState) bool) planeState {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		st := s.planeNow(t, id)
		if ok(st) {
			return st
		}
		if time.Now().After(deadline) {
			ids, _ := s.d.PlaneIDs()
			var all []string
			for _, pid := range ids {
				all = append(all, fmt.Sprintf("%d:%+v", pid, s.planeNow(t, pid)))
			}
			t.Fatalf("%s: plane %d is %+v (every plane: %s)", what, id, st, strings.Join(all, " "))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// cornerPixel waits until the primary plane shows a frame other than
// black and returns its pixel near the bottom-right corner.
func (s *screen) cornerPixel(t *testing.T) uint32 {
	t.Helper()
	var px uint32
	s.waitCornerPixelFunc(t, "minicomp's frame", func(p uint32) bool { px = p; return p != 0 })
	return px
}

// waitCornerPixel waits until the pixel near the bottom-right corner of
// the primary plane's framebuffer (outside any client window at the
// origin) is want.
func (s *screen) waitCornerPixel(t *testing.T, want uint32, what string) {
	t.Helper()
	s.waitCornerPixelFunc(t, what, func(p uint32) bool { return p == want })
}

// waitCornerPixelFunc waits until the corner pixel satisfies ok.
func (s *screen) waitCornerPixelFunc(t *testing.T, what string, ok func(uint32) bool) {
	t.Helper()
	corner := func(w, h int) (int, int) { return w - 8, h - 8 }
	deadline := time.Now().Add(15 * time.Second)
	for {
		fb, px, err := s.pixelWhere(corner)
		if err == nil && fb != 0 && ok(px) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: the corner of framebuffer %d shows %06x (err %v)", what, fb, px, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// takeDisplayOverlay is a second DRM master that, like another
// compositor on another VT, shows its frame in color c on the primary
// plane and a 64×64 image on overlay plane overlay of the same CRTC,
// then drops master but stays open (its framebuffers live on, as a
// compositor's do while its VT is in the background). The returned
// function closes it.
func takeDisplayOverlay(t *testing.T, path string, s *screen, c color.NRGBA, overlay uint32) (crtc uint32, closeFn func()) {
	t.Helper()
	dev, release := secondMaster(t, path, s, c)

	// The overlay, through the same open file (master is the file's).
	fd, err := unix.Dup(dev.FD())
	if err != nil {
		t.Fatalf("second master, dup: %v", err)
	}
	d, err := drm.FromFD(fd, path)
	if err != nil {
		unix.Close(fd)
		t.Fatalf("second master, device: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	closeFn = func() { d.Close(); release() }
	if err := d.SetClientCap(drm.ClientCapUniversalPlanes, 1); err != nil {
		t.Fatalf("second master, universal planes: %v", err)
	}
	if err := d.SetClientCap(drm.ClientCapAtomic, 1); err != nil {
		t.Fatalf("second master, atomic: %v", err)
	}
	crtc = s.planeNow(t, s.plane).crtc
	const side = 64
	dumb, err := d.CreateDumb(side, side, 32)
	if err != nil {
		t.Fatalf("second master, overlay buffer: %v", err)
	}
	fb, err := d.AddFB2(drm.FB2{Width: side, Height: side, Format: uint32(scanout.XRGB8888),
		Handles: [4]uint32{dumb.Handle}, Pitches: [4]uint32{dumb.Pitch}})
	if err != nil {
		t.Fatalf("overlay framebuffer: %v", err)
	}
	pr, err := d.Props(overlay, drm.ObjectPlane)
	if err != nil {
		t.Fatalf("second master, overlay plane properties: %v", err)
	}
	var req drm.AtomicReq
	for _, p := range []struct {
		name string
		v    uint64
	}{{"FB_ID", uint64(fb)}, {"CRTC_ID", uint64(crtc)}, {"SRC_X", 0}, {"SRC_Y", 0},
		{"SRC_W", side << 16}, {"SRC_H", side << 16}, {"CRTC_X", 100}, {"CRTC_Y", 100},
		{"CRTC_W", side}, {"CRTC_H", side}} {
		id, err := pr.ID(p.name)
		if err != nil {
			t.Fatalf("second master, overlay plane property: %v", err)
		}
		req.Add(overlay, id, p.v)
	}
	if err := d.Atomic(&req, 0, 0); err != nil {
		t.Fatalf("second master's overlay plane %d: %v", overlay, err)
	}
	if st := s.planeNow(t, overlay); st.fb != fb || st.crtc != crtc {
		t.Fatalf("overlay plane %d is %+v after the second master's commit, want FB %d on CRTC %d", overlay, st, fb, crtc)
	}
	if err := d.DropMaster(); err != nil {
		t.Fatalf("second master: %v", err)
	}
	return crtc, closeFn
}

// The "done when" in one test: wev under minicomp on vkms with a
// real seatd; keys and clicks from uinput devices reach it; Ctrl+Alt+Fn
// typed on the uinput keyboard switches VT (libinput → the server's
// SwitchVT → libseat); another DRM master shows its frame and leaves an
// overlay plane on minicomp's CRTC; back, minicomp's frame is on the
// primary plane, the foreign overlay is off, the cursor is on the cursor
// plane where it was, and keys and clicks work; the mouse unplugged hides
// the cursor (cursor plane off, no pointer capability), plugged again
// brings both back.
func TestRigSeatdDone(t *testing.T) {
	vt, other, sd := startSeatdInputRig(t)
	s, path := openScreen(t)
	cursorPlane, overlayPlane := s.cursor, s.overlay
	if cursorPlane == 0 || overlayPlane == 0 {
		t.Fatalf("vkms has no cursor or no overlay plane (%d, %d): the rig boots it with enable_cursor and enable_overlay", cursorPlane, overlayPlane)
	}
	kb := rigtest.Plug(t, rigtest.Keyboard("minicomp done keyboard"))
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp done mouse"))

	mc := startMinicomp(t, []string{"LIBSEAT_BACKEND=seatd"}, "--backend=kms", "--session=libseat", "--accel-profile=flat", "--accel-speed=0", "--log-level=debug")
	out := startWev(t, mc)
	// wev's window covers the output: its pixel near the corner is
	// minicomp's frame, and must be again after the switch back.
	frame := s.cornerPixel(t)

	typeKey := func(code uint16, sym string) { t.Helper(); typeInto(t, out, kb, code, sym) }
	click := func() { t.Helper(); clickInto(t, out, mouse) }
	onCursorPlane := func(st planeState) bool { return st.fb != 0 && st.crtc != 0 }
	typeKey(30, "a")
	click()
	before := s.waitPlane(t, cursorPlane, "the cursor before the switch", onCursorPlane)

	// Ctrl+Alt+F<other> on the uinput keyboard: through libinput, the
	// server and libseat to the kernel's VT.
	start := time.Now()
	kb.Key(evKeyLeftCtrl, true)
	kb.Key(evKeyLeftAlt, true)
	kb.Key(evKeyF1+uint16(other)-1, true)
	deadline := time.Now().Add(15 * time.Second)
	for activeVT(t) != other {
		if time.Now().After(deadline) {
			t.Fatalf("Ctrl+Alt+F%d typed: VT %d still in front after 15 s", other, activeVT(t))
		}
		time.Sleep(5 * time.Millisecond)
	}
	switched := time.Since(start)
	mc.waitLog(t, "session paused")
	away := time.Since(start)
	// Released while away: nobody hears it.
	kb.Key(evKeyF1+uint16(other)-1, false)
	kb.Key(evKeyLeftAlt, false)
	kb.Key(evKeyLeftCtrl, false)
	out.Expect(t, `wl_seat\] capabilities:\s+none`)
	if !strings.Contains(mc.logText(), "VT switch key") {
		t.Errorf("the VT switched but minicomp did not log the VT switch key")
	}

	crtc, closeOther := takeDisplayOverlay(t, path, s, color.NRGBA{R: 0xff, B: 0xff, A: 0xff}, overlayPlane)
	defer closeOther()

	start = time.Now()
	switchVT(t, vt)
	mc.waitLog(t, "session active: redrawing every output")
	s.waitCornerPixel(t, frame, "minicomp's frame after the switch back")
	back := time.Since(start)
	if st := s.planeNow(t, overlayPlane); st.fb != 0 || st.crtc != 0 {
		t.Errorf("the second master's overlay plane %d is still on after minicomp came back: %+v", overlayPlane, st)
	}
	if st := s.waitPlane(t, cursorPlane, "the cursor after the switch back", onCursorPlane); st.x != before.x || st.y != before.y || st.crtc != crtc {
		t.Errorf("cursor plane after the switch back %+v, want it where it was (%+v) on CRTC %d", st, before, crtc)
	}
	t.Logf("Ctrl+Alt+F%d typed: VT %d in front in %v, minicomp paused in %v; back: minicomp's frame on the display in %v", other, other, switched, away, back)

	out.Expect(t, `wl_seat\] capabilities: pointer keyboard`)
	// The keyboard's enter carries the modifiers: none held (Ctrl and Alt
	// were released while minicomp was away).
	out.Expect(t, `wl_keyboard\] enter`)
	if m := out.Expect(t, `depressed: ([0-9A-Fa-f]+)`); strings.Trim(m[1], "0") != "" {
		t.Errorf("modifiers depressed %s after the switch back, want none", m[1])
	}
	typeKey(46, "c")
	click()
	if st := s.waitPlane(t, cursorPlane, "the cursor moved after the switch back", func(st planeState) bool {
		return onCursorPlane(st) && st.x == before.x+20
	}); st.y != before.y {
		t.Errorf("cursor plane at %+v after moving 20 right, from %+v", st, before)
	}

	// Unplug the mouse: no pointer, no cursor; plug one again: both back.
	if err := mouse.Close(); err != nil {
		t.Fatal(err)
	}
	out.Expect(t, `wl_seat\] capabilities: keyboard\s*$`)
	s.waitPlane(t, cursorPlane, "the cursor with no mouse", func(st planeState) bool { return st.fb == 0 })
	mouse = rigtest.Plug(t, rigtest.Mouse("minicomp done mouse 2"))
	out.Expect(t, `wl_seat\] capabilities: pointer keyboard`)
	click()
	s.waitPlane(t, cursorPlane, "the cursor with the mouse plugged again", onCursorPlane)
	typeKey(32, "d")

	if !strings.Contains(sd.LogText(), "/dev/input/event") {
		t.Errorf("seatd's log shows no input device opened through it:\n%s", sd.LogText())
	}
	if strings.Contains(mc.logText(), "level=ERROR") {
		t.Errorf("minicomp logged errors:\n%s", mc.logText())
	}
}
