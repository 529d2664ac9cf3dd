package server

import (
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
)

// Hotplug through a real udev daemon, end to end (amd64 guest): with the
// host's systemd-udevd running (as on Raspberry Pi OS; shipped by
// testdata/rig-programs), the KMS backend's libinput takes its udev
// backend. A mouse plugged after the server started reaches wev through
// udevd's classification and broadcast; unplugged, the seat loses its
// pointer.
func TestRigUdevdHotplugInput(t *testing.T) {
	requireGuestPrograms(t, "wev")
	rigtest.RequireUInput(t)
	rigtest.StartUdevd(t)
	_, dir, _ := startKMSWith(t, kms.Options{Input: &kms.InputOptions{}}, Options{})
	lines := testenv.StartOnPTY(t, client(t, dir, "wev")) // wev never flushes: a pty makes it print each line
	// No input device yet: udevd started after the guest's own devices
	// (the ACPI power button) appeared and nothing replayed them (no
	// "udevadm trigger"), so libinput's udev backend has none.
	lines.Expect(t, `wl_seat\] capabilities:\s+none\s*$`)

	t0 := time.Now()
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp udevd e2e mouse"))
	lines.Expect(t, `wl_seat\] capabilities:.*pointer`)
	t.Logf("uinput mouse created → wev sees a pointer capability (udevd → libinput's udev backend → server): %v", time.Since(t0))
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, -5000}, [3]int32{rigtest.EvRel, rigtest.RelY, -5000})
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 100}, [3]int32{rigtest.EvRel, rigtest.RelY, 50})
	lines.Expect(t, `wl_pointer\] (enter|motion): `)
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 1})
	lines.Expect(t, `wl_pointer\] button: .*button: 272 \(left\), state: 1 \(pressed\)`)
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 0})
	lines.Expect(t, `wl_pointer\] button: .*state: 0 \(released\)`)

	if err := mouse.Close(); err != nil {
		t.Fatal(err)
	}
	lines.Expect(t, `wl_seat\] capabilities:\s+none\s*$`)
	lines.Expect(t, `wl_pointer\] leave: `)
}
