package rigtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// Udevd is the host's systemd-udevd (Debian package udev) and what it
// reads, as a package's testdata/rig-programs ships them into the amd64
// guest: the daemon (a name of the multi-call udevadm binary), its rules
// and the hardware database its input_id and hwdb builtins use.
const (
	Udevd      = "/usr/lib/systemd/systemd-udevd"
	UdevRules  = "/usr/lib/udev/rules.d"
	UdevHwdb   = "/usr/lib/udev/hwdb.bin"
	udevRunDir = "/run/udev"
)

// StartUdevd runs systemd-udevd in the guest until the test ends, as on
// Raspberry Pi OS: it classifies devices (ID_INPUT_*), writes udev's
// database under /run/udev and broadcasts each device to libudev's
// monitors once it is ready. It returns when the control socket exists.
// At the end it stops the daemon and removes /run/udev, so the tests
// after it see a guest without udevd again. The daemon missing from the
// guest (see Udevd) or not starting fails the test, with its output.
func StartUdevd(t testing.TB) {
	t.Helper()
	for _, p := range []string{Udevd, UdevRules, UdevHwdb} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("udevd in the guest: %v (testdata/rig-programs ships %s, %s and %s from the host's package udev)", err, Udevd, UdevRules, UdevHwdb)
		}
	}
	control := udevRunDir + "/control"
	if _, err := os.Stat(control); err == nil {
		t.Fatalf("a udev daemon runs already (%s)", control)
	}
	// No /etc/passwd or /etc/group in the guest: rules' OWNER and GROUP
	// names are not looked up. Logs on stderr, not the (absent) journal.
	cmd := exec.Command(Udevd, "--resolve-names=never", "--children-max=2")
	cmd.Env = append(os.Environ(), "SYSTEMD_LOG_TARGET=console")
	if testing.Verbose() {
		cmd.Env = append(cmd.Env, "SYSTEMD_LOG_LEVEL=debug")
	}
	logPath := filepath.Join(t.TempDir(), "udevd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close() // the daemon has its own copy
	output := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", Udevd, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("systemd-udevd ended with %v:\n%s", err, output())
			}
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
			t.Errorf("systemd-udevd did not end within 10 s of SIGTERM:\n%s", output())
		}
		if testing.Verbose() {
			t.Logf("systemd-udevd's output:\n%s", output())
		}
		if err := os.RemoveAll(udevRunDir); err != nil {
			t.Error(err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if _, err := os.Stat(control); err == nil {
			return
		}
		select {
		case err := <-exited:
			exited <- err // for the cleanup
			t.Fatalf("systemd-udevd exited at start (%v):\n%s", err, output())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("systemd-udevd made no %s within 20 s:\n%s", control, output())
		}
	}
}
