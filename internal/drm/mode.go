package drm

import (
	"runtime"
	"unsafe"
)

// ptr returns the address of a slice's first element as the __u64 the
// kernel wants, or 0 for an empty slice. The slice must live on the heap
// (grown by append, or pinned with addr) and stay alive until the ioctl
// returns: the kernel writes through the address, which the garbage
// collector does not see.
func ptr[T any](s []T) uint64 {
	if len(s) == 0 {
		return 0
	}
	return uint64(uintptr(unsafe.Pointer(&s[0])))
}

// addr pins s for the kernel and returns its address. Pinning makes the
// backing array escape to the heap: a small make() that does not escape
// would otherwise sit on the goroutine stack, which moves when it grows.
func addr[T any](pin *runtime.Pinner, s []T) uint64 {
	if len(s) == 0 {
		return 0
	}
	pin.Pin(&s[0])
	return ptr(s)
}

// Resources lists a KMS device's mode objects.
type Resources struct {
	FBs, CRTCs, Connectors, Encoders []uint32
	MinWidth, MaxWidth               uint32
	MinHeight, MaxHeight             uint32
}

// Resources returns the device's CRTCs, connectors and encoders. A device
// without KMS (a render-only GPU) fails with EOPNOTSUPP or EINVAL.
func (d *Device) Resources() (*Resources, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	for {
		var r ModeCardRes
		if err := d.ioctl("MODE_GETRESOURCES", ioctlModeGetResources, unsafe.Pointer(&r)); err != nil {
			return nil, err
		}
		res := &Resources{
			FBs:        make([]uint32, r.CountFBs),
			CRTCs:      make([]uint32, r.CountCRTCs),
			Connectors: make([]uint32, r.CountConnectors),
			Encoders:   make([]uint32, r.CountEncoders),
		}
		want := r
		r.FBIDPtr, r.CRTCIDPtr = addr(&pin, res.FBs), addr(&pin, res.CRTCs)
		r.ConnectorIDPtr, r.EncoderIDPtr = addr(&pin, res.Connectors), addr(&pin, res.Encoders)
		err := d.ioctl("MODE_GETRESOURCES", ioctlModeGetResources, unsafe.Pointer(&r))
		runtime.KeepAlive(res)
		if err != nil {
			return nil, err
		}
		if r.CountFBs > want.CountFBs || r.CountCRTCs > want.CountCRTCs ||
			r.CountConnectors > want.CountConnectors || r.CountEncoders > want.CountEncoders {
			continue // hotplug between the calls
		}
		res.FBs, res.CRTCs = res.FBs[:r.CountFBs], res.CRTCs[:r.CountCRTCs]
		res.Connectors, res.Encoders = res.Connectors[:r.CountConnectors], res.Encoders[:r.CountEncoders]
		res.MinWidth, res.MaxWidth, res.MinHeight, res.MaxHeight = r.MinWidth, r.MaxWidth, r.MinHeight, r.MaxHeight
		return res, nil
	}
}

// Connector is a display connector and its modes.
type Connector struct {
	ID, Type, TypeID  uint32
	Connection        uint32
	MMWidth, MMHeight uint32
	EncoderID         uint32
	Encoders          []uint32
	Modes             []ModeInfo
}

// Connector returns a connector's state and modes. It does not force a
// probe beyond what GETCONNECTOR does.
func (d *Device) Connector(id uint32) (*Connector, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	for {
		c := ModeGetConnector{ConnectorID: id}
		if err := d.ioctl("MODE_GETCONNECTOR", ioctlModeGetConnector, unsafe.Pointer(&c)); err != nil {
			return nil, err
		}
		conn := &Connector{
			Encoders: make([]uint32, c.CountEncoders),
			Modes:    make([]ModeInfo, c.CountModes),
		}
		props := make([]uint32, c.CountProps)
		vals := make([]uint64, c.CountProps)
		want := c
		c.EncodersPtr, c.ModesPtr = addr(&pin, conn.Encoders), addr(&pin, conn.Modes)
		c.PropsPtr, c.PropValuesPtr = addr(&pin, props), addr(&pin, vals)
		err := d.ioctl("MODE_GETCONNECTOR", ioctlModeGetConnector, unsafe.Pointer(&c))
		runtime.KeepAlive(conn)
		runtime.KeepAlive(props)
		runtime.KeepAlive(vals)
		if err != nil {
			return nil, err
		}
		if c.CountEncoders > want.CountEncoders || c.CountModes > want.CountModes || c.CountProps > want.CountProps {
			continue
		}
		conn.ID, conn.Type, conn.TypeID = c.ConnectorID, c.ConnectorType, c.ConnectorTypeID
		conn.Connection, conn.MMWidth, conn.MMHeight = c.Connection, c.MMWidth, c.MMHeight
		conn.EncoderID = c.EncoderID
		conn.Encoders, conn.Modes = conn.Encoders[:c.CountEncoders], conn.Modes[:c.CountModes]
		return conn, nil
	}
}

// Encoder returns an encoder.
func (d *Device) Encoder(id uint32) (ModeGetEncoder, error) {
	e := ModeGetEncoder{EncoderID: id}
	err := d.ioctl("MODE_GETENCODER", ioctlModeGetEncoder, unsafe.Pointer(&e))
	return e, err
}

// CRTC returns a CRTC's current state.
func (d *Device) CRTC(id uint32) (ModeCRTC, error) {
	c := ModeCRTC{CRTCID: id}
	err := d.ioctl("MODE_GETCRTC", ioctlModeGetCRTC, unsafe.Pointer(&c))
	return c, err
}

// PlaneIDs lists the device's planes (all of them once
// ClientCapUniversalPlanes is on).
func (d *Device) PlaneIDs() ([]uint32, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	for {
		var r ModeGetPlaneRes
		if err := d.ioctl("MODE_GETPLANERESOURCES", ioctlModeGetPlaneRes, unsafe.Pointer(&r)); err != nil {
			return nil, err
		}
		ids := make([]uint32, r.CountPlanes)
		want := r.CountPlanes
		r.PlaneIDPtr = addr(&pin, ids)
		err := d.ioctl("MODE_GETPLANERESOURCES", ioctlModeGetPlaneRes, unsafe.Pointer(&r))
		runtime.KeepAlive(ids)
		if err != nil {
			return nil, err
		}
		if r.CountPlanes > want {
			continue
		}
		return ids[:r.CountPlanes], nil
	}
}

// Plane is a plane's state and its legacy format list.
type Plane struct {
	ID, CRTCID, FBID uint32
	PossibleCRTCs    uint32
	Formats          []uint32
}

// Plane returns a plane.
func (d *Device) Plane(id uint32) (*Plane, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	for {
		p := ModeGetPlane{PlaneID: id}
		if err := d.ioctl("MODE_GETPLANE", ioctlModeGetPlane, unsafe.Pointer(&p)); err != nil {
			return nil, err
		}
		formats := make([]uint32, p.CountFormatTypes)
		want := p.CountFormatTypes
		p.FormatTypePtr = addr(&pin, formats)
		err := d.ioctl("MODE_GETPLANE", ioctlModeGetPlane, unsafe.Pointer(&p))
		runtime.KeepAlive(formats)
		if err != nil {
			return nil, err
		}
		if p.CountFormatTypes > want {
			continue
		}
		return &Plane{ID: p.PlaneID, CRTCID: p.CRTCID, FBID: p.FBID, PossibleCRTCs: p.PossibleCRTCs,
			Formats: formats[:p.CountFormatTypes]}, nil
	}
}

// ObjectProperties returns the property ids and values of a mode object.
func (d *Device) ObjectProperties(objID, objType uint32) (ids []uint32, values []uint64, err error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	for {
		p := ModeObjGetProperties{ObjID: objID, ObjType: objType}
		if err := d.ioctl("MODE_OBJ_GETPROPERTIES", ioctlModeObjGetProps, unsafe.Pointer(&p)); err != nil {
			return nil, nil, err
		}
		ids = make([]uint32, p.CountProps)
		values = make([]uint64, p.CountProps)
		want := p.CountProps
		p.PropsPtr, p.PropValuesPtr = addr(&pin, ids), addr(&pin, values)
		err := d.ioctl("MODE_OBJ_GETPROPERTIES", ioctlModeObjGetProps, unsafe.Pointer(&p))
		runtime.KeepAlive(ids)
		runtime.KeepAlive(values)
		if err != nil {
			return nil, nil, err
		}
		if p.CountProps > want {
			continue
		}
		return ids[:p.CountProps], values[:p.CountProps], nil
	}
}

// PropertyEnum is one named value of an enum or bitmask property.
type PropertyEnum struct {
	Value uint64
	Name  string
}

// Property is a property's metadata.
type Property struct {
	ID     uint32
	Name   string
	Flags  uint32
	Values []uint64 // range bounds or enum values
	Enums  []PropertyEnum
}

// Property returns a property's name, flags and possible values.
func (d *Device) Property(id uint32) (*Property, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	for {
		p := ModeGetProperty{PropID: id}
		if err := d.ioctl("MODE_GETPROPERTY", ioctlModeGetProperty, unsafe.Pointer(&p)); err != nil {
			return nil, err
		}
		values := make([]uint64, p.CountValues)
		var enums []ModePropertyEnum
		if p.Flags&(PropEnum|PropBitmask) != 0 {
			enums = make([]ModePropertyEnum, p.CountEnumBlobs)
		}
		wantV, wantE := p.CountValues, p.CountEnumBlobs
		p.ValuesPtr = addr(&pin, values)
		p.EnumBlobPtr = addr(&pin, enums)
		if enums == nil {
			p.CountEnumBlobs = 0
		}
		err := d.ioctl("MODE_GETPROPERTY", ioctlModeGetProperty, unsafe.Pointer(&p))
		runtime.KeepAlive(values)
		runtime.KeepAlive(enums)
		if err != nil {
			return nil, err
		}
		if p.CountValues > wantV || (enums != nil && p.CountEnumBlobs > wantE) {
			continue
		}
		prop := &Property{ID: p.PropID, Name: cstr(p.Name[:]), Flags: p.Flags, Values: values[:p.CountValues]}
		if enums != nil {
			for _, e := range enums[:p.CountEnumBlobs] {
				prop.Enums = append(prop.Enums, PropertyEnum{Value: e.Value, Name: cstr(e.Name[:])})
			}
		}
		return prop, nil
	}
}

// Blob returns a property blob's bytes.
func (d *Device) Blob(id uint32) ([]byte, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	for {
		b := ModeGetBlob{BlobID: id}
		if err := d.ioctl("MODE_GETPROPBLOB", ioctlModeGetPropBlob, unsafe.Pointer(&b)); err != nil {
			return nil, err
		}
		data := make([]byte, b.Length)
		want := b.Length
		b.Data = addr(&pin, data)
		err := d.ioctl("MODE_GETPROPBLOB", ioctlModeGetPropBlob, unsafe.Pointer(&b))
		runtime.KeepAlive(data)
		if err != nil {
			return nil, err
		}
		if b.Length > want {
			continue
		}
		return data[:b.Length], nil
	}
}

// CreateBlob creates a property blob (e.g. a mode for MODE_ID).
func (d *Device) CreateBlob(data []byte) (uint32, error) {
	var pin runtime.Pinner
	defer pin.Unpin()
	buf := make([]byte, len(data))
	copy(buf, data)
	b := ModeCreateBlob{Data: addr(&pin, buf), Length: uint32(len(buf))}
	err := d.ioctl("MODE_CREATEPROPBLOB", ioctlModeCreatePropBlob, unsafe.Pointer(&b))
	runtime.KeepAlive(buf)
	return b.BlobID, err
}

// DestroyBlob destroys a property blob this file created.
func (d *Device) DestroyBlob(id uint32) error {
	b := ModeDestroyBlob{BlobID: id}
	return d.ioctl("MODE_DESTROYPROPBLOB", ioctlModeDestroyPropBlob, unsafe.Pointer(&b))
}

// ModeBytes returns a mode's kernel representation, for CreateBlob.
func ModeBytes(m *ModeInfo) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(m)), unsafe.Sizeof(*m))
}

// Name returns the mode's name, e.g. "1920x1080".
func (m *ModeInfo) Name() string { return cstr(m.NameBytes[:]) }

// RefreshMilliHz returns the mode's refresh rate in mHz computed from its
// timings (VRefresh is rounded to whole Hz).
func (m *ModeInfo) RefreshMilliHz() int {
	if m.HTotal == 0 || m.VTotal == 0 {
		return int(m.VRefresh) * 1000
	}
	r := (int64(m.Clock)*1000000/int64(m.HTotal) + int64(m.VTotal)/2) / int64(m.VTotal)
	if m.Flags&(1<<4) != 0 { // DRM_MODE_FLAG_INTERLACE
		r *= 2
	}
	if m.Flags&(1<<5) != 0 { // DRM_MODE_FLAG_DBLSCAN
		r /= 2
	}
	if m.VScan > 1 {
		r /= int64(m.VScan)
	}
	return int(r)
}
