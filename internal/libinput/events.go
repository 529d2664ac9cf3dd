package libinput

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// EventType is libinput's event type.
type EventType int

// Event types (enum libinput_event_type).
const (
	DeviceAdded             EventType = 1
	DeviceRemoved           EventType = 2
	KeyboardKey             EventType = 300
	PointerMotion           EventType = 400
	PointerMotionAbsolute   EventType = 401
	PointerButton           EventType = 402
	PointerScrollWheel      EventType = 404
	PointerScrollFinger     EventType = 405
	PointerScrollContinuous EventType = 406
	TouchDown               EventType = 500
	TouchUp                 EventType = 501
	TouchMotion             EventType = 502
	TouchCancel             EventType = 503
	TouchFrame              EventType = 504
)

// Axis indices of Event.Scroll (enum libinput_pointer_axis).
const (
	AxisVertical   = 0
	AxisHorizontal = 1
)

// Event is one libinput event, copied out of libinput. Which fields are
// set depends on Type.
type Event struct {
	Type   EventType
	Device *Device
	Time   time.Duration // CLOCK_MONOTONIC
	// KeyboardKey: the evdev KEY_* code. PointerButton: the BTN_* code.
	Key, Button uint32
	Pressed     bool
	// PointerMotion: the accelerated and raw deltas.
	DX, DY, DXRaw, DYRaw float64
	// PointerMotionAbsolute, TouchDown, TouchMotion: the position as a
	// fraction of the device's range, [0, 1) (calibration applied).
	X, Y float64
	// Pointer scroll: which axes moved (by AxisVertical, AxisHorizontal),
	// by how much (in libinput's scroll units: degrees of a wheel,
	// pixel-like for fingers), and for wheels, in 120ths of a detent.
	HasAxis [2]bool
	Scroll  [2]float64
	V120    [2]float64
	// Touch: the seat-wide slot of the touch point (its wl_touch id).
	Slot int32
}

// convert copies libinput event ev into e; false for events minicomp
// does not use (tablets, gestures, switches, the legacy axis event).
func (c *Context) convert(ev uintptr, e *Event) bool {
	l := c.l
	e.Type = EventType(int32(c.fc.Call(l.evType, ev)))
	dev := c.fc.Call(l.evDevice, ev)
	switch e.Type {
	case DeviceAdded:
		if c.hot != nil && c.hot.otherSeat[dev] {
			return false // added and removed at once: another seat's
		}
		d := c.addDevice(dev)
		if c.hot != nil { // re-added by Resume under a new pointer
			c.hot.byName[d.Sysname] = dev
		}
		e.Device = d
		return true
	case DeviceRemoved:
		if c.hot != nil {
			delete(c.hot.otherSeat, dev)
		}
		d := c.devices[dev]
		if d == nil {
			return false
		}
		delete(c.devices, dev)
		if c.hot != nil {
			c.hot.forget(dev)
		}
		c.fc.Call(l.devUnref, dev)
		e.Device = d
		return true
	}
	e.Device = c.devices[dev]
	switch e.Type {
	case KeyboardKey:
		k := c.fc.Call(l.evKeyboard, ev)
		e.Time = usec(c.fc.Call(l.kbTime, k))
		e.Key = uint32(c.fc.Call(l.kbKey, k))
		e.Pressed = uint32(c.fc.Call(l.kbState, k)) == 1
	case PointerMotion, PointerMotionAbsolute, PointerButton, PointerScrollWheel, PointerScrollFinger, PointerScrollContinuous:
		p := c.fc.Call(l.evPointer, ev)
		e.Time = usec(c.fc.Call(l.ptTime, p))
		switch e.Type {
		case PointerMotion:
			e.DX, e.DY, e.DXRaw, e.DYRaw = c.double1(l.dx, p), c.double1(l.dy, p), c.double1(l.dxRaw, p), c.double1(l.dyRaw, p)
		case PointerMotionAbsolute:
			e.X, e.Y = c.double2(l.absX, p, 1), c.double2(l.absY, p, 1)
		case PointerButton:
			e.Button = uint32(c.fc.Call(l.ptButton, p))
			e.Pressed = uint32(c.fc.Call(l.ptButtonState, p)) == 1
		default:
			for a := range 2 {
				if c.fc.Call(l.ptHasAxis, p, uintptr(a))&0xff == 0 {
					continue
				}
				e.HasAxis[a] = true
				e.Scroll[a] = c.double2(l.scrollValue, p, uint32(a))
				if e.Type == PointerScrollWheel {
					e.V120[a] = c.double2(l.scrollValue120, p, uint32(a))
				}
			}
		}
	case TouchDown, TouchUp, TouchMotion, TouchCancel, TouchFrame:
		t := c.fc.Call(l.evTouch, ev)
		e.Time = usec(c.fc.Call(l.tcTime, t))
		if e.Type != TouchFrame {
			e.Slot = int32(c.fc.Call(l.tcSeatSlot, t))
		}
		if e.Type == TouchDown || e.Type == TouchMotion {
			e.X, e.Y = c.double2(l.touchX, t, 1), c.double2(l.touchY, t, 1)
		}
	default:
		return false
	}
	return true
}

func usec(v uintptr) time.Duration {
	// uint64_t: on 32-bit arm only the low word comes back in r0; it
	// wraps after 71 minutes of CLOCK_MONOTONIC, so the high word is
	// taken from the clock itself.
	if unsafe.Sizeof(v) == 4 {
		var ts unix.Timespec
		unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts)
		now := uint64(ts.Nano() / 1000)
		low := uint64(uint32(v))
		t := now&^0xffffffff | low
		if t > now+1<<31 {
			t -= 1 << 32
		}
		return time.Duration(t) * time.Microsecond
	}
	return time.Duration(v) * time.Microsecond
}
