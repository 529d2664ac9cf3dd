package scanout

import "github.com/minicomp/minicomp/internal/drm"

// Format is a DRM pixel format code (fourcc, drm_fourcc.h).
type Format uint32

// Formats the buffer path handles end to end.
var (
	XRGB8888 = Format(drm.FormatXRGB8888)
	ARGB8888 = Format(drm.FormatARGB8888)
	XBGR8888 = Format(drm.FormatXBGR8888)
	ABGR8888 = Format(drm.FormatABGR8888)
	RGB565   = Format(drm.FormatRGB565)
)

// Modifier values (drm_fourcc.h).
const (
	ModLinear  uint64 = drm.ModLinear
	ModInvalid uint64 = drm.ModInvalid
)

// String returns the fourcc, e.g. "XR24".
func (f Format) String() string { return drm.FormatName(uint32(f)) }

// BytesPerPixel returns the size of a pixel, or 0 for an unknown format.
func (f Format) BytesPerPixel() int { return drm.BytesPerPixel(uint32(f)) }

// ModifierName returns a readable name for a format modifier.
func ModifierName(m uint64) string { return drm.ModifierName(m) }
