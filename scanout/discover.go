package scanout

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/drm"
)

// GPU is one DRM device found in sysfs, with its nodes. Discovery opens a
// node only to ask the driver's name, and keeps none open.
type GPU struct {
	// Driver is the DRM driver's name (DRM_IOCTL_VERSION: vc4, pl111,
	// virtio_gpu) when a node opens, else sysfs' (vc4-drm).
	Driver  string
	SysPath string
	Primary string // /dev/dri/cardN, "" if none
	Render  string // /dev/dri/renderDN, "" if none (vc4, vkms, pl111)
	// IOMMU: the device sits behind an IOMMU (sysfs iommu_group), so as
	// a display it can scan out non-contiguous memory (Pi 5, not Pi 4).
	IOMMU bool
	gpu   *drm.GPU
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
		out[i] = GPU{Driver: g.Driver, SysPath: g.SysPath, IOMMU: g.IOMMU, gpu: g}
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

// ErrNoDisplay means there is no display to drive: no KMS device with a
// connected screen here; no X server or parent Wayland compositor for the
// window backends (backend.ErrNoDisplay is the same error).
var ErrNoDisplay = errors.New("no display")

// OpenDisplay opens the first primary node among gpus (only path, when not
// empty) that is a KMS device with a connected screen, turns on atomic
// modesetting, and returns it with its GPU and pipelines. When none
// qualifies the error wraps ErrNoDisplay and says why each was passed over
// (a primary node that cannot be opened without a seat, a render-only GPU).
func OpenDisplay(gpus []GPU, path string) (*Device, *GPU, []Pipeline, error) {
	return openDisplay(gpus, path, nil)
}

// openDisplay is OpenDisplay opening the primary nodes with open (nil:
// OpenDevice).
func openDisplay(gpus []GPU, path string, open func(string) (*os.File, error)) (*Device, *GPU, []Pipeline, error) {
	var reasons []error
	for i := range gpus {
		g := &gpus[i]
		if g.Primary == "" || (path != "" && g.Primary != path) {
			continue
		}
		d, err := openPrimary(g.Primary, open)
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
	if path != "" {
		// Asked for by name: one paragraph saying what failed and what to try.
		var others []string
		for _, g := range gpus {
			if g.Primary != "" && g.Primary != path {
				others = append(others, g.Primary+" ("+g.Driver+")")
			}
		}
		why := "it is not a DRM primary node here"
		if len(reasons) > 0 {
			why = oneLine(errors.Join(reasons...))
		}
		try := "no other primary node exists; run headless"
		if len(others) > 0 {
			try = "another primary node (" + strings.Join(others, ", ") + ")"
		}
		return nil, nil, nil, &paragraphError{msg: fmt.Sprintf("%v: display %s cannot be used: %s. Try: %s, or leave the display unset to use the first KMS device with a connected screen.",
			ErrNoDisplay, path, why, try), errs: append([]error{ErrNoDisplay}, reasons...)}
	}
	if len(reasons) == 0 {
		return nil, nil, nil, fmt.Errorf("%w: no DRM primary node (no KMS device) on this machine", ErrNoDisplay)
	}
	return nil, nil, nil, fmt.Errorf("%w: no KMS device with a connected screen: %w", ErrNoDisplay, errors.Join(reasons...))
}

// openPrimary opens a primary node with open (a seat's OpenDevice), or
// directly when open is nil.
func openPrimary(path string, open func(string) (*os.File, error)) (*Device, error) {
	if open == nil {
		return OpenDevice(path)
	}
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	return NewDevice(f)
}

// gpuOf returns the GPU among gpus one of whose nodes is dev (matched by
// device number, so a device opened from a seat's fd is found too).
func gpuOf(gpus []GPU, dev *Device) *GPU {
	if dev == nil {
		return nil
	}
	rdev, err := dev.Rdev()
	if err != nil {
		return nil
	}
	for i := range gpus {
		for _, n := range []string{gpus[i].Primary, gpus[i].Render} {
			var st unix.Stat_t
			if n != "" && unix.Stat(n, &st) == nil && uint64(st.Rdev) == rdev {
				return &gpus[i]
			}
		}
	}
	return nil
}

// NoRender is the render-node override that asks for no render device
// (CPU rendering only).
const NoRender = "none"

// OpenRender chooses and opens the render node for a display the caller
// opened itself (a seat's fd through NewDevice; nil: headless), the way
// OpenDevices does: by trying candidates (ChooseRender), with the TEST_ONLY
// probe on the display's first connected pipeline. It turns on the
// display's atomic modesetting (EnableKMS) for that. A display with no
// connected pipeline is probed by allocation and import alone.
// cfg.RenderNode, HeapPreference and Logger apply; the other fields are
// ignored.
func OpenRender(gpus []GPU, display *Device, cfg DevicesConfig) (RenderChoice, error) {
	var pipe *Pipeline
	if display != nil {
		if err := display.EnableKMS(); err != nil {
			return RenderChoice{}, err
		}
		pipes, err := display.Pipelines(false)
		if err != nil {
			return RenderChoice{}, fmt.Errorf("%s: pipelines: %w", display, err)
		}
		if len(pipes) > 0 {
			pipe = &pipes[0]
		}
	}
	return ChooseRender(gpus, display, pipe, cfg)
}

func renderNodes(gpus []GPU) string {
	var out []string
	for _, g := range gpus {
		if g.Render != "" {
			out = append(out, g.Render+" ("+g.Driver+")")
		}
	}
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ", ")
}

// Devices are the DRM devices one compositor's buffer path uses, resolved
// once and handed to the allocator, the backend, the renderer and the
// Wayland server alike.
type Devices struct {
	// Display is the KMS device (a primary node), nil in headless and
	// window modes: then no primary node is ever opened.
	Display *Device
	// Render is the GPU's render node, the device render targets are
	// imported into and the renderer draws with; nil when there is none
	// (CPU rendering).
	Render *Device
	// RenderReason says why Render was chosen, or why there is none.
	RenderReason string
	// RenderPassed lists render nodes tried and passed over, and why.
	RenderPassed []Attempt
	// Placement is the allocation order the display calls for (give its
	// RenderNativeFirst to AllocatorConfig).
	Placement Placement
}

// DevicesConfig says how to find the Devices.
type DevicesConfig struct {
	// Display: open a KMS display. DisplayPath picks its primary node
	// ("": the first KMS device with a connected screen).
	Display     bool
	DisplayPath string
	// RenderNode overrides the render node pairing (a path or a name
	// like "renderD128"; NoRender: none; "": automatic).
	RenderNode string
	// OpenDisplay, when set, opens the display's primary node (a seat's
	// OpenDevice: DRM master through the session, no root needed) instead
	// of opening it directly. A file it returns is the Device's (it keeps
	// a duplicate and closes the file); nodes passed over are closed.
	OpenDisplay func(path string) (*os.File, error)
	// SysRoot and DevDir are where sysfs and the device nodes are
	// ("": /sys and /dev/dri).
	SysRoot, DevDir string
	// HeapPreference is the contiguous-heap order the allocator will use
	// (nil: the default), so the render node is probed with the targets
	// it will really get.
	HeapPreference []string
	// Logger gets a warning for each render node passed over (nil:
	// slog.Default()).
	Logger *slog.Logger
}

// OpenDevices finds and opens the display (when asked for) and the render
// node paired with it, chosen by trying (ChooseRender): a render node
// through which no render target works is passed over, down to none (CPU
// rendering); one asked for by name that cannot work is an error. An
// embedder that gets device fds from a seat opens them with NewDevice and
// fills Devices itself (OpenRender chooses the render node for such a
// display by the same probe).
func OpenDevices(cfg DevicesConfig) (Devices, error) {
	sys, dev := cfg.SysRoot, cfg.DevDir
	if sys == "" {
		sys = "/sys"
	}
	if dev == "" {
		dev = "/dev/dri"
	}
	gpus, err := DiscoverIn(sys, dev)
	if err != nil && (cfg.Display || (cfg.RenderNode != "" && cfg.RenderNode != NoRender)) {
		return Devices{}, fmt.Errorf("discover DRM devices: %w", err)
	}
	if err != nil {
		return Devices{RenderReason: "no DRM devices: " + err.Error()}, nil
	}
	var d Devices
	var pipe *Pipeline
	if cfg.Display {
		var pipes []Pipeline
		if d.Display, _, pipes, err = openDisplay(gpus, cfg.DisplayPath, cfg.OpenDisplay); err != nil {
			return Devices{}, err
		}
		pipe = &pipes[0]
		d.Placement = PlacementFor(gpuOf(gpus, d.Display))
	} else {
		d.Placement = PlacementFor(nil)
	}
	ch, err := ChooseRender(gpus, d.Display, pipe, cfg)
	if err != nil {
		d.Display.Close()
		return Devices{}, err
	}
	d.Render, d.RenderReason, d.RenderPassed = ch.Render, ch.Reason, ch.Passed
	return d, nil
}

// Close closes both devices (close what uses them first).
func (d Devices) Close() error { return errors.Join(d.Render.Close(), d.Display.Close()) }

// paragraphError is an error whose message is one paragraph and which
// still matches (errors.Is, errors.As) each of errs.
type paragraphError struct {
	msg  string
	errs []error
}

func (e *paragraphError) Error() string   { return e.msg }
func (e *paragraphError) Unwrap() []error { return e.errs }

// Placement says which allocation order suits the display, and why.
type Placement struct {
	// RenderNativeFirst: allocate render targets native to the render
	// device before trying the contiguous (CMA) heap.
	RenderNativeFirst bool
	// Rule names the rule applied: "render-native-first" or "cma-first".
	Rule string
	// Reason says why.
	Reason string
}

// Placement rules.
const (
	RuleCMAFirst          = "cma-first"
	RuleRenderNativeFirst = "render-native-first"
)

// PlacementFor returns the allocation order for display (nil: headless).
// A display behind an IOMMU (sysfs iommu_group: the Pi 5's) scans out
// non-contiguous memory, so render-native targets come first and the
// scarce CMA (64 MB by default on a Pi 5) is kept for what needs it;
// otherwise (the Pi 4's HVS, pl111, vkms here) a contiguous heap comes
// first, as a display without an IOMMU needs it.
func PlacementFor(display *GPU) Placement {
	switch {
	case display == nil:
		return Placement{Rule: RuleCMAFirst, Reason: "no display: the default order (a contiguous heap first)"}
	case display.IOMMU:
		return Placement{RenderNativeFirst: true, Rule: RuleRenderNativeFirst,
			Reason: "display " + display.Driver + " is behind an IOMMU (" + display.SysPath + "/iommu_group): it scans out non-contiguous memory, so targets native to the render device come first and CMA is kept for what needs it"}
	}
	return Placement{Rule: RuleCMAFirst,
		Reason: "display " + display.Driver + " has no IOMMU (no iommu_group in sysfs): it needs physically contiguous memory, so a contiguous (CMA) heap comes first"}
}
