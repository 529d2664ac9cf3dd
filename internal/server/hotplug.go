package server

import (
	"io"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
)

// Outputs that come and go (backend.OutputAdded, OutputRemoved: a KMS
// connector plugged or unplugged): each is a wl_output global, announced
// to every registry when it comes and withdrawn (global_remove) when it
// goes. A client that binds the withdrawn global before it heard of the
// removal gets a wl_output that never changes. A removed output finishes
// the frame it shows, then its backend output is closed.

// addOutput serves a backend output: its state and its wl_output global,
// announced to the registries clients already have.
func (s *Server) addOutput(bo backend.Output) *output {
	o := &output{s: s, o: bo, bounds: logicalBounds(bo), waitReq: make(chan struct{}, 1),
		description: outputDescription(bo)}
	s.outputs = append(s.outputs, o)
	o.global = s.addGlobal(protocol.WlOutputInterface, 4, o.bind)
	o.setScanout()
	for c := range s.clients {
		for _, id := range c.registries {
			c.send(protocol.WlRegistryGlobal(c.conn, id, o.global.name, o.global.iface.Name, o.global.version))
		}
	}
	return o
}

// outputDescription is the output's description (wl_output, the heads).
func outputDescription(bo backend.Output) string {
	return "minicomp " + bo.Info().Backend + " output " + bo.Name() + " " + bo.Mode().String()
}

// outputAdded starts serving a backend output that appeared while
// running (serveOutput), and output managers hear of it.
func (s *Server) outputAdded(bo backend.Output) {
	if s.outputOf(bo) != nil {
		return
	}
	s.log.Info("output added", "output", bo.Name(), "mode", bo.Mode().String())
	s.serveOutput(bo)
	s.headsChanged()
}

// serveOutput starts serving a backend output while running: clients
// hear of its global, toplevels are configured again, and it is drawn
// whole.
func (s *Server) serveOutput(bo backend.Output) {
	o := s.addOutput(bo)
	o.addDamage(o.bounds)
	s.waiters.Add(1)
	go func() {
		defer s.waiters.Done()
		o.waitFrames()
	}()
	s.outputsMoved()
	s.render(o)
}

// outputRemoved stops serving a backend output that went away
// (unserveOutput; once its last frame is done it is closed), and output
// managers hear of it.
func (s *Server) outputRemoved(bo backend.Output) {
	o := s.outputOf(bo)
	if o == nil {
		return
	}
	s.log.Info("output removed", "output", bo.Name())
	s.unserveOutput(o)
	s.headsChanged()
}

// unserveOutput stops serving an output: its global is withdrawn, the
// layer surfaces on it are closed, captures and power controls of it
// fail, the pointer and cursor forget it,
// toplevels are configured to the outputs left, and once its last frame
// is done finishRemoval ends it.
func (s *Server) unserveOutput(o *output) {
	s.layersOutputGone(o)
	s.forgetOutput(o)
	s.outputs = without(s.outputs, o)
	o.removed = true
	o.global.removed = true
	for c := range s.clients {
		for _, id := range c.registries {
			c.send(protocol.WlRegistryGlobalRemove(c.conn, id, o.global.name))
		}
	}
	if s.seat.pointerOutput == o {
		s.seat.pointerOutput = nil
	}
	delete(s.seat.cursor.outs, o)
	for _, f := range o.captures {
		f.c.send(protocol.ZwlrScreencopyFrameV1Failed(f.c.conn, f.id))
	}
	o.captures = nil
	for _, p := range o.powerRes { // the output is gone: power controls fail
		p.c.send(protocol.ZwlrOutputPowerV1Failed(p.c.conn, p.id))
	}
	o.powerRes = nil
	s.outputsMoved()
	if !o.busy {
		s.finishRemoval(o)
	}
}

// finishRemoval ends a removed output once no frame of it is in flight:
// its frame goroutine stops, the client buffers it held are let go, and
// the backend output is closed.
func (s *Server) finishRemoval(o *output) {
	o.busy = false
	close(o.waitReq)
	for _, b := range []*dmabufBuffer{o.shownDirect, o.presentedDirect} {
		if b != nil {
			b.shown--
			b.maybeFree()
		}
	}
	o.shownDirect, o.presentedDirect = nil, nil
	// Frame callbacks it owed go out now: the client would wait for a
	// frame that never comes.
	ms := s.nowMS()
	for _, cb := range o.done {
		if _, ok := cb.c.objects[cb.id]; ok && s.clients[cb.c] {
			cb.c.send(protocol.WlCallbackDone(cb.c.conn, cb.id, ms))
			cb.c.destroy(cb.id)
		}
	}
	o.done = nil
	if s.outMgmt.draining[o.o] { // turned off, not gone (outputtoggle.go)
		s.drained(o.o)
		return
	}
	if cl, ok := o.o.(io.Closer); ok {
		if err := cl.Close(); err != nil {
			s.log.Warn("closing a removed output", "output", o.o.Name(), "err", err)
		}
	}
}

// transform is how the output's panel is mounted (backend.Transformed),
// told to clients in wl_output.geometry.
func (o *output) transform() backend.Transform { return mountedAs(o.o) }

// outputsMoved tells clients of the layout after an output came or went:
// toplevels are configured again and moved to their outputs (layout.go),
// layer surfaces arranged, and
// xdg-output positions (the outputs after it moved) sent.
func (s *Server) outputsMoved() {
	s.damageAll() // what an output shows moved with it
	s.replaceToplevels()
	s.arrangeLayers()
	s.geometriesChanged()
	s.xdgOutputsChanged()
}
