package server

import (
	"slices"
	"sync"
	"time"

	"github.com/minicomp/minicomp/backend"
)

// latency records commit-to-present times: from the commit that brought
// new content to the moment the frame showing it reached the screen (a
// flip, or the headless clock's tick). The last latencySamples samples are
// kept for percentiles; nothing is allocated per sample.
type latency struct {
	mu      sync.Mutex
	samples [latencySamples]time.Duration
	n       int // samples recorded in all
	sum     time.Duration
	max     time.Duration
	sorted  []time.Duration // scratch for percentiles
}

const latencySamples = 1024

func (l *latency) add(d time.Duration) {
	l.mu.Lock()
	l.samples[l.n%latencySamples] = d
	l.n++
	l.sum += d
	l.max = max(l.max, d)
	l.mu.Unlock()
}

// Latency summarizes commit-to-present times.
type Latency struct {
	Samples   int
	Mean, Max time.Duration
	P50, P99  time.Duration // over the last 1024 samples
}

func (l *latency) summary() Latency {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.n == 0 {
		return Latency{}
	}
	k := min(l.n, latencySamples)
	l.sorted = append(l.sorted[:0], l.samples[:k]...)
	slices.Sort(l.sorted)
	return Latency{Samples: l.n, Mean: l.sum / time.Duration(l.n), Max: l.max,
		P50: l.sorted[k/2], P99: l.sorted[min(k-1, k*99/100)]}
}

// monotonic is CLOCK_MONOTONIC, the clock of frame times.
func monotonic() time.Duration { return backend.Monotonic() }
