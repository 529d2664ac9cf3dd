package kms

import (
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func msg(fields ...string) []byte { return []byte(strings.Join(fields, "\x00") + "\x00") }

func TestParseUevent(t *testing.T) {
	card := unix.Mkdev(226, 1)
	hotplug := msg("change@/devices/platform/vkms/drm/card1", "ACTION=change", "DEVPATH=/devices/platform/vkms/drm/card1",
		"SUBSYSTEM=drm", "HOTPLUG=1", "DEVNAME=dri/card1", "DEVTYPE=drm_minor", "SEQNUM=1234", "MAJOR=226", "MINOR=1")
	ev, ok := parseUevent(hotplug)
	if !ok || ev.Action != "change" || ev.Subsystem != "drm" || !ev.Hotplug || ev.Major != 226 || ev.Minor != 1 {
		t.Fatalf("parsed %+v %v", ev, ok)
	}
	if !ev.concerns(card) {
		t.Error("a HOTPLUG=1 change of the card does not concern it")
	}
	if ev.concerns(unix.Mkdev(226, 0)) {
		t.Error("another card's hotplug concerns this one")
	}
	synth := msg("change@/devices/platform/vkms/drm/card1", "ACTION=change", "SUBSYSTEM=drm", "SYNTH_UUID=0", "MAJOR=226", "MINOR=1")
	if ev, _ := parseUevent(synth); !ev.concerns(card) {
		t.Error("a synthetic change (udevadm trigger) does not concern the card")
	}
	for name, m := range map[string][]byte{
		"no hotplug":   msg("change@/devices/x/drm/card1", "SUBSYSTEM=drm", "MAJOR=226", "MINOR=1"),
		"add":          msg("add@/devices/x/drm/card1", "SUBSYSTEM=drm", "HOTPLUG=1", "MAJOR=226", "MINOR=1"),
		"other subsys": msg("change@/devices/x/input/event3", "SUBSYSTEM=input", "HOTPLUG=1", "MAJOR=226", "MINOR=1"),
		"no numbers":   msg("change@/devices/x/drm/card1", "SUBSYSTEM=drm", "HOTPLUG=1", "MAJOR=x"),
	} {
		if ev, ok := parseUevent(m); ok && ev.concerns(card) {
			t.Errorf("%s: %+v concerns the card", name, ev)
		}
	}
	for _, bad := range [][]byte{nil, []byte("libudev\x00\xfe\xed"), []byte("@\x00"), []byte("change\x00SUBSYSTEM=drm")} {
		if _, ok := parseUevent(bad); ok {
			t.Errorf("%q parsed as a uevent", bad)
		}
	}
}

func FuzzParseUevent(f *testing.F) {
	f.Add(msg("change@/devices/platform/vkms/drm/card1", "SUBSYSTEM=drm", "HOTPLUG=1", "MAJOR=226", "MINOR=1"))
	f.Add([]byte("libudev\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, ok := parseUevent(b)
		if ok && (ev.Action == "" || ev.DevPath == "") {
			t.Fatalf("accepted %q as %+v", b, ev)
		}
		if ev.concerns(unix.Mkdev(226, 1)) && (ev.Action != "change" || ev.Subsystem != "drm") {
			t.Fatalf("%+v concerns the card", ev)
		}
	})
}
