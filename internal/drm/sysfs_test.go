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

// A fake sysfs shaped like the rig's x86_64 guest with virtio-gpu and like a
// Raspberry Pi 5: virtio-gpu's DRM device hangs off the PCI function (driver
// virtio-pci) and its DRM driver is bound to the virtio child device;
// BCM2712's display sits behind an IOMMU (iommu_group), v3d does not.
func TestScanDRMDriverAndIOMMU(t *testing.T) {
	root := t.TempDir()
	link := func(target, name string) {
		os.MkdirAll(filepath.Dir(name), 0o755)
		os.MkdirAll(target, 0o755)
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	node := func(node, devDir string) {
		cls := filepath.Join(root, "class", "drm", node)
		os.MkdirAll(cls, 0o755)
		link(devDir, filepath.Join(cls, "device"))
	}
	pci := filepath.Join(root, "devices", "pci0000:00", "0000:00:02.0")
	link(filepath.Join(root, "bus", "pci", "drivers", "virtio-pci"), filepath.Join(pci, "driver"))
	link(filepath.Join(root, "bus", "virtio", "drivers", "virtio_gpu"), filepath.Join(pci, "virtio0", "driver"))
	node("card2", pci)
	node("renderD129", pci)

	hvs := filepath.Join(root, "devices", "platform", "axi", "1000120000.pcie", "1f00000000.display")
	link(filepath.Join(root, "bus", "platform", "drivers", "vc4-drm"), filepath.Join(hvs, "driver"))
	link(filepath.Join(root, "kernel", "iommu_groups", "3"), filepath.Join(hvs, "iommu_group"))
	node("card1", hvs)
	v3d := filepath.Join(root, "devices", "platform", "axi", "1002000000.v3d")
	link(filepath.Join(root, "bus", "platform", "drivers", "v3d"), filepath.Join(v3d, "driver"))
	node("card0", v3d)
	node("renderD128", v3d)

	gpus, err := Scan(root, "/dev/dri")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*GPU{}
	for _, g := range gpus {
		got[g.Driver] = g
	}
	if g := got["virtio_gpu"]; g == nil || g.Render == nil || g.Render.Driver != "virtio_gpu" || g.IOMMU {
		t.Errorf("virtio-gpu: want driver virtio_gpu (the DRM driver, not the PCI function's), no IOMMU; got %+v", gpus)
	}
	if g := got["vc4-drm"]; g == nil || !g.IOMMU {
		t.Errorf("Pi 5 display: want IOMMU; got %+v", g)
	}
	if g := got["v3d"]; g == nil || g.IOMMU {
		t.Errorf("v3d: want no IOMMU; got %+v", g)
	}
}
