package xkb

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// requireXKB fails the suite when libxkbcommon is missing and
// MINICOMP_REQUIRE_XKB=1 (test/all.sh); elsewhere it skips with why.
func requireXKB(t *testing.T) {
	t.Helper()
	if _, err := load(); err != nil {
		if os.Getenv("MINICOMP_REQUIRE_XKB") == "1" {
			t.Fatalf("MINICOMP_REQUIRE_XKB=1 but: %v", err)
		}
		t.Skip(err)
	}
}

// evdev key codes.
const (
	keyY         = 21
	keyQ         = 16
	keyLeftShift = 42
	keyCapsLock  = 58
	keyA         = 30
)

func keymap(t *testing.T, n Names) (*Keymap, *State) {
	t.Helper()
	k, err := NewKeymap(n)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	s, err := k.NewState()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return k, s
}

// A German layout swaps Y and Z; Shift makes capitals and shows in the
// depressed mask; the keysyms have their names.
func TestGermanLayout(t *testing.T) {
	requireXKB(t)
	_, s := keymap(t, Names{Layout: "de"})
	if sym := s.Keysym(keyY); sym != 'z' || KeysymName(sym) != "z" {
		t.Fatalf("de KEY_Y = %#x %q, want z", sym, KeysymName(sym))
	}
	m, changed := s.UpdateKey(keyLeftShift, true)
	if !changed || m.Depressed == 0 {
		t.Fatalf("shift down: %+v changed %v", m, changed)
	}
	if sym := s.Keysym(keyY); sym != 'Z' {
		t.Fatalf("de Shift+KEY_Y = %#x, want Z", sym)
	}
	if m, changed := s.UpdateKey(keyLeftShift, false); !changed || m.Depressed != 0 {
		t.Fatalf("shift up: %+v changed %v", m, changed)
	}
	_, us := keymap(t, Names{Layout: "us"})
	if sym := us.Keysym(keyY); sym != 'y' {
		t.Fatalf("us KEY_Y = %#x, want y", sym)
	}
}

// Options apply (Caps Lock as Control), variants too (Dvorak), and the
// second layout of a pair is a group.
func TestOptionsVariantsGroups(t *testing.T) {
	requireXKB(t)
	_, s := keymap(t, Names{Layout: "us", Options: "ctrl:nocaps"})
	if name := KeysymName(s.Keysym(keyCapsLock)); name != "Control_L" {
		t.Fatalf("ctrl:nocaps Caps Lock = %q, want Control_L", name)
	}
	_, dv := keymap(t, Names{Layout: "us", Variant: "dvorak"})
	if sym := dv.Keysym(keyQ); sym != '\'' {
		t.Fatalf("dvorak KEY_Q = %#x %q, want apostrophe", sym, KeysymName(sym))
	}
	k, _ := keymap(t, Names{Layout: "us,ru", Options: "grp:caps_toggle"})
	if !strings.Contains(k.String(), "Russian") {
		t.Fatal("us,ru keymap has no Russian group")
	}
	if !k.Repeats(keyA) || k.Repeats(keyLeftShift) {
		t.Fatal("repeat: letters repeat, Shift does not")
	}
}

// The text form round-trips (what a virtual keyboard client sends); bad
// names and bad text are errors, not crashes.
func TestKeymapTextAndErrors(t *testing.T) {
	requireXKB(t)
	k, _ := keymap(t, Names{Layout: "de"})
	text := k.String()
	if !strings.HasPrefix(text, "xkb_keymap {") {
		t.Fatalf("text starts %q", text[:min(40, len(text))])
	}
	k2, err := NewKeymapFromString(text)
	if err != nil {
		t.Fatal(err)
	}
	defer k2.Close()
	s, _ := k2.NewState()
	defer s.Close()
	if s.Keysym(keyY) != 'z' {
		t.Fatal("the text form lost the German layout")
	}
	if _, err := NewKeymap(Names{Layout: "no-such-layout"}); !errors.Is(err, ErrKeymap) || !strings.Contains(err.Error(), "no-such-layout") {
		t.Fatalf("bad layout: %v", err)
	}
	for _, bad := range []string{"", "xkb_keymap {", "garbage \x00 with a NUL", strings.Repeat("{", 10000)} {
		if _, err := NewKeymapFromString(bad); !errors.Is(err, ErrKeymap) {
			t.Fatalf("bad text %.20q: %v", bad, err)
		}
	}
}

// FuzzKeymapFromString: whatever a client sends as a keymap is refused
// or compiled, never a crash.
func FuzzKeymapFromString(f *testing.F) {
	if _, err := load(); err != nil {
		f.Skip(err)
	}
	f.Add("xkb_keymap { xkb_keycodes { include \"evdev\" }; xkb_types { include \"complete\" }; xkb_compat { include \"complete\" }; xkb_symbols { include \"pc+us\" }; };")
	f.Add("xkb_keymap {")
	f.Fuzz(func(t *testing.T, text string) {
		k, err := NewKeymapFromString(text)
		if err == nil {
			_ = k.String()
			k.Close()
		}
	})
}

// Release forgets held keys and keeps Caps Lock.
func TestRelease(t *testing.T) {
	requireXKB(t)
	_, s := keymap(t, Names{Layout: "us"})
	s.UpdateKey(keyCapsLock, true)
	m, _ := s.UpdateKey(keyCapsLock, false)
	if m.Locked == 0 {
		t.Fatal("caps lock not locked")
	}
	s.UpdateKey(keyLeftShift, true)
	if m := s.Release(); m.Depressed != 0 || m.Locked == 0 {
		t.Fatalf("after release: %+v", m)
	}
	if m, _ := s.UpdateKey(keyLeftShift, false); m.Depressed != 0 || m.Locked == 0 {
		t.Fatalf("a stale shift release: %+v", m)
	}
	if sym := s.Keysym(keyA); sym != 'A' {
		t.Fatalf("caps lock kept: KEY_A = %#x, want A", sym)
	}
}
