package drm

import "fmt"

// FourCC builds a DRM format code from its four characters (drm_fourcc.h).
func FourCC(a, b, c, d byte) uint32 {
	return uint32(a) | uint32(b)<<8 | uint32(c)<<16 | uint32(d)<<24
}

// Formats minicomp renders, scans out or blits (drm_fourcc.h).
var (
	FormatXRGB8888     = FourCC('X', 'R', '2', '4')
	FormatARGB8888     = FourCC('A', 'R', '2', '4')
	FormatXBGR8888     = FourCC('X', 'B', '2', '4')
	FormatABGR8888     = FourCC('A', 'B', '2', '4')
	FormatRGB565       = FourCC('R', 'G', '1', '6')
	FormatBGR565       = FourCC('B', 'G', '1', '6')
	FormatXRGB16161616 = FourCC('X', 'R', '4', '8')
	FormatARGB16161616 = FourCC('A', 'R', '4', '8')
)

// BytesPerPixel returns the size of one pixel of a single-plane packed
// format, or 0 for formats minicomp does not know.
func BytesPerPixel(format uint32) int {
	switch format {
	case FormatXRGB8888, FormatARGB8888, FormatXBGR8888, FormatABGR8888:
		return 4
	case FormatRGB565, FormatBGR565:
		return 2
	case FormatXRGB16161616, FormatARGB16161616:
		return 8
	}
	return 0
}

// FormatName returns the four characters of a format code, with
// non-printable bytes shown as '?'.
func FormatName(format uint32) string {
	b := [4]byte{byte(format), byte(format >> 8), byte(format >> 16), byte(format >> 24)}
	for i, c := range b {
		if c < 0x20 || c > 0x7e {
			b[i] = '?'
		}
	}
	return string(b[:])
}

// ModifierName returns a short readable name for a format modifier.
func ModifierName(mod uint64) string {
	switch mod {
	case ModLinear:
		return "LINEAR"
	case ModInvalid:
		return "INVALID"
	case ModBroadcomVC4TTiled:
		return "BROADCOM_VC4_T_TILED"
	case ModBroadcomUIF:
		return "BROADCOM_UIF"
	}
	switch mod >> 56 {
	case ModVendorBroadcom:
		switch mod & 0xff {
		case 2:
			return "BROADCOM_SAND32"
		case 3:
			return "BROADCOM_SAND64"
		case 4:
			return "BROADCOM_SAND128"
		case 5:
			return "BROADCOM_SAND256"
		}
	}
	return fmt.Sprintf("%#016x", mod)
}
