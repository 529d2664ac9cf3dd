package pixman

import (
	"errors"
	"fmt"
	"sync"
	"unsafe"

	"github.com/minicomp/minicomp/internal/dl"
)

// LibName is the shared library New loads (Debian package DebPackage).
const (
	LibName    = "libpixman-1.so.0"
	DebPackage = "libpixman-1-0"
)

// ErrNoPixman is wrapped by New's error when libpixman cannot be loaded
// (missing library or symbol, or a static -tags nogles build).
var ErrNoPixman = errors.New("pixman unavailable")

// pixman.h constants.
const (
	// PIXMAN_FORMAT(bpp, type, a, r, g, b) = bpp<<24 | type<<16 | a<<12 | r<<8 | g<<4 | b
	fmtA8R8G8B8 = 32<<24 | 2<<16 | 8<<12 | 8<<8 | 8<<4 | 8 // PIXMAN_TYPE_ARGB = 2
	fmtX8R8G8B8 = 32<<24 | 2<<16 | 0<<12 | 8<<8 | 8<<4 | 8
	fmtA8       = 8<<24 | 1<<16 | 8<<12 // PIXMAN_TYPE_A = 1

	opSrc  = 1 // PIXMAN_OP_SRC
	opOver = 3 // PIXMAN_OP_OVER

	filterNearest  = 3 // PIXMAN_FILTER_NEAREST
	filterBilinear = 4 // PIXMAN_FILTER_BILINEAR

	repeatNormal = 1 // PIXMAN_REPEAT_NORMAL
	repeatPad    = 2 // PIXMAN_REPEAT_PAD

	fixed1 = 1 << 16 // pixman_fixed_t 16.16: pixman_fixed_1
)

// box32 is pixman_box32_t: four int32_t.
type box32 struct{ x1, y1, x2, y2 int32 }

// region32 is pixman_region32_t: the extents and a pointer to C memory
// (malloc'd by pixman: a uintptr, which the GC ignores).
type region32 struct {
	extents box32
	data    uintptr
}

// transform is pixman_transform_t: a 3×3 matrix of pixman_fixed_t
// (int32_t, 16.16), rows first.
type transform struct{ m [3][3]int32 }

// pcolor is pixman_color_t: premultiplied 16-bit channels.
type pcolor struct{ r, g, b, a uint16 }

// The layouts above match pixman.h on every architecture (int32_t and
// uint16_t fields, no padding; region32's pointer follows 16 bytes, so it
// is aligned on 32- and 64-bit ABIs alike): a wrong size fails the build.
var (
	_ [16 - unsafe.Sizeof(box32{})]byte
	_ [unsafe.Sizeof(box32{}) - 16]byte
	_ [36 - unsafe.Sizeof(transform{})]byte
	_ [unsafe.Sizeof(transform{}) - 36]byte
	_ [8 - unsafe.Sizeof(pcolor{})]byte
	_ [unsafe.Sizeof(pcolor{}) - 8]byte
	_ [16 + unsafe.Sizeof(uintptr(0)) - unsafe.Sizeof(region32{})]byte
	_ [unsafe.Sizeof(region32{}) - 16 - unsafe.Sizeof(uintptr(0))]byte
	_ [unsafe.Offsetof(region32{}.data) - 16]byte
)

// lib holds libpixman's entry points.
type lib struct {
	handle uintptr

	versionString, imageCreateBits, imageUnref, imageGetData, imageGetStride,
	imageSetTransform, imageSetFilter, imageSetRepeat, imageSetClipRegion32,
	imageComposite32, imageFillBoxes, region32InitRects, region32Fini uintptr
}

// load opens libpixman once per process (it stays loaded).
var load = sync.OnceValues(func() (*lib, error) { return open(LibName) })

// open loads the library name and its entry points; a failure says which
// library and which Debian package provides it.
func open(name string) (*lib, error) {
	h, err := dl.Open(name, false)
	if err != nil {
		hint := "install the Debian package " + DebPackage
		if dl.Static {
			hint = "build without -tags nogles to use the pixman renderer"
		}
		return nil, fmt.Errorf("pixman: dlopen %s: %v (%s): %w", name, err, hint, ErrNoPixman)
	}
	l := &lib{handle: h}
	for _, s := range []struct {
		name string
		p    *uintptr
	}{
		{"pixman_version_string", &l.versionString},
		{"pixman_image_create_bits", &l.imageCreateBits},
		{"pixman_image_unref", &l.imageUnref},
		{"pixman_image_get_data", &l.imageGetData},
		{"pixman_image_get_stride", &l.imageGetStride},
		{"pixman_image_set_transform", &l.imageSetTransform},
		{"pixman_image_set_filter", &l.imageSetFilter},
		{"pixman_image_set_repeat", &l.imageSetRepeat},
		{"pixman_image_set_clip_region32", &l.imageSetClipRegion32},
		{"pixman_image_composite32", &l.imageComposite32},
		{"pixman_image_fill_boxes", &l.imageFillBoxes},
		{"pixman_region32_init_rects", &l.region32InitRects},
		{"pixman_region32_fini", &l.region32Fini},
	} {
		if *s.p, err = dl.Sym(h, s.name); err != nil {
			return nil, fmt.Errorf("pixman: dlsym %s in %s: %v (install the Debian package %s): %w", s.name, name, err, DebPackage, ErrNoPixman)
		}
	}
	return l, nil
}

// isTrue reads a pixman_bool_t (a C int: the register's upper half is not
// defined on 64-bit ABIs).
func isTrue(v uintptr) bool { return int32(v) != 0 }

// i32 passes a C int argument (sign-extended; callees read the low 32
// bits).
func i32(v int) uintptr { return uintptr(v) }

// cmem is a byte slice over n bytes of C memory at p.
func cmem(p uintptr, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(nil), p)), n) //nolint:govet // C memory
}
