package xcursor

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// encode writes an Xcursor file with the given images (and a comment
// chunk, which readers skip).
func encode(images []Image) []byte {
	le := binary.LittleEndian
	var b []byte
	ntoc := len(images) + 1
	b = le.AppendUint32(b, magic)
	b = le.AppendUint32(b, 16)
	b = le.AppendUint32(b, 0x10000)
	b = le.AppendUint32(b, uint32(ntoc))
	pos := 16 + 12*ntoc
	comment := []byte("made by a test")
	b = le.AppendUint32(b, 0xfffe0001)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, uint32(pos))
	pos += 20 + len(comment)
	for _, im := range images {
		b = le.AppendUint32(b, typeImage)
		b = le.AppendUint32(b, uint32(im.Nominal))
		b = le.AppendUint32(b, uint32(pos))
		pos += 36 + len(im.Pix)
	}
	b = le.AppendUint32(b, 20)
	b = le.AppendUint32(b, 0xfffe0001)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, uint32(len(comment)))
	b = append(b, comment...)
	for _, im := range images {
		for _, v := range []uint32{36, typeImage, uint32(im.Nominal), 1, uint32(im.Width), uint32(im.Height), uint32(im.XHot), uint32(im.YHot), uint32(im.Delay)} {
			b = le.AppendUint32(b, v)
		}
		b = append(b, im.Pix...)
	}
	return b
}

func square(side, nominal int, v byte) Image {
	pix := bytes.Repeat([]byte{v}, side*side*4)
	return Image{Width: side, Height: side, XHot: side / 2, YHot: 1, Nominal: nominal, Delay: 50, Pix: pix}
}

func TestParsePick(t *testing.T) {
	in := []Image{square(24, 24, 1), square(32, 32, 2), square(48, 48, 3)}
	images, err := Parse(encode(in))
	if err != nil {
		t.Fatal(err)
	}
	if len(images) != 3 {
		t.Fatalf("%d images, want 3", len(images))
	}
	for i := range in {
		g, w := images[i], in[i]
		if g.Width != w.Width || g.Height != w.Height || g.XHot != w.XHot || g.YHot != w.YHot ||
			g.Nominal != w.Nominal || g.Delay != w.Delay || !bytes.Equal(g.Pix, w.Pix) {
			t.Errorf("image %d = %dx%d hot %d,%d nominal %d, want %dx%d hot %d,%d nominal %d",
				i, g.Width, g.Height, g.XHot, g.YHot, g.Nominal, w.Width, w.Height, w.XHot, w.YHot, w.Nominal)
		}
	}
	for size, want := range map[int]int{16: 24, 30: 32, 40: 32, 64: 48} {
		if got := Pick(images, size).Nominal; got != want {
			t.Errorf("Pick(%d) = nominal %d, want %d", size, got, want)
		}
	}
}

func TestParseRefuses(t *testing.T) {
	good := encode([]Image{square(8, 8, 1)})
	le := binary.LittleEndian
	cases := map[string]func([]byte) []byte{
		"empty":        func(b []byte) []byte { return nil },
		"bad magic":    func(b []byte) []byte { b[0] = 'Y'; return b },
		"huge toc":     func(b []byte) []byte { le.PutUint32(b[12:], 1<<30); return b },
		"truncated":    func(b []byte) []byte { return b[:len(b)-1] },
		"chunk beyond": func(b []byte) []byte { le.PutUint32(b[16+12+8:], uint32(len(b))); return b },
		"hotspot out": func(b []byte) []byte {
			pos := le.Uint32(b[16+12+8:])
			le.PutUint32(b[pos+24:], 9)
			return b
		},
		"no images": func(b []byte) []byte { le.PutUint32(b[12:], 1); return b },
	}
	for name, f := range cases {
		if _, err := Parse(f(bytes.Clone(good))); !errors.Is(err, ErrFormat) {
			t.Errorf("%s: %v, want ErrFormat", name, err)
		}
	}
}

// Load follows index.theme's Inherits to find the cursor.
func TestLoadInherits(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "child"), 0o755)
	os.WriteFile(filepath.Join(dir, "child", "index.theme"), []byte("[Icon Theme]\nName=child\nInherits=parent\n"), 0o644)
	os.MkdirAll(filepath.Join(dir, "parent", "cursors"), 0o755)
	os.WriteFile(filepath.Join(dir, "parent", "cursors", "left_ptr"), encode([]Image{square(24, 24, 7), square(32, 32, 9)}), 0o644)
	im, path, err := Load([]string{t.TempDir(), dir}, "child", "left_ptr", 32)
	if err != nil {
		t.Fatal(err)
	}
	if im.Nominal != 32 || im.Pix[0] != 9 || path != filepath.Join(dir, "parent", "cursors", "left_ptr") {
		t.Errorf("loaded nominal %d from %s", im.Nominal, path)
	}
	if _, _, err := Load([]string{dir}, "child", "no_such_cursor", 24); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing cursor: %v, want os.ErrNotExist", err)
	}
}

// The installed theme's left_ptr (adwaita-icon-theme, in test/rig/deps.sh)
// parses, as minicomp loads it at start.
func TestLoadInstalledTheme(t *testing.T) {
	im, path, err := Load(SearchPath(""), "default", "left_ptr", 24)
	if err != nil {
		if os.Getenv("MINICOMP_REQUIRE_XCURSOR") == "1" {
			t.Fatalf("MINICOMP_REQUIRE_XCURSOR=1: %v (install adwaita-icon-theme)", err)
		}
		t.Skipf("no cursor theme installed (%v); set MINICOMP_REQUIRE_XCURSOR=1 to fail instead", err)
	}
	t.Logf("%s: %dx%d hotspot %d,%d", path, im.Width, im.Height, im.XHot, im.YHot)
	if im.Width > 256 || im.Height > 256 || len(im.Pix) != im.Width*im.Height*4 {
		t.Errorf("implausible left_ptr %dx%d", im.Width, im.Height)
	}
}

func TestArrow(t *testing.T) {
	a := Arrow()
	le := binary.LittleEndian
	if le.Uint32(a.Pix) != 0xff000000 || le.Uint32(a.Pix[(2*a.Width+1)*4:]) != 0xffffffff || le.Uint32(a.Pix[(0*a.Width+5)*4:]) != 0 {
		t.Error("arrow pixels: tip not black, inside not white, or outside not transparent")
	}
}

func FuzzParse(f *testing.F) {
	f.Add(encode([]Image{square(4, 4, 1), square(8, 8, 2)}))
	f.Add([]byte("Xcur"))
	f.Fuzz(func(t *testing.T, data []byte) {
		images, err := Parse(data)
		if err != nil {
			return
		}
		for _, im := range images {
			if len(im.Pix) != im.Width*im.Height*4 || im.XHot > im.Width || im.YHot > im.Height {
				t.Fatalf("inconsistent image %dx%d hot %d,%d with %d bytes", im.Width, im.Height, im.XHot, im.YHot, len(im.Pix))
			}
		}
	})
}
