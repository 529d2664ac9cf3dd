package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/testenv"
)

// The kiosk unit (contrib/systemd/minicomp@.service) is valid for
// systemd (systemd-analyze verify, with the test binary standing in for
// /usr/local/bin/minicomp), and enabling it, as the README's steps do,
// makes it start at boot on a system that boots to the console: the
// README's raspi-config do_boot_behaviour B1 sets multi-user.target as
// the default target.
func TestKioskUnit(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("host test: the rig's guests run no systemd")
	}
	for _, p := range []string{"systemctl", "systemd-analyze"} {
		if _, err := exec.LookPath(p); err != nil {
			testenv.SkipOrFail(t, p+" not installed (Debian package systemd)")
		}
	}
	text, err := os.ReadFile("../../contrib/systemd/minicomp@.service")
	if err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	unit := strings.ReplaceAll(string(text), "/usr/local/bin/minicomp", exe)

	dir := t.TempDir()
	path := filepath.Join(dir, "minicomp@tty1.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	if err != nil || len(out) != 0 {
		// systemd-analyze also complains about other units of this
		// machine it loads; keep only what is about ours.
		var ours []string
		for _, l := range strings.Split(string(out), "\n") {
			if strings.Contains(l, "minicomp@") {
				ours = append(ours, l)
			}
		}
		if len(ours) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s", err, strings.Join(ours, "\n"))
		}
	}

	// Enabled in an empty root whose default target is multi-user.target.
	root := t.TempDir()
	sys := filepath.Join(root, "etc/systemd/system")
	if err := os.MkdirAll(sys, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sys, "minicomp@.service"), []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("systemctl", "--root="+root, "enable", "minicomp@tty1.service").CombinedOutput(); err != nil {
		t.Fatalf("systemctl enable: %v\n%s", err, out)
	}
	if _, err := os.Lstat(filepath.Join(sys, "multi-user.target.wants", "minicomp@tty1.service")); err != nil {
		links, _ := filepath.Glob(filepath.Join(sys, "*.wants", "*"))
		t.Errorf("enabled, the unit is not wanted by multi-user.target (a console boot would not start it): links %q", links)
	}
}
