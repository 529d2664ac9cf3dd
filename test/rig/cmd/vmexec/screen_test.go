package main

import (
	"encoding/binary"
	"testing"
)

// A 2×1 xwd (24 bits per pixel, LSB first, as Xvfb's) reads back, and
// xwininfo's geometry lines parse.
func TestParseXWD(t *testing.T) {
	hdr := make([]byte, 104) // header (25 words) + "x\x00\x00\x00" window name
	put := func(i int, v uint32) { binary.BigEndian.PutUint32(hdr[4*i:], v) }
	put(0, 104)
	put(2, 2) // ZPixmap
	put(4, 2)
	put(5, 1)
	put(11, 24)
	put(12, 8) // bytes per line, padded
	put(14, 0xff0000)
	put(15, 0xff00)
	put(16, 0xff)
	img := append(hdr, 0x56, 0x34, 0x12, 0xff, 0x00, 0x00, 0, 0)
	x, err := parseXWD(img)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []uint32{0x123456, 0x0000ff} {
		if got, err := x.at(i, 0); err != nil || got != want {
			t.Errorf("pixel %d: %06x %v, want %06x", i, got, err, want)
		}
	}
	if _, err := x.at(2, 0); err == nil {
		t.Error("a pixel outside the image read")
	}
	m := geometryRE.FindStringSubmatch(`     0x200001 "QEMU": ("qemu-system-x86_64" "Qemu-system-x86_64")  640x506+0+0  +0+0`)
	if m == nil || m[1] != "640" || m[2] != "506" || m[3] != "0" || m[4] != "0" {
		t.Errorf("geometry: %q", m)
	}
}
