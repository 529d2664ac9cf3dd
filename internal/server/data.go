package server

import (
	"slices"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/protocol"
)

// The clipboard (seat0's selection) through wl_data_device and
// zwlr_data_control (wl-copy, wl-paste, clipboard managers, wayvnc).
// The compositor only passes fds: a receive on an offer becomes a send
// to the source's client with the same pipe, which the compositor closes
// at once. It never reads or writes the data, so a large paste costs it
// nothing and cannot block it. A new selection cancels the old source;
// a source's client going away clears the selection. Drag-and-drop is
// minimal: a drag is cancelled as it starts.

// maxMimeTypes bounds the MIME types one source may offer.
const maxMimeTypes = 64

// selSource is a selection's source: a wl_data_source or a
// zwlr_data_control_source_v1.
type selSource interface {
	mimeTypes() []string
	send(mime string, fd int)
	cancel()
}

// selection is the clipboard's state.
type selection struct {
	src      selSource
	controls []*dataControlDevice // every zwlr_data_control_device_v1
	// primary is the primary selection, seen and set through data
	// control (v2) only: there is no zwp_primary_selection yet.
	primary selSource
}

// setSelection makes src the selection (nil clears it), cancels the old
// source and offers the new one to the focused client's data devices and
// to every data-control device.
func (s *Server) setSelection(src selSource) {
	old := s.selection.src
	if old == src {
		return
	}
	s.selection.src = src
	if old != nil {
		old.cancel()
	}
	s.announceSelection()
}

// dropSource clears the selection when src (being destroyed) is it,
// without cancelling it.
func (s *Server) dropSource(src selSource) {
	if s.selection.src == src {
		s.selection.src = nil
		s.announceSelection()
	}
	if s.selection.primary == src {
		s.selection.primary = nil
		for _, d := range s.selection.controls {
			d.offerPrimary()
		}
	}
}

// setPrimary is setSelection for the primary selection.
func (s *Server) setPrimary(src selSource) {
	old := s.selection.primary
	if old == src {
		return
	}
	s.selection.primary = src
	if old != nil {
		old.cancel()
	}
	for _, d := range s.selection.controls {
		d.offerPrimary()
	}
}

func (s *Server) announceSelection() {
	if f := s.seat.keyboardFocus; f != nil {
		s.offerSelection(f.c)
	}
	for _, d := range s.selection.controls {
		d.offerSelection()
	}
}

// offerSelection sends the selection to c's wl_data_devices: a new
// wl_data_offer with its MIME types, then wl_data_device.selection.
func (s *Server) offerSelection(c *Client) {
	src := s.selection.src
	for _, d := range c.dataDevices {
		if src == nil {
			c.send(protocol.WlDataDeviceSelection(c.conn, d.id, 0))
			continue
		}
		off := &dataOffer{c: c, src: src}
		o, err := registerServer[protocol.WlDataOfferHandler](c, protocol.WlDataOfferInterface, d.version, off, protocol.DispatchWlDataOffer)
		if err != nil {
			c.send(err)
			return
		}
		off.id = o.id
		c.send(protocol.WlDataDeviceDataOffer(c.conn, d.id, o.id))
		for _, m := range src.mimeTypes() {
			c.send(protocol.WlDataOfferOffer(c.conn, o.id, m))
		}
		c.send(protocol.WlDataDeviceSelection(c.conn, d.id, o.id))
	}
}

// receive hands fd to the selection's source if src still is it; the
// compositor's copy of fd is closed either way.
func (s *Server) receive(src selSource, mime string, fd int) {
	if src != nil && (src == s.selection.src || src == s.selection.primary) {
		src.send(mime, fd)
	}
	unix.Close(fd)
}

func (s *Server) bindDataDeviceManager(c *Client, id, version uint32) error {
	_, err := register[protocol.WlDataDeviceManagerHandler](c, id, protocol.WlDataDeviceManagerInterface, version, &dataDeviceManager{c: c, id: id, version: version}, protocol.DispatchWlDataDeviceManager)
	return err
}

type dataDeviceManager struct {
	c       *Client
	id      uint32
	version uint32
}

func (m *dataDeviceManager) CreateDataSource(id uint32) error {
	src := &dataSource{c: m.c, id: id, version: m.version}
	o, err := register[protocol.WlDataSourceHandler](m.c, id, protocol.WlDataSourceInterface, m.version, src, protocol.DispatchWlDataSource)
	if err != nil {
		return err
	}
	o.onDestroy = func() { src.gone = true; m.c.s.dropSource(src) }
	return nil
}

func (m *dataDeviceManager) GetDataDevice(id, seat uint32) error {
	c := m.c
	if _, err := c.lookup(m.id, seat, protocol.WlSeatInterface); err != nil {
		return err
	}
	d := &dataDevice{c: c, id: id}
	o, err := register[protocol.WlDataDeviceHandler](c, id, protocol.WlDataDeviceInterface, m.version, d, protocol.DispatchWlDataDevice)
	if err != nil {
		return err
	}
	r := seatResource{c: c, id: id, version: m.version}
	c.dataDevices = append(c.dataDevices, r)
	o.onDestroy = func() {
		c.dataDevices = slices.DeleteFunc(c.dataDevices, func(x seatResource) bool { return x.id == id })
	}
	if f := c.s.seat.keyboardFocus; f != nil && f.c == c {
		c.s.offerSelection(c) // offers to every device of c: the new one included
	}
	return nil
}

// dataSource is one wl_data_source.
type dataSource struct {
	c       *Client
	id      uint32
	version uint32
	mimes   []string
	used    bool // set as a selection or dragged: no more offers
	gone    bool
}

func (d *dataSource) mimeTypes() []string { return d.mimes }

func (d *dataSource) send(mime string, fd int) {
	if !d.gone {
		d.c.send(protocol.WlDataSourceSend(d.c.conn, d.id, mime, fd))
	}
}

func (d *dataSource) cancel() {
	if !d.gone {
		d.c.send(protocol.WlDataSourceCancelled(d.c.conn, d.id))
	}
}

func (d *dataSource) Offer(mime string) error {
	if len(d.mimes) >= maxMimeTypes {
		return errorf(d.id, protocol.WlDisplayErrorNoMemory, "more than %d MIME types", maxMimeTypes)
	}
	if !slices.Contains(d.mimes, mime) {
		d.mimes = append(d.mimes, mime)
	}
	return nil
}

func (d *dataSource) SetActions(actions uint32) error {
	const all = protocol.WlDataDeviceManagerDndActionCopy | protocol.WlDataDeviceManagerDndActionMove | protocol.WlDataDeviceManagerDndActionAsk
	if actions&^uint32(all) != 0 {
		return errorf(d.id, protocol.WlDataSourceErrorInvalidActionMask, "actions %#x", actions)
	}
	return nil
}

func (d *dataSource) Destroy() error { return nil }

// dataDevice is one wl_data_device.
type dataDevice struct {
	c  *Client
	id uint32
}

func (d *dataDevice) source(id uint32) (*dataSource, error) {
	if id == 0 {
		return nil, nil
	}
	o, err := d.c.lookup(d.id, id, protocol.WlDataSourceInterface)
	if err != nil {
		return nil, err
	}
	return o.handler.(*dataSource), nil
}

// StartDrag: drag-and-drop is not supported yet; the drag ends at once
// (the source is cancelled), which clients handle as a drop on nothing.
func (d *dataDevice) StartDrag(sourceID, origin, icon, serial uint32) error {
	src, err := d.source(sourceID)
	if err != nil || src == nil {
		return err
	}
	src.used = true
	src.cancel()
	return nil
}

func (d *dataDevice) SetSelection(sourceID, serial uint32) error {
	src, err := d.source(sourceID)
	if err != nil {
		return err
	}
	if src == nil {
		d.c.s.setSelection(nil)
		return nil
	}
	if src.used && d.c.s.selection.src != selSource(src) {
		return errorf(src.id, protocol.WlDataSourceErrorInvalidSource, "source already used")
	}
	src.used = true
	d.c.s.setSelection(src)
	return nil
}

func (d *dataDevice) Release() error { return nil }

// dataOffer is one wl_data_offer of a selection.
type dataOffer struct {
	c   *Client
	id  uint32
	src selSource
}

func (o *dataOffer) Accept(serial uint32, mime string) error { return nil }

func (o *dataOffer) Receive(mime string, fd int) error {
	o.c.s.receive(o.src, mime, fd)
	return nil
}

func (o *dataOffer) Finish() error {
	return errorf(o.id, protocol.WlDataOfferErrorInvalidFinish, "finish on a selection offer")
}

func (o *dataOffer) SetActions(actions, preferred uint32) error {
	return errorf(o.id, protocol.WlDataOfferErrorInvalidOffer, "set_actions on a selection offer")
}

func (o *dataOffer) Destroy() error { return nil }

// wlr-data-control: clipboard managers and tools (wl-copy, wl-paste) see
// and set the selection without a focused surface.

func (s *Server) bindDataControlManager(c *Client, id, version uint32) error {
	_, err := register[protocol.ZwlrDataControlManagerV1Handler](c, id, protocol.ZwlrDataControlManagerV1Interface, version,
		&dataControlManager{c: c, id: id, version: version}, protocol.DispatchZwlrDataControlManagerV1)
	return err
}

type dataControlManager struct {
	c       *Client
	id      uint32
	version uint32
}

func (m *dataControlManager) Destroy() error { return nil }

func (m *dataControlManager) CreateDataSource(id uint32) error {
	src := &dataControlSource{c: m.c, id: id}
	o, err := register[protocol.ZwlrDataControlSourceV1Handler](m.c, id, protocol.ZwlrDataControlSourceV1Interface, 1, src, protocol.DispatchZwlrDataControlSourceV1)
	if err != nil {
		return err
	}
	o.onDestroy = func() { src.gone = true; m.c.s.dropSource(src) }
	return nil
}

func (m *dataControlManager) GetDataDevice(id, seat uint32) error {
	c := m.c
	if _, err := c.lookup(m.id, seat, protocol.WlSeatInterface); err != nil {
		return err
	}
	d := &dataControlDevice{c: c, id: id, version: m.version}
	o, err := register[protocol.ZwlrDataControlDeviceV1Handler](c, id, protocol.ZwlrDataControlDeviceV1Interface, m.version, d, protocol.DispatchZwlrDataControlDeviceV1)
	if err != nil {
		return err
	}
	sel := &c.s.selection
	sel.controls = append(sel.controls, d)
	o.onDestroy = func() {
		sel.controls = slices.DeleteFunc(sel.controls, func(x *dataControlDevice) bool { return x == d })
	}
	d.offerSelection()
	d.offerPrimary()
	return nil
}

// dataControlDevice is one zwlr_data_control_device_v1.
type dataControlDevice struct {
	c       *Client
	id      uint32
	version uint32
}

func (d *dataControlDevice) offerSelection() {
	c := d.c
	id := d.offer(c.s.selection.src)
	c.send(protocol.ZwlrDataControlDeviceV1Selection(c.conn, d.id, id))
}

func (d *dataControlDevice) offerPrimary() {
	if d.version < 2 {
		return
	}
	c := d.c
	id := d.offer(c.s.selection.primary)
	c.send(protocol.ZwlrDataControlDeviceV1PrimarySelection(c.conn, d.id, id))
}

// offer introduces a new offer of src (0 for none).
func (d *dataControlDevice) offer(src selSource) uint32 {
	c := d.c
	if src == nil {
		return 0
	}
	off := &dataControlOffer{c: c, src: src}
	o, err := registerServer[protocol.ZwlrDataControlOfferV1Handler](c, protocol.ZwlrDataControlOfferV1Interface, 1, off, protocol.DispatchZwlrDataControlOfferV1)
	if err != nil {
		c.send(err)
		return 0
	}
	c.send(protocol.ZwlrDataControlDeviceV1DataOffer(c.conn, d.id, o.id))
	for _, m := range src.mimeTypes() {
		c.send(protocol.ZwlrDataControlOfferV1Offer(c.conn, o.id, m))
	}
	return o.id
}

// source looks up a source to set (nil for 0): each can be set once.
func (d *dataControlDevice) source(id uint32) (*dataControlSource, error) {
	if id == 0 {
		return nil, nil
	}
	o, err := d.c.lookup(d.id, id, protocol.ZwlrDataControlSourceV1Interface)
	if err != nil {
		return nil, err
	}
	src := o.handler.(*dataControlSource)
	if src.used {
		return nil, errorf(d.id, protocol.ZwlrDataControlDeviceV1ErrorUsedSource, "source already used")
	}
	src.used = true
	return src, nil
}

func (d *dataControlDevice) SetSelection(sourceID uint32) error {
	src, err := d.source(sourceID)
	if err != nil {
		return err
	}
	if src == nil {
		d.c.s.setSelection(nil)
	} else {
		d.c.s.setSelection(src)
	}
	return nil
}

func (d *dataControlDevice) SetPrimarySelection(sourceID uint32) error {
	src, err := d.source(sourceID)
	if err != nil {
		return err
	}
	if src == nil {
		d.c.s.setPrimary(nil)
	} else {
		d.c.s.setPrimary(src)
	}
	return nil
}

func (d *dataControlDevice) Destroy() error { return nil }

// dataControlSource is one zwlr_data_control_source_v1.
type dataControlSource struct {
	c     *Client
	id    uint32
	mimes []string
	used  bool
	gone  bool
}

func (d *dataControlSource) mimeTypes() []string { return d.mimes }

func (d *dataControlSource) send(mime string, fd int) {
	if !d.gone {
		d.c.send(protocol.ZwlrDataControlSourceV1Send(d.c.conn, d.id, mime, fd))
	}
}

func (d *dataControlSource) cancel() {
	if !d.gone {
		d.c.send(protocol.ZwlrDataControlSourceV1Cancelled(d.c.conn, d.id))
	}
}

func (d *dataControlSource) Offer(mime string) error {
	if d.used {
		return errorf(d.id, protocol.ZwlrDataControlSourceV1ErrorInvalidOffer, "offer after set_selection")
	}
	if len(d.mimes) >= maxMimeTypes {
		return errorf(d.id, protocol.WlDisplayErrorNoMemory, "more than %d MIME types", maxMimeTypes)
	}
	if !slices.Contains(d.mimes, mime) {
		d.mimes = append(d.mimes, mime)
	}
	return nil
}

func (d *dataControlSource) Destroy() error { return nil }

// dataControlOffer is one zwlr_data_control_offer_v1.
type dataControlOffer struct {
	c   *Client
	src selSource
}

func (o *dataControlOffer) Receive(mime string, fd int) error {
	o.c.s.receive(o.src, mime, fd)
	return nil
}

func (o *dataControlOffer) Destroy() error { return nil }
