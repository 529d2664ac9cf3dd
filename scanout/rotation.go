package scanout

import (
	"errors"
	"fmt"

	"github.com/minicomp/minicomp/internal/drm"
)

// Rotation of the primary plane (PresenterOptions.RotateDegrees, Flip):
// the display turns the picture through the plane's "rotation" property,
// so the compositor draws as usual. Only rotations that keep the
// picture's size (0 and 180 degrees, flipped or not) are done this way.

// The plane "rotation" property's bits (drm_mode.h DRM_MODE_ROTATE_*,
// DRM_MODE_REFLECT_*).
const (
	rotate0   = 1 << 0
	rotate180 = 1 << 2
	reflectX  = 1 << 4
)

// ErrRotation means the display cannot turn the picture as asked.
var ErrRotation = errors.New("the display cannot rotate the picture")

// planeRotation finds the primary plane's rotation property and checks
// that it offers the rotation asked for; 0 when none is asked.
func (p *Presenter) planeRotation(degrees int, flip bool) (prop uint32, value uint64, err error) {
	switch degrees {
	case 0:
		value = rotate0
	case 180:
		value = rotate180
	case 90, 270:
		return 0, 0, fmt.Errorf("%w: %d degrees would need render targets of the turned size (the plane turns by 0 and 180, flipped or not)", ErrRotation, degrees)
	default:
		return 0, 0, fmt.Errorf("%w: %d degrees", ErrRotation, degrees)
	}
	if flip {
		value |= reflectX
	}
	if value == rotate0 {
		return 0, 0, nil
	}
	props, err := p.dev.dev.Props(p.pipe.Primary.ID, drm.ObjectPlane)
	if err != nil {
		return 0, 0, err
	}
	id := props.IDs["rotation"]
	if id == 0 {
		return 0, 0, fmt.Errorf("%w: %s primary plane %d has no rotation property", ErrRotation, p.dev, p.pipe.Primary.ID)
	}
	pr, err := p.dev.dev.Property(id)
	if err != nil {
		return 0, 0, err
	}
	var offered uint64
	for _, e := range pr.Enums { // a bitmask property lists bit numbers
		if e.Value < 64 {
			offered |= 1 << e.Value
		}
	}
	if value&^offered != 0 {
		return 0, 0, fmt.Errorf("%w: %s primary plane %d offers rotation bits %#x, not %#x", ErrRotation, p.dev, p.pipe.Primary.ID, offered, value)
	}
	return id, value, nil
}

// CanRotate reports whether the Presenter's primary plane can turn the
// picture as asked (PresenterOptions.RotateDegrees, Flip): nil when it
// can (a new Presenter with these options would turn it), an error
// wrapping ErrRotation when it cannot.
func (p *Presenter) CanRotate(degrees int, flip bool) error {
	_, _, err := p.planeRotation(degrees, flip)
	return err
}
