// Package auto picks minicomp's renderer for --renderer=auto|gles|pixman|soft
// and says why, and falls back to a CPU renderer when the GPU one is
// lost. The CPU renderer is pixman (libpixman-1 loaded at run time) when
// it loads, else the pure-Go one (render/soft, all a static -tags nogles
// build has).
package auto

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
)

// Kinds are the values --renderer accepts.
var Kinds = []string{"auto", "gles", "pixman", "soft"}

// Options configure New.
type Options struct {
	// Device is the DRM render node (e.g. "/dev/dri/renderD128"); empty:
	// EGL's surfaceless platform.
	Device string
	// Log receives the renderers' own messages; nil: slog.Default.
	Log *slog.Logger
	// GLES is passed to gles.New (Device and Log are filled in from above).
	GLES gles.Options
	// Probe, when set, decides "auto" before GLES is loaded into this
	// process (ExecProbe: in a child process); GLES is made here only when
	// the probe found a GPU that can import dma-bufs. nil: probe by
	// making the renderer here.
	Probe Probe
}

// ErrKind is returned for a --renderer value that is not one of Kinds.
var ErrKind = errors.New("unknown renderer")

// New returns the renderer kind asks for and a sentence saying which one
// runs and why:
//
//   - "soft": the pure-Go CPU renderer.
//   - "pixman": the pixman CPU renderer or its error (libpixman-1
//     missing, a static build).
//   - "gles": the GLES renderer or its error (no fallback: asked for by
//     name). Without dma-buf import it draws offscreen and reads back.
//   - "auto": GLES when EGL works on the device, is a GPU and can import
//     dma-bufs (render targets drawn in place); otherwise a CPU renderer
//     (pixman, else soft), with the reason (EGL missing, no such device,
//     software GL such as Mesa's kms_swrast/swrast/llvmpipe, no dma-buf
//     import, …).
//
// Software GL is never picked by auto: it draws on the CPU as the CPU
// renderer does, plus a copy per frame, and its dma-buf import crashes
// (Mesa 22.3 kms_swrast; gles.Info.NoDMABufCause). Asked for by name it
// runs offscreen and reads back.
func New(kind string, opts Options) (render.Renderer, string, error) {
	g := opts.GLES
	g.Device, g.Log = opts.Device, opts.Log
	switch kind {
	case "soft":
		return soft.New(), "soft: pure-Go CPU renderer (--renderer=soft)", nil
	case "pixman":
		r, err := pixman.New()
		if err != nil {
			return nil, "", fmt.Errorf("--renderer=pixman: %w", err)
		}
		return r, pixmanName() + " (--renderer=pixman)", nil
	case "gles":
		r, err := gles.New(g)
		if err != nil {
			return nil, "", fmt.Errorf("--renderer=gles: %w", err)
		}
		return r, glesReason(r), nil
	case "auto", "":
		if opts.Probe != nil {
			info, err := opts.Probe(g)
			if err != nil {
				c, name := cpu()
				return c, name + ", because GLES is unavailable: " + err.Error(), nil
			}
			if why, ok := usable(info); !ok {
				c, name := cpu()
				return c, name + ", because " + why, nil
			}
		}
		r, err := gles.New(g)
		if err != nil {
			c, name := cpu()
			return c, name + ", because GLES is unavailable: " + err.Error(), nil
		}
		if why, ok := usable(r.Info()); !ok {
			r.Close()
			c, name := cpu()
			return c, name + ", because " + why, nil
		}
		return r, glesReason(r), nil
	}
	return nil, "", fmt.Errorf("%w %q (want one of %v)", ErrKind, kind, Kinds)
}

// cpu returns the best CPU renderer here — pixman, else soft — and a
// phrase naming it (with why it is not pixman, when it is not).
func cpu() (render.Renderer, string) {
	r, err := pixman.New()
	if err != nil {
		return soft.New(), "soft: pure-Go CPU renderer (pixman: " + err.Error() + ")"
	}
	return r, pixmanName()
}

// pixmanName names the pixman renderer with its library version.
func pixmanName() string {
	v, _ := pixman.Version()
	return "pixman " + v + ": CPU renderer"
}

// usable reports whether auto runs GLES on what gles.New found, and if
// not, why (a clause: "GLES (…) is …").
func usable(i gles.Info) (why string, ok bool) {
	if i.Software {
		return fmt.Sprintf("GLES here is software rendering (Mesa %s: %s), not a GPU: it would draw on the CPU as well, "+
			"offscreen, and copy every frame back (--renderer=gles does that)", driverName(i), i.GLRenderer), false
	}
	if !i.DMABufImport {
		return fmt.Sprintf("GLES (%s) cannot import dma-bufs: %s; "+
			"the GPU would have to draw offscreen and copy every frame back (--renderer=gles does that)", i.GLRenderer, i.NoDMABufCause), false
	}
	return "", true
}

func driverName(i gles.Info) string {
	if i.Driver == "" {
		return "driver unknown"
	}
	return i.Driver
}

func glesReason(r *gles.Renderer) string {
	i := r.Info()
	s := fmt.Sprintf("gles: %s (%s, %s, driver %s)", i.GLRenderer, i.GLVersion, i.Platform, driverName(i))
	if i.Software {
		s += ", software rendering"
	}
	if i.DMABufImport {
		s += ", render targets imported as EGLImages"
		if i.NativeFence {
			s += ", native fences"
		}
		return s
	}
	return s + ", dma-buf import unavailable (" + i.NoDMABufCause + "): drawing offscreen and reading back"
}

// Recover handles an error from r: when it is fatal to the GPU renderer
// (gles.ErrContextLost) it closes r and returns a CPU renderer (pixman,
// else soft) with the reason; the caller must make its textures again
// with the new renderer and redraw everything. Other errors leave r in
// place (ok false).
func Recover(r render.Renderer, err error) (render.Renderer, string, bool) {
	if !errors.Is(err, gles.ErrContextLost) {
		return r, "", false
	}
	r.Close()
	c, name := cpu()
	return c, name + ", because the GL context was lost: " + err.Error(), true
}
