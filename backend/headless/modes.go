package headless

import (
	"fmt"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// standardSizes are the modes a virtual output offers besides its own.
var standardSizes = [][2]int{{3840, 2160}, {2560, 1440}, {1920, 1080}, {1600, 900}, {1280, 720}, {1024, 768}, {800, 600}, {640, 480}}

// maxSize bounds a custom virtual mode (a render target of 8192² is
// 256 MiB already).
const maxSize = 8192

// Modes lists the output's configured mode (preferred), the standard
// sizes, and the current mode when it is none of those, all at its
// refresh rate (backend.ModeSetter).
func (o *Output) Modes() []scanout.Mode {
	cur := o.Mode()
	modes := []scanout.Mode{o.initial}
	has := func(w, h int) bool {
		for _, m := range modes {
			if m.Width == w && m.Height == h {
				return true
			}
		}
		return false
	}
	for _, s := range standardSizes {
		if !has(s[0], s[1]) {
			modes = append(modes, scanout.Mode{Width: s[0], Height: s[1], RefreshMilliHz: cur.RefreshMilliHz, Name: fmt.Sprintf("%dx%d", s[0], s[1])})
		}
	}
	if !has(cur.Width, cur.Height) {
		modes = append(modes, cur)
	}
	return modes
}

// CustomModes is true: a virtual output takes any size up to 8192×8192.
func (o *Output) CustomModes() bool { return true }

// SetMode changes the virtual output's size (the refresh rate stays:
// the clock is fixed); the render targets are replaced at the next Next.
func (o *Output) SetMode(m scanout.Mode) error {
	cur := o.Mode()
	if m.RefreshMilliHz != 0 && m.RefreshMilliHz != cur.RefreshMilliHz {
		return fmt.Errorf("headless %s: set mode %s: refresh is fixed at %d mHz: %w", o.name, m, cur.RefreshMilliHz, backend.ErrBadMode)
	}
	if m.Width <= 0 || m.Height <= 0 || m.Width > maxSize || m.Height > maxSize {
		return fmt.Errorf("headless %s: set mode %dx%d: %w", o.name, m.Width, m.Height, backend.ErrBadMode)
	}
	m.RefreshMilliHz = cur.RefreshMilliHz
	m.Name = fmt.Sprintf("%dx%d", m.Width, m.Height)
	m.Preferred = m.Width == o.initial.Width && m.Height == o.initial.Height
	o.mu.Lock()
	o.mode = m
	o.mu.Unlock()
	return nil
}
