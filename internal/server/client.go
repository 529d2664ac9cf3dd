package server

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// serverIDStart is where ids the server allocates begin (libwayland's
// WL_SERVER_ID_START).
const serverIDStart = 0xff000000

// maxObjects bounds how many objects one client may create (a flood).
const maxObjects = 1 << 16

// object is one protocol object of a client.
type object struct {
	id        uint32
	iface     *protocol.Interface
	version   uint32
	dispatch  func(version uint32, opcode uint16, d *wire.Decoder) error
	onDestroy func()
	handler   any // the Go value behind the object, for lookups by type
}

// Client is one connected Wayland client.
type Client struct {
	s       *Server
	conn    *wire.Conn
	objects map[uint32]*object
	log     *slog.Logger
	gone    bool
	// registries are the client's wl_registry objects (told of globals
	// that come and go).
	registries []uint32
	// outputIDs lists the client's wl_output objects per output.
	outputIDs map[*output][]uint32
	nextID    uint32
	// the client's wl_pointer and wl_keyboard objects
	pointers, keyboards []seatResource
	dataDevices         []seatResource // the client's wl_data_device objects
	dec                 wire.Decoder   // the request being dispatched
	// spareCallbacks are destroyed wl_callback objects, reused: a client
	// makes one or more every frame.
	spareCallbacks []*object
}

// protocolError is an error a client caused: it becomes wl_display.error.
type protocolError struct {
	object uint32
	code   uint32
	msg    string
}

func (e *protocolError) Error() string {
	return fmt.Sprintf("protocol error on object %d (code %d): %s", e.object, e.code, e.msg)
}

// errorf makes a protocol error for object with the interface's error code.
func errorf(object uint32, code uint32, format string, a ...any) error {
	return &protocolError{object: object, code: code, msg: fmt.Sprintf(format, a...)}
}

// serverID allocates an id for an object the server creates.
func (c *Client) serverID() uint32 {
	// libwayland clients take server ids in order from serverIDStart
	// (wl_map_reserve_new refuses a gap): the first is serverIDStart.
	for {
		id := serverIDStart + c.nextID
		c.nextID++
		if _, used := c.objects[id]; !used {
			return id
		}
	}
}

// add registers a new object created by the client (id from a new_id).
func (c *Client) add(id uint32, iface *protocol.Interface, version uint32, dispatch func(uint32, uint16, *wire.Decoder) error) (*object, error) {
	if id == 0 || id >= serverIDStart {
		return nil, errorf(1, protocol.WlDisplayErrorInvalidObject, "new id %d out of the client's range", id)
	}
	return c.insert(id, iface, version, dispatch)
}

// addServer registers a new object the server creates (a wl_data_offer,
// a dma-buf wl_buffer made by create), with an id from serverID.
func (c *Client) addServer(iface *protocol.Interface, version uint32, dispatch func(uint32, uint16, *wire.Decoder) error) (*object, error) {
	return c.insert(c.serverID(), iface, version, dispatch)
}

func (c *Client) insert(id uint32, iface *protocol.Interface, version uint32, dispatch func(uint32, uint16, *wire.Decoder) error) (*object, error) {
	if _, ok := c.objects[id]; ok {
		return nil, errorf(1, protocol.WlDisplayErrorInvalidObject, "id %d already in use", id)
	}
	if len(c.objects) >= maxObjects {
		return nil, errorf(1, protocol.WlDisplayErrorNoMemory, "too many objects")
	}
	if version > iface.Version {
		version = iface.Version
	}
	var o *object
	if n := len(c.spareCallbacks); n > 0 && iface == protocol.WlCallbackInterface {
		o = c.spareCallbacks[n-1]
		c.spareCallbacks = c.spareCallbacks[:n-1]
		*o = object{id: id, iface: iface, version: version, dispatch: dispatch}
	} else {
		o = &object{id: id, iface: iface, version: version, dispatch: dispatch}
	}
	c.objects[id] = o
	return o, nil
}

// destroy removes an object and tells the client its id is free.
func (c *Client) destroy(id uint32) {
	o, ok := c.objects[id]
	if !ok {
		return
	}
	delete(c.objects, id)
	if o.onDestroy != nil {
		o.onDestroy()
	}
	if id < serverIDStart {
		c.send(protocol.WlDisplayDeleteId(c.conn, 1, id))
	}
	if o.iface == protocol.WlCallbackInterface && len(c.spareCallbacks) < 64 {
		c.spareCallbacks = append(c.spareCallbacks, o) // nothing keeps a callback's *object
	}
}

// send records a failure to queue an event (the client stopped reading):
// the client is dropped at the end of the dispatch round.
func (c *Client) send(err error) {
	if err != nil && !c.gone {
		c.log.Warn("dropping client", "err", err)
		c.gone = true
	}
}

// lookup returns the client's object id of the wanted interface, or a
// protocol error naming what was wrong.
func (c *Client) lookup(from, id uint32, iface *protocol.Interface) (*object, error) {
	o, ok := c.objects[id]
	if !ok {
		return nil, errorf(from, protocol.WlDisplayErrorInvalidObject, "object %d does not exist", id)
	}
	if o.iface != iface {
		return nil, errorf(from, protocol.WlDisplayErrorInvalidObject, "object %d is a %s, not a %s", id, o.iface.Name, iface.Name)
	}
	return o, nil
}

// handle dispatches every complete message in the client's input.
func (c *Client) handle() error {
	for !c.gone {
		h, d, ok, err := c.conn.Next()
		if err != nil {
			return errorf(1, protocol.WlDisplayErrorInvalidMethod, "%v", err)
		}
		if !ok {
			return nil
		}
		o, found := c.objects[h.Object]
		if !found {
			// A request to an object the client destroyed may race with
			// delete_id; libwayland ignores those for ids it knew. Unknown
			// ids are an error.
			return errorf(1, protocol.WlDisplayErrorInvalidObject, "invalid object %d", h.Object)
		}
		c.dec = d // dispatch takes a pointer: one decoder per client, not one per message on the heap
		if err := o.dispatch(o.version, h.Opcode, &c.dec); err != nil {
			var pe *protocolError
			if errors.As(err, &pe) {
				return err
			}
			if errors.Is(err, wire.ErrProtocol) {
				return errorf(h.Object, protocol.WlDisplayErrorInvalidMethod, "%s: %v", o.iface.Name, err)
			}
			return err
		}
		if int(h.Opcode) < len(o.iface.Requests) && o.iface.Requests[h.Opcode].Destructor {
			c.destroy(h.Object)
		}
	}
	return nil
}
