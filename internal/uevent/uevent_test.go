package uevent

import (
	"strings"
	"testing"
)

func msg(fields ...string) []byte { return []byte(strings.Join(fields, "\x00") + "\x00") }

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name string
		msg  []byte
		want Event
	}{
		{"input add", msg("add@/devices/virtual/input/input5/event3", "ACTION=add", "DEVPATH=/devices/virtual/input/input5/event3",
			"SUBSYSTEM=input", "MAJOR=13", "MINOR=67", "DEVNAME=input/event3", "SEQNUM=1234"),
			Event{Action: "add", DevPath: "/devices/virtual/input/input5/event3", Subsystem: "input", DevName: "input/event3", Major: 13, Minor: 67}},
		{"drm hotplug", msg("change@/devices/platform/vkms/drm/card1", "ACTION=change", "DEVPATH=/devices/platform/vkms/drm/card1",
			"SUBSYSTEM=drm", "HOTPLUG=1", "DEVNAME=dri/card1", "DEVTYPE=drm_minor", "SEQNUM=1234", "MAJOR=226", "MINOR=1"),
			Event{Action: "change", DevPath: "/devices/platform/vkms/drm/card1", Subsystem: "drm", DevName: "dri/card1", Major: 226, Minor: 1, Hotplug: true}},
		{"synthetic", msg("change@/devices/virtual/mem/null", "ACTION=change", "SUBSYSTEM=mem", "SYNTH_UUID=0", "MAJOR=1", "MINOR=3", "DEVNAME=null"),
			Event{Action: "change", DevPath: "/devices/virtual/mem/null", Subsystem: "mem", DevName: "null", Major: 1, Minor: 3, Synthetic: true}},
		{"no node, HOTPLUG=0, bad numbers", msg("remove@/devices/x", "SUBSYSTEM=input", "HOTPLUG=0", "MAJOR=x", "MINOR=-4", "junk", "=", ""),
			Event{Action: "remove", DevPath: "/devices/x", Subsystem: "input", Major: -1, Minor: -1}},
		{"huge number", msg("add@/devices/x", "SUBSYSTEM=drm", "MAJOR=99999999999999999999", "MINOR=2147483648"),
			Event{Action: "add", DevPath: "/devices/x", Subsystem: "drm", Major: -1, Minor: -1}},
	} {
		got, ok := Parse(tc.msg)
		if !ok || got != tc.want {
			t.Errorf("%s: %+v %v, want %+v", tc.name, got, ok, tc.want)
		}
	}
	for _, bad := range [][]byte{nil, []byte("libudev\x00\xfe\xed\xca\xfe"), []byte("@\x00"), []byte("change@\x00SUBSYSTEM=drm\x00"),
		[]byte("@/devices/x\x00SUBSYSTEM=drm\x00"), []byte("change\x00SUBSYSTEM=drm"), []byte("change@/devices/x"),
		msg("add@/devices/x", "ACTION=add", "MAJOR=1"), []byte("@\x00=\x00==")} {
		if ev, ok := Parse(bad); ok {
			t.Errorf("%q parsed as a uevent: %+v", bad, ev)
		}
	}
}

// FuzzParse: whatever arrives on the socket is parsed or refused without
// a panic, and what parses is a kernel uevent's shape.
func FuzzParse(f *testing.F) {
	f.Add(msg("add@/devices/virtual/input/input5/event3", "ACTION=add", "SUBSYSTEM=input", "MAJOR=13", "MINOR=67", "DEVNAME=input/event3"))
	f.Add(msg("change@/devices/platform/vkms/drm/card1", "SUBSYSTEM=drm", "HOTPLUG=1", "SYNTH_UUID=0", "MAJOR=226", "MINOR=1"))
	f.Add([]byte("libudev\x00\xfe\xed"))
	f.Add([]byte("@\x00=\x00=="))
	f.Fuzz(func(t *testing.T, b []byte) {
		ev, ok := Parse(b)
		if ev.Major < -1 || ev.Minor < -1 {
			t.Fatalf("device number %d:%d from %q", ev.Major, ev.Minor, b)
		}
		if !ok {
			return
		}
		if ev.Action == "" || ev.DevPath == "" || ev.Subsystem == "" ||
			strings.ContainsAny(ev.Action, "@\x00") || strings.ContainsRune(ev.DevPath, 0) ||
			strings.ContainsRune(ev.Subsystem, 0) || strings.ContainsRune(ev.DevName, 0) {
			t.Fatalf("accepted %q as %+v", b, ev)
		}
	})
}
