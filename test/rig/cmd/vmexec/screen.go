package main

// What the guest's screen shows, checked from the host. With Mesa, QEMU's
// GTK window on vmexec's private Xvfb is virtio-gpu's scanout, so a guest
// test can ask what is on it: it prints
//
//	@@MINICOMP-RIG-SCREEN WxH x,y x,y ...@@
//
// (its mode's size and points in its screen's coordinates) on the
// console; vmexec takes an xwd of the Xvfb, finds QEMU's window showing a
// WxH screen (xwininfo) and answers on the guest's serial input (the
// console's tty, $MINICOMP_RIG_SCREEN in the guest) with
//
//	@@MINICOMP-RIG-SCREEN-REPLY rrggbb rrggbb ...@@
//
// or "@@MINICOMP-RIG-SCREEN-REPLY error: why@@".

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
)

const (
	screenMarker = "@@MINICOMP-RIG-SCREEN "
	screenReply  = "@@MINICOMP-RIG-SCREEN-REPLY "
	envScreen    = "MINICOMP_RIG_SCREEN"
)

// screenTools checks the X programs the screen check needs.
func screenTools() error {
	for _, p := range []string{"xwd", "xwininfo"} {
		if _, err := exec.LookPath(p); err != nil {
			return fmt.Errorf("the screen check needs %s: %v (install x11-apps and x11-utils; test/rig/deps.sh does)", p, err)
		}
	}
	return nil
}

// answerScreen answers one request (the text between the marker and "@@").
func answerScreen(display, req string) string {
	px, err := screenPixels(display, req)
	if err != nil {
		return screenReply + "error: " + strings.ReplaceAll(err.Error(), "@@", "@ @") + "@@\n"
	}
	return screenReply + strings.Join(px, " ") + "@@\n"
}

func screenPixels(display, req string) ([]string, error) {
	f := strings.Fields(req)
	if len(f) < 2 {
		return nil, fmt.Errorf("bad request %q", req)
	}
	var w, h int
	if _, err := fmt.Sscanf(f[0], "%dx%d", &w, &h); err != nil {
		return nil, fmt.Errorf("bad size %q", f[0])
	}
	ox, oy, err := qemuScreen(display, w, h)
	if err != nil {
		return nil, err
	}
	img, err := exec.Command("xwd", "-root", "-silent", "-display", display).Output()
	if err != nil {
		return nil, fmt.Errorf("xwd: %v", err)
	}
	x, err := parseXWD(img)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range f[1:] {
		var px, py int
		if _, err := fmt.Sscanf(p, "%d,%d", &px, &py); err != nil || px < 0 || py < 0 || px >= w || py >= h {
			return nil, fmt.Errorf("bad point %q", p)
		}
		c, err := x.at(ox+px, oy+py)
		if err != nil {
			return nil, err
		}
		out = append(out, fmt.Sprintf("%06x", c))
	}
	return out, nil
}

var geometryRE = regexp.MustCompile(`(\d+)x(\d+)[+-]-?\d+[+-]-?\d+\s+\+(-?\d+)\+(-?\d+)`)

// qemuScreen returns where a w×h guest screen starts on the Xvfb: QEMU's
// top-level window as wide as the screen, its menu bar above the screen.
func qemuScreen(display string, w, h int) (x, y int, err error) {
	out, err := exec.Command("xwininfo", "-root", "-children", "-display", display).Output()
	if err != nil {
		return 0, 0, fmt.Errorf("xwininfo: %v", err)
	}
	var found []string
	for _, line := range strings.Split(string(out), "\n") {
		m := geometryRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ww, _ := strconv.Atoi(m[1])
		wh, _ := strconv.Atoi(m[2])
		ax, _ := strconv.Atoi(m[3])
		ay, _ := strconv.Atoi(m[4])
		found = append(found, fmt.Sprintf("%dx%d", ww, wh))
		if ww == w && wh >= h && wh <= h+100 {
			return ax, ay + wh - h, nil
		}
	}
	return 0, 0, fmt.Errorf("no QEMU window showing a %dx%d screen on %s (windows: %v)", w, h, display, found)
}

// xwdImage is an xwd dump of a ZPixmap TrueColor screen.
type xwdImage struct {
	data                []byte
	w, h, bpp, bpl      int
	msb                 bool
	rMask, gMask, bMask uint32
}

// parseXWD reads an xwd file (X11/XWDFile.h: a big-endian header).
func parseXWD(b []byte) (*xwdImage, error) {
	if len(b) < 100 {
		return nil, errors.New("xwd: short file")
	}
	u := func(i int) uint32 { return binary.BigEndian.Uint32(b[4*i:]) }
	hs, w, h := int(u(0)), int(u(4)), int(u(5))
	x := &xwdImage{w: w, h: h, msb: u(7) != 0, bpp: int(u(11)), bpl: int(u(12)), rMask: u(14), gMask: u(15), bMask: u(16)}
	if u(2) != 2 || (x.bpp != 24 && x.bpp != 32) || x.rMask == 0 {
		return nil, fmt.Errorf("xwd: format %d, %d bits per pixel, red mask %#x: want a 24/32-bit ZPixmap", u(2), x.bpp, x.rMask)
	}
	off := hs + int(u(19))*12
	if off+x.bpl*h > len(b) {
		return nil, errors.New("xwd: short pixel data")
	}
	x.data = b[off:]
	return x, nil
}

// at returns pixel (x,y) as 0xRRGGBB.
func (x *xwdImage) at(px, py int) (uint32, error) {
	if px < 0 || py < 0 || px >= x.w || py >= x.h {
		return 0, fmt.Errorf("xwd: (%d,%d) outside %dx%d", px, py, x.w, x.h)
	}
	n := x.bpp / 8
	p := x.data[py*x.bpl+px*n:][:n]
	var v uint32
	for i := range n {
		if x.msb {
			v = v<<8 | uint32(p[i])
		} else {
			v |= uint32(p[i]) << (8 * i)
		}
	}
	ch := func(m uint32) uint32 { return (v & m) >> bits.TrailingZeros32(m) & 0xff }
	return ch(x.rMask)<<16 | ch(x.gMask)<<8 | ch(x.bMask), nil
}
