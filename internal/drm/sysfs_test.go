package drm

import (
	"os"
	"path/filepath"
	"testing"
)

// A fake sysfs shaped like a Raspberry Pi 4: vc4 (display, card1 only) and
// v3d (card0 without KMS + renderD128), plus vgem.
func TestScanAndPairLikeAPi4(t *testing.T) {
	root := t.TempDir()
	mk := func(node, dev, driver string) {
		devDir := filepath.Join(root, "devices", "platform", dev)
		os.MkdirAll(devDir, 0o755)
		if driver != "" {
			os.MkdirAll(filepath.Join(root, "bus", "platform", "drivers", driver), 0o755)
			os.Symlink(filepath.Join(root, "bus", "platform", "drivers", driver), filepath.Join(devDir, "driver"))
		}
		cls := filepath.Join(root, "class", "drm", node)
		os.MkdirAll(cls, 0o755)
		os.Symlink(devDir, filepath.Join(cls, "device"))
	}
	mk("card0", "fec00000.v3d", "v3d")
	mk("renderD128", "fec00000.v3d", "v3d")
	mk("card1", "gpu", "vc4-drm")
	mk("card2", "vgem", "")
	mk("renderD129", "vgem", "")
	os.MkdirAll(filepath.Join(root, "class", "drm", "card1-HDMI-A-1"), 0o755)
	gpus, err := Scan(root, "/dev/dri")
	if err != nil {
		t.Fatal(err)
	}
	if len(gpus) != 3 {
		t.Fatalf("%d gpus", len(gpus))
	}
	if gpus[0].Driver != "v3d" || gpus[0].Primary.Name != "card0" || gpus[0].Render.Path != "/dev/dri/renderD128" {
		t.Errorf("v3d: %+v", gpus[0])
	}
	if gpus[1].Driver != "vc4-drm" || gpus[1].Render != nil {
		t.Errorf("vc4: %+v", gpus[1])
	}
	if gpus[2].Driver != "vgem" {
		t.Errorf("vgem driver from the device name: %+v", gpus[2])
	}
	n, why := PairRender(gpus, gpus[1], "")
	if n == nil || n.Path != "/dev/dri/renderD128" {
		t.Fatalf("paired %v (%s), want v3d's render node", n, why)
	}
	n, why = PairRender(gpus, nil, "renderD129")
	if n == nil || n.Name != "renderD129" {
		t.Fatalf("override: %v (%s)", n, why)
	}
	if n, why := PairRender(nil, nil, ""); n != nil || why == "" {
		t.Fatalf("no nodes: %v %q", n, why)
	}
}
