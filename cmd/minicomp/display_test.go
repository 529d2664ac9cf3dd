package main

import (
	"io"
	"log/slog"
	"testing"

	"github.com/minicomp/minicomp/scanout"
)

func TestParseModes(t *testing.T) {
	got, err := parseModes("1280x720@59.94")
	if err != nil || got["*"] != (scanout.Mode{Width: 1280, Height: 720, RefreshMilliHz: 59940}) {
		t.Errorf("one mode for all: %v %v", got, err)
	}
	got, err = parseModes("HDMI-A-1=1920x1080@60,HDMI-A-2=800x600")
	if err != nil || got["HDMI-A-1"] != (scanout.Mode{Width: 1920, Height: 1080, RefreshMilliHz: 60000}) ||
		got["HDMI-A-2"] != (scanout.Mode{Width: 800, Height: 600}) || len(got) != 2 {
		t.Errorf("per connector: %v %v", got, err)
	}
	for _, bad := range []string{"1280", "x720", "1280x720@", "1280x720@fast", "0x5", "A=1x1,B"} {
		if _, err := parseModes(bad); err == nil {
			t.Errorf("--mode %q accepted", bad)
		}
	}
}

// The default cursor comes from a theme on XCURSOR_PATH, else nil (the
// server's built-in arrow).
func TestDefaultCursorMissingTheme(t *testing.T) {
	t.Setenv("XCURSOR_PATH", t.TempDir())
	if c := defaultCursor("nothing-here", 24, slog.New(slog.NewTextHandler(io.Discard, nil))); c != nil {
		t.Errorf("cursor from an empty path: %dx%d", c.Width, c.Height)
	}
}
