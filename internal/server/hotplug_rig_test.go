package server

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/wire"
)

// Connector hotplug on vkms, through the kernel: the connector's status
// forced off and on through sysfs (drm_sysfs status_store re-probes it)
// and a uevent on the card (vkms has no hotplug interrupt of its own, so
// the change is announced as `udevadm trigger` would: a synthetic change
// event from the kernel on NETLINK_KOBJECT_UEVENT). The server withdraws
// the wl_output global and announces a new one; wayland-info, a real
// client, lists no output and then the output again, which shows frames.
func TestRigOutputHotplug(t *testing.T) {
	requireGuestPrograms(t, "wayland-info")
	be := openKMS(t, kms.Options{Logger: testLog(t), Hotplug: true})
	o := be.Outputs()[0]
	_, node, _ := strings.Cut(o.Info().Display, "(")
	card := filepath.Base(strings.TrimSuffix(node, ")"))
	status := filepath.Join("/sys/class/drm", card+"-"+o.Name(), "status")
	uevent := filepath.Join("/sys/class/drm", card, "uevent")
	write := func(path, s string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(s), 0); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.WriteFile(status, []byte("detect"), 0) })
	_, dir, _ := startServer(t, be, Options{})
	r := dial(t, dir)
	// outputGlobal reads registry events up to a wl_output global's
	// (the client's view: s.globals belongs to the running server).
	var mgrName uint32 // zwlr_output_manager_v1's global, from the same events
	outputGlobal := func() (name uint32) {
		r.events(func(obj uint32, op uint16, body []byte) bool {
			if obj != 2 || op != 0 {
				return false
			}
			d := wire.NewDecoder(body, nil)
			name = d.Uint()
			iface := d.String()
			if iface == "zwlr_output_manager_v1" {
				mgrName = name
			}
			return iface == "wl_output"
		})
		return name
	}
	r.req(1, 1, func(e *wire.Encoder) { e.NewID(2) })
	first := outputGlobal()
	r.roundtrip(3)
	if mgrName == 0 {
		t.Fatal("no zwlr_output_manager_v1 global before wl_output")
	}
	// An output manager hears of the head going and coming.
	mgr := dial(t, dir)
	mgr.bind(mgrName, "zwlr_output_manager_v1", 2, 3)
	heads, _ := mgr.headsDone()
	if len(heads) != 1 {
		t.Fatalf("output manager lists %d heads, want 1", len(heads))
	}
	if out := wlInfo(t, dir); !strings.Contains(out, "name: "+o.Name()) {
		t.Fatalf("wayland-info before the unplug lacks %s:\n%s", o.Name(), out)
	}

	write(status, "off")
	t0 := time.Now()
	write(uevent, "change")
	r.events(func(obj uint32, op uint16, body []byte) bool {
		return obj == 2 && op == 1 && binary.NativeEndian.Uint32(body) == first
	})
	gone := time.Since(t0)
	if added, finished := mgr.headsDone(); len(added) != 0 || !slices.Equal(finished, heads) {
		t.Errorf("output manager after the unplug: heads added %v, finished %v; want none, %v", added, finished, heads)
	}
	if out := wlInfo(t, dir); strings.Contains(out, "wl_output") {
		t.Errorf("wayland-info after the unplug lists an output:\n%s", out)
	}

	write(status, "detect")
	t0 = time.Now()
	write(uevent, "change")
	name := outputGlobal()
	back := time.Since(t0)
	if added, finished := mgr.headsDone(); len(added) != 1 || len(finished) != 0 {
		t.Errorf("output manager after the re-plug: heads added %v, finished %v; want one, none", added, finished)
	}
	if name == first {
		t.Errorf("the re-plugged output has its old global name %d", name)
	}
	if out := wlInfo(t, dir); !strings.Contains(out, "name: "+o.Name()) {
		t.Errorf("wayland-info after the re-plug lacks %s:\n%s", o.Name(), out)
	}
	outs := be.Outputs()
	if len(outs) != 1 || outs[0] == o {
		t.Fatalf("backend outputs after the re-plug: %v", outs)
	}
	waitFor(t, "frames on the re-plugged output", func() bool { return outs[0].Info().Stats.Frames > 0 })
	t.Logf("hotplug reaction (uevent written → client told): unplug %v, re-plug %v", gone, back)
}

// wlInfo runs wayland-info against the server.
func wlInfo(t *testing.T, dir string) string {
	t.Helper()
	out, err := client(t, dir, "wayland-info").CombinedOutput()
	if err != nil {
		t.Fatalf("wayland-info: %v\n%s", err, out)
	}
	return string(out)
}
