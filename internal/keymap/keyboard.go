package keymap

import (
	"errors"
	"maps"
	"slices"

	"github.com/minicomp/minicomp/internal/xkb"
)

// Keyboard is the compositor's keyboard: a keymap (sent to clients) and
// the modifier state it implies for the keys held.
type Keyboard interface {
	// Text is the keymap in the XKB text format, for wl_keyboard.keymap.
	Text() string
	// Key records a press or release and reports whether the modifiers
	// changed.
	Key(code uint32, pressed bool) bool
	// Mods is the state wl_keyboard.modifiers reports.
	Mods() (depressed, latched, locked, group uint32)
	// Held reports the keys held down.
	Held() []uint32
	// Reset forgets the held keys (focus left minicomp's window); locks
	// and the layout group stay.
	Reset()
}

// NewUS returns the built-in US keyboard: no library needed.
func NewUS() Keyboard { return &usKeyboard{} }

type usKeyboard struct{ State }

func (k *usKeyboard) Text() string { return US }
func (k *usKeyboard) Mods() (uint32, uint32, uint32, uint32) {
	return k.Depressed, 0, k.Locked, 0
}

// NewXKB returns a keyboard whose keymap libxkbcommon compiles from names
// (layout, variant, options, …). It fails with an error wrapping
// xkb.ErrNoXKB where the library is missing (use NewUS then) and
// xkb.ErrKeymap for names that do not compile.
func NewXKB(names xkb.Names) (Keyboard, error) {
	km, err := xkb.NewKeymap(names)
	if err != nil {
		return nil, err
	}
	defer km.Close() // the state keeps its own reference
	st, err := km.NewState()
	if err != nil {
		return nil, err
	}
	text := km.String()
	if text == "" {
		st.Close()
		return nil, errors.New("keymap: libxkbcommon gave an empty keymap text")
	}
	return &xkbKeyboard{text: text, st: st, held: map[uint32]bool{}}, nil
}

type xkbKeyboard struct {
	text string
	st   *xkb.State
	held map[uint32]bool
}

func (k *xkbKeyboard) Text() string { return k.text }

func (k *xkbKeyboard) Key(code uint32, pressed bool) bool {
	if pressed == k.held[code] {
		return false // a repeat, or a release of a key not held
	}
	if pressed {
		k.held[code] = true
	} else {
		delete(k.held, code)
	}
	_, changed := k.st.UpdateKey(code, pressed)
	return changed
}

func (k *xkbKeyboard) Mods() (uint32, uint32, uint32, uint32) {
	m := k.st.Mods()
	return m.Depressed, m.Latched, m.Locked, m.Group
}

func (k *xkbKeyboard) Held() []uint32 { return slices.Collect(maps.Keys(k.held)) }

func (k *xkbKeyboard) Reset() {
	clear(k.held)
	k.st.Release()
}
