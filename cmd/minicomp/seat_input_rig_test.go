package main

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
)

// The seated compositor end to end with input: minicomp on vkms with a
// real seatd as its session, uinput devices opened through seatd and read
// by libinput, wev as the client. Keys and clicks reach wev; while a VT
// switch has minicomp away the devices are closed (wev hears the seat
// lose them, and a key typed meanwhile reaches nobody); back, they are
// reopened and work; the mouse unplugged and plugged again comes back.
func TestRigSeatdInput(t *testing.T) {
	vt, other, sd := startSeatdInputRig(t)
	kb := rigtest.Plug(t, rigtest.Keyboard("minicomp seat keyboard"))
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp seat mouse"))

	mc := startMinicomp(t, []string{"LIBSEAT_BACKEND=seatd"}, "--backend=kms", "--session=libseat", "--accel-profile=flat", "--accel-speed=0")
	out := startWev(t, mc)
	typeKey := func(code uint16, sym string) { t.Helper(); typeInto(t, out, kb, code, sym) }
	click := func() { t.Helper(); clickInto(t, out, mouse) }
	typeKey(30, "a")
	click()

	// Away: the session closes the devices; a key typed now is nobody's.
	switchVT(t, other)
	mc.waitLog(t, "session paused")
	out.Expect(t, `wl_seat\] capabilities:\s+none`)
	kb.Key(48, true) // b
	kb.Key(48, false)

	// Back: the devices are opened again and work.
	switchVT(t, vt)
	mc.waitLog(t, "session active")
	out.Expect(t, `wl_seat\] capabilities: pointer keyboard`)
	typeKey(46, "c")
	if out.Seen(`sym: b\s`) {
		t.Errorf("a key typed while minicomp was away reached the client")
	}
	click()

	// Unplug and re-plug the mouse.
	if err := mouse.Close(); err != nil {
		t.Fatal(err)
	}
	out.Expect(t, `wl_seat\] capabilities: keyboard\s*$`)
	mouse = rigtest.Plug(t, rigtest.Mouse("minicomp seat mouse 2"))
	out.Expect(t, `wl_seat\] capabilities: pointer keyboard`)
	click()

	// The evdev devices went through seatd.
	if !strings.Contains(sd.LogText(), "/dev/input/event") {
		t.Errorf("seatd's log shows no input device opened through it:\n%s", sd.LogText())
	}
	if strings.Contains(mc.logText(), "level=ERROR") {
		t.Errorf("minicomp logged errors:\n%s", mc.logText())
	}
}

// startSeatdInputRig fails or skips the test where the seated input rig
// is missing (the amd64 vkms guest with seatd, uinput and wev) and starts
// seatd; vt is the VT in front, other the one the test switches to.
func startSeatdInputRig(t *testing.T) (vt, other int, sd *testenv.Seatd) {
	t.Helper()
	requireSeatRig(t)
	rigtest.RequireUInput(t)
	requirePrograms(t, "wev")
	vt = activeVT(t)
	return vt, vt%6 + 1, testenv.StartSeatd(t, true)
}

// startWev runs wev as minicomp's client and waits until it has the
// keyboard's focus and a seat with a pointer and a keyboard.
func startWev(t *testing.T, mc *minicompProc) *testenv.Lines {
	t.Helper()
	mc.waitLog(t, "serving Wayland clients")
	m := regexp.MustCompile(`serving Wayland clients.* WAYLAND_DISPLAY=(wayland-[0-9]+)`).FindStringSubmatch(mc.logText())
	if m == nil {
		t.Fatalf("no WAYLAND_DISPLAY in minicomp's log")
	}
	wev := exec.Command("wev")
	wev.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+mc.dir, "WAYLAND_DISPLAY="+m[1])
	out := testenv.StartOnPTY(t, wev)
	out.Expect(t, `wl_keyboard\] enter`)
	out.ExpectSeen(t, `wl_seat\] capabilities: pointer keyboard`)
	return out
}

// typeInto types key code on kb and waits until wev printed sym and the
// release.
func typeInto(t *testing.T, out *testenv.Lines, kb *rigtest.UInput, code uint16, sym string) {
	t.Helper()
	kb.Key(code, true)
	out.Expect(t, `sym: `+sym+`\s`)
	kb.Key(code, false)
	out.Expect(t, `wl_keyboard\] key: .*state: 0 \(released\)`)
}

// clickInto moves mouse 20 right and clicks its left button, waiting
// until wev printed each.
func clickInto(t *testing.T, out *testenv.Lines, mouse *rigtest.UInput) {
	t.Helper()
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 20})
	out.Expect(t, `wl_pointer\] (enter|motion): `)
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 1})
	out.Expect(t, `wl_pointer\] button: .*button: 272 \(left\), state: 1 \(pressed\)`)
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 0})
	out.Expect(t, `wl_pointer\] button: .*state: 0 \(released\)`)
}
