// Package xkb compiles XKB keymaps and tracks keyboard state with
// libxkbcommon (libxkbcommon.so.0, loaded at run time through internal/dl,
// no cgo), as wlroots, weston and smithay do: a keymap from RMLVO names
// (layout "de", variant "nodeadkeys", options "ctrl:nocaps") or from a
// client's keymap text, its text form for wl_keyboard.keymap, and the
// state that turns evdev key codes into keysyms and modifier masks.
//
// Where the library is missing, every constructor fails with an error
// wrapping ErrNoXKB that names the Debian package; callers fall back to
// minicomp's built-in US keymap (internal/keymap).
package xkb

import (
	"errors"
	"fmt"
	"runtime"
	"sync"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
)

// Library names.
const (
	LibName    = "libxkbcommon.so.0"
	DebPackage = "libxkbcommon0"
)

// ErrNoXKB is wrapped by the errors of this package when libxkbcommon
// cannot be loaded.
var ErrNoXKB = errors.New("libxkbcommon unavailable")

// ErrKeymap is wrapped when a keymap does not compile.
var ErrKeymap = errors.New("keymap does not compile")

const (
	formatTextV1 = 1 // XKB_KEYMAP_FORMAT_TEXT_V1
	keyUp        = 0 // XKB_KEY_UP
	keyDown      = 1 // XKB_KEY_DOWN

	modsDepressed   = 1 << 0 // XKB_STATE_MODS_DEPRESSED
	modsLatched     = 1 << 1 // XKB_STATE_MODS_LATCHED
	modsLocked      = 1 << 2 // XKB_STATE_MODS_LOCKED
	layoutEffective = 1 << 7 // XKB_STATE_LAYOUT_EFFECTIVE

	evdevOffset = 8 // XKB keycodes are evdev codes + 8

	contextNoEnvironmentNames = 1 << 1 // XKB_CONTEXT_NO_ENVIRONMENT_NAMES
)

type lib struct {
	contextNew, contextUnref                   uintptr
	keymapNewFromNames, keymapNewFromString    uintptr
	keymapGetAsString, keymapUnref, keyRepeats uintptr
	stateNew, stateUnref, stateUpdateKey       uintptr
	stateKeyGetOneSym, stateSerializeMods      uintptr
	stateSerializeLayout, keysymGetName, free  uintptr
	stateUpdateMask                            uintptr
	ctx                                        uintptr // one context for the process
}

var load = sync.OnceValues(func() (*lib, error) { return open() })

func open() (*lib, error) {
	h, err := dl.Open(LibName, false)
	if err != nil {
		return nil, fmt.Errorf("xkb: load %s: %v (install the Debian package %s): %w", LibName, err, DebPackage, ErrNoXKB)
	}
	libc, err := dl.Open("libc.so.6", false)
	if err != nil {
		return nil, fmt.Errorf("xkb: load libc.so.6: %v: %w", err, ErrNoXKB)
	}
	l := &lib{}
	for _, s := range []struct {
		lib  uintptr
		p    *uintptr
		name string
	}{
		{h, &l.contextNew, "xkb_context_new"}, {h, &l.contextUnref, "xkb_context_unref"},
		{h, &l.keymapNewFromNames, "xkb_keymap_new_from_names"}, {h, &l.keymapNewFromString, "xkb_keymap_new_from_string"},
		{h, &l.keymapGetAsString, "xkb_keymap_get_as_string"}, {h, &l.keymapUnref, "xkb_keymap_unref"},
		{h, &l.keyRepeats, "xkb_keymap_key_repeats"},
		{h, &l.stateNew, "xkb_state_new"}, {h, &l.stateUnref, "xkb_state_unref"},
		{h, &l.stateUpdateKey, "xkb_state_update_key"}, {h, &l.stateKeyGetOneSym, "xkb_state_key_get_one_sym"},
		{h, &l.stateSerializeMods, "xkb_state_serialize_mods"}, {h, &l.stateSerializeLayout, "xkb_state_serialize_layout"},
		{h, &l.keysymGetName, "xkb_keysym_get_name"}, {libc, &l.free, "free"},
		{h, &l.stateUpdateMask, "xkb_state_update_mask"},
	} {
		if *s.p, err = dl.Sym(s.lib, s.name); err != nil {
			return nil, fmt.Errorf("xkb: %s: %v (install the Debian package %s): %w", s.name, err, DebPackage, ErrNoXKB)
		}
	}
	// XKB_CONTEXT_NO_ENVIRONMENT_NAMES: the names are what the caller
	// passes (the command reads XKB_DEFAULT_*), nothing read behind it.
	if l.ctx = dl.Call(l.contextNew, contextNoEnvironmentNames); l.ctx == 0 {
		return nil, fmt.Errorf("xkb: xkb_context_new failed (no XKB data in /usr/share/X11/xkb? install xkb-data): %w", ErrNoXKB)
	}
	return l, nil
}

// Names are the RMLVO names a keymap is compiled from; empty ones take
// libxkbcommon's built-in defaults (rules "evdev", model "pc105", layout
// "us"). The XKB_DEFAULT_* environment variables are the caller's to
// read.
type Names struct {
	Rules, Model, Layout, Variant, Options string
}

// ruleNames is struct xkb_rule_names: five const char *.
type ruleNames struct {
	rules, model, layout, variant, options uintptr
}

// Keymap is a compiled keymap.
type Keymap struct {
	l *lib
	p uintptr
}

// NewKeymap compiles the keymap names describes.
func NewKeymap(n Names) (*Keymap, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	var pin runtime.Pinner
	defer pin.Unpin()
	str := func(s string) uintptr {
		if s == "" {
			return 0
		}
		b := dl.CString(s)
		pin.Pin(&b[0])
		return uintptr(unsafe.Pointer(&b[0]))
	}
	rn := &ruleNames{rules: str(n.Rules), model: str(n.Model), layout: str(n.Layout), variant: str(n.Variant), options: str(n.Options)}
	pin.Pin(rn)
	p := dl.Call(l.keymapNewFromNames, l.ctx, uintptr(unsafe.Pointer(rn)), 0)
	if p == 0 {
		return nil, fmt.Errorf("xkb: %w: layout %q, variant %q, options %q, model %q, rules %q", ErrKeymap, n.Layout, n.Variant, n.Options, n.Model, n.Rules)
	}
	return &Keymap{l: l, p: p}, nil
}

// NewKeymapFromString compiles a keymap in the text format (what a
// client sends with a virtual keyboard, or wl_keyboard.keymap carries).
func NewKeymapFromString(text string) (*Keymap, error) {
	l, err := load()
	if err != nil {
		return nil, err
	}
	b := dl.CString(text)
	p := dl.Call(l.keymapNewFromString, l.ctx, uintptr(unsafe.Pointer(&b[0])), formatTextV1, 0)
	runtime.KeepAlive(b)
	if p == 0 {
		return nil, fmt.Errorf("xkb: %w: the keymap text (%d bytes) is not a valid XKB keymap", ErrKeymap, len(text))
	}
	return &Keymap{l: l, p: p}, nil
}

// String returns the keymap in the text format (for wl_keyboard.keymap).
func (k *Keymap) String() string {
	c := dl.Call(k.l.keymapGetAsString, k.p, formatTextV1)
	if c == 0 {
		return ""
	}
	s := dl.GoString(c)
	dl.Call(k.l.free, c)
	return s
}

// Repeats reports whether the key (an evdev code) repeats when held.
func (k *Keymap) Repeats(key uint32) bool {
	return int32(dl.Call(k.l.keyRepeats, k.p, uintptr(key+evdevOffset))) != 0
}

// Close releases the keymap (states made from it keep their own
// reference).
func (k *Keymap) Close() {
	if k != nil && k.p != 0 {
		dl.Call(k.l.keymapUnref, k.p)
		k.p = 0
	}
}

// Mods is the modifier and layout state, as wl_keyboard.modifiers sends it.
type Mods struct {
	Depressed, Latched, Locked, Group uint32
}

// State is a keyboard's state under one keymap.
type State struct {
	l    *lib
	p    uintptr
	km   uintptr // its keymap (the state holds a reference)
	mods Mods
}

// NewState starts a state with no key held.
func (k *Keymap) NewState() (*State, error) {
	p := dl.Call(k.l.stateNew, k.p)
	if p == 0 {
		return nil, errors.New("xkb: xkb_state_new failed")
	}
	return &State{l: k.l, p: p, km: k.p}, nil
}

// UpdateKey records a key (an evdev code) pressed or released and returns
// the modifiers after it, and whether they changed.
func (s *State) UpdateKey(key uint32, pressed bool) (Mods, bool) {
	dir := uintptr(keyUp)
	if pressed {
		dir = keyDown
	}
	dl.Call(s.l.stateUpdateKey, s.p, uintptr(key+evdevOffset), dir)
	m := Mods{
		Depressed: uint32(dl.Call(s.l.stateSerializeMods, s.p, modsDepressed)),
		Latched:   uint32(dl.Call(s.l.stateSerializeMods, s.p, modsLatched)),
		Locked:    uint32(dl.Call(s.l.stateSerializeMods, s.p, modsLocked)),
		Group:     uint32(dl.Call(s.l.stateSerializeLayout, s.p, layoutEffective)),
	}
	changed := m != s.mods
	s.mods = m
	return m, changed
}

// Release forgets every key held (the keyboard left minicomp's window)
// and keeps the locks and the layout group.
func (s *State) Release() Mods {
	m := Mods{Locked: s.mods.Locked, Group: s.mods.Group}
	if p := dl.Call(s.l.stateNew, s.km); p != 0 { // a fresh state: no key held
		dl.Call(s.l.stateUnref, s.p)
		s.p = p
	}
	dl.Call(s.l.stateUpdateMask, s.p, 0, 0, uintptr(m.Locked), 0, 0, uintptr(m.Group))
	s.mods = m
	return m
}

// Mods returns the modifiers after the last UpdateKey or Release.
func (s *State) Mods() Mods { return s.mods }

// Keysym returns the keysym the key (an evdev code) produces now (0:
// none, or several).
func (s *State) Keysym(key uint32) uint32 {
	return uint32(dl.Call(s.l.stateKeyGetOneSym, s.p, uintptr(key+evdevOffset)))
}

// Close releases the state.
func (s *State) Close() {
	if s != nil && s.p != 0 {
		dl.Call(s.l.stateUnref, s.p)
		s.p = 0
	}
}

// KeysymName returns a keysym's name ("z", "Control_L"), or "" when the
// library is missing or the keysym has none.
func KeysymName(sym uint32) string {
	l, err := load()
	if err != nil {
		return ""
	}
	buf := make([]byte, 64)
	n := int32(dl.Call(l.keysymGetName, uintptr(sym), uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf))))
	if n <= 0 {
		return ""
	}
	return string(buf[:min(int(n), len(buf)-1)])
}
