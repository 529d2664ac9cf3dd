// Package keymap is minicomp's keyboard: the XKB keymap sent to clients
// (US layout, evdev keycodes, compiled from xkeyboard-config by gen.sh)
// and the modifier state that keymap implies for the keys held.
package keymap

//go:generate bash gen.sh

import (
	_ "embed"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// US is the keymap text (XKB_KEYMAP_FORMAT_TEXT_V1).
//
//go:embed us.xkb
var US string

// The real modifier masks of the US keymap (its modifier_map lines).
const (
	Shift   uint32 = 1 << 0
	Lock    uint32 = 1 << 1
	Control uint32 = 1 << 2
	Mod1    uint32 = 1 << 3 // Alt
	Mod2    uint32 = 1 << 4 // NumLock
	Mod4    uint32 = 1 << 6 // Super
	Mod5    uint32 = 1 << 7 // ISO_Level3_Shift
)

// Linux evdev key codes the modifier state depends on.
const (
	KeyLeftCtrl   = 29
	KeyLeftShift  = 42
	KeyRightShift = 54
	KeyLeftAlt    = 56
	KeyCapsLock   = 58
	KeyNumLock    = 69
	KeyRightCtrl  = 97
	KeyRightAlt   = 100
	KeyLeftMeta   = 125
	KeyRightMeta  = 126
)

// holdMods maps a modifier key (evdev code) to the mask it sets while held.
var holdMods = map[uint32]uint32{
	KeyLeftShift: Shift, KeyRightShift: Shift,
	KeyLeftCtrl: Control, KeyRightCtrl: Control,
	KeyLeftAlt: Mod1, KeyRightAlt: Mod1,
	KeyLeftMeta: Mod4, KeyRightMeta: Mod4,
}

// lockMods maps a lock key to the mask each press toggles.
var lockMods = map[uint32]uint32{KeyCapsLock: Lock, KeyNumLock: Mod2}

// State is the modifier state of a keyboard with the US keymap, as
// wl_keyboard.modifiers reports it.
type State struct {
	held      map[uint32]bool
	Depressed uint32 // modifiers of keys held down
	Locked    uint32 // Caps Lock, Num Lock
}

// Key records a press or release and reports whether the modifiers changed.
func (s *State) Key(code uint32, pressed bool) bool {
	if s.held == nil {
		s.held = map[uint32]bool{}
	}
	before := *s
	if m, ok := lockMods[code]; ok && pressed && !s.held[code] {
		s.Locked ^= m
	}
	if pressed {
		s.held[code] = true
	} else {
		delete(s.held, code)
	}
	s.Depressed = 0
	for k := range s.held {
		s.Depressed |= holdMods[k]
	}
	return s.Depressed != before.Depressed || s.Locked != before.Locked
}

// Held reports the keys held down, in no particular order.
func (s *State) Held() []uint32 {
	keys := make([]uint32, 0, len(s.held))
	for k := range s.held {
		keys = append(keys, k)
	}
	return keys
}

// Reset forgets the held keys (focus left minicomp's window); locks stay.
func (s *State) Reset() {
	clear(s.held)
	s.Depressed = 0
}

// File returns the keymap in a sealed memfd, the way wl_keyboard.keymap
// passes it (read-only for clients, with its size).
func File(text string) (*os.File, int, error) {
	fd, err := unix.MemfdCreate("minicomp-keymap", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return nil, 0, fmt.Errorf("keymap: memfd_create: %w", err)
	}
	f := os.NewFile(uintptr(fd), "minicomp-keymap")
	size := len(text) + 1 // NUL-terminated, as libxkbcommon expects
	if _, err := f.WriteString(text + "\x00"); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("keymap: write: %w", err)
	}
	seals := unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE | unix.F_SEAL_SEAL
	if _, err := unix.FcntlInt(f.Fd(), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("keymap: seal: %w", err)
	}
	return f, size, nil
}
