// Package rigtest lets tests that need real kernel devices run inside the
// QEMU rig (test/rig) and skip elsewhere, and checks that a test released
// every fd it opened.
package rigtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strings"
	"syscall"
	"testing"
)

// Env is set by the rig's init to the rig's name: "vkms" (vkms + vgem,
// x86_64 and arm64) or "pl111" (vexpress-a9 pl111 + vgem, 32-bit arm).
const Env = "MINICOMP_RIG"

// Name returns the rig this test runs in, or "".
func Name() string { return os.Getenv(Env) }

// Require skips the test unless it runs in one of the named rigs (any rig
// when none is named). Inside the rig nothing is skipped: missing devices
// are failures of the test itself.
func Require(t testing.TB, rigs ...string) string {
	t.Helper()
	n := Name()
	if n == "" {
		t.Skip("needs a real kernel with DRM test drivers: run through test/rig (go test -exec vmexec)")
	}
	if len(rigs) == 0 {
		return n
	}
	for _, r := range rigs {
		if r == n {
			return n
		}
	}
	t.Skipf("runs in rig %v, this is %q", rigs, n)
	return n
}

// OpenFDs counts this process's open file descriptors.
func OpenFDs(t testing.TB) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	return len(ents) - 1 // the ReadDir's own fd
}

// CheckFDs fails the test at cleanup if it ends with more open fds than it
// started with, naming the ones that are new.
func CheckFDs(t testing.TB) {
	t.Helper()
	before := fdTargets()
	t.Cleanup(func() {
		after := fdTargets()
		if len(after) <= len(before) {
			return
		}
		var extra []string
		for fd, target := range after {
			if before[fd] != target {
				extra = append(extra, fd+" → "+target)
			}
		}
		sort.Strings(extra)
		t.Errorf("fd leak: %d open fds before, %d after: %s", len(before), len(after), strings.Join(extra, ", "))
	})
}

// fdTargets maps each open fd (but the listing's own) to what it is.
func fdTargets() map[string]string {
	ents, _ := os.ReadDir("/proc/self/fd")
	m := map[string]string{}
	for _, e := range ents {
		if target, err := os.Readlink("/proc/self/fd/" + e.Name()); err == nil {
			m[e.Name()] = target
		}
	}
	return m
}

const childEnv = "MINICOMP_RIGTEST_CHILD"

// IsChild reports whether this test process was started by RunAsNobody.
func IsChild() bool { return os.Getenv(childEnv) == "1" }

// RunAsNobody reruns the test binary as uid/gid 65534 with only the named
// test, and returns its combined output. The rig's device nodes are
// root-only (0600), so the child sees what a user without a seat or a udev
// rule sees.
func RunAsNobody(t testing.TB, test string) ([]byte, error) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "-test.run", "^"+test+"$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	if err == nil {
		err = childRan(out, test)
	}
	return out, err
}

// childRan returns an error unless the child's verbose output shows test
// ran and passed: a name that matched nothing ("no tests to run") or a
// child that skipped exits 0 and would pass silently.
func childRan(out []byte, test string) error {
	switch {
	case bytes.Contains(out, []byte("--- PASS: "+test+" ")):
		return nil
	case bytes.Contains(out, []byte("--- SKIP: "+test+" ")):
		return fmt.Errorf("child test %s skipped instead of running", test)
	}
	return fmt.Errorf("child ran no test %s (a name that matches nothing passes silently)", test)
}
