package main

import (
	"os/exec"
	"testing"
)

// --withhold reaches the server: the client started by run sees the
// groups not withheld and not the withheld ones (wayland-info's listing);
// a group name that does not exist is refused before anything starts.
func TestRunWithhold(t *testing.T) {
	minicomp, _ := e2eBinaries(t)
	if _, err := exec.LookPath("wayland-info"); err != nil {
		t.Fatalf("wayland-info (Debian wayland-utils, test/rig/deps.sh): %v", err)
	}
	mc := startProc(t, "minicomp", e2eEnv("XDG_RUNTIME_DIR="+e2eRuntimeDir(t)), minicomp,
		"run", "--backend=headless", "--size", "320x240", "--render-node", "none", "--renderer=soft", "--withhold=input,clipboard",
		"--", "sh", "-c", `l=$(wayland-info) && ! echo "$l" | grep -q -e zwlr_virtual_pointer_manager_v1 -e zwp_virtual_keyboard_manager_v1 -e zwlr_data_control_manager_v1 && echo "$l" | grep -q zwlr_screencopy_manager_v1`)
	mc.waitExit(startTimeout)
	if !mc.state.Success() {
		t.Fatalf("the client saw a withheld global, or not screencopy: minicomp %v", mc.state)
	}
	bad := startProc(t, "minicomp", e2eEnv("XDG_RUNTIME_DIR="+e2eRuntimeDir(t)), minicomp,
		"run", "--backend=headless", "--render-node", "none", "--renderer=soft", "--withhold=keys", "--", "true")
	bad.waitExit(startTimeout)
	if bad.state.Success() {
		t.Fatal("--withhold=keys accepted")
	}
	bad.waitLogLine(0, `unknown protocol group "keys"`)
}
