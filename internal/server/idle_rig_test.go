package server

import (
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
)

// crtcActive reads the ACTIVE property of the CRTC lighting the display.
func crtcActive(t *testing.T, o backend.Output) (active bool, lit bool) {
	t.Helper()
	d := openDisplay(t, o)
	res, err := d.Resources()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.CRTCs {
		p, err := d.Props(c, drm.ObjectCRTC)
		if err != nil {
			t.Fatal(err)
		}
		if p.Values["MODE_ID"] != 0 {
			return p.Values["ACTIVE"] == 1, true
		}
	}
	return false, false
}

// --idle on vkms: after the timeout without input the CRTC is turned off
// (ACTIVE 0, its mode kept), input from a virtual pointer turns it back
// on, and frames follow.
func TestRigIdleBlanking(t *testing.T) {
	rigtest.Require(t)
	be := openKMS(t, kms.Options{Logger: testLog(t)})
	o := be.Outputs()[0]
	const idle = 700 * time.Millisecond
	s, dir, _ := startServer(t, be, Options{IdleTimeout: idle})
	r := showSolid(t, s, dir, 200, 200, 0x00ff0000)
	if on, lit := crtcActive(t, o); !on || !lit {
		t.Fatalf("CRTC active %v (mode set %v) before idling", on, lit)
	}
	t0 := time.Now()
	waitFor(t, "CRTC off after idling", func() bool { on, lit := crtcActive(t, o); return lit && !on })
	t.Logf("blanked %v after the last input (timeout %v)", time.Since(t0), idle)
	frames := o.Info().Stats.Frames
	makeVirtualPointer(r, s, 0)
	r.req(90, 0, func(e *wire.Encoder) { e.Uint(1); e.Fixed(wire.FixedFromFloat(3)); e.Fixed(wire.FixedFromFloat(3)) })
	r.req(90, 4, nil)
	waitFor(t, "CRTC on after input", func() bool { on, _ := crtcActive(t, o); return on })
	waitFor(t, "a frame after unblanking", func() bool { return o.Info().Stats.Frames > frames })
}
