package main

import (
	"bytes"
	"context"
	"io"
	"os"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/scanout"
)

// `minicomp bench --display <virtio-gpu>` in the Mesa guest (the amd64
// guest: testdata/rig-mesa): the GPU
// section times virgl drawing into each strategy's buffer; the
// render-native target is an EGLImage and scans out directly. Without
// Mesa, bench on the rig's display still says what the GPU section found.
func TestRigBenchGPU(t *testing.T) {
	rigtest.Require(t)
	display := ""
	mesa := os.Getenv("MINICOMP_RIG_MESA") == "1"
	if mesa {
		gpus, err := scanout.Discover()
		if err != nil {
			t.Fatal(err)
		}
		for _, g := range gpus {
			if g.Driver == "virtio_gpu" {
				display = g.Primary
			}
		}
	}
	rep, err := bench(context.Background(), benchOptions{iters: 5, frames: 10, display: display, gpu: true, progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	printBench(&out, rep)
	t.Logf("minicomp bench:\n%s", out.String())
	if rep.GPU == "" {
		t.Fatalf("no GPU section (render %q)", rep.Render)
	}
	if !mesa {
		return
	}
	if !strings.Contains(rep.GPU, "virtio_gpu") || strings.Contains(rep.GPU, "software") {
		t.Errorf("gpu %q: want virgl", rep.GPU)
	}
	for _, a := range rep.Alloc {
		if a.Strategy == "render-native virtio_gpu" {
			if a.Path != "direct" || a.GPUTarget != "EGLImage" || a.GPUFrameUS <= 0 || a.EGLImportUS <= 0 {
				t.Errorf("render-native: %+v", a)
			}
			return
		}
	}
	t.Errorf("no render-native virtio_gpu strategy: %+v", rep.Alloc)
}
