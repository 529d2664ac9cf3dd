package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"io"
	"log/slog"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/minicomp/minicomp/internal/dmabuf"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/scanout"
)

type benchReport struct {
	Size       string         `json:"size"`
	Format     string         `json:"format"`
	Display    string         `json:"display,omitempty"`
	Render     string         `json:"render,omitempty"`
	Iterations int            `json:"iterations"`
	Alloc      []stratResult  `json:"allocation"`
	Copy       *copyResult    `json:"copy,omitempty"`
	Flip       *flipResult    `json:"flip,omitempty"`
	Compose    *composeResult `json:"compose,omitempty"`
	GPU        string         `json:"gpu,omitempty"`
	Notes      []string       `json:"notes,omitempty"`
	Skipped    []string       `json:"unavailable_strategies,omitempty"`
}

type stratResult struct {
	Strategy       string  `json:"strategy"`
	AllocMeanUS    float64 `json:"alloc_mean_us,omitempty"`
	AllocMinUS     float64 `json:"alloc_min_us,omitempty"`
	RenderImportUS float64 `json:"render_import_us,omitempty"`
	RenderImport   string  `json:"render_import,omitempty"`
	Path           string  `json:"scanout_path,omitempty"`
	RefusedAt      string  `json:"refused_at,omitempty"`
	Errno          string  `json:"errno,omitempty"`
	DisplayImpUS   float64 `json:"display_import_us,omitempty"`
	AddFBUS        float64 `json:"addfb_us,omitempty"`
	TestOnlyUS     float64 `json:"test_only_us,omitempty"`
	Error          string  `json:"error,omitempty"`
	// The GLES renderer on the render node, with this strategy's buffer
	// as its target (and as a client buffer).
	GPUFirstUS  float64 `json:"gpu_first_frame_us,omitempty"` // target import (EGLImage) + draw + fence
	GPUFrameUS  float64 `json:"gpu_frame_us,omitempty"`       // draw + fence, mean
	GPUTarget   string  `json:"gpu_target,omitempty"`         // "EGLImage" or "offscreen + read back"
	EGLImportUS float64 `json:"egl_import_us,omitempty"`      // ImportDMABuf: a client texture
	GPUError    string  `json:"gpu_error,omitempty"`
}

type copyResult struct {
	Src          string  `json:"src"`
	Dst          string  `json:"dst"`
	Bytes        int     `json:"bytes"`
	MemmoveGBps  float64 `json:"memmove_gbps"`
	BlitGBps     float64 `json:"blit_gbps"`
	Ratio        float64 `json:"blit_over_memmove"`
	Damage256US  float64 `json:"damage_256x256_us"`
	FullUS       float64 `json:"full_frame_us"`
	DamageVsArea float64 `json:"damage_cost_over_area_share"`
	Note         string  `json:"note,omitempty"`
}

type flipResult struct {
	Frames int     `json:"frames"`
	Path   string  `json:"path"`
	MeanMS float64 `json:"interval_mean_ms"`
	StdMS  float64 `json:"interval_stddev_ms"`
	MinMS  float64 `json:"interval_min_ms"`
	MaxMS  float64 `json:"interval_max_ms"`
	Error  string  `json:"error,omitempty"`
	// IntervalsMS are the intervals themselves, in flip order.
	IntervalsMS []float64 `json:"intervals_ms,omitempty"`
}

func benchCmd(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	asJSON := fs.Bool("json", false, "print JSON")
	headlessOnly := fs.Bool("headless", false, "never open a primary node")
	size := fs.String("size", "", "render target size (default: the display's mode, else 1920x1080)")
	iters := fs.Int("iterations", 10, "allocations and copies per measurement")
	frames := fs.Int("frames", 120, "page flips to time")
	heapFlag := fs.String("heap", "", "heaps to try, separated by ':'")
	displayPath := fs.String("display", "", "KMS primary node to use (default: the first with a connected screen)")
	gpu := fs.Bool("gpu", true, "time the GLES renderer on the render node with each strategy's buffer")
	renderNode := fs.String("render-node", "", "render node override")
	report := fs.String("report", "", "also write the results as a self-contained HTML page with charts to this file")
	compose := fs.Bool("compose", true, "time CPU composition (pixman, else the pure-Go renderer) by damage size")
	if err := fs.Parse(args); err != nil {
		return err
	}
	logger("error")
	rep, err := bench(ctx, benchOptions{headless: *headlessOnly, size: *size, iters: *iters, frames: *frames,
		heaps: heapList(*heapFlag), renderNode: renderNodeFlag(*renderNode), display: *displayPath, gpu: *gpu, compose: *compose, progress: os.Stderr})
	if err != nil {
		return err
	}
	if *report != "" {
		if err := writeReportFile(*report, rep); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printBench(os.Stdout, rep)
	return nil
}

type benchOptions struct {
	headless      bool
	size          string
	iters, frames int
	heaps         []string
	renderNode    string
	display       string // primary node ("": the first with a screen)
	gpu           bool   // time the GLES renderer too
	compose       bool   // time CPU composition by damage size
	progress      io.Writer
}

func bench(ctx context.Context, o benchOptions) (*benchReport, error) {
	progress := func(format string, a ...any) { fmt.Fprintf(o.progress, "bench: "+format+"\n", a...) }
	rep := &benchReport{Iterations: o.iters, Format: scanout.XRGB8888.String()}

	gpus, _ := scanout.Discover()
	var display *scanout.Device
	var displayGPU *scanout.GPU
	var pipe scanout.Pipeline
	if !o.headless {
		var pipes []scanout.Pipeline
		var err error
		if display, displayGPU, pipes, err = scanout.OpenDisplay(gpus, o.display); err != nil {
			rep.Notes = append(rep.Notes, "display: "+err.Error())
		} else {
			pipe = pipes[0]
		}
	}
	defer display.Close()
	// The render node the way `minicomp run` chooses it: by trying each.
	var pp *scanout.Pipeline
	if display != nil {
		pp = &pipe
	}
	ch, err := scanout.ChooseRender(gpus, display, pp, scanout.DevicesConfig{RenderNode: o.renderNode, HeapPreference: o.heaps,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return nil, err
	}
	for _, t := range ch.Passed {
		rep.Notes = append(rep.Notes, "render node passed over: "+t.Name+": "+oneLine(t.Err))
	}
	render := ch.Render
	if render != nil {
		rep.Render = render.String()
		defer render.Close()
	}
	pl := scanout.PlacementFor(displayGPU)
	w, h := 1920, 1080
	if display != nil {
		rep.Display = display.String()
		m := pipe.PreferredMode()
		w, h = m.Width, m.Height
	}
	if o.size != "" {
		if _, err := fmt.Sscanf(o.size, "%dx%d", &w, &h); err != nil {
			return nil, fmt.Errorf("--size %q: want WIDTHxHEIGHT", o.size)
		}
	}
	rep.Size = fmt.Sprintf("%dx%d", w, h)
	a := scanout.NewAllocator(scanout.AllocatorConfig{Render: render, Display: display, HeapPreference: o.heaps,
		RenderNativeFirst: pl.RenderNativeFirst, AllowCPUOnly: true})
	defer a.Close()
	for _, u := range a.Unavailable {
		rep.Skipped = append(rep.Skipped, u.Name+": "+u.Err.Error())
	}
	// Buffers are closed after the Presenter (defers run last-first): a
	// buffer must not go while its framebuffer is on screen.
	var keep []*scanout.Buffer // one buffer per working strategy, for the later steps
	var keepStrat []scanout.Strategy
	defer func() {
		for _, b := range keep {
			b.Close()
		}
	}()
	var presenter *scanout.Presenter
	if display != nil {
		var err error
		if presenter, err = scanout.NewPresenter(display, pipe, scanout.PresenterOptions{}); err != nil {
			rep.Notes = append(rep.Notes, "presenter: "+err.Error())
		} else {
			defer presenter.Close()
		}
	}

	for _, s := range a.Strategies {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		progress("allocating %s %dx%d with %s ×%d", rep.Format, w, h, s.Name(), o.iters)
		r := stratResult{Strategy: s.Name()}
		var times []time.Duration
		var last *scanout.Buffer
		for i := 0; i < o.iters; i++ {
			t0 := time.Now()
			b, err := s.Allocate(w, h, scanout.XRGB8888)
			d := time.Since(t0)
			if err != nil {
				r.Error = err.Error()
				break
			}
			times = append(times, d)
			if last != nil {
				last.Close()
			}
			last = b
		}
		if last == nil {
			rep.Alloc = append(rep.Alloc, r)
			continue
		}
		r.AllocMeanUS, r.AllocMinUS = meanUS(times), minUS(times)
		if render != nil && last.IsDmabuf() {
			var its []time.Duration
			for i := 0; i < o.iters; i++ {
				t0 := time.Now()
				_, err := last.ImportInto(render)
				if err != nil {
					r.RenderImport = "refused: " + err.Error()
					break
				}
				its = append(its, time.Since(t0))
				if i < o.iters-1 {
					last.ReleaseFrom(render)
				}
			}
			if len(its) > 0 {
				r.RenderImportUS = meanUS(its)
				r.RenderImport = "ok"
			}
		}
		if presenter != nil && last.IsDmabuf() {
			progress("probing direct scanout of the %s buffer", s.Name())
			v := presenter.Decide(last)
			pt := presenter.LastProbe()
			r.Path, r.RefusedAt = v.Path.String(), string(v.Step)
			if v.Errno != 0 {
				r.Errno = v.Errno.Error()
			}
			r.DisplayImpUS, r.AddFBUS, r.TestOnlyUS = us(pt.Import), us(pt.AddFB), us(pt.Test)
		}
		rep.Alloc = append(rep.Alloc, r)
		keep = append(keep, last)
		keepStrat = append(keepStrat, s)
	}
	if o.gpu && render != nil {
		rep.GPU = benchGPU(render, keep, rep.Alloc, o.iters, progress)
	}
	if len(keep) == 1 { // a second buffer to copy into
		if b, err := keepStrat[0].Allocate(w, h, scanout.XRGB8888); err == nil {
			keep = append(keep, b)
		}
	}
	if len(keep) > 0 {
		rep.Copy = benchCopy(keep, o.iters, w, h, progress)
	}
	if o.compose {
		rep.Compose = benchCompose(w, h, o.iters, progress)
	}
	if presenter != nil && len(keep) > 0 {
		rep.Flip = benchFlip(ctx, presenter, keep, o.frames, progress)
	} else {
		rep.Notes = append(rep.Notes, "flip interval: no display (headless)")
	}
	return rep, nil
}

// benchGPU times the GLES renderer on render with each kept buffer: the
// first frame into it (the target's import as an EGLImage, or an
// offscreen texture, plus the draw and its fence), the next frames, and
// its import as a client texture (ImportDMABuf). It fills the results of
// the strategies the buffers came from and describes the renderer.
func benchGPU(render *scanout.Device, bufs []*scanout.Buffer, res []stratResult, iters int, progress func(string, ...any)) string {
	r, err := gles.New(gles.Options{Device: render.Path(), Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		return "unavailable: " + oneLine(err)
	}
	defer r.Close()
	i := r.Info()
	desc := fmt.Sprintf("%s on %s (driver %s", i.GLRenderer, render.Path(), orNone(i.Driver))
	if i.Software {
		desc += ", software"
	}
	desc += fmt.Sprintf(", dma-buf import %v, native fences %v)", i.DMABufImport, i.NativeFence)
	if !i.DMABufImport && i.NoDMABufCause != "" {
		desc += ": " + i.NoDMABufCause
	}
	frame := func(b *scanout.Buffer, n int) (time.Duration, error) {
		t0 := time.Now()
		if err := r.Begin(b, nil); err != nil {
			return 0, err
		}
		r.Clear(color.NRGBA{B: 0xff, A: 0xff})
		r.FillRect(image.Rect(n%64, 0, n%64+64, 64), color.NRGBA{R: 0xff, A: 0xff})
		fence, err := r.End()
		if fence != nil {
			err = errors.Join(err, dmabuf.WaitFence(int(fence.Fd()), 5*time.Second))
			fence.Close()
		}
		return time.Since(t0), err
	}
	for _, b := range bufs {
		k := slices.IndexFunc(res, func(s stratResult) bool { return s.Strategy == b.Origin })
		if k < 0 {
			continue
		}
		s := &res[k]
		progress("drawing into the %s buffer with %s", b.Origin, i.GLRenderer)
		first, err := frame(b, 0)
		if err != nil {
			s.GPUError = oneLine(err)
			r.Forget(b)
			continue
		}
		s.GPUFirstUS = us(first)
		s.GPUTarget = "offscreen + read back"
		var ts []time.Duration
		for n := 1; n <= max(iters, 1); n++ {
			d, err := frame(b, n)
			if err != nil {
				s.GPUError = oneLine(err)
				break
			}
			ts = append(ts, d)
		}
		if len(ts) > 0 {
			s.GPUFrameUS = meanUS(ts)
		}
		if r.Stats().EGLImages > 0 { // the only target: b's
			s.GPUTarget = "EGLImage"
		}
		r.Forget(b)
		if i.DMABufImport && b.IsDmabuf() {
			t0 := time.Now()
			tex, err := r.ImportDMABuf(b)
			if err != nil {
				s.GPUError = "client import: " + oneLine(err)
			} else {
				s.EGLImportUS = us(time.Since(t0))
				tex.Release()
			}
		}
	}
	return desc
}

// benchCopy times the fallback blit (CopyDamage, CPU access bracketed) and a
// plain memmove of the same bytes between the same two buffers, alternating
// so both see the same machine state.
func benchCopy(bufs []*scanout.Buffer, iters, w, h int, progress func(string, ...any)) *copyResult {
	src := bufs[0]
	dst := bufs[len(bufs)-1]
	for _, b := range bufs[1:] { // the blit fallback's real destination: a dumb buffer on the display
		if strings.HasPrefix(b.Origin, "kmsro-dumb") {
			dst = b
		}
	}
	if dst == src {
		return &copyResult{Src: src.Origin, Dst: "(one strategy only: no second buffer)"}
	}
	progress("copying %dx%d from %s into %s ×%d (blit and memmove alternating)", w, h, src.Origin, dst.Origin, iters)
	sm, err1 := src.Map()
	dm, err2 := dst.Map()
	if err1 != nil || err2 != nil {
		return &copyResult{Src: src.Origin, Dst: dst.Origin}
	}
	n := int(min(src.Stride, dst.Stride)) * min(src.Height, dst.Height)
	// Best-of-N per method: the machine's other load only ever adds time.
	tm, tb := time.Duration(math.MaxInt64), time.Duration(math.MaxInt64)
	iters = max(iters, 3)
	copy(dm[:n], sm[:n]) // fault both mappings in before timing
	scanout.CopyDamage(dst, src, nil)
	for i := 0; i < iters; i++ {
		t0 := time.Now()
		copy(dm[:n], sm[:n])
		tm = min(tm, time.Since(t0))
		t0 = time.Now()
		scanout.CopyDamage(dst, src, nil)
		tb = min(tb, time.Since(t0))
	}
	r := &copyResult{Src: src.Origin, Dst: dst.Origin, Bytes: n}
	if tm <= 0 || tb <= 0 {
		r.Note = "copies took less than the clock's resolution"
		return r
	}
	r.MemmoveGBps = float64(n) / tm.Seconds() / 1e9
	r.BlitGBps = float64(n) / tb.Seconds() / 1e9
	r.Ratio = r.BlitGBps / r.MemmoveGBps
	r.FullUS = us(tb)
	dmg := []image.Rectangle{image.Rect(w/2-128, h/2-128, w/2+128, h/2+128)}
	td := time.Duration(math.MaxInt64)
	for i := 0; i < iters*10; i++ {
		t0 := time.Now()
		scanout.CopyDamage(dst, src, dmg)
		td = min(td, time.Since(t0))
	}
	r.Damage256US = us(td)
	if r.FullUS == 0 {
		return r
	}
	share := float64(256*256) / float64(w*h)
	r.DamageVsArea = (r.Damage256US / r.FullUS) / share
	return r
}

func benchFlip(ctx context.Context, p *scanout.Presenter, bufs []*scanout.Buffer, frames int, progress func(string, ...any)) *flipResult {
	buf := bufs[0]
	for _, b := range bufs {
		if v, ok := b.Verdict(); ok && v.Path == scanout.PathDirect {
			buf = b
			break
		}
	}
	progress("timing %d page flips of the %s buffer", frames, buf.Origin)
	r := &flipResult{Frames: frames}
	var times []time.Duration
	for i := 0; i < frames+1; i++ {
		v, err := p.Present(scanout.Submission{Buffer: buf, Damage: []image.Rectangle{}})
		if err != nil {
			r.Error = err.Error()
			return r
		}
		r.Path = v.Path.String()
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		f, err := p.WaitFlip(wctx)
		cancel()
		if err != nil {
			r.Error = err.Error()
			return r
		}
		times = append(times, f.Time)
	}
	var iv []time.Duration
	for i := 2; i < len(times); i++ { // the first flip includes the modeset
		iv = append(iv, times[i]-times[i-1])
	}
	if len(iv) == 0 {
		return r
	}
	r.MeanMS = meanUS(iv) / 1000
	r.IntervalsMS = make([]float64, len(iv))
	var ss float64
	for i, d := range iv {
		r.IntervalsMS[i] = us(d) / 1000
		x := r.IntervalsMS[i] - r.MeanMS
		ss += x * x
	}
	r.StdMS = math.Sqrt(ss / float64(len(iv)))
	sort.Slice(iv, func(i, j int) bool { return iv[i] < iv[j] })
	r.MinMS, r.MaxMS = us(iv[0])/1000, us(iv[len(iv)-1])/1000
	return r
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func meanUS(ds []time.Duration) float64 {
	var t time.Duration
	for _, d := range ds {
		t += d
	}
	return us(t) / float64(len(ds))
}

func minUS(ds []time.Duration) float64 {
	m := ds[0]
	for _, d := range ds {
		m = min(m, d)
	}
	return us(m)
}

func printBench(w io.Writer, r *benchReport) {
	fmt.Fprintf(w, "minicomp bench: %s %s, display %s, render %s, %d iterations\n\n", r.Size, r.Format, orNone(r.Display), orNone(r.Render), r.Iterations)
	fmt.Fprintf(w, "%-22s %10s %10s %12s %-28s %10s %9s %10s\n", "strategy", "alloc µs", "min µs", "render imp µs", "scanout path", "disp imp µs", "addfb µs", "test µs")
	for _, a := range r.Alloc {
		if a.Error != "" {
			fmt.Fprintf(w, "%-22s failed: %s\n", a.Strategy, a.Error)
			continue
		}
		fmt.Fprintf(w, "%-22s %10.1f %10.1f %12s %-28s %10.1f %9.1f %10.1f\n", a.Strategy, a.AllocMeanUS, a.AllocMinUS, importCell(a), pathCell(a), a.DisplayImpUS, a.AddFBUS, a.TestOnlyUS)
	}
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "unavailable: %s\n", s)
	}
	if r.GPU != "" {
		fmt.Fprintf(w, "\ngpu: %s\n", r.GPU)
		for _, a := range r.Alloc {
			switch {
			case a.GPUTarget != "":
				imp := fmt.Sprintf("import %.0f µs", a.EGLImportUS)
				switch {
				case a.GPUError != "":
					imp = a.GPUError
				case a.EGLImportUS == 0:
					imp = "none (CPU memory)"
				}
				fmt.Fprintf(w, "  %-22s target %s: first frame %.0f µs, then %.0f µs a frame; as a client texture: %s\n",
					a.Strategy, a.GPUTarget, a.GPUFirstUS, a.GPUFrameUS, imp)
			case a.GPUError != "":
				fmt.Fprintf(w, "  %-22s %s\n", a.Strategy, a.GPUError)
			}
		}
	}
	if c := r.Copy; c != nil && c.Note != "" {
		fmt.Fprintf(w, "\ncopy %s -> %s: %s\n", c.Src, c.Dst, c.Note)
	} else if c != nil && c.Bytes > 0 {
		fmt.Fprintf(w, "\ncopy %s -> %s, %d bytes:\n", c.Src, c.Dst, c.Bytes)
		fmt.Fprintf(w, "  memmove %.2f GB/s   blit %.2f GB/s   blit/memmove %.2f\n", c.MemmoveGBps, c.BlitGBps, c.Ratio)
		fmt.Fprintf(w, "  full frame %.0f µs, 256×256 damage %.1f µs (%.2f× its area share)\n", c.FullUS, c.Damage256US, c.DamageVsArea)
	}
	if c := r.Compose; c != nil {
		if c.Error != "" {
			fmt.Fprintf(w, "\ncompose (%s): %s\n", c.Renderer, c.Error)
		} else {
			fmt.Fprintf(w, "\ncompose (%s, %d surfaces 800×600), µs a frame by damage:\n", c.Renderer, c.Surfaces)
			for _, p := range c.Points {
				fmt.Fprintf(w, "  %-12s %10d px %10.1f µs\n", p.Label(), p.Pixels, p.US)
			}
		}
	}
	if f := r.Flip; f != nil {
		if f.Error != "" {
			fmt.Fprintf(w, "\nflip: %s\n", f.Error)
		} else {
			fmt.Fprintf(w, "\nflip interval over %d frames (%s): mean %.2f ms, stddev %.2f, min %.2f, max %.2f\n", f.Frames, f.Path, f.MeanMS, f.StdMS, f.MinMS, f.MaxMS)
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
}

// writeReportFile writes the HTML report to path.
func writeReportFile(path string, rep *benchReport) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	if err := writeReport(f, rep, time.Now()); err != nil {
		f.Close()
		return fmt.Errorf("bench report %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("bench report: %w", err)
	}
	return nil
}
