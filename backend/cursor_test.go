package backend

import "testing"

func TestCursorImageCheck(t *testing.T) {
	for _, c := range []struct {
		img CursorImage
		ok  bool
	}{
		{CursorImage{Pix: make([]byte, 4*4*4), Width: 4, Height: 4, Stride: 16}, true},
		{CursorImage{Pix: make([]byte, 20+16), Width: 4, Height: 2, Stride: 20}, true}, // last row without padding
		{CursorImage{Pix: make([]byte, 20+15), Width: 4, Height: 2, Stride: 20}, false},
		{CursorImage{Pix: make([]byte, 64), Width: 4, Height: 4, Stride: 12}, false},
		{CursorImage{Pix: make([]byte, 64), Width: 0, Height: 4, Stride: 16}, false},
		{CursorImage{Pix: make([]byte, 64), Width: 4, Height: -1, Stride: 16}, false},
	} {
		if err := c.img.Check(); (err == nil) != c.ok {
			t.Errorf("%dx%d stride %d, %d bytes: Check() = %v, want ok %v", c.img.Width, c.img.Height, c.img.Stride, len(c.img.Pix), err, c.ok)
		}
	}
}
