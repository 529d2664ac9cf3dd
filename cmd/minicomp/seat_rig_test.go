package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/color"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/seat"
	"github.com/minicomp/minicomp/internal/testenv"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// envRunMain makes this test binary run minicomp's main (TestMain), so the
// rig tests run the real command as a child process they can signal.
const envRunMain = "MINICOMP_TEST_RUN_MAIN"

// Linux VT and KD ioctls (linux/vt.h, linux/kd.h).
const (
	vtGetState   = 0x5603
	vtActivate   = 0x5606
	vtWaitActive = 0x5607
	kdGetMode    = 0x4B3B
	kdGetKbMode  = 0x4B44
	kdText       = 0
	kdGraphics   = 1
	kbOff        = 4 // K_OFF: the VT's keyboard is the compositor's (through evdev)
)

// background is the server's background, as an XRGB8888 pixel.
const background = 0x202430

// requireSeatRig skips outside the amd64 vkms guest with seatd shipped
// (testdata/rig-programs), and fails there when seatd or a VT is missing.
func requireSeatRig(t *testing.T) {
	t.Helper()
	rigtest.Require(t, "vkms")
	if why := os.Getenv("MINICOMP_RIG_PROGRAMS_UNAVAILABLE"); why != "" {
		t.Skip(why)
	}
	if !strings.Contains(" "+os.Getenv("MINICOMP_RIG_PROGRAMS")+" ", " seatd ") {
		t.Fatalf("seatd was not shipped into the guest (MINICOMP_RIG_PROGRAMS=%q; testdata/rig-programs lists it)", os.Getenv("MINICOMP_RIG_PROGRAMS"))
	}
	if _, err := os.Stat("/dev/tty0"); err != nil {
		t.Fatalf("no VT in the guest (the rig kernels have CONFIG_VT): %v", err)
	}
}

// activeVT returns the VT in front.
func activeVT(t *testing.T) int {
	t.Helper()
	f, err := os.OpenFile("/dev/tty0", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var st [3]uint16 // struct vt_stat: v_active, v_signal, v_state
	if _, _, e := unix.Syscall(unix.SYS_IOCTL, f.Fd(), vtGetState, uintptr(unsafe.Pointer(&st))); e != 0 {
		t.Fatalf("VT_GETSTATE: %v", e)
	}
	return int(st[0])
}

// switchVT switches to VT n as a user's Ctrl+Alt+Fn would (the kernel asks
// the VT's owner, seatd, to release it) and waits until it is in front.
func switchVT(t *testing.T, n int) {
	t.Helper()
	f, err := os.OpenFile("/dev/tty0", os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.IoctlSetInt(int(f.Fd()), vtActivate, n); err != nil {
		t.Fatalf("VT_ACTIVATE %d: %v", n, err)
	}
	done := make(chan error, 1)
	go func() { done <- unix.IoctlSetInt(int(f.Fd()), vtWaitActive, n) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("VT_WAITACTIVE %d: %v", n, err)
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("VT %d not in front after 15 s (VT %d is)", n, activeVT(t))
	}
}

// kdMode returns the KD mode (kdText, kdGraphics) of VT n.
func kdMode(t *testing.T, n int) int { return ttyGet(t, n, kdGetMode, "KDGETMODE") }

// kbMode returns the keyboard mode of VT n (K_OFF while a compositor
// owns it; K_UNICODE, K_XLATE... when it is a console again).
func kbMode(t *testing.T, n int) int { return ttyGet(t, n, kdGetKbMode, "KDGKBMODE") }

// ttyGet reads an int with ioctl req from VT n.
func ttyGet(t *testing.T, n int, req uint, name string) int {
	t.Helper()
	f, err := os.OpenFile(fmt.Sprintf("/dev/tty%d", n), os.O_RDWR|unix.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := unix.IoctlGetInt(int(f.Fd()), req)
	if err != nil {
		t.Fatalf("%s tty%d: %v", name, n, err)
	}
	return m
}

// waitKDMode waits until VT n is in mode want.
func waitKDMode(t *testing.T, n, want int, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for kdMode(t, n) != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: tty%d is in KD mode %d, want %d (0 text, 1 graphics)", what, n, kdMode(t, n), want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// screen reads what the display shows: the center pixel of the primary
// plane's framebuffer, through a file that is not DRM master (root may
// read any framebuffer: GETFB2 gives it the handles).
type screen struct {
	d     *drm.Device
	plane uint32
	// The first cursor and overlay planes (0: none); their FB_ID,
	// CRTC_ID and CRTC_X/Y are readable (d has the atomic cap).
	cursor, overlay uint32
}

func openScreen(t *testing.T) (*screen, string) {
	t.Helper()
	gpus, err := scanout.Discover()
	if err != nil {
		t.Fatal(err)
	}
	var path string
	for _, g := range gpus {
		if g.Driver == "vkms" {
			path = g.Primary
		}
	}
	if path == "" {
		t.Fatal("no vkms device")
	}
	sd, err := scanout.OpenDevice(path)
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	if err := sd.EnableKMS(); err != nil {
		t.Fatal(err)
	}
	pipes, err := sd.Pipelines(false)
	if err != nil || len(pipes) == 0 {
		t.Fatalf("vkms pipelines: %v %v", pipes, err)
	}
	d, err := drm.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	// Atomic implies universal planes and shows the atomic properties.
	if err := d.SetClientCap(drm.ClientCapAtomic, 1); err != nil {
		t.Fatal(err)
	}
	s := &screen{d: d, plane: pipes[0].Primary.ID}
	planes, err := sd.Planes()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range planes {
		if p.Type == "cursor" && s.cursor == 0 {
			s.cursor = p.ID
		}
		if p.Type == "overlay" && s.overlay == 0 {
			s.overlay = p.ID
		}
	}
	return s, path
}

// pixel returns the framebuffer on the primary plane (0: none) and its
// center pixel.
func (s *screen) pixel() (uint32, uint32, error) {
	return s.pixelWhere(func(w, h int) (int, int) { return w / 2, h / 2 })
}

// pixelAt is pixel at x, y.
func (s *screen) pixelAt(x, y int) (uint32, uint32, error) {
	return s.pixelWhere(func(int, int) (int, int) { return x, y })
}

// pixelWhere is pixel at where(the framebuffer's width, height).
func (s *screen) pixelWhere(where func(w, h int) (x, y int)) (uint32, uint32, error) {
	p, err := s.d.Plane(s.plane)
	if err != nil || p.FBID == 0 {
		return 0, 0, err
	}
	fb, err := s.d.GetFB2(p.FBID)
	if err != nil {
		return p.FBID, 0, fmt.Errorf("GETFB2 %d: %w", p.FBID, err)
	}
	h := fb.Handles[0]
	if h == 0 {
		return p.FBID, 0, errors.New("GETFB2 gave no handle (not root?)")
	}
	defer s.d.GemClose(h)
	// Through a dma-buf: MAP_DUMB refuses imported buffers (minicomp's
	// direct path shows heap buffers imported into vkms).
	fd, err := s.d.PrimeHandleToFD(h)
	if err != nil {
		return p.FBID, 0, fmt.Errorf("export framebuffer %d: %w", p.FBID, err)
	}
	defer unix.Close(fd)
	size := int(fb.Pitches[0]*fb.Height + fb.Offsets[0])
	m, err := unix.Mmap(fd, 0, size, unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return p.FBID, 0, fmt.Errorf("map framebuffer %d: %w", p.FBID, err)
	}
	defer unix.Munmap(m)
	x, y := where(int(fb.Width), int(fb.Height))
	off := int(fb.Offsets[0]) + y*int(fb.Pitches[0]) + x*4
	return p.FBID, binary.LittleEndian.Uint32(m[off:]) & 0xffffff, nil
}

// waitPixel waits until the display shows want.
func (s *screen) waitPixel(t *testing.T, want uint32, what string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		fb, px, err := s.pixel()
		if err == nil && fb != 0 && px == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: framebuffer %d shows %06x (err %v), want %06x", what, fb, px, err, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// minicompProc is minicomp (this binary running main) as a child.
type minicompProc struct {
	cmd    *exec.Cmd
	dir    string // its XDG_RUNTIME_DIR
	mu     sync.Mutex
	log    strings.Builder
	exited chan struct{}
}

func startMinicomp(t *testing.T, env []string, args ...string) *minicompProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := e2eRuntimeDir(t)
	p := &minicompProc{dir: dir, exited: make(chan struct{})}
	p.cmd = exec.Command(exe, append([]string{"run"}, args...)...)
	p.cmd.Env = append(e2eEnv("XDG_RUNTIME_DIR="+dir, envRunMain+"=1"), env...)
	r, w := io.Pipe()
	p.cmd.Stdout, p.cmd.Stderr = w, w
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
		}
	}()
	go func() { p.cmd.Wait(); w.Close(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("minicomp's log:\n%s", p.logText())
		}
	})
	return p
}

func (p *minicompProc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// waitLog waits until minicomp logged a line containing want.
func (p *minicompProc) waitLog(t *testing.T, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(p.logText(), want) {
		select {
		case <-p.exited:
			t.Fatalf("minicomp exited (%v) before logging %q", p.cmd.ProcessState, want)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("minicomp did not log %q in 60 s", want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop signals minicomp and returns its exit status.
func (p *minicompProc) stop(t *testing.T, sig syscall.Signal) *os.ProcessState {
	t.Helper()
	p.cmd.Process.Signal(sig)
	select {
	case <-p.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("minicomp still running 20 s after %v", sig)
	}
	return p.cmd.ProcessState
}

// takeDisplay is a second DRM master: it opens the display directly (the
// seat gave master up), shows a frame of its own with the KMS backend and
// gives the display back (closing turns the pipeline off).
func takeDisplay(t *testing.T, path string, s *screen, c color.NRGBA) {
	t.Helper()
	_, release := secondMaster(t, path, s, c)
	release()
}

// secondMaster opens the display at path directly (the seat gave master
// up) and shows a frame in color c with the KMS backend, waiting until
// s shows it. It returns the device, master until release closes it
// (also at the test's end).
func secondMaster(t *testing.T, path string, s *screen, c color.NRGBA) (*scanout.Device, func()) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	dev, err := scanout.NewDevice(f)
	if err != nil {
		t.Fatal(err)
	}
	be, err := kms.New(kms.Options{Devices: scanout.Devices{Display: dev}, Logger: quiet()})
	if err != nil {
		dev.Close()
		t.Fatalf("second master: %v", err)
	}
	var once sync.Once
	release := func() { once.Do(func() { be.Close(); dev.Close() }) }
	t.Cleanup(release)
	o := be.Outputs()[0]
	target, _, err := o.Next()
	if err != nil {
		t.Fatal(err)
	}
	r := soft.New()
	defer r.Close()
	m := o.Mode()
	if err := r.Begin(target, nil); err != nil {
		t.Fatal(err)
	}
	r.FillRect(image.Rect(0, 0, m.Width, m.Height), c)
	fence, err := r.End()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Present(target, nil, fence); err != nil {
		t.Fatalf("second master's frame: %v (was DRM master given up?)", err)
	}
	if fence != nil {
		fence.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := o.WaitFrame(ctx); err != nil {
		t.Fatal(err)
	}
	want := uint32(c.R)<<16 | uint32(c.G)<<8 | uint32(c.B)
	s.waitPixel(t, want, "the second master's frame")
	return dev, release
}

// minicomp on vkms with a real seatd as its session: the display opened
// through seatd on VT 1 (graphics mode), a VT switch away (minicomp gives
// DRM master up, a second master shows its own frame), back (minicomp
// sets the mode again and repaints: its frame is on the display again),
// then SIGTERM restores the VT's text mode and exits 0; a SIGKILLed
// minicomp leaves the VT in text mode too (seatd restores it when the
// connection drops).
func TestRigSeatdVTSwitch(t *testing.T) {
	requireSeatRig(t)
	vt := activeVT(t)
	if kdMode(t, vt) != kdText {
		t.Fatalf("tty%d starts in graphics mode", vt)
	}
	other := vt%6 + 1
	sd := testenv.StartSeatd(t, true)
	s, path := openScreen(t)
	env := []string{"LIBSEAT_BACKEND=seatd"}

	mc := startMinicomp(t, env, "--backend=kms", "--session=libseat", "--log-level=debug")
	mc.waitLog(t, "serving Wayland clients")
	waitKDMode(t, vt, kdGraphics, "minicomp running on the seat")
	if m := kbMode(t, vt); m != kbOff {
		t.Errorf("tty%d keyboard mode %d while minicomp runs, want K_OFF", vt, m)
	}
	s.waitPixel(t, background, "minicomp's first frame")

	start := time.Now()
	switchVT(t, other)
	mc.waitLog(t, "session paused")
	away := time.Since(start)
	takeDisplay(t, path, s, color.NRGBA{R: 0xff, B: 0xff, A: 0xff})

	start = time.Now()
	switchVT(t, vt)
	mc.waitLog(t, "session active: redrawing every output")
	s.waitPixel(t, background, "minicomp's frame after the switch back")
	back := time.Since(start)
	t.Logf("VT %d -> %d (minicomp paused) in %v; back, minicomp's frame on the display again in %v", vt, other, away, back)
	if strings.Contains(mc.logText(), "level=ERROR") {
		t.Errorf("minicomp logged errors around the VT switches")
	}

	st := mc.stop(t, syscall.SIGTERM)
	if st.ExitCode() != 0 {
		t.Errorf("minicomp exited %d after SIGTERM, want 0", st.ExitCode())
	}
	waitKDMode(t, vt, kdText, "after minicomp's SIGTERM")
	if m := kbMode(t, vt); m == kbOff {
		t.Errorf("tty%d keyboard still off after minicomp's SIGTERM", vt)
	}

	mc = startMinicomp(t, env, "--backend=kms", "--session=libseat")
	mc.waitLog(t, "serving Wayland clients")
	waitKDMode(t, vt, kdGraphics, "minicomp running again")
	mc.stop(t, syscall.SIGKILL)
	waitKDMode(t, vt, kdText, "after minicomp was SIGKILLed")
	if m := kbMode(t, vt); m == kbOff {
		t.Errorf("tty%d keyboard still off after minicomp was SIGKILLed", vt)
	}
	if !strings.Contains(sd.LogText(), "Closed client") {
		t.Errorf("seatd never closed the client:\n%s", sd.LogText())
	}
}

// The builtin backend (libseat's own seatd server in a child process,
// for root): the same VT handling without a daemon, also after SIGKILL.
func TestRigBuiltinSeat(t *testing.T) {
	requireSeatRig(t)
	vt := activeVT(t)
	s, _ := openScreen(t)
	mc := startMinicomp(t, []string{"LIBSEAT_BACKEND=builtin"}, "--backend=kms", "--session=libseat")
	mc.waitLog(t, "serving Wayland clients")
	waitKDMode(t, vt, kdGraphics, "minicomp on the builtin seat")
	s.waitPixel(t, background, "minicomp's frame")
	if st := mc.stop(t, syscall.SIGTERM); st.ExitCode() != 0 {
		t.Errorf("exit %d after SIGTERM", st.ExitCode())
	}
	waitKDMode(t, vt, kdText, "after minicomp's SIGTERM")
	// Killed, minicomp cannot clean up: libseat's builtin server (a
	// child process) sees the connection drop and restores the VT.
	mc = startMinicomp(t, []string{"LIBSEAT_BACKEND=builtin"}, "--backend=kms", "--session=libseat")
	mc.waitLog(t, "serving Wayland clients")
	waitKDMode(t, vt, kdGraphics, "minicomp on the builtin seat again")
	mc.stop(t, syscall.SIGKILL)
	waitKDMode(t, vt, kdText, "after minicomp on the builtin seat was SIGKILLed")
}

// Where libseat is not installed (the arm64 and arm guests ship no host
// libraries), --session=libseat fails naming the Debian package, and
// --session=auto runs on the display opened directly.
func TestRigNoLibseat(t *testing.T) {
	rigtest.Require(t)
	if err := seat.Available(); err == nil {
		t.Skip("libseat is installed in this guest")
	}
	_, err := runMinicomp(context.Background(), runFlags{backend: "kms", session: sessionLibseat, frames: 3, pattern: true}, quiet())
	if !errors.Is(err, seat.ErrNoLibseat) || !strings.Contains(err.Error(), seat.DebPackage) {
		t.Fatalf("--session=libseat without libseat: %v", err)
	}
	infos, err := runMinicomp(context.Background(), runFlags{backend: "kms", session: sessionAuto, frames: 3, pattern: true}, quiet())
	if err != nil || len(infos) == 0 || infos[0].Stats.Frames != 3 {
		t.Fatalf("--session=auto without libseat: %v %+v", err, infos)
	}
}

// A client keeps running while its compositor's VT is away, and its
// frames come back with the VT: weston-simple-shm's animation is on the
// display again (its pixels change), not a frozen or foreign frame.
func TestRigSeatdClientAcrossVTSwitch(t *testing.T) {
	requireSeatRig(t)
	if !strings.Contains(" "+os.Getenv("MINICOMP_RIG_PROGRAMS")+" ", " weston-simple-shm ") {
		t.Fatal("weston-simple-shm was not shipped into the guest (testdata/rig-programs lists it)")
	}
	vt := activeVT(t)
	other := vt%6 + 1
	testenv.StartSeatd(t, true)
	s, path := openScreen(t)
	mc := startMinicomp(t, []string{"LIBSEAT_BACKEND=seatd"}, "--backend=kms", "--session=libseat", "--", "weston-simple-shm")
	mc.waitLog(t, "serving Wayland clients")
	// weston-simple-shm's 250x250 window at the origin: its pixels change
	// every frame.
	animating := func(what string) {
		t.Helper()
		deadline := time.Now().Add(15 * time.Second)
		seen := map[uint32]bool{}
		for len(seen) < 3 {
			if time.Now().After(deadline) {
				t.Fatalf("%s: the client's pixel took %d values in 15 s, want it animating", what, len(seen))
			}
			if fb, px, err := s.pixelAt(100, 100); err == nil && fb != 0 && px != background && px != 0xff00ff {
				seen[px] = true
			}
			time.Sleep(30 * time.Millisecond)
		}
	}
	animating("before the switch")
	switchVT(t, other)
	mc.waitLog(t, "session paused")
	takeDisplay(t, path, s, color.NRGBA{R: 0xff, B: 0xff, A: 0xff})
	switchVT(t, vt)
	mc.waitLog(t, "session active")
	animating("after the switch back")
	if st := mc.stop(t, syscall.SIGTERM); st.ExitCode() != 0 {
		t.Errorf("exit %d after SIGTERM", st.ExitCode())
	}
	waitKDMode(t, vt, kdText, "after SIGTERM")
}

// libseat_switch_session on a VT-bound seatd (what Ctrl+Alt+Fn calls):
// the VT changes, the session hears it is disabled; switched back (by
// the kernel, as another session's switch would), it is enabled.
func TestRigSeatdSwitchSession(t *testing.T) {
	requireSeatRig(t)
	vt := activeVT(t)
	other := vt%6 + 1
	testenv.StartSeatd(t, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sess, err := seat.Open(ctx, seat.Options{Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	changes := make(chan bool, 4)
	sess.Watch(func(active bool) { changes <- active })
	want := func(active bool) {
		t.Helper()
		select {
		case got := <-changes:
			if got != active {
				t.Fatalf("session change %v, want %v", got, active)
			}
		case <-time.After(15 * time.Second):
			t.Fatalf("no session change (want active=%v)", active)
		}
	}
	if err := sess.SwitchSession(other); err != nil {
		t.Fatal(err)
	}
	want(false)
	deadline := time.Now().Add(10 * time.Second)
	for activeVT(t) != other {
		if time.Now().After(deadline) {
			t.Fatalf("VT %d in front after SwitchSession(%d)", activeVT(t), other)
		}
		time.Sleep(20 * time.Millisecond)
	}
	switchVT(t, vt)
	want(true)
	if !sess.Active() {
		t.Fatal("not active after the switch back")
	}
}

// The seat lost mid-run (seatd stops): minicomp exits 1 with the reason
// on stderr (what a unit's Restart= acts on), and the VT is a console
// again (seatd restores it as it goes).
func TestRigSeatdLost(t *testing.T) {
	requireSeatRig(t)
	vt := activeVT(t)
	sd := testenv.StartSeatd(t, true)
	mc := startMinicomp(t, []string{"LIBSEAT_BACKEND=seatd"}, "--backend=kms", "--session=libseat")
	mc.waitLog(t, "serving Wayland clients")
	waitKDMode(t, vt, kdGraphics, "minicomp running on the seat")
	sd.Stop()
	select {
	case <-mc.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("minicomp still running 20 s after seatd stopped")
	}
	if c := mc.cmd.ProcessState.ExitCode(); c != 1 {
		t.Errorf("minicomp exited %d after losing its seat, want 1", c)
	}
	log := mc.logText()
	if !strings.Contains(log, "minicomp: seat seat0 lost") {
		t.Errorf("stderr does not say the seat was lost")
	}
	// Nothing else is an error: no device given back to a seat provider
	// that is gone, no attempt to turn the display off without DRM master.
	// (A frame being presented as seatd goes may still fail: seatd takes
	// master back before minicomp hears it is gone.)
	for _, noise := range []string{"giving a device back", "Could not flush connection", "turn pipeline off"} {
		if strings.Contains(log, noise) {
			t.Errorf("after the seat was lost, minicomp logged %q", noise)
		}
	}
	waitKDMode(t, vt, kdText, "after seatd stopped")
}
