package main

import (
	"fmt"
	"image"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/xcursor"
	"github.com/minicomp/minicomp/scanout"
)

// parseModes reads --mode: "WxH[@Hz]" for every connector, or
// "CONNECTOR=WxH[@Hz]" entries separated by commas (e.g.
// "HDMI-A-1=1920x1080@60,HDMI-A-2=1280x720"); the mode for every
// connector is under "*" (kms.Options.Modes).
func parseModes(s string) (map[string]scanout.Mode, error) {
	if s == "" {
		return nil, nil
	}
	out := map[string]scanout.Mode{}
	for entry := range strings.SplitSeq(s, ",") {
		name, spec, ok := strings.Cut(entry, "=")
		if !ok {
			name, spec = "*", entry
		}
		m, err := parseMode(spec)
		if err != nil {
			return nil, fmt.Errorf("--mode %q: %w", entry, err)
		}
		out[name] = m
	}
	return out, nil
}

// parseMode reads WxH[@Hz] (Hz may have decimals: 59.94).
func parseMode(s string) (scanout.Mode, error) {
	size, rate, hasRate := strings.Cut(s, "@")
	ws, hs, ok := strings.Cut(size, "x")
	w, err1 := strconv.Atoi(ws)
	h, err2 := strconv.Atoi(hs)
	if !ok || err1 != nil || err2 != nil || w <= 0 || h <= 0 {
		return scanout.Mode{}, fmt.Errorf("want WIDTHxHEIGHT[@HZ]")
	}
	m := scanout.Mode{Width: w, Height: h}
	if hasRate {
		hz, err := strconv.ParseFloat(rate, 64)
		if err != nil || hz <= 0 || hz > 1000 {
			return scanout.Mode{}, fmt.Errorf("refresh %q: want a rate in Hz, like 60 or 59.94", rate)
		}
		m.RefreshMilliHz = int(hz*1000 + 0.5)
	}
	return m, nil
}

// defaultCursor loads the cursor theme's left_ptr (--cursor-theme, else
// $XCURSOR_THEME, else "default"; --cursor-size, else $XCURSOR_SIZE,
// else 24) from $XCURSOR_PATH or the usual directories; nil (the
// server's built-in arrow) when no theme has one, with the reason logged.
func defaultCursor(theme string, size int, log *slog.Logger) *backend.CursorImage {
	if theme == "" {
		theme = or(os.Getenv("XCURSOR_THEME"), "default")
	}
	if size <= 0 {
		size, _ = strconv.Atoi(os.Getenv("XCURSOR_SIZE"))
		if size <= 0 {
			size = 24
		}
	}
	dirs := xcursor.SearchPath(os.Getenv("HOME"))
	if p := os.Getenv("XCURSOR_PATH"); p != "" {
		dirs = strings.Split(p, ":")
	}
	im, path, err := xcursor.Load(dirs, theme, "left_ptr", size)
	if err != nil {
		log.Info("cursor: the built-in arrow (no theme's left_ptr; install adwaita-icon-theme for one)", "theme", theme, "err", err)
		return nil
	}
	log.Info("cursor", "file", path, "size", fmt.Sprintf("%dx%d", im.Width, im.Height))
	return &backend.CursorImage{Pix: im.Pix, Width: im.Width, Height: im.Height, Stride: im.Width * 4, Hotspot: image.Pt(im.XHot, im.YHot)}
}
