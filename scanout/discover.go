package scanout

import (
	"errors"
	"fmt"

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

// ErrNoDisplay means no KMS device with a connected screen was found.
var ErrNoDisplay = errors.New("no KMS display with a connected screen")

// OpenDisplay opens the first primary node among gpus (only path, when not
// empty) that is a KMS device with a connected screen, turns on atomic
// modesetting, and returns it with its GPU and pipelines. When none
// qualifies the error wraps ErrNoDisplay and says why each was passed over
// (a primary node that cannot be opened without a seat, a render-only GPU).
func OpenDisplay(gpus []GPU, path string) (*Device, *GPU, []Pipeline, error) {
	var reasons []error
	for i := range gpus {
		g := &gpus[i]
		if g.Primary == "" || (path != "" && g.Primary != path) {
			continue
		}
		d, err := OpenDevice(g.Primary)
		if err != nil {
			reasons = append(reasons, err)
			continue
		}
		if err := d.EnableKMS(); err != nil || !d.IsKMS() {
			reasons = append(reasons, fmt.Errorf("%s: not a KMS display", d))
			d.Close()
			continue
		}
		pipes, err := d.Pipelines(false)
		if err != nil || len(pipes) == 0 {
			reasons = append(reasons, fmt.Errorf("%s: no connected connector", d))
			d.Close()
			continue
		}
		return d, g, pipes, nil
	}
	return nil, nil, nil, fmt.Errorf("%w: %w", ErrNoDisplay, errors.Join(reasons...))
}
