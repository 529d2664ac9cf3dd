package kms

import (
	"errors"
	"slices"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/uevent"
	"github.com/minicomp/minicomp/scanout"
)

// Connector hotplug (Options.Hotplug): the kernel's uevents for the
// display device (HOTPLUG=1 from a driver that detects connector
// changes, or a synthetic change from `udevadm trigger`) make the backend
// read its connectors again. A connector that appeared gets an output
// (OutputAdded); one that went, or whose preferred mode changed while no
// mode was asked for, loses it (OutputRemoved, then the caller's Close;
// a changed one comes back with OutputAdded once its CRTC is free).

type hotplug struct {
	sock *uevent.Conn
	poke chan struct{} // re-probe (a removed output was closed)
	stop chan struct{}
	done chan struct{}
	// removed outputs the caller has not closed yet
	removed []*Output
}

// startHotplug opens the uevent socket and starts watching it.
func (b *Backend) startHotplug() error {
	sock, err := uevent.Open()
	if err != nil {
		return err
	}
	hp := &hotplug{sock: sock, poke: make(chan struct{}, 1),
		stop: make(chan struct{}), done: make(chan struct{})}
	b.hp = hp
	uevents := make(chan uevent.Event)
	go func() {
		for {
			ev, err := sock.Read()
			switch {
			case errors.Is(err, unix.ENOBUFS): // overflow: some were lost, so look
				uevents <- uevent.Event{Action: "overflow"}
			case err != nil:
				close(uevents)
				return
			case concerns(ev, b.displayDev):
				uevents <- ev
			}
		}
	}()
	go func() {
		defer close(hp.done)
		defer func() {
			for range uevents { // the reader ends when the socket closes
			}
		}()
		for {
			select {
			case <-hp.stop:
				return
			case ev, ok := <-uevents:
				if !ok {
					return
				}
				t0 := time.Now()
				b.opts.Logger.Info("display hotplug", "device", b.devs.Display.String(), "uevent", ev.DevPath)
				b.reprobe()
				b.opts.Logger.Debug("re-probed connectors", "took", time.Since(t0))
			case <-hp.poke:
				b.reprobe()
			}
		}
	}()
	return nil
}

// concerns reports whether ev asks the display with device number rdev
// to re-probe its connectors: a change of that DRM device with HOTPLUG=1,
// or a synthetic change (udevadm trigger --action=change).
func concerns(ev uevent.Event, rdev uint64) bool {
	return ev.Action == "change" && ev.Subsystem == "drm" && (ev.Hotplug || ev.Synthetic) &&
		ev.Major == int(unix.Major(rdev)) && ev.Minor == int(unix.Minor(rdev))
}

// emit delivers an event unless the backend is closing.
func (b *Backend) emit(ev backend.Event) {
	select {
	case b.events <- ev:
	case <-b.hp.stop:
	}
}

// reprobe reads the connectors and adds and removes outputs to match.
func (b *Backend) reprobe() {
	log := b.opts.Logger
	pipes, err := b.devs.Display.Pipelines(false)
	if err != nil {
		log.Warn("re-probing connectors", "err", err)
		return
	}
	byConn := map[uint32]scanout.Pipeline{}
	for _, p := range pipes {
		byConn[p.Connector] = p
	}
	b.mu.Lock()
	var keep, gone []*Output
	busy := map[uint32]bool{} // CRTCs of outputs still set up
	for _, o := range b.outputs {
		pipe, ok := byConn[o.p.Pipeline().Connector]
		if ok && !b.modeChanged(o, pipe) {
			keep = append(keep, o)
		} else {
			gone = append(gone, o)
			b.hp.removed = append(b.hp.removed, o)
		}
	}
	for _, o := range append(keep, b.hp.removed...) {
		busy[o.p.Pipeline().CRTC] = true
	}
	b.outputs = keep
	b.mu.Unlock()
	for _, o := range gone {
		log.Info("kms output gone", "output", o.Name())
		b.emit(backend.Event{Kind: backend.OutputRemoved, Output: o, Time: backend.Monotonic()})
	}
	for _, pipe := range pipes {
		if b.has(pipe.Connector) {
			continue
		}
		if busy[pipe.CRTC] {
			log.Info("new connector waits for its CRTC to be released", "output", pipe.ConnectorName, "crtc", pipe.CRTC)
			continue
		}
		o, err := b.newOutput(pipe)
		if err != nil {
			log.Warn("new connector", "output", pipe.ConnectorName, "err", err)
			continue
		}
		b.mu.Lock()
		b.outputs = append(b.outputs, o)
		b.mu.Unlock()
		b.emit(backend.Event{Kind: backend.OutputAdded, Output: o, Time: backend.Monotonic()})
	}
}

// has reports whether an output drives connector.
func (b *Backend) has(connector uint32) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, o := range b.outputs {
		if o.p.Pipeline().Connector == connector {
			return true
		}
	}
	return false
}

// modeChanged reports whether o's mode is no longer what the connector
// would get: not offered any more, or (no mode asked for) not its
// preferred one.
func (b *Backend) modeChanged(o *Output, pipe scanout.Pipeline) bool {
	m := o.Mode()
	_, named := b.opts.Modes[pipe.ConnectorName]
	_, all := b.opts.Modes["*"]
	if !named && !all {
		return !sameTiming(pipe.PreferredMode(), m)
	}
	return !offers(pipe, m)
}

// sameTiming reports whether a and b are the same size and refresh rate
// (names and flags aside).
func sameTiming(a, b scanout.Mode) bool {
	return a.Width == b.Width && a.Height == b.Height && a.RefreshMilliHz == b.RefreshMilliHz
}

// offers reports whether pipe's connector offers a mode of m's timing.
func offers(pipe scanout.Pipeline, m scanout.Mode) bool {
	return slices.ContainsFunc(pipe.Modes, func(x scanout.Mode) bool { return sameTiming(x, m) })
}

// Close turns a removed output off and releases its buffers (after
// OutputRemoved, once the caller stopped presenting on it); a CRTC it
// frees may light a connector that waited for one.
func (o *Output) Close() error {
	b := o.b
	b.mu.Lock()
	if o.closed {
		b.mu.Unlock()
		return nil
	}
	o.closed = true
	if b.hp != nil {
		for i, x := range b.hp.removed {
			if x == o {
				b.hp.removed = append(b.hp.removed[:i], b.hp.removed[i+1:]...)
				break
			}
		}
	}
	b.mu.Unlock()
	err := errors.Join(o.p.Close(), o.sc.Close())
	b.pokeHotplug()
	return err
}

// pokeHotplug asks the hotplug watch (if any) to re-probe.
func (b *Backend) pokeHotplug() {
	if b.hp != nil {
		select {
		case b.hp.poke <- struct{}{}:
		default:
		}
	}
}

// list returns the outputs (hotplug changes the list).
//
// The slice is shared, not copied (input reads it per event): b.outputs
// is only ever replaced or appended to, never changed within its length,
// and the clipped slice makes a caller's append copy.
func (b *Backend) list() []*Output {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clip(b.outputs)
}

// stopHotplug ends the watch and returns the removed outputs nobody
// closed.
func (b *Backend) stopHotplug() []*Output {
	hp := b.hp
	if hp == nil {
		return nil
	}
	close(hp.stop)
	hp.sock.Close()
	<-hp.done
	b.mu.Lock()
	defer b.mu.Unlock()
	return hp.removed
}
