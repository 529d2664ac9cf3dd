package main

import (
	"fmt"
	"html"
	"html/template"
	"io"
	"math"
	"strings"
	"time"
)

// writeReport writes r as one self-contained HTML page: tables of the
// figures `minicomp bench` prints (formatted the same way) and inline SVG
// charts of them (per-strategy latencies, blit against memmove, compose
// time by damage size, the flip-interval histogram). Nothing is loaded
// from elsewhere: no scripts, styles, fonts or images, so two machines'
// pages can be opened side by side anywhere.
func writeReport(w io.Writer, r *benchReport, generated time.Time) error {
	return reportTemplate.Execute(w, reportPage{R: r, Generated: generated.UTC().Format(time.RFC3339)})
}

type reportPage struct {
	R         *benchReport
	Generated string
}

// The figures are formatted as printBench formats them.
func f1(v float64) string { return fmt.Sprintf("%.1f", v) }
func f2(v float64) string { return fmt.Sprintf("%.2f", v) }
func f0(v float64) string { return fmt.Sprintf("%.0f", v) }

// importCell is the render-import column as printBench shows it.
func importCell(a stratResult) string {
	if a.RenderImport != "ok" {
		return orNone(a.RenderImport)
	}
	return f1(a.RenderImportUS)
}

// pathCell is the scanout-path column as printBench shows it.
func pathCell(a stratResult) string {
	path := a.Path
	if a.RefusedAt != "" {
		path += " (" + a.RefusedAt
		if a.Errno != "" {
			path += ": " + a.Errno
		}
		path += ")"
	}
	return orNone(path)
}

// Chart colours, one per series.
var palette = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#76b7b2"}

// barGroup is one label's bars, one value per series (NaN: none).
type barGroup struct {
	Label  string
	Values []float64
}

// hbars draws grouped horizontal bars, each labelled with its value.
func hbars(unit string, series []string, groups []barGroup) template.HTML {
	const labelW, barW, rowH, pad = 190, 420, 16, 6
	vmax := 0.0
	nbars := 0
	for _, g := range groups {
		for _, v := range g.Values {
			if !math.IsNaN(v) {
				vmax = max(vmax, v)
				nbars++
			}
		}
	}
	if nbars == 0 {
		return ""
	}
	if vmax <= 0 {
		vmax = 1
	}
	var b strings.Builder
	y := pad
	legendH := 0
	if len(series) > 1 {
		legendH = rowH + pad
	}
	var body strings.Builder
	for _, g := range groups {
		gy := y
		for i, v := range g.Values {
			if math.IsNaN(v) {
				continue
			}
			wd := int(math.Round(v / vmax * barW))
			fmt.Fprintf(&body, `<rect class="bar" x="%d" y="%d" width="%d" height="%d" fill="%s" data-value="%g"><title>%s %s: %s %s</title></rect>`,
				labelW, legendH+y, max(wd, 1), rowH-2, palette[i%len(palette)], v, esc(g.Label), esc(series[i]), f1(v), esc(unit))
			fmt.Fprintf(&body, `<text x="%d" y="%d" font-size="11">%s</text>`, labelW+max(wd, 1)+4, legendH+y+rowH-5, f1(v))
			y += rowH
		}
		if y == gy {
			continue
		}
		fmt.Fprintf(&body, `<text x="%d" y="%d" font-size="12" text-anchor="end">%s</text>`, labelW-6, legendH+gy+(y-gy)/2+4, esc(g.Label))
		y += pad
	}
	height := legendH + y + rowH
	fmt.Fprintf(&b, `<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, labelW+barW+70, height, labelW+barW+70, height)
	if len(series) > 1 {
		x := labelW
		for i, s := range series {
			fmt.Fprintf(&b, `<rect x="%d" y="%d" width="10" height="10" fill="%s"/><text x="%d" y="%d" font-size="11">%s</text>`,
				x, pad, palette[i%len(palette)], x+14, pad+9, esc(s))
			x += 14 + 7*len(s) + 16
		}
	}
	b.WriteString(body.String())
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, labelW, legendH, labelW, legendH+y)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" fill="#555">%s</text></svg>`, labelW, height-3, esc(unit))
	return template.HTML(b.String())
}

// histogram draws the frame intervals' histogram: 24 bins from the
// shortest to the longest interval.
func histogram(ms []float64) template.HTML {
	if len(ms) == 0 {
		return ""
	}
	const bins, w, h, left, bottom = 24, 600, 180, 40, 30
	lo, hi := ms[0], ms[0]
	for _, v := range ms {
		lo, hi = min(lo, v), max(hi, v)
	}
	if hi-lo < 0.01 {
		lo, hi = lo-0.5, hi+0.5
	}
	count := make([]int, bins)
	for _, v := range ms {
		count[min(int((v-lo)/(hi-lo)*bins), bins-1)]++
	}
	cmax := 0
	for _, c := range count {
		cmax = max(cmax, c)
	}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="chart" width="%d" height="%d" viewBox="0 0 %d %d" role="img">`, left+w+10, h+bottom, left+w+10, h+bottom)
	bw := w / bins
	for i, c := range count {
		bh := int(math.Round(float64(c) / float64(cmax) * (h - 10)))
		from := lo + (hi-lo)*float64(i)/bins
		fmt.Fprintf(&b, `<rect class="bin" x="%d" y="%d" width="%d" height="%d" fill="%s" data-count="%d"><title>%s–%s ms: %d frames</title></rect>`,
			left+i*bw, h-bh, bw-1, bh, palette[0], c, f2(from), f2(from+(hi-lo)/bins), c)
	}
	fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`, left, h, left+w, h)
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11">%s ms</text>`, left, h+14, f2(lo))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%s ms</text>`, left+w, h+14, f2(hi))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="middle">frame interval (%d frames)</text>`, left+w/2, h+26, len(ms))
	fmt.Fprintf(&b, `<text x="%d" y="%d" font-size="11" text-anchor="end">%d</text></svg>`, left-4, 14, cmax)
	return template.HTML(b.String())
}

func esc(s string) string { return html.EscapeString(s) }

// strategyChart: each strategy's latencies, one bar per step measured.
func strategyChart(r *benchReport) template.HTML {
	series := []string{"allocate", "render import", "display import", "ADDFB2", "TEST_ONLY"}
	var groups []barGroup
	for _, a := range r.Alloc {
		if a.Error != "" {
			continue
		}
		g := barGroup{Label: a.Strategy, Values: []float64{a.AllocMeanUS, math.NaN(), math.NaN(), math.NaN(), math.NaN()}}
		if a.RenderImport == "ok" {
			g.Values[1] = a.RenderImportUS
		}
		if a.Path != "" {
			g.Values[2], g.Values[3], g.Values[4] = a.DisplayImpUS, a.AddFBUS, a.TestOnlyUS
		}
		groups = append(groups, g)
	}
	return hbars("µs", series, groups)
}

func copyChart(c *copyResult) template.HTML {
	return hbars("GB/s", []string{"GB/s"}, []barGroup{{"memmove", []float64{c.MemmoveGBps}}, {"blit (CopyDamage)", []float64{c.BlitGBps}}})
}

func composeChart(c *composeResult) template.HTML {
	var groups []barGroup
	for _, p := range c.Points {
		groups = append(groups, barGroup{p.Label(), []float64{p.US}})
	}
	return hbars("µs a frame (upload + compose)", []string{"µs"}, groups)
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f0": f0, "f1": f1, "f2": f2, "orNone": orNone, "importCell": importCell, "pathCell": pathCell,
	"strategyChart": strategyChart, "copyChart": copyChart, "composeChart": composeChart, "histogram": histogram,
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>minicomp bench: {{.R.Size}} {{.R.Format}}, display {{orNone .R.Display}}</title>
<style>
body { font: 14px/1.4 sans-serif; margin: 2em; color: #222; max-width: 72em; }
table { border-collapse: collapse; margin: .5em 0 1em; }
th, td { border: 1px solid #ccc; padding: 2px 8px; }
td.v { text-align: right; font-variant-numeric: tabular-nums; }
h2 { margin-top: 1.6em; border-bottom: 1px solid #ddd; }
svg.chart { display: block; margin: .5em 0; }
.note { color: #555; }
</style></head><body>
<h1>minicomp bench</h1>
<table id="summary">
<tr><th>size</th><td id="size">{{.R.Size}}</td></tr>
<tr><th>format</th><td id="format">{{.R.Format}}</td></tr>
<tr><th>display</th><td id="display">{{orNone .R.Display}}</td></tr>
<tr><th>render node</th><td id="render">{{orNone .R.Render}}</td></tr>
<tr><th>iterations</th><td id="iterations">{{.R.Iterations}}</td></tr>
<tr><th>generated</th><td>{{.Generated}}</td></tr>
</table>

<h2>Buffer strategies</h2>
<p class="note">Per strategy: allocation (mean and best), import into the render node, and on a display the direct-scanout probe (import, ADDFB2, TEST_ONLY commit). µs.</p>
<table id="strategies">
<tr><th>strategy</th><th>alloc µs</th><th>min µs</th><th>render imp µs</th><th>scanout path</th><th>disp imp µs</th><th>addfb µs</th><th>test µs</th></tr>
{{range .R.Alloc}}{{if .Error}}<tr data-strategy="{{.Strategy}}"><td>{{.Strategy}}</td><td colspan="7" class="error">failed: {{.Error}}</td></tr>
{{else}}<tr data-strategy="{{.Strategy}}"><td>{{.Strategy}}</td><td class="v">{{f1 .AllocMeanUS}}</td><td class="v">{{f1 .AllocMinUS}}</td><td class="v">{{importCell .}}</td><td>{{pathCell .}}</td><td class="v">{{f1 .DisplayImpUS}}</td><td class="v">{{f1 .AddFBUS}}</td><td class="v">{{f1 .TestOnlyUS}}</td></tr>
{{end}}{{end}}</table>
{{strategyChart .R}}
{{range .R.Skipped}}<p class="note">unavailable: {{.}}</p>
{{end}}
{{if .R.GPU}}<h2>GPU</h2><p id="gpu">{{.R.GPU}}</p>
<table id="gpu-frames"><tr><th>strategy</th><th>target</th><th>first frame µs</th><th>frame µs</th><th>client import µs</th><th>error</th></tr>
{{range .R.Alloc}}{{if or .GPUTarget .GPUError}}<tr><td>{{.Strategy}}</td><td>{{.GPUTarget}}</td><td class="v">{{f0 .GPUFirstUS}}</td><td class="v">{{f0 .GPUFrameUS}}</td><td class="v">{{f0 .EGLImportUS}}</td><td>{{.GPUError}}</td></tr>
{{end}}{{end}}</table>{{end}}

{{with .R.Copy}}<h2>Blit against memmove</h2>
{{if .Note}}<p class="note">copy {{.Src}} → {{.Dst}}: {{.Note}}</p>{{else if .Bytes}}
<p class="note">The fallback blit (CopyDamage, CPU access bracketed) and a plain memmove of the same {{.Bytes}} bytes from {{.Src}} into {{.Dst}}, best of the iterations.</p>
<table id="copy">
<tr><th>memmove GB/s</th><th>blit GB/s</th><th>blit/memmove</th><th>full frame µs</th><th>256×256 damage µs</th><th>damage cost / area share</th></tr>
<tr><td class="v" id="memmove_gbps">{{f2 .MemmoveGBps}}</td><td class="v" id="blit_gbps">{{f2 .BlitGBps}}</td><td class="v" id="ratio">{{f2 .Ratio}}</td><td class="v" id="full_us">{{f0 .FullUS}}</td><td class="v" id="damage_us">{{f1 .Damage256US}}</td><td class="v" id="damage_share">{{f2 .DamageVsArea}}</td></tr>
</table>
{{copyChart .}}{{end}}{{end}}

{{with .R.Compose}}<h2>CPU composition by damage size</h2>
{{if .Error}}<p class="error">{{.Error}}</p>{{else}}
<p class="note">{{.Renderer}}: {{.Surfaces}} surfaces of 800×600, every other one translucent, overlapping; each frame uploads the damaged part of every surface and composes the damage. Best of the iterations.</p>
<table id="compose"><tr><th>damage</th><th>pixels</th><th>µs a frame</th></tr>
{{range .Points}}<tr data-side="{{.Side}}"><td>{{.Label}}</td><td class="v">{{.Pixels}}</td><td class="v">{{f1 .US}}</td></tr>
{{end}}</table>
{{composeChart .}}{{end}}{{end}}

{{with .R.Flip}}<h2>Page flips</h2>
{{if .Error}}<p class="error">flip: {{.Error}}</p>{{else}}
<table id="flip"><tr><th>frames</th><th>path</th><th>mean ms</th><th>stddev</th><th>min</th><th>max</th></tr>
<tr><td class="v" id="flip_frames">{{.Frames}}</td><td>{{.Path}}</td><td class="v" id="flip_mean">{{f2 .MeanMS}}</td><td class="v" id="flip_std">{{f2 .StdMS}}</td><td class="v" id="flip_min">{{f2 .MinMS}}</td><td class="v" id="flip_max">{{f2 .MaxMS}}</td></tr>
</table>
{{histogram .IntervalsMS}}{{end}}{{end}}

{{if .R.Notes}}<h2>Notes</h2><ul>{{range .R.Notes}}<li>{{.}}</li>{{end}}</ul>{{end}}
</body></html>
`))
