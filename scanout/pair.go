package scanout

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
)

// Choosing the render device by trying: a render node is only worth pairing
// with the display if the buffer path works through it. virtio-gpu's render
// node, for one, imports only its own buffers (PRIME_FD_TO_HANDLE of a heap
// dma-buf: ENODEV) and refuses dumb buffers (EACCES), so with vkms as the
// display every allocation strategy fails its import. ChooseRender tries
// each candidate — allocate a target the way the allocator will, import it
// into the render device, and, with a display, ask KMS with a TEST_ONLY
// commit — and keeps the first that works, else none (CPU rendering).

// RenderChoice is the outcome of ChooseRender.
type RenderChoice struct {
	// Render is the chosen render device (nil: none, CPU rendering).
	Render *Device
	// Reason says why it was chosen and how the probe went.
	Reason string
	// Passed lists the render nodes tried and passed over, and why (Name
	// is "renderD129 (virtio_gpu)").
	Passed []Attempt
}

// ChooseRender opens the render node to use with display (nil: headless)
// by trying candidates in pairing order (PairRender's pick first, then
// the other render nodes in discovery order): the first whose
// render target allocates, imports into it and (with a display) passes an
// atomic TEST_ONLY commit on pipe is kept; one that only works through
// the blit path is kept when no later one scans out directly. When none
// works it returns no render device (CPU rendering) and says why. An
// override (cfg.RenderNode) is the only candidate: when it cannot work the
// error (a *RenderError) says what failed and what to try.
func ChooseRender(gpus []GPU, display *Device, pipe *Pipeline, cfg DevicesConfig) (RenderChoice, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.Default()
	}
	if cfg.RenderNode == NoRender {
		return RenderChoice{Reason: "no render device (" + NoRender + " asked for)"}, nil
	}
	first, why := PairRender(gpus, gpuOf(gpus, display), cfg.RenderNode)
	explicit := cfg.RenderNode != ""
	if explicit && !strings.HasPrefix(why, "chosen by override") {
		return RenderChoice{Reason: why}, fmt.Errorf("render node %q: %w (render nodes found: %s)", cfg.RenderNode, os.ErrNotExist, renderNodes(gpus))
	}
	if first == "" {
		return RenderChoice{Reason: why}, nil
	}
	pl := PlacementFor(nil)
	if display != nil {
		pl = PlacementFor(gpuOf(gpus, display))
	}
	cands := []string{first}
	if !explicit {
		for _, g := range gpus {
			if g.Render != "" && g.Render != first {
				cands = append(cands, g.Render)
			}
		}
	}
	var ch RenderChoice
	var blit *Device // the first candidate that works only through the blit path
	var blitWhy string
	for i, path := range cands {
		d, err := OpenDevice(path)
		name := path + " (" + driverOf(gpus, path) + ")"
		if err != nil {
			ch.Passed = append(ch.Passed, Attempt{Name: name, Err: err})
			log.Warn("render node passed over", "render", name, "err", err)
			continue
		}
		name = nodeName(path) + " (" + d.Driver() + ")"
		how, direct, err := probeRender(display, d, pipe, pl, cfg)
		if err == nil && hostRendered(d.Driver()) && !(direct && ownDisplay(gpus, display, path)) {
			err = fmt.Errorf("%w (probe: %s)", ErrHostRendered, how)
		}
		if err != nil {
			d.Close()
			ch.Passed = append(ch.Passed, Attempt{Name: name, Err: err})
			log.Warn("render node passed over: no render target works through it", "render", name, "err", err)
			continue
		}
		reason := why
		if i > 0 {
			reason = "the first render node that works"
		}
		reason += "; probe: " + how
		if direct || display == nil {
			blit.Close()
			ch.Render, ch.Reason = d, reason
			return ch, nil
		}
		if blit == nil {
			blit, blitWhy = d, reason
		} else {
			d.Close()
		}
	}
	if blit != nil {
		ch.Render, ch.Reason = blit, blitWhy+" (no render node gives direct scanout)"
		return ch, nil
	}
	if explicit {
		return ch, &RenderError{Render: cands[0], Display: display.String(), Tried: ch.Passed, Others: otherRenders(gpus, cands[0])}
	}
	ch.Reason = "no render node works" + withDisplay(display) + ": CPU rendering (" + joinAttempts(ch.Passed) + ")"
	log.Warn("no render node works: CPU rendering", "display", display.String(), "tried", len(ch.Passed))
	return ch, nil
}

// ErrHostRendered says why a virtio-gpu render node is used only with its
// own display scanning out directly.
var ErrHostRendered = errors.New("virtio-gpu (virgl) renders in the host's GL, so its buffers' guest pages are stale for a CPU copy (blit, screencopy) or another device; it is used only when its own display scans its targets out directly")

// hostRendered reports whether driver renders outside the guest's view of
// its buffers (virgl: in the host's GL, guest pages change only through
// transfers).
func hostRendered(driver string) bool { return driver == "virtio_gpu" }

// ownDisplay reports whether display is the KMS side of the render node at
// path (the single-device shape).
func ownDisplay(gpus []GPU, display *Device, path string) bool {
	g := gpuOf(gpus, display)
	return display != nil && g != nil && g.Render == path
}

// probeRender allocates one render target the way the allocator will,
// imports it into render and, with a display, tests it on pipe. It says
// which strategy made it and which path it takes.
func probeRender(display, render *Device, pipe *Pipeline, pl Placement, cfg DevicesConfig) (how string, direct bool, err error) {
	quiet := slog.New(slog.DiscardHandler)
	a := NewAllocator(AllocatorConfig{Render: render, Display: display, HeapPreference: cfg.HeapPreference, Logger: quiet,
		RenderNativeFirst: pl.RenderNativeFirst})
	defer a.Close()
	w, h := 640, 480
	if pipe != nil {
		m := pipe.PreferredMode()
		w, h = m.Width, m.Height
	}
	b, _, err := a.Allocate(w, h, XRGB8888)
	if err != nil {
		return "", false, err
	}
	defer b.Close()
	how = fmt.Sprintf("%dx%d target by %s imports", w, h, b.Origin)
	if display == nil || pipe == nil {
		return how, false, nil
	}
	p, err := NewPresenter(display, *pipe, PresenterOptions{Logger: quiet})
	if err != nil {
		return "", false, err
	}
	defer p.Close()
	v := p.Decide(b)
	return how + ", " + v.String(), v.Path == PathDirect, nil
}

// RenderError says why an explicitly asked-for render node cannot work.
type RenderError struct {
	Render  string    // the node asked for
	Display string    // the display ("none" when headless)
	Tried   []Attempt // what failed (one: the node itself)
	Others  []string  // other render nodes here, "renderD128 (vgem)"
}

func (e *RenderError) Error() string {
	try := "ask for " + NoRender + " (CPU rendering)"
	if len(e.Others) > 0 {
		try = "ask for another render node (" + strings.Join(e.Others, ", ") + ") or " + NoRender + " (CPU rendering)"
	}
	return fmt.Sprintf("render node %s cannot work with display %s: %s. Try: %s, or leave the render node unset so one that works is chosen.",
		e.Render, e.Display, joinAttempts(e.Tried), try)
}

// Unwrap returns the failures, for errors.Is (unix.ENODEV, os.ErrPermission).
func (e *RenderError) Unwrap() []error {
	var errs []error
	for _, t := range e.Tried {
		errs = append(errs, t.Err)
	}
	return errs
}

// joinAttempts joins attempts on one line: "a: err; b: err".
func joinAttempts(as []Attempt) string {
	var s []string
	for _, a := range as {
		s = append(s, a.Name+": "+oneLine(a.Err))
	}
	return strings.Join(s, "; ")
}

// oneLine folds a joined error onto one line.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func otherRenders(gpus []GPU, not string) []string {
	var out []string
	for _, g := range gpus {
		if g.Render != "" && g.Render != not {
			out = append(out, nodeName(g.Render)+" ("+g.Driver+")")
		}
	}
	return out
}

func driverOf(gpus []GPU, node string) string {
	for _, g := range gpus {
		if g.Render == node || g.Primary == node {
			return g.Driver
		}
	}
	return "?"
}

func nodeName(path string) string { return path[strings.LastIndexByte(path, '/')+1:] }

func withDisplay(d *Device) string {
	if d == nil {
		return " (headless)"
	}
	return " with display " + d.String()
}
