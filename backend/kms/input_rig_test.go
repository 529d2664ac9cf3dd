package kms

import (
	"os"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/rigtest"
)

// The backend's input on a real device: a uinput mouse moves the pointer
// on the vkms output; then a reader that stops reading (a server that
// ended) with a full channel does not keep Close from returning, and
// every device fd is released.
func TestRigInputEventsAndClose(t *testing.T) {
	rigtest.RequireUInput(t)
	if why := os.Getenv("MINICOMP_RIG_PROGRAMS_UNAVAILABLE"); why != "" {
		t.Skip(why)
	}
	rigtest.CheckFDs(t)
	devs := rigDevices(t)
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp kms mouse"))
	b, err := New(Options{Devices: devs, Logger: quiet(), Input: &InputOptions{}})
	if err != nil {
		t.Fatal(err)
	}
	if b.Events() == nil {
		b.Close()
		t.Fatal("no input (libinput missing in the guest? testdata/rig-programs ships it)")
	}
	timeout := time.After(10 * time.Second)
	for caps := uint32(0); caps&backend.CapPointer == 0; {
		select {
		case ev := <-b.Events():
			if ev.Kind == backend.SeatChanged {
				caps = ev.Caps
			}
		case <-timeout:
			b.Close()
			t.Fatal("no pointer in the seat's capabilities within 10 s")
		}
	}
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, -100000})
	for {
		ev := <-b.Events()
		if ev.Kind == backend.PointerMotion {
			if ev.X != 0 || ev.Output != b.Outputs()[0] {
				t.Errorf("motion to x %v on %v, want 0 on the output", ev.X, ev.Output)
			}
			break
		}
	}
	for range 400 { // more than the channel holds; nobody reads
		mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 1})
		time.Sleep(2 * time.Millisecond) // not faster than evdev's buffer drains
	}
	time.Sleep(300 * time.Millisecond)
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Close blocked on an unread event channel")
	}
}
