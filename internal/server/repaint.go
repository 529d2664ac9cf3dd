package server

import (
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
)

// Repaint timing. After a frame reaches the screen the next one is due a
// refresh later (nextFlip). The output repaints renderBudget before that
// (weston's repaint window, wlroots' max_render_time, but learned), and a
// frame's callbacks are held until the clients that wait for them have
// just enough time to draw and commit before the repaint (their draw time
// learned from the delay between callback and commit). A client that
// draws in 1 ms then commits ~4 ms before the flip instead of a whole
// refresh before it, and its content is shown with half the latency.
// Presentation feedback still carries the flip's own time.
//
// Late is not lost: a commit after the repaint time is drawn at once and
// still makes the flip while the output is idle.

const (
	// renderSlack is added to the learned render time: the loop's wake-up
	// and the backend's own work before the flip.
	renderSlack = 2 * time.Millisecond
	// drawSlack is added to a client's learned draw time.
	drawSlack = time.Millisecond
	// sendEarly: held callbacks due within this are sent now rather than
	// after one more timer wake-up.
	sendEarly = 300 * time.Microsecond
)

// estimate follows a duration that varies: the second longest of the
// last estimateWindow samples (about the 94th percentile): one wake-up
// delayed by a loaded machine does not move it, a slower client moves it
// within a frame or two, and it forgets a slow phase after 32 frames.
type estimate struct {
	samples [estimateWindow]time.Duration
	n       int
	v       time.Duration // the current estimate
}

const estimateWindow = 32

func (e *estimate) add(d time.Duration) {
	e.samples[e.n%estimateWindow] = d
	e.n++
	var first, second time.Duration
	for _, s := range e.samples[:min(e.n, estimateWindow)] {
		if s > first {
			first, second = s, first
		} else if s > second {
			second = s
		}
	}
	e.v = second
	if e.n == 1 {
		e.v = first
	}
}

// refreshPeriod is the output's refresh period (0: unknown).
func (o *output) refreshPeriod() time.Duration {
	if m := o.o.Mode(); m.RefreshMilliHz > 0 {
		return time.Duration(int64(time.Second) * 1000 / int64(m.RefreshMilliHz))
	}
	return 0
}

// planNextFrame sets, after the frame presented at f.Time, when the output
// repaints and when the frame's held callbacks go out.
func (o *output) planNextFrame(f backend.Presented) {
	now := monotonic()
	period := o.refreshPeriod()
	o.callbackAt = now
	if period <= 0 {
		o.repaintAt = time.Time{}
		return
	}
	flip := f.Time
	if flip <= 0 || flip > now || now-flip > period {
		flip = now // no usable flip time: count from now
	}
	next := flip + period
	repaint := next - (o.renderTime.v + renderSlack)
	o.repaintAt = time.Now().Add(repaint - now)
	var draw time.Duration
	for _, cb := range o.held {
		draw = max(draw, cb.sf.drawTime.v)
	}
	o.callbackAt = repaint - (draw + drawSlack)
}

// sendHeldCallbacks sends the held frame callbacks when they are due,
// else arms the loop's timer for them.
func (o *output) sendHeldCallbacks() {
	if len(o.held) == 0 {
		return
	}
	now := monotonic()
	if wait := o.callbackAt - now; wait > sendEarly {
		o.s.loop.armTimer(time.Now().Add(wait))
		return
	}
	o.s.callbackCount.Add(uint64(len(o.held)))
	ms := o.s.nowMS()
	o.awaiting = reset(o.awaiting)
	o.awaitMark = o.s.commitCount.Load()
	for _, cb := range o.held {
		if n := len(o.awaiting); n == 0 || o.awaiting[n-1] != cb.sf {
			o.awaiting = append(o.awaiting, cb.sf)
		}
		if !o.s.clients[cb.c] {
			continue
		}
		if _, ok := cb.c.objects[cb.id]; !ok {
			continue
		}
		cb.c.send(protocol.WlCallbackDone(cb.c.conn, cb.id, ms))
		cb.c.destroy(cb.id)
		// From when it was due: a late wake-up counts in the client's time.
		cb.sf.callbackSent = min(now, o.callbackAt)
	}
	o.held = reset(o.held)
}

// noteCommit learns the surface's draw time: from the frame callback it
// was sent to this commit.
func (sf *surface) noteCommit() {
	if sf.callbackSent != 0 {
		sf.drawTime.add(monotonic() - sf.callbackSent)
		sf.callbackSent = 0
	}
}
