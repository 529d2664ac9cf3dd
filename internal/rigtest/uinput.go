package rigtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/ioc"
)

// A UInput is a virtual input device made through /dev/uinput: the kernel
// creates a real evdev device (/dev/input/eventN, a uevent, sysfs
// capabilities) from what the test declares, and the test writes its
// events. Destroy (or Close) unplugs it.
type UInput struct {
	f *os.File
	// Sysname is the input device ("input7"); Event the event node
	// ("event3").
	Sysname, Event string
}

// Event types and codes tests use (linux/input-event-codes.h).
const (
	EvSyn, EvKey, EvRel, EvAbs = 0x00, 0x01, 0x02, 0x03
	SynReport                  = 0x00
	RelX, RelY, RelWheel       = 0x00, 0x01, 0x08
	RelWheelHiRes              = 0x0b
	AbsX, AbsY                 = 0x00, 0x01
	AbsMTSlot                  = 0x2f
	AbsMTPositionX             = 0x35
	AbsMTPositionY             = 0x36
	AbsMTTrackingID            = 0x39
	BtnLeft, BtnRight          = 0x110, 0x111
	BtnMiddle                  = 0x112
	BtnTouch                   = 0x14a
	BtnToolFinger              = 0x145
	BtnToolDoubleTap           = 0x14d
	PropPointer                = 0x00
	PropDirect                 = 0x01
)

// AbsAxis declares an absolute axis.
type AbsAxis struct {
	Code             uint16
	Min, Max, Resolu int32
}

// UInputSpec declares a device.
type UInputSpec struct {
	Name   string
	Keys   []uint16 // KEY_* and BTN_* codes
	Rels   []uint16
	Abs    []AbsAxis
	Props  []uint16
	Vendor uint16
}

var (
	uiSetEvBit   = ioc.IOW('U', 100, 4)
	uiSetKeyBit  = ioc.IOW('U', 101, 4)
	uiSetRelBit  = ioc.IOW('U', 102, 4)
	uiSetAbsBit  = ioc.IOW('U', 103, 4)
	uiSetPropBit = ioc.IOW('U', 110, 4)
	uiDevSetup   = ioc.IOW('U', 3, unsafe.Sizeof(uinputSetup{}))
	uiAbsSetup   = ioc.IOW('U', 4, unsafe.Sizeof(uinputAbsSetup{}))
	uiDevCreate  = ioc.IO('U', 1)
	uiDevDestroy = ioc.IO('U', 2)
)

// uiGetSysname is UI_GET_SYSNAME(len): _IOC(_IOC_READ, 'U', 44, len).
func uiGetSysname(n uintptr) uintptr { return 2<<30 | n<<16 | 'U'<<8 | 44 }

type uinputSetup struct {
	Bustype, Vendor, Product, Version uint16
	Name                              [80]byte
	FFEffectsMax                      uint32
}

type uinputAbsSetup struct {
	Code                                    uint16
	_                                       uint16
	Value, Min, Max, Fuzz, Flat, Resolution int32
}

// NewUInput creates the device and waits until its event node exists.
func NewUInput(spec UInputSpec) (*UInput, error) {
	f, err := os.OpenFile("/dev/uinput", os.O_WRONLY|syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("uinput: %w (CONFIG_INPUT_UINPUT)", err)
	}
	u := &UInput{f: f}
	fd := int(f.Fd())
	set := func(req uintptr, v uint16) error {
		return unix.IoctlSetInt(fd, uint(req), int(v))
	}
	fail := func(op string, err error) (*UInput, error) {
		f.Close()
		return nil, fmt.Errorf("uinput %s: %s: %w", spec.Name, op, err)
	}
	evs := map[uint16]bool{EvSyn: true}
	if len(spec.Keys) > 0 {
		evs[EvKey] = true
	}
	if len(spec.Rels) > 0 {
		evs[EvRel] = true
	}
	if len(spec.Abs) > 0 {
		evs[EvAbs] = true
	}
	for ev := range evs {
		if err := set(uiSetEvBit, ev); err != nil {
			return fail("UI_SET_EVBIT", err)
		}
	}
	for _, k := range spec.Keys {
		if err := set(uiSetKeyBit, k); err != nil {
			return fail("UI_SET_KEYBIT", err)
		}
	}
	for _, r := range spec.Rels {
		if err := set(uiSetRelBit, r); err != nil {
			return fail("UI_SET_RELBIT", err)
		}
	}
	for _, p := range spec.Props {
		if err := set(uiSetPropBit, p); err != nil {
			return fail("UI_SET_PROPBIT", err)
		}
	}
	for _, a := range spec.Abs {
		if err := set(uiSetAbsBit, a.Code); err != nil {
			return fail("UI_SET_ABSBIT", err)
		}
		as := uinputAbsSetup{Code: a.Code, Min: a.Min, Max: a.Max, Resolution: a.Resolu}
		if err := ioc.Call(fd, uiAbsSetup, unsafe.Pointer(&as)); err != nil {
			return fail("UI_ABS_SETUP", err)
		}
	}
	setup := uinputSetup{Bustype: 0x03 /* BUS_USB */, Vendor: spec.Vendor, Product: 0x1, Version: 1}
	copy(setup.Name[:len(setup.Name)-1], spec.Name)
	if err := ioc.Call(fd, uiDevSetup, unsafe.Pointer(&setup)); err != nil {
		return fail("UI_DEV_SETUP", err)
	}
	if err := ioc.Call(fd, uiDevCreate, nil); err != nil {
		return fail("UI_DEV_CREATE", err)
	}
	var name [64]byte
	if err := ioc.Call(fd, uiGetSysname(uintptr(len(name))), unsafe.Pointer(&name[0])); err != nil {
		u.Close()
		return nil, fmt.Errorf("uinput %s: UI_GET_SYSNAME: %w", spec.Name, err)
	}
	u.Sysname = strings.TrimRight(string(name[:]), "\x00")
	deadline := time.Now().Add(5 * time.Second)
	for u.Event == "" {
		m, _ := filepath.Glob(filepath.Join("/sys/devices/virtual/input", u.Sysname, "event*"))
		if len(m) > 0 {
			u.Event = filepath.Base(m[0])
			if _, err := os.Stat("/dev/input/" + u.Event); err == nil {
				break
			}
			u.Event = ""
		}
		if time.Now().After(deadline) {
			u.Close()
			return nil, fmt.Errorf("uinput %s: no event node for %s after 5 s", spec.Name, u.Sysname)
		}
		time.Sleep(5 * time.Millisecond)
	}
	return u, nil
}

// inputEvent is struct input_event (a struct timeval, then type, code,
// value): 24 bytes on 64-bit, 16 on 32-bit.
type inputEvent struct {
	Time  unix.Timeval
	Type  uint16
	Code  uint16
	Value int32
}

// Emit writes events (type, code, value triples) followed by a
// SYN_REPORT: one evdev frame.
func (u *UInput) Emit(evs ...[3]int32) error {
	buf := make([]inputEvent, 0, len(evs)+1)
	for _, e := range evs {
		buf = append(buf, inputEvent{Type: uint16(e[0]), Code: uint16(e[1]), Value: e[2]})
	}
	buf = append(buf, inputEvent{Type: EvSyn, Code: SynReport})
	b := unsafe.Slice((*byte)(unsafe.Pointer(&buf[0])), len(buf)*int(unsafe.Sizeof(buf[0])))
	_, err := u.f.Write(b)
	return err
}

// Key presses (or releases) key in one frame.
func (u *UInput) Key(code uint16, pressed bool) error {
	v := int32(0)
	if pressed {
		v = 1
	}
	return u.Emit([3]int32{EvKey, int32(code), v})
}

// Close unplugs the device (UI_DEV_DESTROY) and closes /dev/uinput.
func (u *UInput) Close() error {
	if u.f == nil {
		return nil
	}
	err := ioc.Call(int(u.f.Fd()), uiDevDestroy, nil)
	err = errors.Join(err, u.f.Close())
	u.f = nil
	return err
}

// Plug creates the device for the test and unplugs it at cleanup.
func Plug(t testing.TB, spec UInputSpec) *UInput {
	t.Helper()
	u, err := NewUInput(spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// RequireUInput skips outside the rig; inside it, a missing /dev/uinput
// fails the test.
func RequireUInput(t testing.TB) {
	t.Helper()
	Require(t)
	if _, err := os.Stat("/dev/uinput"); err != nil {
		t.Fatalf("the rig kernel has no uinput (%v): test/rig/config/common.config sets CONFIG_INPUT_UINPUT", err)
	}
}

// Keyboard is a full keyboard: KEY_ESC .. KEY_MICMUTE (codes 1..248).
func Keyboard(name string) UInputSpec {
	s := UInputSpec{Name: name, Vendor: 0x1234}
	for k := uint16(1); k < 249; k++ {
		s.Keys = append(s.Keys, k)
	}
	return s
}

// Mouse is a relative mouse with three buttons, a wheel and the
// high-resolution wheel.
func Mouse(name string) UInputSpec {
	return UInputSpec{Name: name, Vendor: 0x1235, Keys: []uint16{BtnLeft, BtnRight, BtnMiddle},
		Rels: []uint16{RelX, RelY, RelWheel, RelWheelHiRes}}
}

// Touchscreen is a direct multitouch screen with 10 slots over a
// 0..4095 range on both axes.
func Touchscreen(name string) UInputSpec {
	return UInputSpec{Name: name, Vendor: 0x1236, Keys: []uint16{BtnTouch}, Props: []uint16{PropDirect},
		Abs: []AbsAxis{{Code: AbsX, Max: 4095, Resolu: 10}, {Code: AbsY, Max: 4095, Resolu: 10},
			{Code: AbsMTSlot, Max: 9}, {Code: AbsMTPositionX, Max: 4095, Resolu: 10},
			{Code: AbsMTPositionY, Max: 4095, Resolu: 10}, {Code: AbsMTTrackingID, Max: 65535}}}
}

// Touchpad is an indirect multitouch pad of 100 × 60 mm (0..1000 ×
// 0..600 at 10 units/mm) with one physical button.
func Touchpad(name string) UInputSpec {
	return UInputSpec{Name: name, Vendor: 0x1237,
		Keys:  []uint16{BtnLeft, BtnToolFinger, BtnTouch, BtnToolDoubleTap},
		Props: []uint16{PropPointer},
		Abs: []AbsAxis{{Code: AbsX, Max: 1000, Resolu: 10}, {Code: AbsY, Max: 600, Resolu: 10},
			{Code: AbsMTSlot, Max: 4}, {Code: AbsMTPositionX, Max: 1000, Resolu: 10},
			{Code: AbsMTPositionY, Max: 600, Resolu: 10}, {Code: AbsMTTrackingID, Max: 65535}}}
}
