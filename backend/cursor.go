package backend

import "fmt"

// Check reports an error when Pix does not hold Width×Height pixels of
// Stride bytes a row (backends check a CursorImage before using it).
func (c *CursorImage) Check() error {
	w, h := c.Width, c.Height
	if w <= 0 || h <= 0 || c.Stride < w*4 || len(c.Pix) < (h-1)*c.Stride+w*4 {
		return fmt.Errorf("bad cursor image %dx%d stride %d (%d bytes)", w, h, c.Stride, len(c.Pix))
	}
	return nil
}
