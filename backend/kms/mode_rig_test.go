package kms

import (
	"testing"

	"github.com/minicomp/minicomp/scanout"
)

// --mode WxH@Hz for every connector (Modes["*"]) with a whole-hertz rate
// picks the connector's mode of that size within half a hertz (vkms's
// 800x600 is 60.317 Hz).
func TestRigModeForEveryConnector(t *testing.T) {
	devs := rigDevices(t)
	pipes, err := devs.Display.Pipelines(false)
	if err != nil || len(pipes) == 0 {
		t.Fatalf("pipelines: %v %v", pipes, err)
	}
	var want scanout.Mode
	for _, m := range pipes[0].Modes {
		if m.Width == 800 && m.Height == 600 && (want.Width == 0 || m.RefreshMilliHz < want.RefreshMilliHz) {
			want = m
		}
	}
	if want.Width == 0 {
		t.Fatalf("%s offers no 800x600 mode: %v", pipes[0].ConnectorName, pipes[0].Modes)
	}
	hz := (want.RefreshMilliHz + 500) / 1000 * 1000
	be, err := New(Options{Devices: devs, Buffers: 2, Logger: quiet(), Modes: map[string]scanout.Mode{"*": {Width: 800, Height: 600, RefreshMilliHz: hz}}})
	if err != nil {
		t.Fatal(err)
	}
	defer be.Close()
	if m := be.Outputs()[0].Mode(); m.Width != 800 || m.Height != 600 || m.RefreshMilliHz != want.RefreshMilliHz {
		t.Errorf("mode %v, want %v (asked for %d mHz)", m, want, hz)
	}
}
