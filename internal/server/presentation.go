package server

import (
	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
)

// wp_presentation: per-commit feedback with the time the frame really
// reached the screen (a KMS flip event's timestamp, or the headless
// clock's tick), the refresh period and the flip sequence.

func (s *Server) bindPresentation(c *Client, id, version uint32) error {
	if _, err := register[protocol.WpPresentationHandler](c, id, protocol.WpPresentationInterface, version, &presentation{c: c, id: id}, protocol.DispatchWpPresentation); err != nil {
		return err
	}
	c.send(protocol.WpPresentationClockId(c.conn, id, 1)) // CLOCK_MONOTONIC
	return nil
}

type presentation struct {
	c  *Client
	id uint32
}

func (p *presentation) Destroy() error { return nil }

func (p *presentation) Feedback(surfaceID, callback uint32) error {
	o, err := p.c.lookup(p.id, surfaceID, protocol.WlSurfaceInterface)
	if err != nil {
		return err
	}
	if _, err := p.c.add(callback, protocol.WpPresentationFeedbackInterface, 1, noRequests); err != nil {
		return err
	}
	sf := o.handler.(*surface)
	sf.pending.feedback = append(sf.pending.feedback, callback)
	return nil
}

// feedbackCB is a feedback waiting for its frame.
type feedbackCB struct {
	c  *Client
	id uint32
}

// presented sends the frame's time to every feedback of the content shown.
func (o *output) presented(f backend.Presented) {
	if len(o.shownFeedback) == 0 {
		return
	}
	m := o.o.Mode()
	refresh := uint32(0)
	if m.RefreshMilliHz > 0 {
		refresh = uint32(int64(1e12) / int64(m.RefreshMilliHz))
	}
	flags := uint32(0)
	if f.VSync {
		flags = protocol.WpPresentationFeedbackKindVsync | protocol.WpPresentationFeedbackKindHwClock | protocol.WpPresentationFeedbackKindHwCompletion
	}
	sec := uint64(f.Time / 1e9)
	nsec := uint32(f.Time % 1e9)
	for _, fb := range o.shownFeedback {
		c := fb.c
		if !o.s.clients[c] {
			continue
		}
		if _, ok := c.objects[fb.id]; !ok {
			continue
		}
		for _, outID := range c.outputIDs[o] {
			c.send(protocol.WpPresentationFeedbackSyncOutput(c.conn, fb.id, outID))
		}
		c.send(protocol.WpPresentationFeedbackPresented(c.conn, fb.id, uint32(sec>>32), uint32(sec), nsec, refresh,
			uint32(f.Sequence>>32), uint32(f.Sequence), flags))
		c.destroy(fb.id)
	}
	o.shownFeedback = reset(o.shownFeedback)
}

// discard tells the client its content was replaced before it was shown.
func discard(c *Client, ids []uint32) {
	for _, id := range ids {
		if _, ok := c.objects[id]; ok {
			c.send(protocol.WpPresentationFeedbackDiscarded(c.conn, id))
			c.destroy(id)
		}
	}
}

// xdg-output: the logical layout of the outputs (side by side, left to
// right) for clients like grim.

func (s *Server) bindXdgOutputManager(c *Client, id, version uint32) error {
	_, err := register[protocol.ZxdgOutputManagerV1Handler](c, id, protocol.ZxdgOutputManagerV1Interface, version, &xdgOutputManager{c: c, id: id, version: version}, protocol.DispatchZxdgOutputManagerV1)
	return err
}

type xdgOutputManager struct {
	c       *Client
	id      uint32
	version uint32
}

func (m *xdgOutputManager) Destroy() error { return nil }

func (m *xdgOutputManager) GetXdgOutput(id, outputID uint32) error {
	c := m.c
	o, err := c.lookup(m.id, outputID, protocol.WlOutputInterface)
	if err != nil {
		return err
	}
	out, _ := o.handler.(*outputResource)
	xo, err := register[protocol.ZxdgOutputV1Handler](c, id, protocol.ZxdgOutputV1Interface, m.version, inert{}, protocol.DispatchZxdgOutputV1)
	if err != nil {
		return err
	}
	ref := xdgOutputRef{c: c, id: id, version: m.version, wlOutput: outputID}
	out.o.xdgOutputs = append(out.o.xdgOutputs, ref)
	xo.onDestroy = func() { out.o.xdgOutputs = without(out.o.xdgOutputs, ref) }
	ref.sendGeometry(out.o)
	if m.version >= 2 {
		c.send(protocol.ZxdgOutputV1Name(c.conn, id, out.o.o.Name()))
		c.send(protocol.ZxdgOutputV1Description(c.conn, id, out.o.description))
	}
	ref.done()
	return nil
}

// xdgOutputRef is a client's zxdg_output_v1 of an output, and the
// wl_output it was made for.
type xdgOutputRef struct {
	c                     *Client
	id, version, wlOutput uint32
}

// outputX is where the output starts in the layout xdg-output describes:
// the outputs side by side, in order, each as wide as the picture it
// composes (layout.go).
func (s *Server) outputX(o *output) int {
	x := 0
	for _, other := range s.outputs {
		if other == o {
			break
		}
		x += other.bounds.Dx()
	}
	return x
}

// sendGeometry sends the output's logical position and size (its
// bounds: the mode turned, as the layout places it).
func (r xdgOutputRef) sendGeometry(o *output) {
	r.c.send(protocol.ZxdgOutputV1LogicalPosition(r.c.conn, r.id, int32(o.s.outputX(o)), 0))
	r.c.send(protocol.ZxdgOutputV1LogicalSize(r.c.conn, r.id, int32(o.bounds.Dx()), int32(o.bounds.Dy())))
}

// done ends a batch of xdg_output events (with wl_output.done from v3).
func (r xdgOutputRef) done() {
	if r.version < 3 {
		r.c.send(protocol.ZxdgOutputV1Done(r.c.conn, r.id))
	} else {
		r.c.send(protocol.WlOutputDone(r.c.conn, r.wlOutput))
	}
}

// xdgOutputsChanged tells every xdg_output its output's position and
// size again (an output's mode changed: it and the outputs after it
// moved or resized).
func (s *Server) xdgOutputsChanged() {
	for _, o := range s.outputs {
		for _, r := range o.xdgOutputs {
			if wo := r.c.objects[r.wlOutput]; wo == nil || wo.iface != protocol.WlOutputInterface {
				continue
			}
			r.sendGeometry(o)
			r.done()
		}
	}
}
