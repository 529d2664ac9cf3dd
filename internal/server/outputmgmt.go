package server

import (
	"errors"
	"fmt"
	"image"
	"slices"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/scanout"
)

// wlr-output-management: clients (wlr-randr, kanshi) list the outputs as
// heads with their modes and change them with a configuration that is
// tested or applied as a whole. What minicomp can change: the mode of an
// output that implements backend.ModeSetter (KMS: the connector's modes;
// headless: any size), and whether an output that implements
// backend.OutputToggler (headless) is on, and the transform of an
// output that implements backend.Transformable (headless; KMS: the
// plane turns the picture when it can, else the compositor draws it
// turned): everything follows as for a mode (turn.go). The outputs that are on stand
// side by side in their order (as xdg-output says), each showing its own
// part of the layout (layout.go), unscaled; one turned on goes to the
// right of the others (the position asked for it is not looked at). A
// configuration asking for another position, a transform of an output
// that cannot turn, a scale, turning off an output that cannot be, or turning off every
// output fails (the client is told, nothing changes). An output that is
// off stays listed as a disabled head with its modes; outputs that come
// and go (KMS hotplug) get and finish heads on every manager.

// outputManagement is the server's side: the managers bound, the serial
// of the current output state (a configuration made for an older one is
// cancelled), the outputs that are off, and those turned off whose last
// frame is still in flight (and of those, the ones turned on again).
type outputManagement struct {
	managers []*outputManager
	serial   uint32
	off      []backend.Output
	draining map[backend.Output]bool
	again    map[backend.Output]bool // draining ones turned on again
}

func (s *Server) bindOutputManager(c *Client, id, version uint32) error {
	m := &outputManager{c: c, id: id, version: version, heads: map[backend.Output]*outputHead{}}
	o, err := register[protocol.ZwlrOutputManagerV1Handler](c, id, protocol.ZwlrOutputManagerV1Interface, version, m, protocol.DispatchZwlrOutputManagerV1)
	if err != nil {
		return err
	}
	if s.outMgmt.serial == 0 {
		s.outMgmt.serial = s.nextSerial()
	}
	s.outMgmt.managers = append(s.outMgmt.managers, m)
	o.onDestroy = func() { s.outMgmt.managers = without(s.outMgmt.managers, m) }
	for _, bo := range s.headOutputs() {
		m.addHead(bo)
	}
	c.send(protocol.ZwlrOutputManagerV1Done(c.conn, id, s.outMgmt.serial))
	return nil
}

// headOutputs is every output listed as a head: those on, in their
// order, then those off.
func (s *Server) headOutputs() []backend.Output {
	list := make([]backend.Output, 0, len(s.outputs)+len(s.outMgmt.off))
	for _, o := range s.outputs {
		list = append(list, o.o)
	}
	return append(list, s.outMgmt.off...)
}

// outputManager is one zwlr_output_manager_v1.
type outputManager struct {
	c       *Client
	id      uint32
	version uint32
	heads   map[backend.Output]*outputHead
	stopped bool
}

// outputHead is a manager's zwlr_output_head_v1 for an output, with the
// zwlr_output_mode_v1 objects sent for it and the state last sent.
type outputHead struct {
	id    uint32
	out   backend.Output
	modes []headMode
	cur   uint32 // the current mode's object
	on    bool
	x     int
	turn  backend.Transform // the transform last sent
	gone  bool              // finished: the output went away
}

type headMode struct {
	id   uint32
	mode scanout.Mode
}

// outputModes is what an output offers: its ModeSetter's list, or its
// one mode.
func outputModes(o backend.Output) []scanout.Mode {
	if ms, ok := o.(backend.ModeSetter); ok {
		return ms.Modes()
	}
	return []scanout.Mode{o.Mode()}
}

func sameMode(a, b scanout.Mode) bool {
	return a.Width == b.Width && a.Height == b.Height && a.RefreshMilliHz == b.RefreshMilliHz
}

// addHead announces an output to the manager's client.
func (m *outputManager) addHead(bo backend.Output) {
	c := m.c
	ho, err := c.addServer(protocol.ZwlrOutputHeadV1Interface, m.version, noRequests)
	if err != nil {
		c.send(err)
		return
	}
	h := &outputHead{id: ho.id, out: bo}
	ho.handler = h
	m.heads[bo] = h
	c.send(protocol.ZwlrOutputManagerV1Head(c.conn, m.id, h.id))
	c.send(protocol.ZwlrOutputHeadV1Name(c.conn, h.id, bo.Name()))
	c.send(protocol.ZwlrOutputHeadV1Description(c.conn, h.id, outputDescription(bo)))
	for _, md := range outputModes(bo) {
		m.addMode(h, md)
	}
	if m.version >= 2 {
		c.send(protocol.ZwlrOutputHeadV1Make(c.conn, h.id, "minicomp"))
		c.send(protocol.ZwlrOutputHeadV1Model(c.conn, h.id, bo.Name()))
	}
	m.sendState(h, true)
}

// sendState sends what changed of the head since it was last sent (all
// of it when force): enabled, and for an output that is on its current
// mode, position, transform and scale.
func (m *outputManager) sendState(h *outputHead, force bool) {
	c, s := m.c, m.c.s
	o := s.outputOf(h.out)
	if on := o != nil; force || on != h.on {
		h.on, force = on, true
		c.send(protocol.ZwlrOutputHeadV1Enabled(c.conn, h.id, b2i(on)))
	}
	if o == nil {
		return
	}
	cur := h.out.Mode()
	id := uint32(0)
	for _, hm := range h.modes {
		if sameMode(hm.mode, cur) {
			id = hm.id
		}
	}
	if id == 0 {
		id = m.addMode(h, cur)
	}
	if force || id != h.cur {
		h.cur = id
		c.send(protocol.ZwlrOutputHeadV1CurrentMode(c.conn, h.id, id))
	}
	if x := s.outputX(o); force || x != h.x {
		h.x = x
		c.send(protocol.ZwlrOutputHeadV1Position(c.conn, h.id, int32(x), 0))
	}
	if t := mountedAs(h.out); force || t != h.turn {
		h.turn = t
		c.send(protocol.ZwlrOutputHeadV1Transform(c.conn, h.id, int32(t)))
	}
	if force {
		c.send(protocol.ZwlrOutputHeadV1Scale(c.conn, h.id, wire.FixedFromFloat(1)))
	}
}

func b2i(b bool) int32 {
	if b {
		return 1
	}
	return 0
}

// finishHead tells the client the head's output is gone: its modes and
// it are finished (the objects stay, inert, until the client lets go).
func (m *outputManager) finishHead(h *outputHead) {
	for _, hm := range h.modes {
		m.c.send(protocol.ZwlrOutputModeV1Finished(m.c.conn, hm.id))
	}
	m.c.send(protocol.ZwlrOutputHeadV1Finished(m.c.conn, h.id))
	h.gone = true
	delete(m.heads, h.out)
}

// headsChanged tells every manager what changed of the outputs (one
// came, went, was turned on or off or got a new mode) under a new
// serial: heads finished and added, the others' new state, done.
func (s *Server) headsChanged() {
	s.outMgmt.serial = s.nextSerial()
	listed := s.headOutputs()
	for _, m := range s.outMgmt.managers {
		if m.stopped {
			continue
		}
		for bo, h := range m.heads {
			if !slices.Contains(listed, bo) {
				m.finishHead(h)
			}
		}
		for _, bo := range listed {
			if h := m.heads[bo]; h != nil {
				m.sendState(h, false)
			} else {
				m.addHead(bo)
			}
		}
		m.c.send(protocol.ZwlrOutputManagerV1Done(m.c.conn, m.id, s.outMgmt.serial))
	}
}

// addMode sends one more mode of the head.
func (m *outputManager) addMode(h *outputHead, md scanout.Mode) uint32 {
	c := m.c
	mo, err := c.addServer(protocol.ZwlrOutputModeV1Interface, m.version, noRequests)
	if err != nil {
		c.send(err)
		return 0
	}
	mo.handler = h
	h.modes = append(h.modes, headMode{id: mo.id, mode: md})
	c.send(protocol.ZwlrOutputHeadV1Mode(c.conn, h.id, mo.id))
	c.send(protocol.ZwlrOutputModeV1Size(c.conn, mo.id, int32(md.Width), int32(md.Height)))
	if md.RefreshMilliHz > 0 {
		c.send(protocol.ZwlrOutputModeV1Refresh(c.conn, mo.id, int32(md.RefreshMilliHz)))
	}
	if md.Preferred {
		c.send(protocol.ZwlrOutputModeV1Preferred(c.conn, mo.id))
	}
	return mo.id
}

func (m *outputManager) Stop() error {
	if !m.stopped {
		m.stopped = true
		m.c.send(protocol.ZwlrOutputManagerV1Finished(m.c.conn, m.id))
	}
	return nil
}

func (m *outputManager) CreateConfiguration(id, serial uint32) error {
	cfg := &outputConfig{m: m, id: id, serial: serial, heads: map[backend.Output]*configHead{}}
	_, err := register[protocol.ZwlrOutputConfigurationV1Handler](m.c, id, protocol.ZwlrOutputConfigurationV1Interface, m.version, cfg, protocol.DispatchZwlrOutputConfigurationV1)
	return err
}

// outputConfig is one zwlr_output_configuration_v1.
type outputConfig struct {
	m      *outputManager
	id     uint32
	serial uint32
	heads  map[backend.Output]*configHead // nil value: disabled
	used   bool
}

// configHead is a zwlr_output_configuration_head_v1: what to change.
type configHead struct {
	c         *Client
	id        uint32
	out       backend.Output
	mode      *scanout.Mode
	pos       *image.Point
	transform *int32
	scale     *wire.Fixed
}

func (cfg *outputConfig) head(headID uint32) (backend.Output, error) {
	o, err := cfg.m.c.lookup(cfg.id, headID, protocol.ZwlrOutputHeadV1Interface)
	if err != nil {
		return nil, err
	}
	out := o.handler.(*outputHead).out
	if _, ok := cfg.heads[out]; ok {
		return nil, errorf(cfg.id, protocol.ZwlrOutputConfigurationV1ErrorAlreadyConfiguredHead, "head %d configured twice", headID)
	}
	if cfg.used {
		return nil, errorf(cfg.id, protocol.ZwlrOutputConfigurationV1ErrorAlreadyUsed, "configuration already applied or tested")
	}
	return out, nil
}

func (cfg *outputConfig) EnableHead(id, headID uint32) error {
	out, err := cfg.head(headID)
	if err != nil {
		return err
	}
	ch := &configHead{c: cfg.m.c, id: id, out: out}
	if _, err := register[protocol.ZwlrOutputConfigurationHeadV1Handler](cfg.m.c, id, protocol.ZwlrOutputConfigurationHeadV1Interface, cfg.m.version, ch, protocol.DispatchZwlrOutputConfigurationHeadV1); err != nil {
		return err
	}
	cfg.heads[out] = ch
	return nil
}

func (cfg *outputConfig) DisableHead(headID uint32) error {
	out, err := cfg.head(headID)
	if err != nil {
		return err
	}
	cfg.heads[out] = nil
	return nil
}

func (cfg *outputConfig) Destroy() error { return nil }

func (cfg *outputConfig) Test() error  { return cfg.run(false) }
func (cfg *outputConfig) Apply() error { return cfg.run(true) }

// run tests the configuration and, when apply, makes it so: succeeded,
// failed (nothing changed) or cancelled (the outputs changed since the
// client looked).
func (cfg *outputConfig) run(apply bool) error {
	c, s := cfg.m.c, cfg.m.c.s
	if cfg.used {
		return errorf(cfg.id, protocol.ZwlrOutputConfigurationV1ErrorAlreadyUsed, "configuration already applied or tested")
	}
	cfg.used = true
	if cfg.serial != s.outMgmt.serial {
		c.send(protocol.ZwlrOutputConfigurationV1Cancelled(c.conn, cfg.id))
		return nil
	}
	for _, out := range s.headOutputs() {
		if _, ok := cfg.heads[out]; !ok {
			return errorf(cfg.id, protocol.ZwlrOutputConfigurationV1ErrorUnconfiguredHead, "output %s is neither enabled nor disabled", out.Name())
		}
	}
	if err := cfg.check(); err != nil {
		s.log.Info("output configuration refused", "err", err, "apply", apply)
		c.send(protocol.ZwlrOutputConfigurationV1Failed(c.conn, cfg.id))
		return nil
	}
	if apply {
		if err := cfg.apply(); err != nil {
			s.log.Warn("output configuration failed", "err", err)
			c.send(protocol.ZwlrOutputConfigurationV1Failed(c.conn, cfg.id))
			return nil
		}
	}
	c.send(protocol.ZwlrOutputConfigurationV1Succeeded(c.conn, cfg.id))
	return nil
}

// errUnsupported says what a configuration asks that minicomp cannot do.
var errUnsupported = errors.New("not supported")

// check refuses what the kiosk layout or the backend cannot do.
func (cfg *outputConfig) check() error {
	s := cfg.m.c.s
	on := 0
	for out, ch := range cfg.heads {
		name := out.Name()
		o := s.outputOf(out)
		_, toggles := out.(backend.OutputToggler)
		switch {
		case ch == nil && o != nil && !toggles:
			return fmt.Errorf("disable %s: the output cannot be turned off: %w", name, errUnsupported)
		case ch == nil:
			continue
		case o != nil && ch.pos != nil && *ch.pos != image.Pt(s.outputX(o), 0):
			return fmt.Errorf("position %v for %s: the outputs stand side by side in their order: %w", *ch.pos, name, errUnsupported)
		case ch.transform != nil && *ch.transform != int32(mountedAs(out)) && !turns(out):
			return fmt.Errorf("transform %v for %s: the output cannot turn: %w", backend.Transform(*ch.transform), name, errUnsupported)
		case ch.scale != nil && *ch.scale != wire.FixedFromFloat(1):
			return fmt.Errorf("scale %v for %s: %w", ch.scale.Float(), name, errUnsupported)
		}
		if o != nil || !s.outMgmt.draining[out] {
			on++ // (one turned off whose last frame is in flight is not yet back)
		}
		if ch.mode == nil || sameMode(*ch.mode, out.Mode()) {
			continue
		}
		ms, ok := out.(backend.ModeSetter)
		if !ok {
			return fmt.Errorf("mode %v for %s: the output cannot change modes: %w", *ch.mode, name, errUnsupported)
		}
		listed := false
		for _, md := range ms.Modes() {
			listed = listed || sameMode(md, *ch.mode) || ch.mode.RefreshMilliHz == 0 && md.Width == ch.mode.Width && md.Height == ch.mode.Height
		}
		if !listed && !ms.CustomModes() {
			return fmt.Errorf("custom mode %v for %s: %w", *ch.mode, name, errUnsupported)
		}
	}
	if on == 0 {
		return fmt.Errorf("disable every output (or all but one still turning off): one stays on: %w", errUnsupported)
	}
	return nil
}

// apply makes the configuration so: the outputs turned on get their
// targets, the new modes are set (all undone if one fails), the outputs
// turned off stop being served; then every client is told (wl_output's
// mode, globals, the heads).
func (cfg *outputConfig) apply() error {
	s := cfg.m.c.s
	type change struct {
		out backend.Output
		old scanout.Mode
	}
	var moded []change
	var enabled []backend.Output
	var turned []turnChange
	undo := func() {
		for _, out := range enabled {
			out.(backend.OutputToggler).SetEnabled(false)
		}
		for _, d := range moded {
			d.out.(backend.ModeSetter).SetMode(d.old)
		}
		undoTurns(turned)
	}
	for _, out := range s.headOutputs() {
		ch := cfg.heads[out]
		if ch == nil {
			continue
		}
		if ch.mode != nil && !sameMode(*ch.mode, out.Mode()) {
			old := out.Mode()
			if err := out.(backend.ModeSetter).SetMode(*ch.mode); err != nil {
				undo()
				return err
			}
			moded = append(moded, change{out, old})
		}
		if tc, err := setTurn(out, ch.transform); err != nil {
			undo()
			return err
		} else if tc.out != nil {
			turned = append(turned, tc)
		}
		if s.outputOf(out) == nil && !s.outMgmt.draining[out] {
			if err := out.(backend.OutputToggler).SetEnabled(true); err != nil {
				undo()
				return err
			}
			enabled = append(enabled, out)
		}
	}
	var disabled []*output
	for _, o := range s.outputs {
		if cfg.heads[o.o] == nil {
			disabled = append(disabled, o)
		}
	}
	// One turned off whose last frame is in flight comes back once it
	// is done (finishRemoval); turned off again, it stays off.
	again := false
	for out := range s.outMgmt.draining {
		again = again || cfg.heads[out] != nil != s.outMgmt.again[out]
		if cfg.heads[out] != nil {
			s.outMgmt.again[out] = true
		} else {
			delete(s.outMgmt.again, out)
		}
	}
	if len(moded)+len(enabled)+len(disabled)+len(turned) == 0 && !again {
		return nil
	}
	for _, d := range moded {
		s.log.Info("output mode set", "output", d.out.Name(), "from", d.old.String(), "to", d.out.Mode().String())
		if o := s.outputOf(d.out); o != nil && !turnedIn(turned, d.out) {
			o.resized()
		}
	}
	for _, tc := range turned {
		s.outputTurned(tc)
	}
	for _, o := range disabled {
		s.disableOutput(o)
	}
	for _, out := range enabled {
		s.enableOutput(out)
	}
	s.headsChanged()
	return nil
}

func (ch *configHead) SetMode(modeID uint32) error {
	if ch.mode != nil {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorAlreadySet, "mode set twice")
	}
	o, err := ch.c.lookup(ch.id, modeID, protocol.ZwlrOutputModeV1Interface)
	if err != nil {
		return err
	}
	h := o.handler.(*outputHead)
	if h.out != ch.out || h.gone {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorInvalidMode, "mode %d belongs to another head", modeID)
	}
	for _, hm := range h.modes {
		if hm.id == modeID {
			md := hm.mode
			ch.mode = &md
		}
	}
	return nil
}

func (ch *configHead) SetCustomMode(w, h, refresh int32) error {
	if ch.mode != nil {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorAlreadySet, "mode set twice")
	}
	if w <= 0 || h <= 0 || refresh < 0 {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorInvalidCustomMode, "custom mode %dx%d@%d", w, h, refresh)
	}
	ch.mode = &scanout.Mode{Width: int(w), Height: int(h), RefreshMilliHz: int(refresh)}
	return nil
}

func (ch *configHead) SetPosition(x, y int32) error {
	if ch.pos != nil {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorAlreadySet, "position set twice")
	}
	ch.pos = &image.Point{X: int(x), Y: int(y)}
	return nil
}

func (ch *configHead) SetTransform(t int32) error {
	if ch.transform != nil {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorAlreadySet, "transform set twice")
	}
	if t < 0 || t > protocol.WlOutputTransformFlipped270 {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorInvalidTransform, "transform %d", t)
	}
	ch.transform = &t
	return nil
}

func (ch *configHead) SetScale(scale wire.Fixed) error {
	if ch.scale != nil {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorAlreadySet, "scale set twice")
	}
	if scale <= 0 {
		return errorf(ch.id, protocol.ZwlrOutputConfigurationHeadV1ErrorInvalidScale, "scale %v", scale.Float())
	}
	ch.scale = &scale
	return nil
}
