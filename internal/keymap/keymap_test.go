package keymap

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// Shift and Control are depressed while held; Caps Lock toggles on each
// press, not on repeats or releases.
func TestState(t *testing.T) {
	var s State
	if !s.Key(KeyLeftShift, true) || s.Depressed != Shift {
		t.Fatalf("shift: %+v", s)
	}
	s.Key(KeyRightCtrl, true)
	if s.Depressed != Shift|Control {
		t.Fatalf("shift+ctrl: %+v", s)
	}
	if s.Key(30, true) { // 'a' changes no modifier
		t.Fatal("a changed modifiers")
	}
	s.Key(KeyLeftShift, false)
	if s.Depressed != Control {
		t.Fatalf("ctrl: %+v", s)
	}
	s.Key(KeyCapsLock, true)
	s.Key(KeyCapsLock, true) // auto-repeat: no second toggle
	s.Key(KeyCapsLock, false)
	if s.Locked != Lock {
		t.Fatalf("caps: %+v", s)
	}
	s.Key(KeyCapsLock, true)
	if s.Locked != 0 {
		t.Fatalf("caps off: %+v", s)
	}
	s.Reset()
	if s.Depressed != 0 || len(s.Held()) != 0 {
		t.Fatalf("reset: %+v", s)
	}
}

// The keymap is the compiled US map with evdev keycodes, and the masks
// above are what its modifier_map lines say.
func TestKeymapText(t *testing.T) {
	for _, want := range []string{"xkb_keycodes \"evdev", "<AC01> = 38;", "modifier_map Shift { <LFSH> };",
		"modifier_map Control { <LCTL> };", "modifier_map Mod1 { <LALT> };", "modifier_map Lock { <CAPS> };",
		"modifier_map Mod2 { <NMLK> };", "modifier_map Mod4 { <LWIN> };"} {
		if !strings.Contains(US, want) {
			t.Errorf("keymap lacks %q", want)
		}
	}
}

// The keymap file is sealed: a client cannot change what others read.
func TestFileSealed(t *testing.T) {
	f, size, err := File(US)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if size != len(US)+1 {
		t.Errorf("size %d", size)
	}
	seals, err := unix.FcntlInt(f.Fd(), unix.F_GET_SEALS, 0)
	if err != nil || seals&unix.F_SEAL_WRITE == 0 {
		t.Errorf("seals %#x %v", seals, err)
	}
	if _, err := f.WriteAt([]byte("x"), 0); err == nil {
		t.Error("write to a sealed keymap succeeded")
	}
	b, _ := os.ReadFile("/proc/self/fd/" + strconv.Itoa(int(f.Fd())))
	if len(b) != size || !strings.HasPrefix(string(b), "xkb_keymap") {
		t.Errorf("content %d bytes", len(b))
	}
}
