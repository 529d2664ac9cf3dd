package server

import (
	"encoding/binary"
	"fmt"
	"image"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/render/soft"
	"github.com/minicomp/minicomp/scanout"
)

// Real Debian clients inside the amd64 rig guest, against minicomp on the
// KMS backend over vkms: client → minicomp → scanout (direct or blit) on a
// real kernel KMS driver. test/rig's vmexec ships the programs listed in
// testdata/rig-programs from the host, with their shared libraries, into a
// guest of the host's architecture only.

// Set in the guest by vmexec (test/rig/cmd/vmexec/programs.go).
const (
	rigProgramsEnv     = "MINICOMP_RIG_PROGRAMS"
	rigProgramsMissing = "MINICOMP_RIG_PROGRAMS_UNAVAILABLE"
)

// requireGuestPrograms skips outside the rig and in guests that cannot run
// the host's programs; in a guest that should have them, a missing one
// fails the test.
func requireGuestPrograms(t *testing.T, names ...string) {
	t.Helper()
	rigtest.Require(t)
	if why := os.Getenv(rigProgramsMissing); why != "" {
		t.Skip(why)
	}
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not in the guest (%v): vmexec ships what testdata/rig-programs lists; shipped: %q",
				n, err, os.Getenv(rigProgramsEnv))
		}
	}
}

// startKMS runs a server on the KMS backend (the rig's display, render
// targets wherever backend/kms puts them) and returns its only output.
// With noDirect every frame is blitted into a dumb buffer.
func startKMS(t *testing.T, noDirect bool) (*Server, string, backend.Output) {
	t.Helper()
	return startKMSWith(t, kms.Options{DisableDirect: noDirect}, Options{})
}

// startKMSWith is startKMS with backend and server options (the logger,
// renderer and main device are set here).
func startKMSWith(t *testing.T, bopts kms.Options, sopts Options) (*Server, string, backend.Output) {
	t.Helper()
	s, dir, outs := serveKMS(t, bopts, sopts, 1)
	return s, dir, outs[0]
}

// serveKMS runs a server on the KMS backend of bopts (its logger set
// here), which must have n outputs, and returns them.
func serveKMS(t *testing.T, bopts kms.Options, sopts Options, n int) (*Server, string, []backend.Output) {
	t.Helper()
	dir := rigtest.RuntimeDir(t)
	log := rigtest.Logger()
	bopts.Logger = log
	be := openKMS(t, bopts)
	outs := be.Outputs()
	if len(outs) != n {
		be.Close()
		t.Fatalf("kms backend has %d outputs, want %d", len(outs), n)
	}
	sopts.Logger, sopts.Renderer, sopts.MainDevice = log, soft.New(), mainDevice(be)
	s, err := New(dir, be, sopts)
	if err != nil {
		be.Close()
		t.Fatal(err)
	}
	rigtest.Serve(t, s.Run, be.Close)
	for _, o := range outs {
		in := o.Info()
		t.Logf("kms output %s %v on %s: targets %s", in.Output, in.Mode, in.Display, in.Strategy)
	}
	return s, dir, outs
}

// pathOf summarises which buffer path the output's frames took.
func pathOf(in backend.Info) string {
	st := in.Stats
	return fmt.Sprintf("%d frames: %d direct, %d blit (%d bytes copied); targets %s", st.Frames, st.DirectFrames,
		st.BlitFrames, st.BytesCopied, in.Strategy)
}

// settle waits until the output has shown a frame after since and then
// none for 250 ms (the server renders only on damage), so the last commit
// is on screen.
func settle(t *testing.T, o backend.Output, since uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	last, lastChange := o.Info().Stats.Frames, time.Now()
	for last <= since || time.Since(lastChange) < 250*time.Millisecond {
		if time.Now().After(deadline) {
			t.Fatalf("output %s: %d frames (%d before), not settled after 10 s", o.Name(), last, since)
		}
		time.Sleep(20 * time.Millisecond)
		if n := o.Info().Stats.Frames; n != last {
			last, lastChange = n, time.Now()
		}
	}
}

func TestRigWaylandInfo(t *testing.T) {
	requireGuestPrograms(t, "wayland-info")
	rigtest.CheckFDs(t)
	_, dir, o := startKMS(t, false)
	out, err := client(t, dir, "wayland-info").CombinedOutput()
	if err != nil {
		t.Fatalf("wayland-info: %v\n%s", err, out)
	}
	m := o.Mode()
	for _, want := range []string{
		"'wl_output',", "'zwlr_screencopy_manager_v1',", "'zwp_linux_dmabuf_v1',",
		"'zwlr_layer_shell_v1',", "'zwlr_output_manager_v1',", "'ext_idle_notifier_v1',", "'zwp_idle_inhibit_manager_v1',", "'xdg_activation_v1',",
		"name: " + o.Name(),
		fmt.Sprintf("width: %d px, height: %d px, refresh: %d.%03d Hz", m.Width, m.Height, m.RefreshMilliHz/1000, m.RefreshMilliHz%1000),
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("wayland-info output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("%s", out)
	}
}

// bufferPaths runs f with the output's frames scanned out directly (the
// render targets on the plane) and with every frame blitted.
func bufferPaths(t *testing.T, f func(t *testing.T, noDirect bool)) {
	t.Run("direct", func(t *testing.T) { f(t, false) })
	t.Run("blit", func(t *testing.T) { f(t, true) })
}

// checkPath fails unless the frames took the path the test asked for.
func checkPath(t *testing.T, noDirect bool, direct, blit uint64) {
	t.Helper()
	if noDirect && direct != 0 || !noDirect && (direct == 0 || blit != 0) {
		t.Errorf("%d direct and %d blitted frames with direct scanout disabled=%v", direct, blit, noDirect)
	}
}

// weston-simple-shm animates for 3 s: the server shows frames on vkms at
// the display's pace, and the client ends cleanly on SIGINT (its only
// signal handler; SIGTERM would just kill it).
func TestRigWestonSimpleShm(t *testing.T) {
	requireGuestPrograms(t, "weston-simple-shm")
	bufferPaths(t, testWestonSimpleShm)
}

func testWestonSimpleShm(t *testing.T, noDirect bool) {
	rigtest.CheckFDs(t)
	s, dir, o := startKMS(t, noDirect)
	cmd := client(t, dir, "weston-simple-shm")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Second)
	before, ib := s.Stats(), o.Info()
	const window = 2 * time.Second
	time.Sleep(window)
	after, ia := s.Stats(), o.Info()
	cmd.Process.Signal(os.Interrupt)
	werr := cmd.Wait()
	t.Logf("client stderr: %q", stderr.String())
	if werr != nil {
		t.Errorf("weston-simple-shm after SIGINT: %v (want exit status 0)", werr)
	}
	if strings.Contains(stderr.String(), "error") {
		t.Errorf("client reported: %s", stderr.String())
	}
	commits, frames := after.Commits-before.Commits, after.Frames-before.Frames
	shown := ia.Stats.Frames - ib.Stats.Frames
	direct, blit := ia.Stats.DirectFrames-ib.Stats.DirectFrames, ia.Stats.BlitFrames-ib.Stats.BlitFrames
	hz := float64(o.Mode().RefreshMilliHz) / 1000
	t.Logf("in %v: %d commits, %d frame callbacks, %d server frames, %d shown by %s (%d direct, %d blit); %.0f Hz display",
		window, commits, after.FrameCallbacks-before.FrameCallbacks, frames, shown, o.Name(), direct, blit, hz)
	t.Logf("output %s since start: %s; commit to present %+v", o.Name(), pathOf(ia), after.CommitToPresent)
	// Paced by vkms's vblank: never more than the refresh rate allows, and
	// steady progress (the floor leaves room for software emulation).
	limit := uint64(hz*window.Seconds()*1.05) + 2
	if frames < 10 || frames > limit {
		t.Errorf("%d server frames in %v (want 10..%d)", frames, window, limit)
	}
	if commits < 10 || commits > limit {
		t.Errorf("%d client commits in %v (want 10..%d)", commits, window, limit)
	}
	if shown < 10 || direct+blit != shown {
		t.Errorf("backend showed %d frames (%d direct + %d blit)", shown, direct, blit)
	}
	checkPath(t, noDirect, direct, blit)
	if after.ProtocolErrors != 0 {
		t.Errorf("%d protocol errors", after.ProtocolErrors)
	}
}

// grim captures a known picture through wlr-screencopy, and the framebuffer
// vkms scans out holds the same pixels.
func TestRigGrimScreenshot(t *testing.T) {
	requireGuestPrograms(t, "grim")
	bufferPaths(t, testGrimScreenshot)
}

func testGrimScreenshot(t *testing.T, noDirect bool) {
	rigtest.CheckFDs(t)
	s, dir, o := startKMS(t, noDirect)
	const w, h, colour = 120, 90, 0x00c04080
	bg := uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B)
	f0 := o.Info().Stats.Frames
	showSolid(t, s, dir, w, h, colour)
	settle(t, o, f0)
	m := o.Mode()
	want := map[image.Point]uint32{
		{0, 0}: colour, {w - 1, h - 1}: colour, {w / 2, h / 2}: colour,
		{w, h}: bg, {w, 0}: bg, {0, h}: bg, {m.Width - 1, m.Height - 1}: bg,
	}

	img := grimShot(t, dir)
	if b := img.Bounds(); b.Dx() != m.Width || b.Dy() != m.Height {
		t.Fatalf("screenshot is %v, the mode %v", b, m)
	}
	expectPixels(t, "grim", img, want)

	px, pitch := scannedOutPixels(t, o)
	for p, c := range want {
		if got := binary.LittleEndian.Uint32(px[p.Y*pitch+p.X*4:]) & 0xffffff; got != c {
			t.Errorf("scanned-out pixel %v = %06x, want %06x", p, got, c)
		}
	}
	in := o.Info()
	t.Logf("output %s: %s", o.Name(), pathOf(in))
	checkPath(t, noDirect, in.Stats.DirectFrames, in.Stats.BlitFrames)
}

// scannedOutPixels reads the framebuffer on the primary plane of the
// output's CRTC (GETFB2 as root, PRIME export, mmap): what the display
// scans out, whether the server's target was shown directly or blitted
// into a dumb buffer.
func scannedOutPixels(t *testing.T, o backend.Output) ([]byte, int) {
	t.Helper()
	in := o.Info()
	d := openDisplay(t, o)
	fb := primaryFB(t, d, o)
	out, info := fbPixels(t, d, fb)
	if int(info.Width) != in.Mode.Width || int(info.Height) != in.Mode.Height {
		t.Fatalf("scanned-out framebuffer is %dx%d, the mode %v", info.Width, info.Height, in.Mode)
	}
	pitch := int(info.Pitches[0])
	t.Logf("scanned-out framebuffer %d: %dx%d %s pitch %d", fb, info.Width, info.Height, drm.FormatName(info.PixelFormat), pitch)
	return out, pitch
}

// primaryFB is the framebuffer on the primary plane of the output's
// CRTC (the output's own on a display with several).
func primaryFB(t *testing.T, d *drm.Device, o backend.Output) uint32 {
	t.Helper()
	crtc := outputCRTC(t, d, o)
	for _, p := range planeProps(t, d) {
		if p.Values["type"] == drm.PlanePrimary && p.Values["FB_ID"] != 0 && p.Values["CRTC_ID"] == crtc {
			return uint32(p.Values["FB_ID"])
		}
	}
	t.Fatalf("no primary plane is scanning out on %s's CRTC %d", o.Name(), crtc)
	return 0
}

// outputCRTC is the CRTC the output's connector (named as scanout's
// pipelines name it) drives now: its CRTC_ID property.
func outputCRTC(t *testing.T, d *drm.Device, o backend.Output) uint64 {
	t.Helper()
	name := o.Name()
	_, node, _ := strings.Cut(o.Info().Display, "(")
	sd, err := scanout.OpenDevice(strings.TrimSuffix(node, ")"))
	if err != nil {
		t.Fatal(err)
	}
	defer sd.Close()
	if err := sd.EnableKMS(); err != nil {
		t.Fatal(err)
	}
	pls, err := sd.Pipelines(false)
	if err != nil {
		t.Fatal(err)
	}
	for _, pl := range pls {
		if pl.ConnectorName != name {
			continue
		}
		p, err := d.Props(pl.Connector, drm.ObjectConnector)
		if err != nil {
			t.Fatal(err)
		}
		if p.Values["CRTC_ID"] == 0 {
			t.Fatalf("connector %s drives no CRTC", name)
		}
		return p.Values["CRTC_ID"]
	}
	t.Fatalf("no connected connector named %s", name)
	return 0
}
