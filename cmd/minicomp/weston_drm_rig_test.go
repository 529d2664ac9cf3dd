package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/testenv"
)

// weston 10's DRM backend with its GL renderer, side by side with
// minicomp (issue 9, item 6): the same guest, the same device (virtio-gpu's
// own KMS, virgl on its render node), the same clients, one compositor at
// a time, each its own process (minicomp is the real binary, built for the
// guest without the race detector: testdata/rig-programs "go:./cmd/minicomp").
// Per client: the compositor's utime+stime (/proc/PID/stat) over the run
// divided by the frames the client had presented (weston-presentation-shm
// counts its presentation feedback and prints commit-to-present for each;
// glmark2 in fifo mode presents every frame it draws). Medians of
// benchRuns runs; under emulation only ratios from one run mean anything.
//
//	MINICOMP_RIG_ARCHES=amd64 bash test/rig/run.sh -v -run TestRigWestonSideBySide ./cmd/minicomp/
//
// Knobs (guest environment, passed by vmexec): MINICOMP_SIDE_BY_SIDE_RUNS,
// MINICOMP_SIDE_BY_SIDE_CLIENT (one client by name),
// MINICOMP_SIDE_BY_SIDE_DEBUG=1 (WAYLAND_DEBUG for the clients, weston's
// drm-backend log scope), MINICOMP_SIDE_BY_SIDE_WESTON_ENV (e.g.
// WESTON_DISABLE_ATOMIC=1), MINICOMP_SIDE_BY_SIDE_SHELL.
//
// Debian's weston 10 has no libseat launcher: it runs as root with its
// direct launcher on tty2 (the rig kernels have VTs), desktop-shell
// without a panel (its helper client draws the background), and
// require-input=false (the guest has no input devices). vmexec packs its
// backend, renderer, shell, XKB data (testdata/rig-programs). kiosk-shell
// (MINICOMP_SIDE_BY_SIDE_SHELL=kiosk-shell.so) was tried first: there
// weston never repaints for a client's surface while it lives (no frame
// callback, no presentation feedback; GL and pixman renderers alike), as
// if the surface were never mapped; with desktop-shell it presents.

// westonConfig is weston.ini for the guest.
const westonConfig = `[core]
require-input=false
idle-time=0

[shell]
locking=false
panel-position=none
background-color=0xff202430
`

// compositorProc is a running compositor process (weston on the DRM
// backend, or the minicomp binary) serving in its own runtime dir.
type compositorProc struct {
	cmd  *exec.Cmd
	dir  string // XDG_RUNTIME_DIR
	log  string // its log file
	done chan error
}

// startCompositor starts bin with args (a runtime dir of its own, env
// added), its output in logName there, and waits up to 60 s for its
// socket.
func startCompositor(t *testing.T, bin, logName, socket string, env []string, args ...string) *compositorProc {
	t.Helper()
	dir, err := os.MkdirTemp("", "comp")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o700)
	p := &compositorProc{dir: dir, log: filepath.Join(dir, logName), done: make(chan error, 1)}
	for i, a := range args {
		args[i] = strings.ReplaceAll(a, "$DIR", dir)
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Env = append(append(os.Environ(), "XDG_RUNTIME_DIR="+dir), env...)
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := os.Create(filepath.Join(dir, "output"))
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stdout, p.cmd.Stderr = out, out
	err = p.cmd.Start()
	out.Close()
	if err != nil {
		t.Fatal(err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	t.Cleanup(func() {
		p.stop()
		os.RemoveAll(dir)
	})
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := os.Stat(filepath.Join(dir, socket)); err == nil {
			return p
		}
		select {
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%s exited before serving: %v\n%s\nlog:\n%s", bin, err, tail(filepath.Join(dir, "output"), 20), tail(p.log, 60))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s made no socket in 60 s\n%s\nlog:\n%s", bin, tail(filepath.Join(dir, "output"), 20), tail(p.log, 60))
		}
	}
}

// startWeston starts weston's DRM backend on the card at primary.
func startWeston(t *testing.T, primary string) *compositorProc {
	t.Helper()
	args := []string{"--backend=drm-backend.so", "--drm-device=" + filepath.Base(primary), "--tty=2",
		"--shell=" + or(os.Getenv("MINICOMP_SIDE_BY_SIDE_SHELL"), "desktop-shell.so"), "--config=$DIR/weston.ini", "--socket=wayland-w", "--log=$DIR/weston.log", "--idle-time=0"}
	if os.Getenv("MINICOMP_SIDE_BY_SIDE_DEBUG") == "1" {
		args = append(args, "--logger-scopes=log,drm-backend")
	}
	env := strings.Fields(os.Getenv("MINICOMP_SIDE_BY_SIDE_WESTON_ENV"))
	// weston reads its config when it starts: write it first, in a
	// directory of its own.
	ini, err := os.MkdirTemp("", "weston-ini")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(ini) })
	if err := os.WriteFile(filepath.Join(ini, "weston.ini"), []byte(westonConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, a := range args {
		args[i] = strings.Replace(a, "--config=$DIR", "--config="+ini, 1)
	}
	w := startCompositor(t, "weston", "weston.log", "wayland-w", env, args...)
	// The socket appears before the output is up: give it a moment.
	time.Sleep(time.Second)
	return w
}

// startMinicompProc runs the minicomp binary (built for the guest without
// the race detector: testdata/rig-programs "go:./cmd/minicomp") on
// virtio-gpu with virgl and GLES.
func startMinicompProc(t *testing.T, primary, renderNode string) *compositorProc {
	t.Helper()
	return startCompositor(t, "minicomp", "output", "wayland-0", nil,
		"run", "--backend=kms", "--session=none", "--device="+primary, "--render-node="+renderNode, "--renderer=gles")
}

// stop ends the process (SIGTERM, then SIGKILL after 10 s).
func (p *compositorProc) stop() {
	select {
	case err := <-p.done:
		p.done <- err // exited already
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// cpu returns the process's user+system time from /proc/PID/stat.
func procCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+2:]) // from field 3 (state)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: %d fields", pid, len(f))
	}
	ut, err1 := strconv.ParseInt(f[11], 10, 64) // field 14
	st, err2 := strconv.ParseInt(f[12], 10, 64) // field 15
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("/proc/%d/stat: %q %q", pid, f[11], f[12])
	}
	const ticks = 100 // USER_HZ
	return time.Duration(ut+st) * time.Second / ticks, nil
}

// procSwitches returns the voluntary context switches of every thread of
// the process (each a thread going to sleep: a wake-up to come), 0 when
// they cannot be read.
func procSwitches(pid int) int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/status", pid))
	n := 0
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "voluntary_ctxt_switches:"); ok {
				k, _ := strconv.Atoi(strings.TrimSpace(v))
				n += k
			}
		}
	}
	return n
}

// benchClient is one client of the comparison: how to run it and how to
// read, from what it printed, the frames it had presented and the
// commit-to-present times it reported (none: nil).
type benchClient struct {
	name   string
	args   []string
	frames func(out string, window time.Duration) (float64, []time.Duration)
}

var (
	// weston-presentation-shm -f prints one line per presented frame:
	// "  123: c2p  16 ms, p2p ..." (c2p: commit to presentation).
	c2pLine = regexp.MustCompile(`c2p\s+(\d+)\s*ms`)
	// glmark2: "[build] duration=5: FPS: 59 FrameTime: 17.016 ms".
	glmarkFPS = regexp.MustCompile(`FPS: (\d+)`)
)

var benchClients = []benchClient{
	{name: "presentation-shm", args: []string{"weston-presentation-shm", "-f"}, frames: func(out string, window time.Duration) (float64, []time.Duration) {
		var lat []time.Duration
		for _, m := range c2pLine.FindAllStringSubmatch(out, -1) {
			ms, _ := strconv.Atoi(m[1])
			lat = append(lat, time.Duration(ms)*time.Millisecond)
		}
		return float64(len(lat)), lat
	}},
	{name: "glmark2 build", args: []string{"glmark2-es2-wayland", "--swap-mode", "fifo", "-b", "build:duration=5", "-s", "320x240"}, frames: func(out string, window time.Duration) (float64, []time.Duration) {
		m := glmarkFPS.FindStringSubmatch(out)
		if m == nil {
			return 0, nil
		}
		fps, _ := strconv.Atoi(m[1])
		return float64(fps) * window.Seconds(), nil
	}},
}

// benchWindow is how long each client runs (glmark2's scene as long).
const benchWindow = 5 * time.Second

// measured is one client on one compositor in one run.
type measured struct {
	frames float64
	cpu    time.Duration
	c2p    []time.Duration
}

// runBenchClient runs c against the compositor at env for benchWindow
// (its stdout a pseudo-terminal, so it prints line by line) and returns
// what it printed and the compositor's CPU time meanwhile.
func runBenchClient(t *testing.T, c benchClient, env []string, cpu func() time.Duration) (string, time.Duration, time.Duration) {
	t.Helper()
	master, slave, err := testenv.OpenPTY()
	if err != nil {
		t.Fatal(err)
	}
	defer master.Close()
	cmd := exec.Command(c.args[0], c.args[1:]...)
	cmd.Env = env
	if os.Getenv("MINICOMP_SIDE_BY_SIDE_DEBUG") == "1" {
		cmd.Env = append(cmd.Env, "WAYLAND_DEBUG=1")
	}
	cmd.Stdout, cmd.Stderr = slave, slave
	var out strings.Builder
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			out.Write(buf[:n])
			if err != nil {
				return
			}
		}
	}()
	c0 := cpu()
	start := time.Now()
	if err := cmd.Start(); err != nil {
		slave.Close()
		t.Fatal(err)
	}
	slave.Close()
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(benchWindow + 500*time.Millisecond):
		cmd.Process.Signal(os.Interrupt)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	}
	wall := time.Since(start)
	c1 := cpu()
	master.Close()
	<-read
	return out.String(), c1 - c0, wall
}

// tail returns the last n lines of the file at path.
func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	lines := strings.Split(string(b), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

func medianF(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	return s[len(s)/2]
}

// benchRuns is how many times each compositor serves each client.
const benchRuns = 3

func TestRigWestonSideBySide(t *testing.T) {
	primary, renderNode := virglPaths(t)
	requirePrograms(t, "minicomp", "weston", "weston-presentation-shm", "glmark2-es2-wayland")
	comps := []string{"minicomp", "weston"}
	res := map[string]map[string][]measured{}
	for _, c := range comps {
		res[c] = map[string][]measured{}
	}
	runs := benchRuns
	if n, err := strconv.Atoi(os.Getenv("MINICOMP_SIDE_BY_SIDE_RUNS")); err == nil && n > 0 {
		runs = n
	}
	for run := 0; run < runs; run++ {
		for _, comp := range comps {
			t.Run(fmt.Sprintf("%s-%d", comp, run), func(t *testing.T) {
				var p *compositorProc
				socket := "wayland-0"
				if comp == "minicomp" {
					p = startMinicompProc(t, primary, renderNode)
				} else {
					p, socket = startWeston(t, primary), "wayland-w"
				}
				wlog := p.log
				env := append(os.Environ(), "XDG_RUNTIME_DIR="+p.dir, "WAYLAND_DISPLAY="+socket)
				cpu := func() time.Duration {
					d, err := procCPU(p.cmd.Process.Pid)
					if err != nil {
						t.Fatalf("%s's CPU time: %v", comp, err)
					}
					return d
				}
				for _, c := range benchClients {
					if only := os.Getenv("MINICOMP_SIDE_BY_SIDE_CLIENT"); only != "" && only != c.name {
						continue
					}
					sw0 := procSwitches(p.cmd.Process.Pid)
					out, used, wall := runBenchClient(t, c, env, cpu)
					sw := procSwitches(p.cmd.Process.Pid) - sw0
					frames, c2p := c.frames(out, min(wall, benchWindow))
					m := measured{frames: frames, cpu: used, c2p: c2p}
					res[comp][c.name] = append(res[comp][c.name], m)
					t.Logf("%s %s: %.0f frames (client's count), compositor CPU %v, c2p p50 %v (%d samples), %.1f voluntary thread switches a frame",
						comp, c.name, frames, used, median(c2p), len(c2p), float64(sw)/max(frames, 1))
					switch {
					case frames >= 10:
					default:
						t.Errorf("%s with %s: %.0f frames presented (output:\n%s)", c.name, comp, frames, out)
						t.Logf("%s's log:\n%s", comp, tail(wlog, 60))
					}
				}
			})
		}
	}
	// The table: medians over the runs; the ratio is the median of each
	// run's minicomp / weston (the two ran back to back in that run).
	perFrame := func(m measured) float64 {
		if m.frames == 0 {
			return 0
		}
		return float64(m.cpu) / float64(time.Millisecond) / m.frames
	}
	msOrDash := func(d time.Duration) string {
		if d == 0 {
			return "-"
		}
		return fmt.Sprintf("%.1f", float64(d)/float64(time.Millisecond))
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nvirtio-gpu + virgl, %d runs, medians (CPU per frame = compositor utime+stime / frames the client had presented)\n", runs)
	fmt.Fprintf(&b, "%-18s %14s %14s %7s %10s %10s %11s %11s\n", "client", "minicomp ms/f", "weston ms/f", "ratio", "mc fps", "weston fps", "mc c2p p50", "weston c2p")
	for _, c := range benchClients {
		mc, we := res["minicomp"][c.name], res["weston"][c.name]
		var ratios []float64
		for i := range min(len(mc), len(we)) {
			if w := perFrame(we[i]); w > 0 && perFrame(mc[i]) > 0 {
				ratios = append(ratios, perFrame(mc[i])/w)
			}
		}
		col := func(ms []measured) (pf, fps float64, c2p time.Duration) {
			var pfs, fpss []float64
			var lat []time.Duration
			for _, m := range ms {
				if v := perFrame(m); v > 0 {
					pfs = append(pfs, v)
				}
				fpss = append(fpss, m.frames/benchWindow.Seconds())
				lat = append(lat, m.c2p...)
			}
			return medianF(pfs), medianF(fpss), median(lat)
		}
		mpf, mfps, mlat := col(mc)
		wpf, wfps, wlat := col(we)
		fmt.Fprintf(&b, "%-18s %14.3f %14.3f %7.2f %10.1f %10.1f %11s %11s\n", c.name, mpf, wpf, medianF(ratios), mfps, wfps, msOrDash(mlat), msOrDash(wlat))
	}
	t.Log(b.String())
}
