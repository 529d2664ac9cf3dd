package main

import (
	"context"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/server"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/scanout"
)

// GPU clients against minicomp on a real GPU driver (issue 9, item 4): in
// the amd64 rig guest with Mesa (testdata/rig-mesa), virtio-gpu's own KMS
// with virgl on its render node and the GLES renderer, real clients that
// draw with EGL (through Mesa's Wayland platform, zwp_linux_dmabuf_v1
// with feedback) and glmark2. Their buffers must be textured by GLES
// (imported, never copied through the CPU) and frames presented.

// virglPaths returns virtio-gpu's primary and render nodes; it skips
// outside the rig and in guests without Mesa, and fails in a guest that
// should have them.
func virglPaths(t *testing.T) (primary, render string) {
	t.Helper()
	rigtest.Require(t)
	if why := os.Getenv("MINICOMP_RIG_MESA_UNAVAILABLE"); why != "" {
		t.Skip(why)
	}
	if os.Getenv("MINICOMP_RIG_MESA") != "1" {
		t.Fatal("MINICOMP_RIG_MESA is not 1: vmexec ships Mesa for packages with testdata/rig-mesa")
	}
	gpus, err := scanout.Discover()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gpus {
		if g.Driver == "virtio_gpu" && g.Primary != "" && g.Render != "" {
			return g.Primary, g.Render
		}
	}
	t.Fatalf("no virtio_gpu device with a primary and a render node: %+v", gpus)
	return "", ""
}

// requirePrograms fails when a program the test needs was not shipped.
func requirePrograms(t *testing.T, names ...string) {
	t.Helper()
	if why := os.Getenv("MINICOMP_RIG_PROGRAMS_UNAVAILABLE"); why != "" {
		t.Skip(why)
	}
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not in the guest (%v): vmexec ships what testdata/rig-programs lists; shipped: %q",
				n, err, os.Getenv("MINICOMP_RIG_PROGRAMS"))
		}
	}
}

// countingGLES is the GLES renderer counting what the server asks of it:
// client dma-buf imports (by modifier) and textures made for CPU uploads.
type countingGLES struct {
	*gles.Renderer
	imports, importFails, newTextures atomic.Int64
	mu                                sync.Mutex
	mods                              map[string]int
}

func (c *countingGLES) ImportDMABuf(b *scanout.Buffer) (render.Texture, error) {
	t, err := c.Renderer.ImportDMABuf(b)
	if err != nil {
		c.importFails.Add(1)
		return nil, err
	}
	c.imports.Add(1)
	c.mu.Lock()
	c.mods[b.Format.String()+"/"+scanout.ModifierName(b.Modifier)]++
	c.mu.Unlock()
	return t, nil
}

func (c *countingGLES) NewTexture(w, h int, f scanout.Format) (render.Texture, error) {
	c.newTextures.Add(1)
	return c.Renderer.NewTexture(w, h, f)
}

func (c *countingGLES) modifiers() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var s []string
	for k := range c.mods {
		s = append(s, k)
	}
	sort.Strings(s)
	return strings.Join(s, " ")
}

// virglSession is minicomp serving Wayland clients on virtio-gpu with
// virgl, in this process (so its CPU time is this process's).
type virglSession struct {
	srv    *server.Server
	be     backend.Backend
	r      *countingGLES
	dir    string
	render string
	out    backend.Output
}

func startVirgl(t *testing.T) *virglSession {
	t.Helper()
	primary, renderNode := virglPaths(t)
	log := rigtest.Logger()
	f := runFlags{backend: "kms", device: primary, renderNode: renderNode, renderer: "gles"}
	be, devs, _, err := openBackend(context.Background(), f, log) // no session: root opens the devices
	if err != nil {
		t.Fatal(err)
	}
	r, err := newRenderer(be, devs, f, log)
	if err != nil {
		be.Close()
		devs.Close()
		t.Fatal(err)
	}
	g, ok := r.(*gles.Renderer)
	if !ok {
		t.Fatalf("--renderer=gles gave %T", r)
	}
	if in := g.Info(); in.Software || !in.DMABufImport || !strings.Contains(in.Driver, "virtio_gpu") {
		t.Fatalf("GLES on %s: %+v (want virgl with dma-buf import)", renderNode, in)
	}
	cr := &countingGLES{Renderer: g, mods: map[string]int{}}
	var mainDev uint64
	if d := renderDevice(be, devs); d != nil {
		mainDev, _ = d.Rdev()
	}
	dir := rigtest.RuntimeDir(t)
	srv, err := server.New(dir, be, server.Options{Logger: log, Renderer: cr, MainDevice: mainDev})
	if err != nil {
		be.Close()
		devs.Close()
		t.Fatal(err)
	}
	rigtest.Serve(t, srv.Run, be.Close, devs.Close)
	outs := be.Outputs()
	if len(outs) != 1 {
		t.Fatalf("%d outputs on %s, want 1", len(outs), primary)
	}
	in := outs[0].Info()
	t.Logf("virtio-gpu %s %v: targets %s; render node %s", in.Output, in.Mode, in.Strategy, renderNode)
	return &virglSession{srv: srv, be: be, r: cr, dir: dir, render: renderNode, out: outs[0]}
}

// clientRun is what one client run showed.
type clientRun struct {
	commits, frames, shown, direct uint64
	imports, newTextures           int64
	stderr, stdout                 string
	exit                           error
	cpu                            time.Duration // this process's (the compositor's) user+system time
	latency                        server.Latency
	window                         time.Duration
}

// runClient starts a client on the session, lets it warm up, measures
// for window, then ends it with SIGINT (weston's clients' only handler)
// unless it ends by itself first.
func (v *virglSession) runClient(t *testing.T, warmup, window time.Duration, args ...string) clientRun {
	t.Helper()
	iStart := v.r.imports.Load()
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "XDG_RUNTIME_DIR="+v.dir, "WAYLAND_DISPLAY="+v.srv.Name())
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var run clientRun
	wait := func(d time.Duration) bool {
		select {
		case err := <-exited:
			run.exit = err
			return true
		case <-time.After(d):
			return false
		}
	}
	early := wait(warmup)
	s0, o0, n0, c0 := v.srv.Stats(), v.out.Info().Stats, v.r.newTextures.Load(), cpuTime()
	start := time.Now()
	if !early {
		early = wait(window)
	}
	s1, o1, i1, n1, c1 := v.srv.Stats(), v.out.Info().Stats, v.r.imports.Load(), v.r.newTextures.Load(), cpuTime()
	run.window = time.Since(start)
	if !early {
		cmd.Process.Signal(os.Interrupt)
		if !wait(5 * time.Second) {
			cmd.Process.Kill()
			run.exit = <-exited
		}
	}
	run.commits, run.frames = s1.Commits-s0.Commits, s1.Frames-s0.Frames
	run.shown, run.direct = o1.Frames-o0.Frames, s1.DirectFrames-s0.DirectFrames
	run.imports, run.newTextures = i1-iStart, n1-n0
	run.cpu = c1 - c0
	run.latency = s1.CommitToPresent
	run.stdout, run.stderr = stdout.String(), stderr.String()
	t.Logf("%s: in %v %d commits, %d server frames, %d shown (%d direct); %d imports (all runs: %s), %d CPU-upload textures made; compositor CPU %v; commit to present mean %v p50 %v; exit %v",
		args[0], run.window.Round(time.Millisecond), run.commits, run.frames, run.shown, run.direct, run.imports, v.r.modifiers(),
		run.newTextures, run.cpu, run.latency.Mean, run.latency.P50, run.exit)
	if s1.ProtocolErrors != 0 {
		t.Errorf("%d protocol errors", s1.ProtocolErrors)
	}
	return run
}

// cpuTime is this process's user+system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// checkGPUClient fails unless the client drew frames that minicomp
// showed, its buffers imported (textured by GLES), none copied.
func checkGPUClient(t *testing.T, run clientRun, minFrames uint64) {
	t.Helper()
	if run.shown < minFrames || run.commits < minFrames {
		t.Errorf("%d commits and %d frames shown, want at least %d (stderr %q)", run.commits, run.shown, minFrames, run.stderr)
	}
	if run.imports == 0 {
		t.Errorf("no client dma-buf imported: the buffers were not textured by GLES")
	}
	if run.newTextures != 0 {
		t.Errorf("%d textures made for CPU uploads while a GPU client ran", run.newTextures)
	}
}

func TestRigGPUClients(t *testing.T) {
	v := startVirgl(t)
	requirePrograms(t, "weston-simple-egl", "weston-simple-dmabuf-egl", "weston-simple-dmabuf-feedback", "glmark2-es2-wayland")
	t.Run("weston-simple-egl", func(t *testing.T) {
		run := v.runClient(t, 2*time.Second, 3*time.Second, "weston-simple-egl")
		checkGPUClient(t, run, 10)
	})
	t.Run("weston-simple-egl-fullscreen", func(t *testing.T) {
		run := v.runClient(t, 2*time.Second, 3*time.Second, "weston-simple-egl", "-f", "-o")
		checkGPUClient(t, run, 10)
	})
	t.Run("weston-simple-dmabuf-egl", func(t *testing.T) {
		run := v.runClient(t, 2*time.Second, 3*time.Second, "weston-simple-dmabuf-egl", "-d", v.render)
		checkGPUClient(t, run, 10)
	})
	t.Run("weston-simple-dmabuf-feedback", func(t *testing.T) {
		run := v.runClient(t, 2*time.Second, 3*time.Second, "weston-simple-dmabuf-feedback")
		t.Logf("stdout:\n%s", run.stdout)
		checkGPUClient(t, run, 10)
	})
	t.Run("glmark2-es2-wayland", func(t *testing.T) {
		run := v.runClient(t, 0, 60*time.Second, "glmark2-es2-wayland", "-b", "build:duration=3", "-s", "320x240")
		t.Logf("stdout:\n%s", run.stdout)
		if run.exit != nil {
			t.Errorf("glmark2: %v\n%s", run.exit, run.stderr)
		}
		checkGPUClient(t, run, 10)
	})
}
