package auto

// auto's pick on Mesa's real drivers in the amd64 rig guest (test/rig;
// testdata/rig-mesa ships the host's Mesa and attaches virtio-gpu): GLES
// on virgl (virtio_gpu's render node), the CPU renderer on kms_swrast
// (vgem's render node through EGL's device platform), and
// --renderer=gles on kms_swrast drawing a heap dma-buf offscreen.

import (
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/internal/rigtest/rigmesa"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/scanout"
)

func TestRigAutoPicksGLESOnVirgl(t *testing.T) {
	rigmesa.Require(t)
	node := rigmesa.RenderNode(t, "virtio_gpu")
	r, why, err := New("auto", Options{Device: node, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Log(why)
	g, ok := r.(*gles.Renderer)
	if !ok {
		t.Fatalf("auto on %s (virgl) picked %s: %s", node, r.Name(), why)
	}
	if i := g.Info(); i.Driver != "virtio_gpu" || i.Software || !i.DMABufImport || !i.NativeFence {
		t.Errorf("virgl: %+v", i)
	}
	if !strings.Contains(why, "render targets imported as EGLImages") || !strings.Contains(why, "native fences") {
		t.Errorf("reason %q", why)
	}
}

func TestRigAutoRefusesKMSSwrast(t *testing.T) {
	rigmesa.Require(t)
	node := rigmesa.RenderNode(t, "vgem")
	r, why, err := New("auto", Options{Device: node, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	t.Log(why)
	if r.Name() != cpuName() || !strings.Contains(why, "software rendering") || !strings.Contains(why, "kms_swrast") {
		t.Fatalf("auto on %s (kms_swrast): %s, %q", node, r.Name(), why)
	}

	// Asked for by name it runs, drawing a dma-buf target offscreen.
	r, why, err = New("gles", Options{Device: node, Log: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	t.Log(why)
	if r.Name() != "gles" || !strings.Contains(why, "reading back") || !strings.Contains(why, "MODE_MAP_DUMB") {
		t.Errorf("--renderer=gles on kms_swrast: %q", why)
	}
	hp, err := heap.Open("system")
	if err != nil {
		t.Fatal(err)
	}
	defer hp.Close()
	b, err := scanout.HeapStrategy{Heap: hp}.Allocate(128, 64, scanout.XRGB8888)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for range 2 {
		if err := frame(r, b); err != nil {
			t.Fatal(err)
		}
	}
	m, err := b.Map()
	if err != nil {
		t.Fatal(err)
	}
	b.BeginCPUAccess(scanout.Read)
	p := m[b.Offset+b.Stride*40+50*4:]
	got := uint32(p[0]) | uint32(p[1])<<8 | uint32(p[2])<<16
	b.EndCPUAccess(scanout.Read)
	if got != 0x00ff00 {
		t.Errorf("pixel (50,40) = %06x, want 00ff00", got)
	}
}

func frame(r render.Renderer, b *scanout.Buffer) error {
	if err := r.Begin(b, nil); err != nil {
		return err
	}
	r.Clear(color.NRGBA{B: 0xff, A: 0xff})
	r.FillRect(image.Rect(32, 16, 96, 48), color.NRGBA{G: 0xff, A: 0xff})
	f, err := r.End()
	if f != nil {
		f.Close()
	}
	return err
}
