package server

import (
	"errors"
	"image"
	"slices"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/protocol"
)

// wlr-output-power-management: clients (wayvnc, idle daemons) switch an
// output's power mode, for backend outputs that implement
// backend.PowerControl (KMS: the CRTC's ACTIVE; headless: recorded and
// reported); other outputs answer failed, as the protocol asks of an
// output without power control.

func (s *Server) bindOutputPowerManager(c *Client, id, version uint32) error {
	_, err := register[protocol.ZwlrOutputPowerManagerV1Handler](c, id, protocol.ZwlrOutputPowerManagerV1Interface, version,
		&outputPowerManager{c: c, id: id}, protocol.DispatchZwlrOutputPowerManagerV1)
	return err
}

type outputPowerManager struct {
	c  *Client
	id uint32
}

func (m *outputPowerManager) Destroy() error { return nil }

func (m *outputPowerManager) GetOutputPower(id, outputID uint32) error {
	o, err := m.c.lookup(m.id, outputID, protocol.WlOutputInterface)
	if err != nil {
		return err
	}
	out := o.handler.(*outputResource).o
	p := &outputPower{c: m.c, id: id, out: out}
	obj, err := register[protocol.ZwlrOutputPowerV1Handler](m.c, id, protocol.ZwlrOutputPowerV1Interface, 1, p, protocol.DispatchZwlrOutputPowerV1)
	if err != nil {
		return err
	}
	if _, ok := out.o.(backend.PowerControl); !ok || out.removed {
		m.c.send(protocol.ZwlrOutputPowerV1Failed(m.c.conn, id))
		return nil
	}
	out.powerRes = append(out.powerRes, p)
	obj.onDestroy = func() { out.powerRes = slices.DeleteFunc(out.powerRes, func(x *outputPower) bool { return x == p }) }
	m.c.send(protocol.ZwlrOutputPowerV1Mode(m.c.conn, id, out.powerMode()))
	return nil
}

func (o *output) powerMode() uint32 {
	if o.powerOff {
		return protocol.ZwlrOutputPowerV1ModeOff
	}
	return protocol.ZwlrOutputPowerV1ModeOn
}

// outputPower is one zwlr_output_power_v1.
type outputPower struct {
	c   *Client
	id  uint32
	out *output
}

func (p *outputPower) Destroy() error { return nil }

func (p *outputPower) SetMode(mode uint32) error {
	if mode != protocol.ZwlrOutputPowerV1ModeOff && mode != protocol.ZwlrOutputPowerV1ModeOn {
		return errorf(p.id, protocol.ZwlrOutputPowerV1ErrorInvalidMode, "mode %d", mode)
	}
	o := p.out
	if !slices.Contains(o.powerRes, p) {
		return nil // answered failed already
	}
	off := mode == protocol.ZwlrOutputPowerV1ModeOff
	if off == o.powerOff {
		p.c.send(protocol.ZwlrOutputPowerV1Mode(p.c.conn, p.id, mode))
		return nil
	}
	if err := o.setPower(off); err != nil {
		p.c.send(protocol.ZwlrOutputPowerV1Failed(p.c.conn, p.id))
	}
	return nil
}

// setPower turns the output's display off or on (a client's request,
// or idle blanking) and tells every watcher; while off no frame is
// drawn for it, and back on it is drawn whole.
func (o *output) setPower(off bool) error {
	pc, ok := o.o.(backend.PowerControl)
	if !ok {
		return errors.New("the output has no power control")
	}
	if off == o.powerOff {
		return nil
	}
	if err := pc.SetPower(!off); err != nil {
		o.s.log.Warn("output power", "output", o.o.Name(), "off", off, "err", err)
		return err
	}
	o.powerOff = off
	o.s.log.Info("output power", "output", o.o.Name(), "mode", map[bool]string{true: "off", false: "on"}[off])
	mode := o.powerMode()
	for _, r := range o.powerRes {
		r.c.send(protocol.ZwlrOutputPowerV1Mode(r.c.conn, r.id, mode))
	}
	if !off {
		o.addDamage(o.bounds)
		o.history = [4][]image.Rectangle{}
		o.s.scheduleFrames()
	}
	return nil
}
