package auto

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/minicomp/minicomp/render/gles"
)

// Probe learns what the GLES renderer would be for g (its Device) and
// releases it again. ExecProbe runs it in a child process.
type Probe func(g gles.Options) (gles.Info, error)

// probeReply is what ServeProbe writes and ExecProbe reads.
type probeReply struct {
	Info  gles.Info
	Error string
}

// ProbeTimeout bounds a child probe.
const ProbeTimeout = 20 * time.Second

// ExecProbe returns a Probe that runs name with args and the render node
// (or "-" for EGL's default; only the Device of the options reaches the
// child) as the last argument, in a child process that
// calls ServeProbe, and reads its answer. A driver that crashes on first
// use takes down the child, not the compositor (the error says how it
// died), and a driver that is not chosen leaves nothing mapped here (Mesa
// and LLVM are tens of megabytes).
func ExecProbe(name string, args ...string) Probe {
	return func(g gles.Options) (gles.Info, error) {
		dev := g.Device
		if dev == "" {
			dev = "-"
		}
		ctx, cancel := context.WithTimeout(context.Background(), ProbeTimeout)
		defer cancel()
		cmd := exec.CommandContext(ctx, name, append(append([]string(nil), args...), dev)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		var rep probeReply
		if jerr := json.Unmarshal(out.Bytes(), &rep); err != nil || jerr != nil {
			detail := why(errOut.String())
			if err == nil {
				err = jerr
			}
			if detail != "" {
				return gles.Info{}, fmt.Errorf("GLES probe in a child process failed (%w): %s", err, detail)
			}
			return gles.Info{}, fmt.Errorf("GLES probe in a child process failed: %w", err)
		}
		if rep.Error != "" {
			return rep.Info, errors.New(rep.Error)
		}
		return rep.Info, nil
	}
}

// why picks from a failed child's stderr the line that says how it died
// (the Go runtime's report of a signal in the driver, a panic), else its
// last line.
func why(stderr string) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	for _, l := range lines {
		if strings.Contains(l, "SIG") || strings.HasPrefix(l, "fatal error") || strings.HasPrefix(l, "panic") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// ServeProbe is the child's side of ExecProbe: it makes a GLES renderer
// for g, draws nothing, writes what it found (or why it failed) to w as
// JSON, and closes it. The caller exits afterwards.
func ServeProbe(w io.Writer, g gles.Options) error {
	var rep probeReply
	r, err := gles.New(g)
	if err != nil {
		rep.Error = err.Error()
	} else {
		rep.Info = r.Info()
		r.Close()
	}
	return json.NewEncoder(w).Encode(rep)
}
