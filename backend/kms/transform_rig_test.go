package kms

import (
	"testing"

	"github.com/minicomp/minicomp/backend"
)

// vkms's primary plane has no rotation property: a turned screen is
// drawn turned by the compositor (RenderTransform), for 90 degrees and
// for the turns a plane with the property would take (180, flips); the
// mode stays the panel's and Transform tells clients how it is mounted.
func TestRigTransformComposed(t *testing.T) {
	devs := rigDevices(t)
	for _, tr := range []backend.Transform{backend.TransformNormal, backend.Transform180, backend.TransformFlipped, backend.Transform90} {
		be, err := New(Options{Devices: devs, Logger: quiet(), Transform: tr})
		if err != nil {
			t.Fatalf("transform %v: %v", tr, err)
		}
		o := be.Outputs()[0]
		if got := o.(backend.Transformed).Transform(); got != tr {
			t.Errorf("%v: Transform() = %v", tr, got)
		}
		if got := o.(backend.Composed).RenderTransform(); got != tr {
			t.Errorf("%v: RenderTransform() = %v, want %v (vkms cannot rotate)", tr, got, tr)
		}
		t.Logf("%v: mode %v", tr, o.Mode())
		be.Close()
	}
}
