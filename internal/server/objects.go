package server

import (
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// register adds an object whose requests go to h through the generated
// dispatcher.
func register[H any](c *Client, id uint32, iface *protocol.Interface, version uint32, h H,
	dispatch func(H, uint32, uint16, *wire.Decoder) error) (*object, error) {
	o, err := c.add(id, iface, version, func(v uint32, op uint16, d *wire.Decoder) error { return dispatch(h, v, op, d) })
	if o != nil {
		o.handler = h
	}
	return o, err
}

// registerServer is register for an object the server creates; its id
// is o.id.
func registerServer[H any](c *Client, iface *protocol.Interface, version uint32, h H,
	dispatch func(H, uint32, uint16, *wire.Decoder) error) (*object, error) {
	o, err := c.addServer(iface, version, func(v uint32, op uint16, d *wire.Decoder) error { return dispatch(h, v, op, d) })
	if o != nil {
		o.handler = h
	}
	return o, err
}

// inert implements requests that need no compositor state yet.
type inert struct{}

func (inert) SetCursor(serial, surface uint32, hx, hy int32) error { return nil }
func (inert) Release() error                                       { return nil }
func (inert) Destroy() error                                       { return nil }
