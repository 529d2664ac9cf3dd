package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/scanout"
)

// infoReport is what `minicomp info` prints; --json prints it as is.
type infoReport struct {
	Devices  []deviceReport `json:"devices"`
	Heaps    []heapReport   `json:"heaps"`
	HeapsErr string         `json:"heaps_error,omitempty"`
	Decision decisionReport `json:"decision"`
}

type deviceReport struct {
	Driver  string         `json:"driver"`
	Primary string         `json:"primary,omitempty"`
	Render  string         `json:"render,omitempty"`
	Opened  string         `json:"opened_as,omitempty"` // the driver name DRM reports
	Error   string         `json:"error,omitempty"`
	KMS     bool           `json:"kms"`
	Outputs []outputReport `json:"outputs,omitempty"`
	Planes  []planeReport  `json:"planes,omitempty"`
}

type outputReport struct {
	Connector string   `json:"connector"`
	CRTC      uint32   `json:"crtc"`
	Plane     uint32   `json:"primary_plane"`
	Modes     []string `json:"modes"`
}

type planeReport struct {
	ID      uint32              `json:"id"`
	Type    string              `json:"type"`
	Formats map[string][]string `json:"formats"`
}

type heapReport struct {
	Name       string `json:"name"`
	Alias      string `json:"alias,omitempty"`
	Mode       string `json:"mode"`
	Owner      string `json:"owner"`
	Contiguous bool   `json:"contiguous"`
	Usable     bool   `json:"usable"`
	Error      string `json:"error,omitempty"`
}

type decisionReport struct {
	Display   string `json:"display,omitempty"`
	Render    string `json:"render,omitempty"`
	RenderWhy string `json:"render_why,omitempty"`
	// RenderPassed: render nodes tried and passed over, and why.
	RenderPassed []string `json:"render_passed_over,omitempty"`
	Rule         string   `json:"placement_rule,omitempty"` // which allocation order applied
	RuleWhy      string   `json:"placement_why,omitempty"`
	Size         string   `json:"size,omitempty"`
	Strategy     string   `json:"strategy,omitempty"`
	Failed       []string `json:"failed_strategies,omitempty"`
	Unavailable  []string `json:"unavailable_strategies,omitempty"`
	Path         string   `json:"path,omitempty"`
	Step         string   `json:"refused_at,omitempty"`
	Errno        string   `json:"errno,omitempty"`
	Reason       string   `json:"reason,omitempty"`
	Error        string   `json:"error,omitempty"`
}

func infoCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("info", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	heapFlag := fs.String("heap", "", "heaps to try, separated by ':'")
	renderNode := fs.String("render-node", "", "render node override")
	headlessOnly := fs.Bool("headless", false, "never open a primary node (what a headless run would do)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger("warn")
	rep := gatherInfo(heapList(*heapFlag), renderNodeFlag(*renderNode), *headlessOnly)
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printInfo(os.Stdout, rep)
	return nil
}

func gatherInfo(heapPrefs []string, renderOverride string, headlessOnly bool) *infoReport {
	rep := &infoReport{}
	gpus, err := scanout.Discover()
	if err != nil {
		rep.Decision.Error = "no DRM devices: " + err.Error()
	}
	var display *scanout.Device
	var displayGPU *scanout.GPU
	for i, g := range gpus {
		dr := deviceReport{Driver: g.Driver, Primary: g.Primary, Render: g.Render}
		node := g.Render
		if g.Primary != "" && !headlessOnly {
			node = g.Primary
		}
		if node != "" {
			d, err := scanout.OpenDevice(node)
			if err != nil {
				dr.Error = err.Error()
			} else {
				dr.Opened = d.Driver()
				dr.Driver = d.Driver() // DRM_IOCTL_VERSION: the authority
				if node == g.Primary && d.EnableKMS() == nil && d.IsKMS() {
					dr.KMS = true
					describeKMS(d, &dr)
					if display == nil && len(dr.Outputs) > 0 {
						display, displayGPU = d, &gpus[i]
					}
				}
				if display != d {
					d.Close()
				}
			}
		}
		rep.Devices = append(rep.Devices, dr)
	}
	infos, err := heap.List(heap.Dir)
	if err != nil {
		rep.HeapsErr = err.Error()
	}
	for _, h := range infos {
		hr := heapReport{Name: h.Name, Alias: h.Alias, Mode: fmt.Sprintf("%04o", uint32(h.Mode)),
			Owner: fmt.Sprintf("%d:%d", h.UID, h.GID), Contiguous: h.Contiguous(), Usable: h.Usable == nil}
		if h.Usable != nil {
			hr.Error = h.Usable.Error()
		}
		rep.Heaps = append(rep.Heaps, hr)
	}
	rep.Decision = decide(gpus, display, displayGPU, heapPrefs, renderOverride)
	display.Close()
	return rep
}

func describeKMS(d *scanout.Device, dr *deviceReport) {
	pipes, err := d.Pipelines(false)
	if err != nil {
		dr.Error = err.Error()
	}
	for _, p := range pipes {
		or := outputReport{Connector: p.ConnectorName, CRTC: p.CRTC, Plane: p.Primary.ID}
		for _, m := range p.Modes {
			s := m.String()
			if m.Preferred {
				s += " (preferred)"
			}
			or.Modes = append(or.Modes, s)
		}
		dr.Outputs = append(dr.Outputs, or)
	}
	planes, err := d.Planes()
	if err != nil {
		dr.Error = err.Error()
	}
	for _, p := range planes {
		pr := planeReport{ID: p.ID, Type: p.Type, Formats: map[string][]string{}}
		for f, mods := range p.Formats {
			for _, m := range mods {
				pr.Formats[f.String()] = append(pr.Formats[f.String()], scanout.ModifierName(m))
			}
		}
		dr.Planes = append(dr.Planes, pr)
	}
}

// decide answers the kmsro question on this machine: allocate one render
// target the way `minicomp run` would and, with a display, ask KMS (with a
// TEST_ONLY commit that changes nothing on screen) whether it scans it out.
func decide(gpus []scanout.GPU, display *scanout.Device, displayGPU *scanout.GPU, heapPrefs []string, renderOverride string) decisionReport {
	var dec decisionReport
	w, h := 1920, 1080
	var pipe *scanout.Pipeline
	if display != nil {
		dec.Display = display.String()
		pipes, err := display.Pipelines(false)
		if err == nil && len(pipes) > 0 {
			pipe = &pipes[0]
			m := pipe.PreferredMode()
			w, h = m.Width, m.Height
		}
	}
	// The render node the way `minicomp run` chooses it: by trying each.
	ch, err := scanout.ChooseRender(gpus, display, pipe, scanout.DevicesConfig{RenderNode: renderOverride,
		HeapPreference: heapPrefs, Logger: slog.New(slog.DiscardHandler)})
	dec.RenderWhy = ch.Reason
	for _, t := range ch.Passed {
		dec.RenderPassed = append(dec.RenderPassed, t.Name+": "+oneLine(t.Err))
	}
	if err != nil {
		dec.Error = err.Error()
		return dec
	}
	render := ch.Render
	if render != nil {
		dec.Render = render.String()
		defer render.Close()
	}
	pl := scanout.PlacementFor(displayGPU)
	dec.Rule, dec.RuleWhy = pl.Rule, pl.Reason
	a := scanout.NewAllocator(scanout.AllocatorConfig{Render: render, Display: display, HeapPreference: heapPrefs,
		RenderNativeFirst: pl.RenderNativeFirst, AllowCPUOnly: display == nil})
	defer a.Close()
	for _, u := range a.Unavailable {
		dec.Unavailable = append(dec.Unavailable, u.Name+": "+u.Err.Error())
	}
	dec.Size = fmt.Sprintf("%dx%d", w, h)
	b, attempts, err := a.Allocate(w, h, scanout.XRGB8888)
	for _, t := range attempts {
		dec.Failed = append(dec.Failed, t.Name+": "+t.Err.Error())
	}
	if err != nil {
		dec.Error = err.Error()
		return dec
	}
	defer b.Close()
	dec.Strategy = b.Origin
	if display == nil {
		dec.Path = "none"
		dec.Reason = "no display (headless): frames stay in the render targets"
		return dec
	}
	if pipe == nil {
		dec.Error = display.String() + ": no connected output"
		return dec
	}
	p, err := scanout.NewPresenter(display, *pipe, scanout.PresenterOptions{})
	if err != nil {
		dec.Error = err.Error()
		return dec
	}
	defer p.Close()
	v := p.Decide(b)
	dec.Path, dec.Step, dec.Reason = v.Path.String(), string(v.Step), v.Reason
	if v.Errno != 0 {
		dec.Errno = v.Errno.Error()
	}
	if v.Step == scanout.StepTest && errors.Is(v.Errno, os.ErrPermission) {
		dec.Reason += " (TEST_ONLY needs DRM master: is another compositor running?)"
	}
	return dec
}

func printInfo(w io.Writer, r *infoReport) {
	fmt.Fprintln(w, "DRM devices:")
	if len(r.Devices) == 0 {
		fmt.Fprintln(w, "  none")
	}
	for _, d := range r.Devices {
		nodes := strings.TrimSpace(d.Primary + " " + d.Render)
		kind := "render-only"
		if d.KMS && d.Render != "" {
			kind = "GPU with KMS (render + display)"
		} else if d.KMS {
			kind = "display (KMS)"
		} else if d.Render == "" {
			kind = "display?"
		}
		fmt.Fprintf(w, "  %-8s %-40s %s\n", d.Driver, nodes, kind)
		if d.Error != "" {
			fmt.Fprintf(w, "           error: %s\n", d.Error)
		}
		for _, o := range d.Outputs {
			fmt.Fprintf(w, "           output %s: CRTC %d, primary plane %d, modes %s\n", o.Connector, o.CRTC, o.Plane, strings.Join(o.Modes, ", "))
		}
		for _, p := range d.Planes {
			var fs []string
			for f, mods := range p.Formats {
				fs = append(fs, f+"("+strings.Join(mods, ",")+")")
			}
			sort.Strings(fs)
			fmt.Fprintf(w, "           plane %d %-7s %s\n", p.ID, p.Type, strings.Join(fs, " "))
		}
	}
	fmt.Fprintln(w, "DMA-BUF heaps:")
	if r.HeapsErr != "" {
		fmt.Fprintf(w, "  %s\n", r.HeapsErr)
	}
	for _, h := range r.Heaps {
		name := h.Name
		if h.Alias != "" {
			name += " -> " + h.Alias
		}
		kind := "non-contiguous"
		if h.Contiguous {
			kind = "contiguous (CMA)"
		}
		use := "usable"
		if !h.Usable {
			use = "NOT usable: " + h.Error
		}
		fmt.Fprintf(w, "  %-22s mode %s owner %-7s %-17s %s\n", name, h.Mode, h.Owner, kind, use)
	}
	d := r.Decision
	fmt.Fprintln(w, "Buffer path for a render target:")
	if d.Display != "" {
		fmt.Fprintf(w, "  display:   %s\n", d.Display)
	} else {
		fmt.Fprintln(w, "  display:   none (headless)")
	}
	fmt.Fprintf(w, "  render:    %s (%s)\n", orNone(d.Render), d.RenderWhy)
	for _, p := range d.RenderPassed {
		fmt.Fprintf(w, "  passed over: %s\n", p)
	}
	if d.Rule != "" {
		fmt.Fprintf(w, "  placement: %s (%s)\n", d.Rule, d.RuleWhy)
	}
	for _, u := range d.Unavailable {
		fmt.Fprintf(w, "  unavailable: %s\n", u)
	}
	for _, f := range d.Failed {
		fmt.Fprintf(w, "  failed:    %s\n", f)
	}
	if d.Strategy != "" {
		fmt.Fprintf(w, "  allocated: %s by %s\n", d.Size, d.Strategy)
	}
	if d.Path != "" {
		line := d.Path
		if d.Step != "" {
			line += " (refused at " + d.Step
			if d.Errno != "" {
				line += ": " + d.Errno
			}
			line += ")"
		}
		fmt.Fprintf(w, "  path:      %s\n", line)
		if d.Reason != "" {
			fmt.Fprintf(w, "  why:       %s\n", d.Reason)
		}
	}
	if d.Error != "" {
		fmt.Fprintf(w, "  error:     %s\n", d.Error)
	}
}

// oneLine folds a joined error onto one line.
func oneLine(err error) string { return strings.ReplaceAll(err.Error(), "\n", "; ") }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
