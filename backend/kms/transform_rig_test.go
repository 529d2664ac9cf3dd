package kms

import (
	"errors"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/scanout"
)

// vkms's primary plane has no rotation property: a turned screen is a
// clear error from New (ErrRotation), not a refused commit later; 90
// degrees is refused before the plane is asked (it would need targets of
// the turned size).
func TestRigTransformRefused(t *testing.T) {
	devs := rigDevices(t)
	for _, tr := range []backend.Transform{backend.Transform180, backend.TransformFlipped, backend.Transform90} {
		_, err := New(Options{Devices: devs, Logger: quiet(), Transform: tr})
		if !errors.Is(err, scanout.ErrRotation) {
			t.Errorf("transform %v: err = %v, want scanout.ErrRotation", tr, err)
		}
		t.Logf("%v: %v", tr, err)
	}
	be, err := New(Options{Devices: devs, Logger: quiet(), Transform: backend.TransformNormal})
	if err != nil {
		t.Fatal(err)
	}
	if got := be.Outputs()[0].(backend.Transformed).Transform(); got != backend.TransformNormal {
		t.Errorf("Transform() = %v", got)
	}
	be.Close()
}
