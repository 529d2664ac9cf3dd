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

// inert implements requests that need no compositor state yet.
type inert struct{}

func (inert) SetCursor(serial, surface uint32, hx, hy int32) error { return nil }
func (inert) Release() error                                       { return nil }
func (inert) Destroy() error                                       { return nil }
func (inert) Offer(mimeType string) error                          { return nil }
func (inert) SetActions(actions uint32) error                      { return nil }
func (inert) StartDrag(source, origin, icon, serial uint32) error  { return nil }
func (inert) SetSelection(source, serial uint32) error             { return nil }

func (s *Server) bindDataDeviceManager(c *Client, id, version uint32) error {
	_, err := register[protocol.WlDataDeviceManagerHandler](c, id, protocol.WlDataDeviceManagerInterface, version, &dataDeviceManager{c: c, version: version}, protocol.DispatchWlDataDeviceManager)
	return err
}

type dataDeviceManager struct {
	c       *Client
	version uint32
}

func (m *dataDeviceManager) CreateDataSource(id uint32) error {
	_, err := register[protocol.WlDataSourceHandler](m.c, id, protocol.WlDataSourceInterface, m.version, inert{}, protocol.DispatchWlDataSource)
	return err
}

func (m *dataDeviceManager) GetDataDevice(id, seat uint32) error {
	_, err := register[protocol.WlDataDeviceHandler](m.c, id, protocol.WlDataDeviceInterface, m.version, inert{}, protocol.DispatchWlDataDevice)
	return err
}
