package kms

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/uevent"
)

func msg(fields ...string) []byte { return []byte(strings.Join(fields, "\x00") + "\x00") }

func TestConcerns(t *testing.T) {
	card := unix.Mkdev(226, 1)
	hotplug := msg("change@/devices/platform/vkms/drm/card1", "ACTION=change", "DEVPATH=/devices/platform/vkms/drm/card1",
		"SUBSYSTEM=drm", "HOTPLUG=1", "DEVNAME=dri/card1", "DEVTYPE=drm_minor", "SEQNUM=1234", "MAJOR=226", "MINOR=1")
	ev, ok := uevent.Parse(hotplug)
	if !ok || !concerns(ev, card) {
		t.Errorf("a HOTPLUG=1 change of the card does not concern it: %+v %v", ev, ok)
	}
	if concerns(ev, unix.Mkdev(226, 0)) {
		t.Error("another card's hotplug concerns this one")
	}
	synth := msg("change@/devices/platform/vkms/drm/card1", "ACTION=change", "SUBSYSTEM=drm", "SYNTH_UUID=0", "MAJOR=226", "MINOR=1")
	if ev, _ := uevent.Parse(synth); !concerns(ev, card) {
		t.Error("a synthetic change (udevadm trigger) does not concern the card")
	}
	for name, m := range map[string][]byte{
		"no hotplug":   msg("change@/devices/x/drm/card1", "SUBSYSTEM=drm", "MAJOR=226", "MINOR=1"),
		"add":          msg("add@/devices/x/drm/card1", "SUBSYSTEM=drm", "HOTPLUG=1", "MAJOR=226", "MINOR=1"),
		"other subsys": msg("change@/devices/x/input/event3", "SUBSYSTEM=input", "HOTPLUG=1", "MAJOR=226", "MINOR=1"),
		"no numbers":   msg("change@/devices/x/drm/card1", "SUBSYSTEM=drm", "HOTPLUG=1", "MAJOR=x"),
	} {
		if ev, ok := uevent.Parse(m); ok && concerns(ev, card) {
			t.Errorf("%s: %+v concerns the card", name, ev)
		}
	}
	// The overflow marker the reader sends is no uevent of the card's.
	if concerns(uevent.Event{Action: "overflow", Major: -1, Minor: -1}, card) {
		t.Error("the overflow marker concerns the card")
	}
}
