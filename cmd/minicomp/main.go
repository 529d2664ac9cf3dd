// Command minicomp is a small compositor for the Raspberry Pi 4/5 built on
// minicomp's buffer path.
//
//	minicomp run   [flags]   serve Wayland clients (or --pattern: an animated test pattern), backend chosen by itself
//	minicomp info  [--json]  devices, heaps, planes, and which path a render target would take
//	minicomp bench [--json]  allocation, import, test-commit, blit and flip measurements
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"

	"github.com/minicomp/minicomp/heap"
	"github.com/minicomp/minicomp/render/auto"
	"github.com/minicomp/minicomp/render/gles"
)

func usage() {
	fmt.Fprint(os.Stderr, `usage: minicomp <command> [flags]

commands:
  run     run the compositor: serve Wayland clients (or, with --pattern, draw a test pattern through the buffer path)
  info    print DRM devices, heaps, planes and the buffer path a render target would take
  bench   measure allocation, import, TEST_ONLY, blit vs memmove, and flip interval

Run "minicomp <command> -h" for the command's flags.
`)
}

func main() {
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if path := os.Getenv("MINICOMP_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil && pprof.StartCPUProfile(f) == nil {
			defer func() { pprof.StopCPUProfile(); f.Close() }()
		}
	}
	var err error
	switch os.Args[1] {
	case "run":
		err = runCmd(ctx, os.Args[2:])
	case "info":
		err = infoCmd(ctx, os.Args[2:])
	case "bench":
		err = benchCmd(ctx, os.Args[2:])
	case probeGLESCmd: // internal: run's renderer probe in a child process
		err = probeGLES(os.Args[2:])
	case "-h", "--help", "help":
		usage()
		return
	default:
		fmt.Fprintf(os.Stderr, "minicomp: unknown command %q\n", os.Args[1])
		usage()
		os.Exit(2)
	}
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "minicomp:", err)
		stop()
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// logger makes the process's slog logger at the requested level.
func logger(level string) *slog.Logger {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		l = slog.LevelInfo
	}
	h := slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: l})
	log := slog.New(h)
	slog.SetDefault(log)
	return log
}

// The environment knobs; only this command reads the environment, and
// hands what it found to the library packages as values.
const (
	envHeap       = "MINICOMP_HEAP"              // heap order, names separated by ':' (like --heap)
	envRenderNode = "MINICOMP_RENDER_NODE"       // render node path or name, or "none" (like --render-node)
	envNoDirect   = "MINICOMP_NO_DIRECT_SCANOUT" // 1: always blit (like --no-direct)
)

// probeGLESCmd is the hidden command run starts itself with to learn what
// GLES would be on a render node without loading the driver (or crashing
// with it) in the compositor: auto.ExecProbe's child.
const probeGLESCmd = "probe-gles"

func probeGLES(args []string) error {
	if len(args) != 1 {
		return fmt.Errorf("usage: minicomp %s RENDER-NODE|-", probeGLESCmd)
	}
	dev := args[0]
	if dev == "-" {
		dev = ""
	}
	return auto.ServeProbe(os.Stdout, gles.Options{Device: dev, Log: slog.New(slog.DiscardHandler)})
}

// heapList is the heap preference from --heap, else $MINICOMP_HEAP (nil:
// the library's default order).
func heapList(s string) []string {
	if s == "" {
		s = os.Getenv(envHeap)
	}
	if s == "" {
		return nil // the library's default order
	}
	return heap.Preference(s, false)
}

// renderNodeFlag is --render-node, else $MINICOMP_RENDER_NODE.
func renderNodeFlag(s string) string {
	if s == "" {
		return os.Getenv(envRenderNode)
	}
	return s
}
