// Command riginit is PID 1 in the rig's QEMU guests (see test/rig/README.md).
//
// vmexec packs it as /init into an initramfs together with a test binary and
// /rig/spec.json. riginit mounts the pseudo file systems, runs the test binary
// as a child with the packed arguments, environment and working directory,
// prints the exit status between markers vmexec looks for, sends back any
// output files the test wrote (-test.testlogfile, -test.coverprofile, ...)
// and restarts the machine, which makes QEMU (-no-reboot) exit.
//
// Standard library only: it is cross-built for amd64, arm64 and arm.
package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Markers and spec shared with vmexec (keep in sync with cmd/vmexec).
const (
	startMarker = "@@MINICOMP-RIG-START@@"
	exitMarker  = "@@MINICOMP-RIG-EXIT " // followed by "<status>@@"
	fileMarker  = "@@MINICOMP-RIG-FILE " // followed by "<path>@@", base64 lines, then fileEnd
	fileEnd     = "@@MINICOMP-RIG-FILE-END@@"
	specPath    = "/rig/spec.json"
)

type spec struct {
	Binary  string   // absolute guest path of the test binary
	Args    []string // arguments after the binary
	Env     []string // KEY=VALUE, added to the base environment
	Dir     string   // working directory (the package dir, with testdata/)
	Outputs []string // files to send back after the run
	OutDirs []string // directories to create and send back (coverage)
}

func main() {
	console := os.Stdout
	status := run()
	fmt.Fprintf(console, "%s%d@@\n", exitMarker, status)
	halt()
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "riginit: "+format+"\n", args...)
}

// run does everything up to the verdict and returns the exit status to report.
func run() int {
	mountAll()

	b, err := os.ReadFile(specPath)
	if err != nil {
		logf("%v", err)
		return 126
	}
	var s spec
	if err := json.Unmarshal(b, &s); err != nil {
		logf("bad %s: %v", specPath, err)
		return 126
	}

	if err := os.MkdirAll("/run/user/0", 0o700); err != nil {
		logf("%v", err)
	}
	// The host paths of output files do not exist in the guest.
	for _, o := range s.Outputs {
		os.MkdirAll(filepath.Dir(o), 0o755)
	}
	for _, o := range s.OutDirs {
		os.MkdirAll(o, 0o755)
	}
	if s.Dir != "" {
		if err := os.MkdirAll(s.Dir, 0o755); err != nil {
			logf("%v", err)
		}
	}

	env := []string{
		"HOME=/tmp",
		"TMPDIR=/tmp",
		"PATH=/rig:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"XDG_RUNTIME_DIR=/run/user/0",
		"USER=root",
		"LOGNAME=root",
	}
	env = mergeEnv(env, s.Env)

	cmd := exec.Command(s.Binary, s.Args...)
	cmd.Dir = s.Dir
	cmd.Env = env
	cmd.Stdin = nil
	cmd.Stdout = os.Stdout
	cmd.Stderr = os.Stderr
	fmt.Printf("%s\n", startMarker)
	err = cmd.Run()
	status := 0
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ws := ee.Sys().(syscall.WaitStatus)
			switch {
			case ws.Exited():
				status = ws.ExitStatus()
			case ws.Signaled():
				logf("test binary killed by signal %v", ws.Signal())
				status = 128 + int(ws.Signal())
			default:
				status = 1
			}
		} else {
			logf("running test binary: %v", err)
			status = 126
		}
	}
	reapOrphans()
	for _, o := range append(s.Outputs, s.OutDirs...) {
		sendBack(o)
	}
	return status
}

// mergeEnv appends extra to base; a later KEY= replaces an earlier one.
func mergeEnv(base, extra []string) []string {
	idx := map[string]int{}
	var out []string
	for _, kv := range append(append([]string{}, base...), extra...) {
		k, _, _ := strings.Cut(kv, "=")
		if i, ok := idx[k]; ok {
			out[i] = kv
			continue
		}
		idx[k] = len(out)
		out = append(out, kv)
	}
	return out
}

func mountAll() {
	type m struct {
		src, dir, fstype, data string
		flags                  uintptr
		mode                   os.FileMode
	}
	const nodev = syscall.MS_NOSUID | syscall.MS_NODEV | syscall.MS_NOEXEC
	for _, x := range []m{
		{"proc", "/proc", "proc", "", nodev, 0o555},
		{"sysfs", "/sys", "sysfs", "", nodev, 0o555},
		{"devtmpfs", "/dev", "devtmpfs", "mode=0755", syscall.MS_NOSUID, 0o755},
		{"debugfs", "/sys/kernel/debug", "debugfs", "", nodev, 0o700},
		{"tmpfs", "/tmp", "tmpfs", "mode=1777", syscall.MS_NOSUID | syscall.MS_NODEV, 0o1777},
		{"tmpfs", "/run", "tmpfs", "mode=0755", syscall.MS_NOSUID | syscall.MS_NODEV, 0o755},
		// POSIX shared memory (shm_open), which clients such as grim use for wl_shm.
		{"tmpfs", "/dev/shm", "tmpfs", "mode=1777", syscall.MS_NOSUID | syscall.MS_NODEV, 0o1777},
		{"devpts", "/dev/pts", "devpts", "mode=0620,ptmxmode=0666", syscall.MS_NOSUID | syscall.MS_NOEXEC, 0o755},
	} {
		os.MkdirAll(x.dir, x.mode)
		err := syscall.Mount(x.src, x.dir, x.fstype, x.flags, x.data)
		switch {
		case err == nil:
		case err == syscall.EBUSY: // already mounted (e.g. devtmpfs automount)
		case err == syscall.ENODEV && x.fstype == "devpts": // not built in; optional
		default:
			logf("mount %s on %s: %v", x.fstype, x.dir, err)
		}
	}
	os.Symlink("/proc/self/fd", "/dev/fd")
	os.Symlink("/proc/self/fd/0", "/dev/stdin")
	os.Symlink("/proc/self/fd/1", "/dev/stdout")
	os.Symlink("/proc/self/fd/2", "/dev/stderr")
}

// reapOrphans collects processes the test left behind that were re-parented
// to PID 1 and have already exited; it never waits for running ones.
func reapOrphans() {
	for {
		var ws syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}

// sendBack writes the file (or every regular file under the directory) at
// path to the console, base64-encoded between markers, for vmexec to store at
// the same host path.
func sendBack(path string) {
	filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			logf("%v", err)
			return nil
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s%s@@\n", fileMarker, p)
		enc := base64.StdEncoding.EncodeToString(b)
		for len(enc) > 76 {
			sb.WriteString(enc[:76])
			sb.WriteByte('\n')
			enc = enc[76:]
		}
		if enc != "" {
			sb.WriteString(enc)
			sb.WriteByte('\n')
		}
		sb.WriteString(fileEnd + "\n")
		os.Stdout.WriteString(sb.String())
		return nil
	})
}

func halt() {
	syscall.Sync()
	// With QEMU's -no-reboot a restart ends QEMU on every rig machine (pc has
	// no ACPI power-off in the tiny kernel; virt uses PSCI; vexpress the
	// system controller). Power-off is the fallback.
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_RESTART)
	syscall.Reboot(syscall.LINUX_REBOOT_CMD_POWER_OFF)
	for {
		time.Sleep(time.Hour)
	}
}
