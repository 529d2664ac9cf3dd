package main

import (
	"log/slog"
	"os"
	"runtime"
)

// oneProc runs the compositor on one P unless $GOMAXPROCS says otherwise.
// The server does all its work on one goroutine; the other goroutines
// (frame waits, input readers) only hand it events. With more Ps each
// hand-off wakes an idle P's thread, which spins and parks again: on a
// 2-core machine, 1920×1080 headless with one weston-simple-shm client,
// 23 thread switches a frame against 15 with one P, and 0.32–0.39 ms of
// CPU a frame against 0.28–0.32 (test/bench/compositor_cpu.sh).
// C libraries' own threads (Mesa's) are not Go's and are not limited.
func oneProc(log *slog.Logger) {
	if os.Getenv("GOMAXPROCS") != "" {
		return
	}
	prev := runtime.GOMAXPROCS(1)
	log.Debug("GOMAXPROCS set to 1 (set $GOMAXPROCS to choose)", "was", prev)
}
