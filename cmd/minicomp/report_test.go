package main

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// htmlDoc is a parsed report: each table's rows of cell texts (by the
// table's id), each row's data-* attributes, and the SVG shapes.
type htmlDoc struct {
	tables  map[string][][]string
	rowAttr map[string][]map[string]string
	ids     map[string]string // text of elements with an id
	bars    []string          // data-value of each bar
	bins    []string          // data-count of each histogram bin
	svgs    int
}

// parseReport reads the HTML page back with encoding/xml in its HTML mode.
func parseReport(t *testing.T, page []byte) htmlDoc {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(page))
	d.Strict, d.AutoClose, d.Entity = false, xml.HTMLAutoClose, xml.HTMLEntity
	doc := htmlDoc{tables: map[string][][]string{}, rowAttr: map[string][]map[string]string{}, ids: map[string]string{}}
	var table string
	var cell *strings.Builder
	var idStack []string // id of each open element ("" for none)
	var idText = map[string]*strings.Builder{}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("report does not parse: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			attr := map[string]string{}
			for _, a := range tok.Attr {
				attr[a.Name.Local] = a.Value
			}
			idStack = append(idStack, attr["id"])
			if id := attr["id"]; id != "" {
				idText[id] = &strings.Builder{}
			}
			switch tok.Name.Local {
			case "table":
				table = attr["id"]
			case "tr":
				doc.tables[table] = append(doc.tables[table], nil)
				doc.rowAttr[table] = append(doc.rowAttr[table], attr)
			case "td", "th":
				cell = &strings.Builder{}
			case "svg":
				doc.svgs++
			case "rect":
				if attr["class"] == "bar" {
					doc.bars = append(doc.bars, attr["data-value"])
				}
				if attr["class"] == "bin" {
					doc.bins = append(doc.bins, attr["data-count"])
				}
			}
		case xml.CharData:
			if cell != nil {
				cell.Write(tok)
			}
			for _, id := range idStack {
				if id != "" {
					idText[id].Write(tok)
				}
			}
		case xml.EndElement:
			if n := len(idStack); n > 0 {
				idStack = idStack[:n-1]
			}
			switch tok.Name.Local {
			case "td", "th":
				rows := doc.tables[table]
				rows[len(rows)-1] = append(rows[len(rows)-1], strings.TrimSpace(cell.String()))
				cell = nil
			case "table":
				table = ""
			}
		}
	}
	for id, b := range idText {
		doc.ids[id] = strings.TrimSpace(b.String())
	}
	return doc
}

// checkReport renders rep as text and as HTML and checks that every figure
// of the page is the text's, that its charts have a shape per figure, and
// that it loads nothing from elsewhere.
func checkReport(t *testing.T, rep *benchReport) {
	t.Helper()
	var text, page bytes.Buffer
	printBench(&text, rep)
	if err := writeReport(&page, rep, time.Unix(0, 0)); err != nil {
		t.Fatal(err)
	}
	lower := strings.ToLower(page.String())
	for _, bad := range []string{"<script", "src=", "href=", "http:", "https:", "@import", "url("} {
		if strings.Contains(lower, bad) {
			t.Errorf("the report is not self-contained: it has %q", bad)
		}
	}
	doc := parseReport(t, page.Bytes())
	lines := strings.Split(text.String(), "\n")
	if got, want := doc.ids["size"], rep.Size; got != want {
		t.Errorf("size %q, want %q", got, want)
	}

	// Strategies: alloc, min, render import, then display import, addfb
	// and test, as in the text's row of the same strategy.
	bars := 0
	rows := doc.tables["strategies"]
	for i, a := range rep.Alloc {
		row := rows[i+1] // after the header
		if row[0] != a.Strategy {
			t.Fatalf("row %d is %q, want %q", i, row[0], a.Strategy)
		}
		if a.Error != "" {
			continue
		}
		var line []string
		for _, l := range lines {
			if rest, ok := strings.CutPrefix(l, a.Strategy+" "); ok && !strings.Contains(l, "failed:") {
				line = strings.Fields(rest)
				break
			}
		}
		if len(line) < 7 {
			t.Fatalf("no text row for %s:\n%s", a.Strategy, text.String())
		}
		want := append(line[:3:3], line[len(line)-3:]...)
		got := []string{row[1], row[2], row[3], row[5], row[6], row[7]}
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Errorf("%s: page %q, text %q", a.Strategy, got, want)
		}
		bars++ // allocation
		if a.RenderImport == "ok" {
			bars++
		}
		if a.Path != "" {
			bars += 3
		}
	}

	if c := rep.Copy; c != nil && c.Bytes > 0 && c.Note == "" {
		want := "  memmove " + doc.ids["memmove_gbps"] + " GB/s   blit " + doc.ids["blit_gbps"] + " GB/s   blit/memmove " + doc.ids["ratio"]
		if !strings.Contains(text.String(), want+"\n") {
			t.Errorf("copy: page says %q, not in the text:\n%s", want, text.String())
		}
		want = "  full frame " + doc.ids["full_us"] + " µs, 256×256 damage " + doc.ids["damage_us"] + " µs (" + doc.ids["damage_share"] + "× its area share)"
		if !strings.Contains(text.String(), want+"\n") {
			t.Errorf("copy: page says %q, not in the text", want)
		}
		bars += 2
	}

	if c := rep.Compose; c != nil && c.Error == "" {
		rows := doc.tables["compose"]
		if len(rows) != len(c.Points)+1 {
			t.Fatalf("compose table has %d rows for %d points", len(rows)-1, len(c.Points))
		}
		for _, row := range rows[1:] {
			found := false
			for _, l := range lines {
				f := strings.Fields(l)
				// "  256×256  65536 px  266.7 µs", "  full frame 2073600 px ..."
				if n := len(f); n >= 5 && strings.Join(f[:n-4], " ") == row[0] && f[n-4] == row[1] && f[n-2] == row[2] {
					found = true
				}
			}
			if !found {
				t.Errorf("compose row %q not in the text:\n%s", row, text.String())
			}
		}
		bars += len(c.Points)
	}
	if len(doc.bars) != bars {
		t.Errorf("%d bars drawn for %d figures", len(doc.bars), bars)
	}

	if f := rep.Flip; f != nil && f.Error == "" && f.Frames > 0 {
		want := "flip interval over " + doc.ids["flip_frames"] + " frames (" + f.Path + "): mean " + doc.ids["flip_mean"] + " ms, stddev " +
			doc.ids["flip_std"] + ", min " + doc.ids["flip_min"] + ", max " + doc.ids["flip_max"]
		if !strings.Contains(text.String(), want+"\n") {
			t.Errorf("flip: page says %q, not in the text:\n%s", want, text.String())
		}
		n := 0
		for _, c := range doc.bins {
			var k int
			if _, err := fmt.Sscan(c, &k); err != nil {
				t.Fatalf("bin count %q", c)
			}
			n += k
		}
		if n != len(f.IntervalsMS) || len(f.IntervalsMS) == 0 {
			t.Errorf("histogram holds %d intervals, the run measured %d", n, len(f.IntervalsMS))
		}
	}
}

func TestBenchReportHeadless(t *testing.T) {
	rep, err := bench(context.Background(), benchOptions{headless: true, size: "1280x720", iters: 3, compose: true, progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	// Every damage square that fits in 720 rows, and the whole frame.
	if rep.Compose == nil || rep.Compose.Error != "" || len(rep.Compose.Points) != len(composeSides)-1 {
		t.Fatalf("compose %+v", rep.Compose)
	}
	full := rep.Compose.Points[len(rep.Compose.Points)-1]
	small := rep.Compose.Points[0]
	if full.Pixels != 1280*720 || !(full.US > small.US) {
		t.Errorf("a full frame (%v µs) should cost more than %s (%v µs)", full.US, small.Label(), small.US)
	}
	checkReport(t, rep)

	// Through the command line, as a file.
	path := filepath.Join(t.TempDir(), "report.html")
	if err := benchCmd(context.Background(), []string{"--headless", "--size", "320x240", "--iterations", "2", "--report", path}); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	doc := parseReport(t, page)
	if doc.ids["size"] != "320x240" || doc.svgs < 2 {
		t.Errorf("report file: size %q, %d charts", doc.ids["size"], doc.svgs)
	}
}

// The histogram and flip table, from intervals a display would give.
func TestReportFlipHistogram(t *testing.T) {
	rep := &benchReport{Size: "640x480", Format: "XR24", Iterations: 1,
		Flip: &flipResult{Frames: 6, Path: "direct", MeanMS: 16.68, StdMS: 0.05, MinMS: 16.6, MaxMS: 16.8,
			IntervalsMS: []float64{16.6, 16.7, 16.7, 16.65, 16.8, 16.62}}}
	checkReport(t, rep)
}
