// Package xcursor reads cursor images from Xcursor files (the format of
// the cursor themes in /usr/share/icons/THEME/cursors) and draws a small
// built-in arrow for when no theme has one.
//
// The format (libXcursor's): a header ("Xcur", header size, version,
// number of table entries), a table of (type, subtype, position) entries,
// and at each position a chunk; image chunks (type 0xfffd0002, subtype
// the nominal size) hold width, height, hotspot, delay and width×height
// premultiplied ARGB pixels, little-endian.
package xcursor

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Image is one cursor image: Width×Height premultiplied ARGB8888 pixels
// (little-endian: B, G, R, A bytes), Width*4 bytes a row.
type Image struct {
	Width, Height int
	XHot, YHot    int
	Nominal       int // the nominal size it was drawn for
	Delay         int // milliseconds to the next frame of an animation
	Pix           []byte
}

const (
	magic     = 0x72756358 // "Xcur"
	typeImage = 0xfffd0002
	maxSide   = 0x7fff
	maxTOC    = 0x10000
)

// ErrFormat means a file is not a valid Xcursor file.
var ErrFormat = errors.New("not a valid Xcursor file")

// Parse returns every image of an Xcursor file, in table order.
func Parse(data []byte) ([]Image, error) {
	le := binary.LittleEndian
	if len(data) < 16 || le.Uint32(data) != magic {
		return nil, fmt.Errorf("%w: no Xcur header", ErrFormat)
	}
	hsize, ntoc := le.Uint32(data[4:]), le.Uint32(data[12:])
	if hsize < 16 || ntoc > maxTOC || uint64(hsize)+uint64(ntoc)*12 > uint64(len(data)) {
		return nil, fmt.Errorf("%w: header size %d, %d table entries in %d bytes", ErrFormat, hsize, ntoc, len(data))
	}
	var out []Image
	for i := range ntoc {
		e := data[hsize+i*12:]
		typ, pos := le.Uint32(e), le.Uint32(e[8:])
		if typ != typeImage {
			continue // comments
		}
		img, err := parseImage(data, pos)
		if err != nil {
			return nil, fmt.Errorf("image %d: %w", i, err)
		}
		out = append(out, img)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%w: no images", ErrFormat)
	}
	return out, nil
}

func parseImage(data []byte, pos uint32) (Image, error) {
	le := binary.LittleEndian
	if uint64(pos)+36 > uint64(len(data)) {
		return Image{}, fmt.Errorf("%w: chunk at %d beyond the file's %d bytes", ErrFormat, pos, len(data))
	}
	c := data[pos:]
	hsize, typ, nominal := le.Uint32(c), le.Uint32(c[4:]), le.Uint32(c[8:])
	w, h, xhot, yhot, delay := le.Uint32(c[16:]), le.Uint32(c[20:]), le.Uint32(c[24:]), le.Uint32(c[28:]), le.Uint32(c[32:])
	if typ != typeImage || hsize < 36 {
		return Image{}, fmt.Errorf("%w: chunk type %#x, header %d", ErrFormat, typ, hsize)
	}
	if w == 0 || h == 0 || w > maxSide || h > maxSide || xhot > w || yhot > h {
		return Image{}, fmt.Errorf("%w: %dx%d image with hotspot %d,%d", ErrFormat, w, h, xhot, yhot)
	}
	n := uint64(w) * uint64(h) * 4
	if uint64(hsize)+n > uint64(len(c)) {
		return Image{}, fmt.Errorf("%w: %dx%d pixels beyond the end of the file", ErrFormat, w, h)
	}
	pix := make([]byte, n)
	copy(pix, c[hsize:])
	return Image{Width: int(w), Height: int(h), XHot: int(xhot), YHot: int(yhot), Nominal: int(nominal),
		Delay: int(delay), Pix: pix}, nil
}

// Pick returns the first image of the nominal size nearest size.
func Pick(images []Image, size int) Image {
	best := images[0]
	for _, im := range images[1:] {
		if abs(im.Nominal-size) < abs(best.Nominal-size) {
			best = im
		}
	}
	return best
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// SearchPath is libXcursor's default search path, used when
// XCURSOR_PATH is unset: ~/.local/share/icons, ~/.icons,
// /usr/share/icons, /usr/share/pixmaps.
func SearchPath(home string) []string {
	var dirs []string
	if home != "" {
		dirs = append(dirs, filepath.Join(home, ".local/share/icons"), filepath.Join(home, ".icons"))
	}
	return append(dirs, "/usr/share/icons", "/usr/share/pixmaps")
}

// Load finds cursor name in theme (following the themes it inherits
// from, as index.theme says, then "default") in dirs, and returns its
// image nearest size. It fails with an error wrapping os.ErrNotExist when
// no theme has it.
func Load(dirs []string, theme, name string, size int) (Image, string, error) {
	seen := map[string]bool{}
	queue := []string{theme, "default"}
	for len(queue) > 0 {
		th := queue[0]
		queue = queue[1:]
		if th == "" || seen[th] || len(seen) > 16 {
			continue
		}
		seen[th] = true
		for _, d := range dirs {
			path := filepath.Join(d, th, "cursors", name)
			data, err := os.ReadFile(path)
			if err != nil {
				continue
			}
			images, err := Parse(data)
			if err != nil {
				return Image{}, path, fmt.Errorf("%s: %w", path, err)
			}
			return Pick(images, size), path, nil
		}
		for _, d := range dirs {
			queue = append(queue, inherits(filepath.Join(d, th, "index.theme"))...)
		}
	}
	return Image{}, "", fmt.Errorf("cursor %q in theme %q (searched %s): %w", name, theme, strings.Join(dirs, ":"), os.ErrNotExist)
}

// inherits reads the Inherits= line of an index.theme.
func inherits(path string) []string {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "Inherits"); ok {
			if v, ok = strings.CutPrefix(strings.TrimSpace(v), "="); ok {
				return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
			}
		}
	}
	return nil
}

// arrowShape is the built-in arrow, 12×19: '#' black, '.' white.
var arrowShape = [...]string{
	"#",
	"##",
	"#.#",
	"#..#",
	"#...#",
	"#....#",
	"#.....#",
	"#......#",
	"#.......#",
	"#........#",
	"#.........#",
	"#......#####",
	"#...#..#",
	"#..##..#",
	"#.#  #..#",
	"##   #..#",
	"#     #..#",
	"      #..#",
	"       ##",
}

// Arrow returns the built-in arrow (hotspot at its tip), for when no
// cursor theme is installed.
func Arrow() Image {
	w, h := 12, len(arrowShape)
	img := Image{Width: w, Height: h, Nominal: h, Pix: make([]byte, w*h*4)}
	for y, row := range arrowShape {
		for x, c := range row {
			var v uint32
			switch c {
			case '#':
				v = 0xff000000
			case '.':
				v = 0xffffffff
			default:
				continue
			}
			binary.LittleEndian.PutUint32(img.Pix[(y*w+x)*4:], v)
		}
	}
	return img
}
