package scanout

import (
	"errors"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/rigtest/rigmesa"
)

// requireVirtioGPU returns the rig's devices, virtio-gpu's among them (the
// amd64 guest with testdata/rig-mesa); elsewhere it skips saying why.
func requireVirtioGPU(t *testing.T) (gpus []GPU, virtio, vgem, vkms GPU) {
	t.Helper()
	rigtest.Require(t, "vkms")
	rigmesa.Require(t) // vmexec attaches virtio-gpu with Mesa
	gpus, err := Discover()
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gpus {
		switch g.Driver {
		case "virtio_gpu":
			virtio = g
		case "vgem":
			vgem = g
		case "vkms":
			vkms = g
		}
	}
	if virtio.Render == "" || virtio.Primary == "" || vgem.Render == "" || vkms.Primary == "" {
		t.Fatalf("want virtio_gpu (primary and render), vgem and vkms, found %+v", gpus)
	}
	return gpus, virtio, vgem, vkms
}

// asUnknownGPU is g with a driver name outside kmsro's list, so pairing
// falls back to discovery order (as on a machine without vgem).
func asUnknownGPU(g GPU) GPU {
	c := *g.gpu
	c.Driver = "unknown-gpu"
	r := *c.Render
	r.Driver = c.Driver
	c.Render = &r
	g.gpu, g.Driver = &c, c.Driver
	return g
}

// virtio-gpu's render node comes first in pairing order. Its own
// buffers (render-native) allocate and import, but virgl renders in the
// host's GL, so they are only right when virtio-gpu's own display scans
// them out directly (ErrHostRendered): ChooseRender passes it over, saying
// why, and keeps the next render node (with vkms as the display) or none
// (headless, when it is the only one). Nothing leaks.
func TestRigChooseRenderPassesOverVirtioGPU(t *testing.T) {
	gpus, virtio, vgem, vkms := requireVirtioGPU(t)
	rigtest.CheckFDs(t)
	fbs0 := debugfsFramebuffers(t)

	// What pairing by rule alone picks: the render node nothing imports into.
	order := []GPU{virtio, vkms, asUnknownGPU(vgem)}
	if path, why := PairRender(order, nil, ""); path != virtio.Render {
		t.Fatalf("test setup: pairing by rule picked %s (%s), want virtio-gpu's %s first", path, why, virtio.Render)
	}

	// Headless, virtio-gpu the only render node: none (CPU).
	ch, err := ChooseRender([]GPU{vkms, virtio}, nil, nil, DevicesConfig{Logger: quietLog()})
	if err != nil || ch.Render != nil {
		t.Fatalf("headless with only virtio-gpu: %v (%s) %v, want no render device", ch.Render, ch.Reason, err)
	}
	if len(ch.Passed) != 1 || !errors.Is(ch.Passed[0].Err, ErrHostRendered) || !strings.Contains(ch.Reason, "CPU rendering") {
		t.Fatalf("headless: passed %v, reason %q; want virtio-gpu passed over (host-rendered) and CPU rendering", ch.Passed, ch.Reason)
	}
	t.Logf("headless: %s", ch.Reason)

	// With vkms: the next render node (vgem), and its target goes direct.
	display, _, pipes, err := OpenDisplay(gpus, vkms.Primary)
	if err != nil {
		t.Fatal(err)
	}
	ch, err = ChooseRender(order, display, &pipes[0], DevicesConfig{Logger: quietLog()})
	if err != nil || ch.Render == nil || ch.Render.Driver() != "vgem" {
		t.Fatalf("vkms: chose %v (%s) %v, want vgem", ch.Render, ch.Reason, err)
	}
	if len(ch.Passed) != 1 || !strings.HasPrefix(ch.Passed[0].Name, "renderD") || !strings.Contains(ch.Passed[0].Name, "virtio_gpu") ||
		!errors.Is(ch.Passed[0].Err, ErrHostRendered) || !strings.Contains(ch.Reason, "direct scanout") {
		t.Fatalf("vkms: passed %v, reason %q", ch.Passed, ch.Reason)
	}
	t.Logf("vkms: %s; passed over %s: %v", ch.Reason, ch.Passed[0].Name, ch.Passed[0].Err)
	if n := ch.Render.Handles(); n != 0 {
		t.Errorf("the probe left %d GEM handles on the render device", n)
	}
	if n := display.Handles() + display.Framebuffers(); n != 0 {
		t.Errorf("the probe left %d handles and framebuffers on the display", n)
	}
	ch.Render.Close()

	// Asked for by name: one paragraph naming what failed and what to try,
	// matching the errno.
	_, err = ChooseRender(gpus, display, &pipes[0], DevicesConfig{RenderNode: virtio.Render, Logger: quietLog()})
	var re *RenderError
	if !errors.As(err, &re) || !errors.Is(err, ErrHostRendered) || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), "renderD128 (vgem)") || !strings.Contains(err.Error(), NoRender) {
		t.Fatalf("explicit virtio-gpu render node with vkms: %v", err)
	}
	t.Logf("explicit: %v", err)
	display.Close()

	if n := debugfsFramebuffers(t); n != fbs0 {
		t.Errorf("kernel lists %d framebuffers, %d before", n, fbs0)
	}
}

// The seat path: vkms opened from an fd (as a seat hands it out, through
// NewDevice), virtio-gpu first in pairing order. OpenRender probes as
// ChooseRender does, so it passes virtio-gpu over and keeps vgem, whose
// target vkms scans out directly; with only virtio-gpu it is none.
func TestRigOpenRenderFromFDPassesOverVirtioGPU(t *testing.T) {
	_, virtio, vgem, vkms := requireVirtioGPU(t)
	rigtest.CheckFDs(t)
	display := deviceFromFD(t, vkms.Primary)
	order := []GPU{virtio, vkms, asUnknownGPU(vgem)}
	ch, err := OpenRender(order, display, DevicesConfig{Logger: quietLog()})
	if err != nil || ch.Render == nil || ch.Render.Driver() != "vgem" {
		t.Fatalf("chose %v (%s) %v, want vgem", ch.Render, ch.Reason, err)
	}
	if len(ch.Passed) != 1 || !strings.Contains(ch.Passed[0].Name, "virtio_gpu") || !errors.Is(ch.Passed[0].Err, ErrHostRendered) ||
		!strings.Contains(ch.Reason, "direct scanout") {
		t.Fatalf("passed %v, reason %q; want virtio-gpu passed over and vgem's target direct", ch.Passed, ch.Reason)
	}
	t.Logf("fd display: %s; passed over %s: %v", ch.Reason, ch.Passed[0].Name, ch.Passed[0].Err)
	ch.Render.Close()

	ch, err = OpenRender([]GPU{vkms, virtio}, display, DevicesConfig{Logger: quietLog()})
	if err != nil || ch.Render != nil || len(ch.Passed) != 1 || !strings.Contains(ch.Reason, "CPU rendering") {
		t.Fatalf("only virtio-gpu: %v (%s) passed %v, %v; want none (CPU rendering)", ch.Render, ch.Reason, ch.Passed, err)
	}
	if n := display.Handles() + display.Framebuffers(); n != 0 {
		t.Errorf("the probes left %d handles and framebuffers on the display", n)
	}
}

// virtio-gpu alone (display and its own render node, the single-device
// shape): its own buffers (VIRTGPU_RESOURCE_CREATE) scan out directly, so
// the pair is kept.
func TestRigOpenDevicesVirtioGPUAlone(t *testing.T) {
	_, virtio, _, _ := requireVirtioGPU(t)
	rigtest.CheckFDs(t)
	devs, err := OpenDevices(DevicesConfig{Display: true, DisplayPath: virtio.Primary, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer devs.Close()
	if devs.Display.Driver() != "virtio_gpu" || devs.Render == nil || devs.Render.Path() != virtio.Render {
		t.Fatalf("got %v + %v (%s), want virtio-gpu's own render node", devs.Display, devs.Render, devs.RenderReason)
	}
	if !strings.Contains(devs.RenderReason, "render-native virtio_gpu") || !strings.Contains(devs.RenderReason, "direct") {
		t.Errorf("reason %q: want a render-native target scanned out directly", devs.RenderReason)
	}
	t.Logf("virtio-gpu alone: %s (passed over %v)", devs.RenderReason, devs.RenderPassed)
}

// A display asked for by name that cannot be used: one paragraph that says
// why and names the primary nodes to try, matching ErrNoDisplay.
func TestRigOpenDevicesExplicitDisplay(t *testing.T) {
	rigtest.Require(t)
	rigtest.CheckFDs(t)
	gpus, err := drm.Scan("/sys", "/dev/dri")
	if err != nil {
		t.Fatal(err)
	}
	var vgemCard string
	for _, g := range gpus {
		if g.Driver == "vgem" {
			vgemCard = g.Primary.Path
		}
	}
	for _, path := range []string{vgemCard, "/dev/dri/card9"} {
		_, err := OpenDevices(DevicesConfig{Display: true, DisplayPath: path, Logger: quietLog()})
		if !errors.Is(err, ErrNoDisplay) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "Try:") ||
			!strings.Contains(err.Error(), "("+rigtest.Name()+")") {
			t.Fatalf("display %s: %v", path, err)
		}
		t.Logf("%s: %v", path, err)
	}
}
