package scanout

import (
	"github.com/minicomp/minicomp/internal/drm"
)

// GPU is one DRM device found in sysfs, with its nodes. Discovery never
// opens a node.
type GPU struct {
	Driver  string // from sysfs: the bound driver, else the device's name
	SysPath string
	Primary string // /dev/dri/cardN, "" if none
	Render  string // /dev/dri/renderDN, "" if none (vc4, vkms, pl111)
	gpu     *drm.GPU
}

// Discover lists the DRM devices in /sys/class/drm.
func Discover() ([]GPU, error) { return DiscoverIn("/sys", "/dev/dri") }

// DiscoverIn is Discover with other sysfs and device roots (for tests).
func DiscoverIn(sysRoot, devDir string) ([]GPU, error) {
	gs, err := drm.Scan(sysRoot, devDir)
	if err != nil {
		return nil, err
	}
	out := make([]GPU, len(gs))
	for i, g := range gs {
		out[i] = GPU{Driver: g.Driver, SysPath: g.SysPath, gpu: g}
		if g.Primary != nil {
			out[i].Primary = g.Primary.Path
		}
		if g.Render != nil {
			out[i].Render = g.Render.Path
		}
	}
	return out, nil
}

// PairRender picks the render node to use with display (nil in headless
// mode) and says why: an override (a node path or name, from a flag or
// $MINICOMP_RENDER_NODE) wins; then the display's own render node; then a
// render-only GPU in kmsro's order (v3d first); then the first one.
func PairRender(gpus []GPU, display *GPU, override string) (path, reason string) {
	gs := make([]*drm.GPU, len(gpus))
	for i := range gpus {
		gs[i] = gpus[i].gpu
	}
	var d *drm.GPU
	if display != nil {
		d = display.gpu
	}
	n, why := drm.PairRender(gs, d, override)
	if n == nil {
		return "", why
	}
	return n.Path, why
}
