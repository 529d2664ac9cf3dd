package drm

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// NodeKind tells a primary node (cardN, modesetting and master) from a
// render node (renderDN, rendering only, openable without a seat).
type NodeKind int

// Node kinds.
const (
	PrimaryNode NodeKind = iota
	RenderNode
)

func (k NodeKind) String() string {
	if k == RenderNode {
		return "render"
	}
	return "primary"
}

// Node is one /dev/dri node as sysfs describes it.
type Node struct {
	Name   string // "card0", "renderD128"
	Path   string // "/dev/dri/card0"
	Kind   NodeKind
	Driver string // driver name from sysfs; see GPU.Driver
}

// GPU is one DRM device with its nodes, grouped by sysfs parent device.
// Display-only devices (vc4 on Pi 4/5, vkms, pl111) have no render node;
// render-only ones (v3d) have a primary node without KMS resources.
type GPU struct {
	SysPath string // resolved sysfs path of the parent device
	// Driver is the DRM driver's name: what DRM_IOCTL_VERSION reports
	// (vc4, pl111, virtio_gpu) when one of the device's nodes opens
	// (the render node first: it needs no seat); else sysfs' name for
	// it: the driver bound to the parent device (or, for virtio-gpu,
	// whose parent is the PCI function bound to virtio-pci, to its
	// virtio child), else the device's name.
	Driver string
	// SysfsDriver is sysfs' name when it differs from Driver (vc4-drm,
	// drm-clcd-pl111).
	SysfsDriver string
	// IOMMU: the parent device is behind an IOMMU (it has an
	// iommu_group), so it can scan out buffers whose pages are not
	// physically contiguous (the Pi 5's display; not the Pi 4's).
	IOMMU   bool
	Primary *Node
	Render  *Node
}

// Scan lists DRM devices from sysfs (sysRoot is "/sys" outside tests). It
// opens a node of each device only to ask its driver's name, and never
// keeps one open. The order is stable: by primary minor.
func Scan(sysRoot, devDir string) ([]*GPU, error) {
	classDir := filepath.Join(sysRoot, "class", "drm")
	entries, err := os.ReadDir(classDir)
	if err != nil {
		return nil, err
	}
	byDev := map[string]*GPU{}
	var order []string
	for _, e := range entries {
		name := e.Name()
		var kind NodeKind
		switch {
		case strings.HasPrefix(name, "renderD") && isDigits(name[len("renderD"):]):
			kind = RenderNode
		case strings.HasPrefix(name, "card") && isDigits(name[len("card"):]):
			kind = PrimaryNode
		default:
			continue // connectors (card0-HDMI-A-1), version, ttm
		}
		devLink := filepath.Join(classDir, name, "device")
		sysPath, err := filepath.EvalSymlinks(devLink)
		if err != nil {
			sysPath = filepath.Join(classDir, name) // a device with no parent
		}
		g := byDev[sysPath]
		if g == nil {
			g = &GPU{SysPath: sysPath, Driver: driverName(devLink, sysPath), IOMMU: exists(filepath.Join(devLink, "iommu_group"))}
			byDev[sysPath] = g
			order = append(order, sysPath)
		}
		n := &Node{Name: name, Path: filepath.Join(devDir, name), Kind: kind, Driver: g.Driver}
		if kind == RenderNode {
			g.Render = n
		} else {
			g.Primary = n
		}
	}
	gpus := make([]*GPU, 0, len(order))
	for _, p := range order {
		g := byDev[p]
		if name := versionName(classDir, g.Render, g.Primary); name != "" && name != g.Driver {
			g.SysfsDriver, g.Driver = g.Driver, name
			for _, n := range []*Node{g.Primary, g.Render} {
				if n != nil {
					n.Driver = name
				}
			}
		}
		gpus = append(gpus, g)
	}
	sort.SliceStable(gpus, func(i, j int) bool { return nodeMinor(gpus[i]) < nodeMinor(gpus[j]) })
	return gpus, nil
}

func nodeMinor(g *GPU) int {
	n := g.Primary
	if n == nil {
		n = g.Render
	}
	name := strings.TrimPrefix(strings.TrimPrefix(n.Name, "renderD"), "card")
	v, _ := strconv.Atoi(name)
	if n.Kind == RenderNode {
		v += 1 << 16
	}
	return v
}

// versionName asks DRM_IOCTL_VERSION for the driver's name on the first of
// nodes that opens (a render node needs no seat; a primary node may not
// open without one) and is the device sysfs describes (its major:minor
// matches sysfs' dev file, so a fake sysfs never opens real nodes). ""
// when none does.
func versionName(classDir string, nodes ...*Node) string {
	for _, n := range nodes {
		if n == nil {
			continue
		}
		want, err := os.ReadFile(filepath.Join(classDir, n.Name, "dev"))
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Stat(n.Path, &st) != nil || fmt.Sprintf("%d:%d", unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev))) != strings.TrimSpace(string(want)) {
			continue
		}
		d, err := Open(n.Path)
		if err != nil {
			continue
		}
		v, err := d.Version()
		d.Close()
		if err == nil && v.Name != "" {
			return v.Name
		}
	}
	return ""
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func driverName(devLink, sysPath string) string {
	if t, err := os.Readlink(filepath.Join(devLink, "driver")); err == nil {
		d := filepath.Base(t)
		if d == "virtio-pci" || d == "virtio-mmio" {
			// virtio-gpu registers its DRM device on the transport
			// (the PCI function or MMIO region, for DMA); the DRM
			// driver is bound to the virtio device below it.
			if ts, _ := filepath.Glob(filepath.Join(devLink, "virtio*", "driver")); len(ts) > 0 {
				if t, err := os.Readlink(ts[0]); err == nil {
					return filepath.Base(t)
				}
			}
		}
		return d
	}
	if b, err := os.ReadFile(filepath.Join(devLink, "uevent")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "DRIVER="); ok && v != "" {
				return v
			}
		}
	}
	// Virtual devices (vkms, vgem) are bare platform or faux devices
	// named after their driver: "vkms", "vgem", "vgem.0".
	base := filepath.Base(sysPath)
	if i := strings.IndexByte(base, '.'); i > 0 {
		base = base[:i]
	}
	return base
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RenderOnlyDrivers are GPUs that render but do not display, in the order
// a display-only device prefers to pair with them (kmsro's list, plus vgem,
// the kernel's stand-in used in tests).
var RenderOnlyDrivers = []string{"v3d", "etnaviv", "panfrost", "lima", "msm", "vgem"}

// PairRender picks the render node to use with display (which may be nil in
// headless mode) and says why. override, when non-empty, is a node path or
// name that wins if it exists.
func PairRender(gpus []*GPU, display *GPU, override string) (*Node, string) {
	var renders []*Node
	for _, g := range gpus {
		if g.Render != nil {
			renders = append(renders, g.Render)
		}
	}
	if override != "" {
		for _, n := range renders {
			if n.Path == override || n.Name == override {
				return n, "chosen by override " + override
			}
		}
	}
	if len(renders) == 0 {
		return nil, "no render node in /dev/dri"
	}
	if display != nil && display.Render != nil {
		return display.Render, "render node of the display device itself"
	}
	for _, want := range RenderOnlyDrivers {
		for _, n := range renders {
			if n.Driver == want {
				return n, "render-only GPU " + want + " pairs with the display (kmsro order)"
			}
		}
	}
	return renders[0], "first render node"
}
