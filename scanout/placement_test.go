package scanout

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// fakeSysfs builds /sys/class/drm for a Pi: vc4 (display only) and v3d
// (card + render node); iommu puts the display behind an IOMMU (Pi 5).
func fakeSysfs(t *testing.T, iommu bool) string {
	t.Helper()
	root := t.TempDir()
	link := func(target, name string) {
		os.MkdirAll(filepath.Dir(name), 0o755)
		os.MkdirAll(target, 0o755)
		if err := os.Symlink(target, name); err != nil {
			t.Fatal(err)
		}
	}
	dev := func(name, driver string, nodes ...string) {
		d := filepath.Join(root, "devices", "platform", "axi", name)
		link(filepath.Join(root, "bus", "platform", "drivers", driver), filepath.Join(d, "driver"))
		if iommu && driver == "vc4-drm" {
			link(filepath.Join(root, "kernel", "iommu_groups", "3"), filepath.Join(d, "iommu_group"))
		}
		for _, n := range nodes {
			link(d, filepath.Join(root, "class", "drm", n, "device"))
		}
	}
	dev("1002000000.v3d", "v3d", "card0", "renderD128")
	dev("gpu", "vc4-drm", "card1")
	return root
}

// Pi 5 (display behind an IOMMU): render-native first, CMA kept; Pi 4
// (no IOMMU): CMA first. Headless: the default order.
func TestPlacementFollowsIOMMU(t *testing.T) {
	for _, c := range []struct {
		iommu bool
		rule  string
	}{{true, RuleRenderNativeFirst}, {false, RuleCMAFirst}} {
		gpus, err := DiscoverIn(fakeSysfs(t, c.iommu), "/dev/dri")
		if err != nil {
			t.Fatal(err)
		}
		var vc4 *GPU
		for i := range gpus {
			if gpus[i].Driver == "vc4-drm" {
				vc4 = &gpus[i]
			}
			if gpus[i].Driver == "v3d" && gpus[i].IOMMU {
				t.Errorf("v3d reported behind an IOMMU")
			}
		}
		if vc4 == nil || vc4.IOMMU != c.iommu {
			t.Fatalf("iommu %v: display %+v", c.iommu, vc4)
		}
		pl := PlacementFor(vc4)
		if pl.Rule != c.rule || pl.RenderNativeFirst != c.iommu || !strings.Contains(pl.Reason, "IOMMU") {
			t.Errorf("iommu %v: %+v, want rule %s", c.iommu, pl, c.rule)
		}
		t.Logf("iommu %v: %s: %s", c.iommu, pl.Rule, pl.Reason)
	}
	if pl := PlacementFor(nil); pl.RenderNativeFirst || pl.Rule != RuleCMAFirst {
		t.Errorf("headless: %+v", pl)
	}
}

// In the rig (no IOMMU anywhere): CMA first, and RenderNativeFirst puts
// the render-native strategy at the head of the chain (vgem has no native
// allocator: EACCES, then the contiguous heap).
func TestRigPlacementCMAFirst(t *testing.T) {
	rigtest.Require(t)
	devs, err := OpenDevices(DevicesConfig{Display: true, Logger: quietLog()})
	if err != nil {
		t.Fatal(err)
	}
	defer devs.Close()
	if devs.Placement.Rule != RuleCMAFirst || devs.Placement.RenderNativeFirst {
		t.Fatalf("rig display: %+v, want %s", devs.Placement, RuleCMAFirst)
	}
	t.Logf("%s: %s", devs.Placement.Rule, devs.Placement.Reason)
	for _, first := range []bool{false, true} {
		a := NewAllocator(AllocatorConfig{Render: devs.Render, Display: devs.Display, RenderNativeFirst: first, Logger: quietLog()})
		names := []string{}
		for _, s := range a.Strategies {
			names = append(names, s.Name())
		}
		if got := strings.HasPrefix(names[0], "render-native"); got != first {
			t.Errorf("RenderNativeFirst %v: order %v", first, names)
		}
		b, tried, err := a.Allocate(640, 480, XRGB8888)
		if err != nil || !strings.HasPrefix(b.Origin, "heap ") {
			t.Fatalf("RenderNativeFirst %v: %v %v", first, b, err)
		}
		if first && (len(tried) == 0 || !strings.HasPrefix(tried[0].Name, "render-native")) {
			t.Errorf("render-native was not tried first: %v", tried)
		}
		b.Close()
		a.Close()
	}
}
