package wayland

import (
	"sync"

	"github.com/minicomp/minicomp/backend"
)

// eventQueue carries events from the event loop to the Events channel.
// It holds up to max events; past that, push waits for the reader (the
// parent's events wait with it), so nothing is dropped.
type eventQueue struct {
	out chan backend.Event

	mu       sync.Mutex
	cond     *sync.Cond
	q        []backend.Event
	max      int
	finished bool          // deliver what is queued, then close out
	stopCh   chan struct{} // drop everything, close out now
	stopOnce sync.Once
	done     chan struct{} // the pump ended
}

func newEventQueue(max int) *eventQueue {
	e := &eventQueue{out: make(chan backend.Event), max: max, stopCh: make(chan struct{}), done: make(chan struct{})}
	e.cond = sync.NewCond(&e.mu)
	go e.pump()
	return e
}

// push queues ev; it waits while the queue is full.
func (e *eventQueue) push(ev backend.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for len(e.q) >= e.max && !e.finished && !e.stopped() {
		e.cond.Wait()
	}
	if e.finished || e.stopped() {
		return
	}
	e.q = append(e.q, ev)
	e.cond.Broadcast()
}

func (e *eventQueue) stopped() bool {
	select {
	case <-e.stopCh:
		return true
	default:
		return false
	}
}

// finish closes the channel once the queued events are read.
func (e *eventQueue) finish() {
	e.mu.Lock()
	e.finished = true
	e.cond.Broadcast()
	e.mu.Unlock()
}

// stop drops queued events and closes the channel; it waits for the pump.
func (e *eventQueue) stop() {
	e.stopOnce.Do(func() {
		e.mu.Lock()
		close(e.stopCh)
		e.cond.Broadcast()
		e.mu.Unlock()
	})
	<-e.done
}

func (e *eventQueue) pump() {
	defer close(e.done)
	defer close(e.out)
	for {
		e.mu.Lock()
		for len(e.q) == 0 && !e.finished && !e.stopped() {
			e.cond.Wait()
		}
		if e.stopped() || len(e.q) == 0 {
			e.mu.Unlock()
			return
		}
		ev := e.q[0]
		e.mu.Unlock()
		select {
		case e.out <- ev:
			e.mu.Lock()
			e.q[0] = backend.Event{}
			e.q = e.q[1:]
			e.cond.Broadcast()
			e.mu.Unlock()
		case <-e.stopCh:
			return
		}
	}
}
