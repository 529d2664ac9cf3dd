package libinput

import (
	"fmt"
	"math/bits"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Capabilities are an input device's event bits as the kernel lists them
// in sysfs (capabilities/ev, key, rel, abs, sw and properties).
type Capabilities struct {
	EV, Key, Rel, Abs, SW, Props Bitmap
}

// Bitmap is a kernel bitmap (bit n of word n/64).
type Bitmap []uint64

// Has reports bit n.
func (b Bitmap) Has(n int) bool {
	w := n / 64
	return n >= 0 && w < len(b) && b[w]&(1<<(n%64)) != 0
}

// ParseBitmap parses a sysfs capability bitmap: hexadecimal words of the
// kernel's unsigned long, most significant first, separated by spaces
// ("120013", "1000000000007 ff9f207ac14057ff ..."). wordBits is the
// kernel's long size (64, or 32 on a 32-bit kernel).
func ParseBitmap(s string, wordBits int) (Bitmap, error) {
	if wordBits != 32 && wordBits != 64 {
		return nil, fmt.Errorf("bitmap word size %d", wordBits)
	}
	words := strings.Fields(s)
	if len(words) > 64 { // KEY_MAX is 0x2ff: 12 words of 64 bits
		return nil, fmt.Errorf("bitmap of %d words", len(words))
	}
	var out Bitmap
	for i := range words {
		v, err := strconv.ParseUint(words[len(words)-1-i], 16, wordBits)
		if err != nil {
			return nil, fmt.Errorf("bitmap word %q: %w", words[len(words)-1-i], err)
		}
		bit := i * wordBits
		for bit/64 >= len(out) {
			out = append(out, 0)
		}
		out[bit/64] |= v << (bit % 64)
	}
	return out, nil
}

// ReadCapabilities reads the capabilities of the input device at dir (a
// /sys/class/input/inputN directory, or an eventN's "device").
func ReadCapabilities(dir string) (Capabilities, error) {
	var c Capabilities
	for _, f := range []struct {
		name string
		b    *Bitmap
	}{{"capabilities/ev", &c.EV}, {"capabilities/key", &c.Key}, {"capabilities/rel", &c.Rel},
		{"capabilities/abs", &c.Abs}, {"capabilities/sw", &c.SW}, {"properties", &c.Props}} {
		raw, err := os.ReadFile(filepath.Join(dir, f.name))
		if err != nil {
			if os.IsNotExist(err) && f.name != "capabilities/ev" {
				continue
			}
			return c, err
		}
		if *f.b, err = ParseBitmap(string(raw), bits.UintSize); err != nil {
			return c, fmt.Errorf("%s: %w", filepath.Join(dir, f.name), err)
		}
	}
	return c, nil
}

// Event codes (linux/input-event-codes.h) the classification reads.
const (
	evKey, evRel, evSW = 0x01, 0x02, 0x05

	relX, relY, relHWheel, relWheel = 0x00, 0x01, 0x06, 0x08

	absX, absY, absZ, absRX, absPressure   = 0x00, 0x01, 0x02, 0x03, 0x18
	absMTSlot, absMTPosX, absMTPosY        = 0x2f, 0x35, 0x36
	btnMisc, btn0, btn1, btnMouse          = 0x100, 0x100, 0x101, 0x110
	btnJoystick, btnDigi, btnToolPen       = 0x120, 0x140, 0x140
	btnToolFinger, btnTouch, btnStylus     = 0x145, 0x14a, 0x14b
	keyOK, btnDpadUp, btnDpadRight         = 0x160, 0x220, 0x223
	keyALSToggle, btnTriggerHappy          = 0x230, 0x2c0
	btnTriggerHappy40                      = 0x2e7
	propDirect, propPointingStick, propAcc = 0x01, 0x05, 0x06
)

// Classify returns the udev properties udev's input_id builtin (systemd
// 252) gives a device with these capabilities ("ID_INPUT=1",
// "ID_INPUT_KEYBOARD=1", ...), or nil when it is none of the kinds
// libinput handles (it refuses a device tagged ID_INPUT only).
func Classify(c Capabilities) []string {
	props := []string{"ID_INPUT=1"}
	add := func(p string) { props = append(props, p+"=1") }
	pointer := classifyPointer(c, add)
	key := classifyKey(c, add)
	if !pointer && !key && c.EV.Has(evRel) && (c.Rel.Has(relWheel) || c.Rel.Has(relHWheel)) {
		add("ID_INPUT_KEY") // a node with only a scroll wheel
	}
	if c.EV.Has(evSW) {
		add("ID_INPUT_SWITCH")
	}
	if len(props) == 1 {
		return nil
	}
	return props
}

func classifyPointer(c Capabilities, add func(string)) bool {
	hasKeys := c.EV.Has(evKey)
	absCoords := c.Abs.Has(absX) && c.Abs.Has(absY)
	if c.Props.Has(propAcc) || (!hasKeys && absCoords && c.Abs.Has(absZ)) {
		add("ID_INPUT_ACCELEROMETER")
		return false
	}
	pointingStick := c.Props.Has(propPointingStick)
	stylus, pen := c.Key.Has(btnStylus), c.Key.Has(btnToolPen)
	fingerNoPen := c.Key.Has(btnToolFinger) && !pen
	mouseButton := false
	for b := btnMouse; b < btnJoystick && !mouseButton; b++ {
		mouseButton = c.Key.Has(b)
	}
	relCoords := c.EV.Has(evRel) && c.Rel.Has(relX) && c.Rel.Has(relY)
	mtCoords := c.Abs.Has(absMTPosX) && c.Abs.Has(absMTPosY)
	if mtCoords && c.Abs.Has(absMTSlot) && c.Abs.Has(absMTSlot-1) {
		mtCoords = false // claims every axis: not really multitouch
	}
	direct := c.Props.Has(propDirect)
	touch := c.Key.Has(btnTouch)
	padButtons := c.Key.Has(btn0) && c.Key.Has(btn1) && !pen
	wheel := c.EV.Has(evRel) && (c.Rel.Has(relWheel) || c.Rel.Has(relHWheel))
	joyButtons, joyAxes := 0, 0
	if !c.Key.Has(btnJoystick - 1) { // a mouse with 16+ buttons runs into the joystick range
		for b := btnJoystick; b < btnDigi; b++ {
			if c.Key.Has(b) {
				joyButtons++
			}
		}
		for b := btnTriggerHappy; b <= btnTriggerHappy40; b++ {
			if c.Key.Has(b) {
				joyButtons++
			}
		}
		for b := btnDpadUp; b <= btnDpadRight; b++ {
			if c.Key.Has(b) {
				joyButtons++
			}
		}
	}
	for a := absRX; a < absPressure; a++ {
		if c.Abs.Has(a) {
			joyAxes++
		}
	}
	var tablet, touchpad, absMouse, touchscreen, joystick, tabletPad, mouse bool
	switch {
	case absCoords && (stylus || pen):
		tablet = true
	case absCoords && fingerNoPen && !direct:
		touchpad = true
	case absCoords && mouseButton:
		absMouse = true // VMware's and QEMU's absolute USB mice
	case absCoords && (touch || direct):
		touchscreen = true
	case joyButtons > 0 || joyAxes > 0:
		joystick = true
	}
	if mtCoords {
		switch {
		case stylus || pen:
			tablet = true
		case fingerNoPen && !direct:
			touchpad = true
		case touch || direct:
			touchscreen = true
		}
	}
	if tablet && padButtons {
		tabletPad = true
	}
	if padButtons && wheel && !relCoords {
		tablet, tabletPad = false, true
	}
	if !tablet && !touchpad && !joystick && mouseButton && (relCoords || !absCoords) {
		mouse = true
	}
	if joystick && keyboardKeys(c.Key) >= 10 {
		joystick = false // a keyboard with a few joystick-range buttons
	}
	for _, t := range []struct {
		on   bool
		name string
	}{{pointingStick, "ID_INPUT_POINTINGSTICK"}, {mouse || absMouse, "ID_INPUT_MOUSE"}, {touchpad, "ID_INPUT_TOUCHPAD"},
		{touchscreen, "ID_INPUT_TOUCHSCREEN"}, {joystick, "ID_INPUT_JOYSTICK"}, {tablet, "ID_INPUT_TABLET"},
		{tabletPad, "ID_INPUT_TABLET_PAD"}} {
		if t.on {
			add(t.name)
		}
	}
	return tablet || mouse || absMouse || touchpad || touchscreen || joystick || pointingStick
}

// keyboardKeys counts the keys of the main keyboard block (KEY_ESC ..
// KEY_MICMUTE).
func keyboardKeys(k Bitmap) int {
	n := 0
	for b := 1; b < btnMisc; b++ {
		if k.Has(b) {
			n++
		}
	}
	return n
}

func classifyKey(c Capabilities, add func(string)) bool {
	if !c.EV.Has(evKey) {
		return false
	}
	found := false
	for b := 0; b < btnMisc && !found; b++ {
		found = c.Key.Has(b)
	}
	for _, r := range [][2]int{{keyOK, btnDpadUp}, {keyALSToggle, btnTriggerHappy}} {
		for b := r[0]; b < r[1] && !found; b++ {
			found = c.Key.Has(b)
		}
	}
	if found {
		add("ID_INPUT_KEY")
	}
	// KEY_ESC, the digits and Q to D (bits 1..31): a full keyboard.
	if len(c.Key) > 0 && c.Key[0]&0xfffffffe == 0xfffffffe {
		add("ID_INPUT_KEYBOARD")
		return true
	}
	return found
}
