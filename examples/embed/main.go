// Command embed is the smallest compositor core built on minicomp's public
// packages alone — what the author of another Go compositor writes to put
// minicomp's buffer path under their own Wayland server and renderer:
//
//  1. resolve the devices once (scanout.OpenDevices: the display only for
//     KMS, and the render node paired with it, which needs no seat);
//  2. open a backend on them (headless or kms), which allocates render
//     targets from a DMA-BUF heap and imports them into the render node;
//  3. per frame: Next (a free target and its age), draw (here with a
//     trivial CPU renderer of its own: solid colours through the mapping,
//     bracketed for CPU access), Present with the damage, WaitFrame;
//  4. a "client" buffer — a dma-buf made elsewhere, as a Wayland client's
//     would be — goes on the primary plane as it is when the output can
//     scan it out (backend.ClientScanout), else is composed by copying.
//
// It prints one line per output saying what happened, and exits non-zero
// when anything failed.
//
//	go run ./examples/embed -backend headless -frames 60
//	go run ./examples/embed -backend kms      (a display and a seat, or root)
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"log/slog"
	"os"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// Config is what the example runs.
type Config struct {
	Backend string // "headless" or "kms"
	Frames  int    // per output
	// ClientFrames is how many of the last frames show the client buffer
	// instead of a composed target.
	ClientFrames int
	Logger       *slog.Logger
}

// Summary is what one output did.
type Summary struct {
	Output, Mode, Targets    string
	Frames, Direct, Composed int
	// ClientPath says how the client buffer reached the screen and why.
	ClientPath string
}

func (s Summary) String() string {
	return fmt.Sprintf("%s %s: %d frames (targets from %s), client buffer: %d direct, %d composed (%s)",
		s.Output, s.Mode, s.Frames, s.Targets, s.Direct, s.Composed, s.ClientPath)
}

func main() {
	var cfg Config
	flag.StringVar(&cfg.Backend, "backend", "headless", "headless or kms")
	flag.IntVar(&cfg.Frames, "frames", 60, "frames per output")
	flag.IntVar(&cfg.ClientFrames, "client-frames", 10, "of which the last ones show a client-style dma-buf")
	flag.Parse()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	sums, err := Run(context.Background(), cfg)
	for _, s := range sums {
		fmt.Println(s)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "embed:", err)
		os.Exit(1)
	}
}

// Run drives every output of the chosen backend for cfg.Frames frames.
func Run(ctx context.Context, cfg Config) ([]Summary, error) {
	// 1. Devices, once.
	devs, err := scanout.OpenDevices(scanout.DevicesConfig{Display: cfg.Backend == "kms"})
	if err != nil {
		return nil, err
	}
	defer devs.Close() // after the backend (deferred later, runs first)

	// 2. The backend on those devices.
	var be backend.Backend
	switch cfg.Backend {
	case "kms":
		be, err = kms.New(kms.Options{Devices: devs, Logger: cfg.Logger})
	case "headless":
		be, err = headless.New(headless.Options{Render: devs.Render, Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: cfg.Logger})
	default:
		err = fmt.Errorf("backend %q: want headless or kms", cfg.Backend)
	}
	if err != nil {
		return nil, err
	}
	defer be.Close()

	var sums []Summary
	for _, o := range be.Outputs() {
		s, err := drive(ctx, o, be.RenderDevice(), cfg)
		sums = append(sums, s)
		if err != nil {
			return sums, fmt.Errorf("%s: %w", o.Name(), err)
		}
	}
	return sums, nil
}

// drive shows cfg.Frames frames on o: composed ones, then the client
// buffer.
func drive(ctx context.Context, o backend.Output, render *scanout.Device, cfg Config) (Summary, error) {
	mode := o.Mode()
	sum := Summary{Output: o.Name(), Mode: mode.String(), Targets: o.Info().Strategy}
	client, err := clientBuffer(mode.Width, mode.Height, render, cfg.Logger)
	if err != nil {
		return sum, fmt.Errorf("client buffer: %w", err)
	}
	// Closing at any time is safe: an output that shows it holds a lock.
	defer client.Close()
	if err := fill(client, image.Rect(0, 0, mode.Width, mode.Height), 0x00ff8000); err != nil {
		return sum, err
	}
	cs, canScanOut := o.(backend.ClientScanout)
	sum.ClientPath = "composed: " + o.Name() + " cannot scan out client buffers"
	if !client.IsDmabuf() {
		sum.ClientPath = "composed: no dma-buf source here, the client buffer is CPU memory"
		canScanOut = false
	}
	colours := []uint32{0x00c02020, 0x0020c020, 0x002020c0}
	for n := range cfg.Frames {
		clientFrame := n >= cfg.Frames-cfg.ClientFrames
		if clientFrame && canScanOut {
			if v := cs.CanScanOut(client); v.Path == scanout.PathDirect {
				sum.ClientPath = v.String()
				if _, err := cs.PresentBuffer(client, nil, nil); err != nil {
					return sum, err
				}
				sum.Direct++
				if _, err := o.WaitFrame(ctx); err != nil {
					return sum, err
				}
				sum.Frames++
				continue
			} else {
				sum.ClientPath = "composed: " + v.String() // refused: say why
			}
		}
		// 3. A composed frame: a free target, drawn by our own renderer.
		target, age, err := o.Next()
		if err != nil {
			return sum, err
		}
		_ = age // a real renderer redraws the damage of the last age frames
		bounds := image.Rect(0, 0, target.Width, target.Height)
		if clientFrame {
			if _, err := scanout.CopyDamage(target, client, nil); err != nil {
				return sum, err
			}
			sum.Composed++
		} else if err := fill(target, bounds, colours[n%len(colours)]); err != nil {
			return sum, err
		}
		if _, err := o.Present(target, []image.Rectangle{bounds}, nil); err != nil {
			return sum, err
		}
		if _, err := o.WaitFrame(ctx); err != nil {
			return sum, err
		}
		sum.Frames++
	}
	return sum, nil
}

// clientBuffer makes a dma-buf as a client would (here with the same
// allocator chain a backend uses, so from a CMA heap when there is one),
// wrapped with scanout.NewBuffer as a compositor wraps a client's.
func clientBuffer(w, h int, render *scanout.Device, log *slog.Logger) (*scanout.Buffer, error) {
	a := scanout.NewAllocator(scanout.AllocatorConfig{Render: render, AllowCPUOnly: true, Logger: log})
	defer a.Close()
	b, _, err := a.Allocate(w, h, scanout.XRGB8888)
	if err != nil {
		return nil, err
	}
	if !b.IsDmabuf() {
		return b, nil // no dma-buf source on this machine: CPU memory
	}
	// Hand the fd over as a client would (a duplicate, as SCM_RIGHTS
	// makes), with its layout, and wrap what arrives.
	fd, err := unix.FcntlInt(b.File.Fd(), unix.F_DUPFD_CLOEXEC, 0)
	stride := b.Stride
	b.Close()
	if err != nil {
		return nil, fmt.Errorf("pass the dma-buf on: %w", err)
	}
	return scanout.NewBuffer(os.NewFile(uintptr(fd), "client-dmabuf"), w, h, scanout.XRGB8888, scanout.ModLinear, 0, stride)
}

// fill paints r of b with one XRGB colour through the CPU mapping,
// bracketed so the devices see it: the whole of this example's renderer.
func fill(b *scanout.Buffer, r image.Rectangle, xrgb uint32) error {
	mem, err := b.Map()
	if err != nil {
		return err
	}
	if err := b.BeginCPUAccess(scanout.Write); err != nil {
		return err
	}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		row := mem[int(b.Offset)+y*int(b.Stride):]
		for x := r.Min.X; x < r.Max.X; x++ {
			binary.LittleEndian.PutUint32(row[x*4:], xrgb)
		}
	}
	return b.EndCPUAccess(scanout.Write)
}
