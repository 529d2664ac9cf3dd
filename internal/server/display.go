package server

import (
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// display is wl_display (object 1).
type display struct{ c *Client }

func (d *display) Sync(callback uint32) error {
	c := d.c
	if _, err := c.add(callback, protocol.WlCallbackInterface, 1, noRequests); err != nil {
		return err
	}
	c.send(protocol.WlCallbackDone(c.conn, callback, c.s.nextSerial()))
	c.destroy(callback)
	return nil
}

func (d *display) GetRegistry(registryID uint32) error {
	c := d.c
	r := &registry{c: c, id: registryID}
	if _, err := c.add(registryID, protocol.WlRegistryInterface, 1, func(v uint32, op uint16, dec *wire.Decoder) error {
		return protocol.DispatchWlRegistry(r, v, op, dec)
	}); err != nil {
		return err
	}
	c.registries = append(c.registries, registryID)
	for _, g := range c.s.globals {
		if !g.removed {
			c.send(protocol.WlRegistryGlobal(c.conn, registryID, g.name, g.iface.Name, g.version))
		}
	}
	return nil
}

// noRequests dispatches objects that have no requests (wl_callback).
func noRequests(v uint32, op uint16, d *wire.Decoder) error {
	return errorf(1, protocol.WlDisplayErrorInvalidMethod, "object has no requests")
}

type registry struct {
	c  *Client
	id uint32
}

func (r *registry) Bind(name uint32, iface string, version uint32, id uint32) error {
	for _, g := range r.c.s.globals {
		if g.name != name {
			continue
		}
		if g.iface.Name != iface {
			return errorf(r.id, protocol.WlDisplayErrorInvalidObject, "global %d is %s, not %s", name, g.iface.Name, iface)
		}
		if version == 0 || version > g.version {
			return errorf(r.id, protocol.WlDisplayErrorInvalidObject, "%s version %d not supported (max %d)", iface, version, g.version)
		}
		return g.bind(r.c, id, version)
	}
	return errorf(r.id, protocol.WlDisplayErrorInvalidObject, "no global %d", name)
}
