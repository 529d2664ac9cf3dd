package server

import (
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/wire"
)

// crtcActive reads the ACTIVE property of the CRTC lighting the display.
func crtcActive(t *testing.T, node string) (active bool, lit bool) {
	t.Helper()
	d, err := drm.Open(node)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if err := d.SetClientCap(drm.ClientCapAtomic, 1); err != nil {
		t.Fatal(err)
	}
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
	requireGuestPrograms(t)
	be := openKMS(t, kms.Options{Logger: testLog(t)})
	o := be.Outputs()[0]
	_, node, _ := strings.Cut(o.Info().Display, "(")
	node = strings.TrimSuffix(node, ")")
	const idle = 700 * time.Millisecond
	s, dir, _ := startServer(t, be, Options{IdleTimeout: idle})
	r := showSolid(t, s, dir, 200, 200, 0x00ff0000)
	if on, lit := crtcActive(t, node); !on || !lit {
		t.Fatalf("CRTC active %v (mode set %v) before idling", on, lit)
	}
	t0 := time.Now()
	waitFor(t, "CRTC off after idling", func() bool { on, lit := crtcActive(t, node); return lit && !on })
	t.Logf("blanked %v after the last input (timeout %v)", time.Since(t0), idle)
	frames := o.Info().Stats.Frames
	r.req(2, 0, func(e *wire.Encoder) {
		e.Uint(globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface))
		e.String("zwlr_virtual_pointer_manager_v1")
		e.Uint(2)
		e.NewID(89)
	})
	r.req(89, 0, func(e *wire.Encoder) { e.Object(0); e.NewID(90) })
	r.req(90, 0, func(e *wire.Encoder) { e.Uint(1); e.Fixed(wire.FixedFromFloat(3)); e.Fixed(wire.FixedFromFloat(3)) })
	r.req(90, 4, nil)
	waitFor(t, "CRTC on after input", func() bool { on, _ := crtcActive(t, node); return on })
	waitFor(t, "a frame after unblanking", func() bool { return o.Info().Stats.Frames > frames })
}
