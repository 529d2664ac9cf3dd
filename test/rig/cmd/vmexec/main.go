// Command vmexec runs a Go test binary inside a small QEMU guest with a real
// Linux kernel that has virtual DRM devices, dma-buf heaps and udmabuf. It is
// meant for `go test -exec`:
//
//	CGO_ENABLED=0 GOARCH=arm64 go test -exec /path/to/vmexec ./internal/...
//
// The guest architecture comes from the test binary's ELF header:
//
//	amd64 -> qemu-system-x86_64 -M pc, vkms + vgem      (MINICOMP_RIG=vkms)
//	arm64 -> qemu-system-aarch64 -M virt, vkms + vgem   (MINICOMP_RIG=vkms)
//	arm   -> qemu-system-arm -M vexpress-a9, pl111+vgem (MINICOMP_RIG=pl111)
//
// The kernel comes from test/rig/kernel.sh (cached), PID 1 is test/rig/cmd/riginit
// (built on demand, cached). The initramfs holds init, the test binary, the
// package's testdata/ directory and a spec with args, environment and working
// directory. The guest's output after the start marker goes to stdout; vmexec
// exits with the guest test's exit status.
//
// Exit status 125: no verdict from the guest (boot failure, kernel panic,
// timeout); the boot log is printed on stderr. 126: the rig could not be set up.
//
// Environment:
//
//	MINICOMP_RIG_DIR          the test/rig directory (default: found from the
//	                          module root above the current directory)
//	MINICOMP_RIG_CACHE        cache directory (default $XDG_CACHE_HOME/minicomp-rig)
//	MINICOMP_RIG_TIMEOUT      wall-clock limit per guest run (default 15m)
//	MINICOMP_RIG_VERBOSE=1    print the QEMU command and the boot log
//	MINICOMP_RIG_KERNEL_ARGS  extra kernel command line (e.g. drm.debug=0x14)
//	MINICOMP_RIG_QEMU_ARGS    extra QEMU arguments (space separated)
//	MINICOMP_RIG_PROGRAMS     host programs to ship into a guest of the host's
//	                          architecture, besides the package's
//	                          testdata/rig-programs (see programs.go)
//	MINICOMP_RIG_MESA=1       ship the host's Mesa and attach virtio-gpu (virgl)
//	                          as testdata/rig-mesa does (see mesa.go)
//	MINICOMP_RIG_VIRTIO_OUTPUTS=N  attach a 2D virtio-gpu with N outputs to the
//	                          amd64 guest (see virtio.go)
//
// Variables named MINICOMP_* (except the ones above) and a few Go runtime
// knobs (GOTRACEBACK, GODEBUG, GOMAXPROCS, GOGC, GOMEMLIMIT) are passed to
// the guest; MINICOMP_RIG is always set there.
package main

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"debug/elf"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Markers and spec shared with riginit (keep in sync with cmd/riginit).
const (
	startMarker = "@@MINICOMP-RIG-START@@"
	exitMarker  = "@@MINICOMP-RIG-EXIT "
	fileMarker  = "@@MINICOMP-RIG-FILE "
	fileEnd     = "@@MINICOMP-RIG-FILE-END@@"
)

type spec struct {
	Binary  string
	Args    []string
	Env     []string
	Dir     string
	Outputs []string
	OutDirs []string
}

const (
	exitNoVerdict = 125
	exitSetup     = 126
)

// rig describes one guest machine.
type rig struct {
	goarch     string // GOARCH of the guest
	kernelArch string // argument to kernel.sh
	name       string // MINICOMP_RIG value in the guest
	qemu       string
	image      string // kernel image file name in the kernel.sh output dir
	dtb        string // device tree file name in that dir, if any
	machine    []string
	console    string
	kargs      []string
}

var rigs = map[elf.Machine]rig{
	elf.EM_X86_64: {
		goarch: "amd64", kernelArch: "x86_64", name: "vkms",
		qemu: "qemu-system-x86_64", image: "bzImage",
		machine: []string{"-M", "pc", "-cpu", "max", "-m", "1G", "-smp", "1"},
		console: "ttyS0",
		kargs:   []string{"vkms.enable_writeback=1", "vkms.enable_overlay=1", "vkms.enable_cursor=1", "cma=64M"},
	},
	elf.EM_AARCH64: {
		goarch: "arm64", kernelArch: "arm64", name: "vkms",
		qemu: "qemu-system-aarch64", image: "Image",
		machine: []string{"-M", "virt", "-cpu", "cortex-a53", "-m", "1G", "-smp", "1"},
		console: "ttyAMA0",
		kargs:   []string{"vkms.enable_writeback=1", "vkms.enable_overlay=1", "vkms.enable_cursor=1", "cma=64M"},
	},
	elf.EM_ARM: {
		goarch: "arm", kernelArch: "arm", name: "pl111",
		qemu: "qemu-system-arm", image: "zImage", dtb: "vexpress-v2p-ca9-minicomp.dtb",
		machine: []string{"-M", "vexpress-a9", "-m", "1G", "-smp", "1",
			// No host audio for the board's PL041 (QEMU would try ALSA/Pulse and complain).
			"-audiodev", "none,id=snd0", "-global", "pl041.audiodev=snd0"},
		console: "ttyAMA0",
		// The CMA area comes from the DT's linux,cma node (heap "linux,cma").
	},
}

var verbose = os.Getenv("MINICOMP_RIG_VERBOSE") == "1"

func main() {
	// QEMU is started with Pdeathsig, which fires when the creating *thread*
	// exits: keep the main goroutine on one thread for the whole run.
	runtime.LockOSThread()
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: vmexec TESTBINARY [ARGS...]   (meant for go test -exec)")
		os.Exit(2)
	}
	os.Exit(run(os.Args[1], os.Args[2:]))
}

func setupErr(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "vmexec: "+format+"\n", args...)
	return exitSetup
}

func vlog(format string, args ...any) {
	if verbose {
		fmt.Fprintf(os.Stderr, "vmexec: "+format+"\n", args...)
	}
}

func run(binary string, args []string) int {
	t0 := time.Now()
	binary, err := filepath.Abs(binary)
	if err != nil {
		return setupErr("%v", err)
	}
	f, err := elf.Open(binary)
	if err != nil {
		return setupErr("reading test binary: %v", err)
	}
	machine := f.Machine
	f.Close()
	r, ok := rigs[machine]
	if !ok {
		return setupErr("%s: no rig for ELF machine %v", binary, machine)
	}

	cwd, err := os.Getwd()
	if err != nil {
		return setupErr("%v", err)
	}
	rigDir, err := findRigDir(cwd)
	if err != nil {
		return setupErr("%v", err)
	}
	cache, err := cacheDir()
	if err != nil {
		return setupErr("%v", err)
	}

	kdir, err := kernel(rigDir, r.kernelArch)
	if err != nil {
		return setupErr("kernel: %v", err)
	}
	initPath, err := riginit(rigDir, cache, r.goarch)
	if err != nil {
		return setupErr("riginit: %v", err)
	}

	// The package directory is recreated under /rig/pkg: the guest mounts
	// tmpfs on /tmp and /run, which would hide a checkout living there.
	sp := spec{
		Binary: "/rig/" + filepath.Base(binary),
		Args:   args,
		Env:    guestEnv(r.name),
		Dir:    filepath.Join("/rig/pkg", cwd),
	}
	sp.Outputs, sp.OutDirs = outputs(args)
	if d := os.Getenv("GOCOVERDIR"); d != "" && filepath.IsAbs(d) {
		sp.OutDirs = append(sp.OutDirs, d)
	}

	// Shared libraries of a dynamic test binary, and host programs.
	extra, err := testBinaryFiles(binary, r)
	if err != nil {
		return setupErr("%v", err)
	}
	names, err := requestedPrograms(cwd)
	if err != nil {
		return setupErr("%v", err)
	}
	names, goPkgs := splitGoPrograms(names)
	if len(goPkgs) > 0 {
		gotmp, err := os.MkdirTemp("", "vmexec-go-")
		if err != nil {
			return setupErr("%v", err)
		}
		defer os.RemoveAll(gotmp)
		gf, err := buildGoPrograms(cwd, gotmp, r.goarch, goPkgs)
		if err != nil {
			return setupErr("%v", err)
		}
		extra = append(extra, gf...)
	}
	if len(names) > 0 {
		if r.goarch != runtime.GOARCH {
			why := fmt.Sprintf("host programs run only in the %s guest (the host's architecture); this guest is %s, so %s were not shipped",
				runtime.GOARCH, r.goarch, strings.Join(names, " "))
			sp.Env = append(sp.Env, envProgramsUnavailable+"="+why)
			vlog("not shipping programs: %s", why)
		} else {
			pf, err := programFiles(names, machine)
			if err != nil {
				return setupErr("%v", err)
			}
			extra = append(extra, pf...)
			sp.Env = append(sp.Env, envPrograms+"="+strings.Join(programNames(pf), " "))
		}
	}
	mesa, err := wantsMesa(cwd)
	if err != nil {
		return setupErr("%v", err)
	}
	if mesa && r.goarch != runtime.GOARCH {
		why := fmt.Sprintf("Mesa runs only in the %s guest (the host's architecture, with virtio-gpu); this guest is %s",
			runtime.GOARCH, r.goarch)
		sp.Env = append(sp.Env, envMesaUnavailable+"="+why)
		vlog("not shipping Mesa: %s", why)
		mesa = false
	}
	if mesa {
		mf, err := mesaFiles()
		if err != nil {
			return setupErr("%v", err)
		}
		extra = append(extra, mf...)
		// The shader cache would live in the guest's tmpfs for one boot:
		// writing it is pure cost.
		sp.Env = append(sp.Env, envMesa+"=1", "MESA_SHADER_CACHE_DISABLE=true")
		if err := screenTools(); err != nil {
			return setupErr("%v", err)
		}
		sp.Env = append(sp.Env, envScreen+"=/dev/"+r.console)
	}

	tmp, err := os.MkdirTemp("", "vmexec-")
	if err != nil {
		return setupErr("%v", err)
	}
	defer os.RemoveAll(tmp)
	initrd := filepath.Join(tmp, "initramfs.cpio")
	size, extraFiles, extraBytes, err := writeInitramfs(initrd, initPath, binary, cwd, &sp, extra)
	if err != nil {
		return setupErr("initramfs: %v", err)
	}
	vlog("prepared in %v: initramfs %.1f MiB, of which %.1f MiB shared libraries and programs (%d files)",
		time.Since(t0).Round(time.Millisecond), float64(size)/(1<<20), float64(extraBytes)/(1<<20), extraFiles)

	var vqargs, vkargs []string
	if sp.Env, vqargs, vkargs, err = virtioOutputs(sp.Env, r.goarch, mesa); err != nil {
		return setupErr("%v", err)
	}
	kargs := append([]string{"console=" + r.console, "panic=-1", "quiet"}, r.kargs...)
	kargs = append(kargs, vkargs...)
	kargs = append(kargs, strings.Fields(os.Getenv("MINICOMP_RIG_KERNEL_ARGS"))...)
	qargs := []string{"-accel", "tcg"}
	qargs = append(qargs, r.machine...)
	qargs = append(qargs,
		"-nodefaults", "-serial", "stdio", "-monitor", "none",
		"-no-reboot",
		"-kernel", filepath.Join(kdir, r.image),
		"-initrd", initrd,
		"-append", strings.Join(kargs, " "))
	if r.dtb != "" {
		qargs = append(qargs, "-dtb", filepath.Join(kdir, r.dtb))
	}
	var qenv []string // QEMU's environment, when not vmexec's
	var screen func(string) string
	if mesa {
		x, err := startXvfb()
		if err != nil {
			return setupErr("%v", err)
		}
		defer x.stop()
		vlog("Xvfb on %s for QEMU's virtio-gpu display", x.display)
		qargs = append(qargs, "-device", mesaDevice, "-display", mesaDisplay)
		// GTK without a session bus or accessibility bus: no warnings.
		qenv = append(os.Environ(), "DISPLAY="+x.display, "GDK_BACKEND=x11", "NO_AT_BRIDGE=1")
		screen = func(req string) string { return answerScreen(x.display, req) }
	} else {
		qargs = append(qargs, "-display", "none")
	}
	qargs = append(qargs, vqargs...)
	qargs = append(qargs, strings.Fields(os.Getenv("MINICOMP_RIG_QEMU_ARGS"))...)

	timeout := 15 * time.Minute
	if s := os.Getenv("MINICOMP_RIG_TIMEOUT"); s != "" {
		if timeout, err = time.ParseDuration(s); err != nil {
			return setupErr("MINICOMP_RIG_TIMEOUT: %v", err)
		}
	}
	return boot(r, &sp, qargs, qenv, screen, timeout, t0)
}

// findRigDir returns $MINICOMP_RIG_DIR or <module root>/test/rig, the module
// root being the nearest directory at or above cwd holding go.mod (go test
// runs -exec programs in the package directory).
func findRigDir(cwd string) (string, error) {
	if d := os.Getenv("MINICOMP_RIG_DIR"); d != "" {
		return filepath.Abs(d)
	}
	for d := cwd; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			rd := filepath.Join(d, "test", "rig")
			if _, err := os.Stat(filepath.Join(rd, "kernel.sh")); err != nil {
				return "", fmt.Errorf("%s has no kernel.sh; set MINICOMP_RIG_DIR", rd)
			}
			return rd, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("no go.mod above %s; set MINICOMP_RIG_DIR", cwd)
		}
	}
}

func cacheDir() (string, error) {
	if d := os.Getenv("MINICOMP_RIG_CACHE"); d != "" {
		return d, nil
	}
	d, err := os.UserCacheDir() // $XDG_CACHE_HOME or $HOME/.cache
	if err != nil {
		return "", err
	}
	return filepath.Join(d, "minicomp-rig"), nil
}

// kernel runs kernel.sh (instant when cached) and returns its output directory.
func kernel(rigDir, arch string) (string, error) {
	cmd := exec.Command("bash", filepath.Join(rigDir, "kernel.sh"), arch)
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v", cmd.Path, arch, err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	dir := strings.TrimSpace(lines[len(lines)-1])
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		return "", fmt.Errorf("kernel.sh printed %q, not a directory", dir)
	}
	return dir, nil
}

// riginit returns a static riginit binary for goarch, building it when its
// sources (or this program's Go version) changed.
func riginit(rigDir, cache, goarch string) (string, error) {
	src := filepath.Join(rigDir, "cmd", "riginit")
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", runtime.Version(), goarch)
	ents, err := os.ReadDir(src)
	if err != nil {
		return "", err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			return "", err
		}
		fmt.Fprintf(h, "%s %d\n", e.Name(), len(b))
		h.Write(b)
	}
	out := filepath.Join(cache, "riginit", fmt.Sprintf("riginit-%s-%s", goarch, hex.EncodeToString(h.Sum(nil))[:16]))
	if _, err := os.Stat(out); err == nil {
		return out, nil
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return "", err
	}
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(),
		"CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOARM=7", "GOAMD64=v1",
		"GOFLAGS=-buildvcs=false", "GOEXPERIMENT=")
	if b, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("go build (GOARCH=%s) in %s: %v\n%s", goarch, src, err, b)
	}
	return out, os.Rename(tmp, out)
}

// guestEnv lists the variables passed into the guest.
func guestEnv(rigName string) []string {
	hostOnly := map[string]bool{
		"MINICOMP_RIG_DIR": true, "MINICOMP_RIG_CACHE": true, "MINICOMP_RIG_TIMEOUT": true,
		"MINICOMP_RIG_VERBOSE": true, "MINICOMP_RIG_KERNEL_ARGS": true, "MINICOMP_RIG_QEMU_ARGS": true,
		"MINICOMP_RIG": true, envPrograms: true, envProgramsUnavailable: true,
		envMesa: true, envMesaUnavailable: true,
	}
	pass := map[string]bool{
		"GOTRACEBACK": true, "GODEBUG": true, "GOMAXPROCS": true, "GOGC": true, "GOMEMLIMIT": true,
		"GOCOVERDIR": true,
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if hostOnly[k] {
			continue
		}
		if strings.HasPrefix(k, "MINICOMP_") || pass[k] {
			env = append(env, kv)
		}
	}
	sort.Strings(env)
	return append(env, "MINICOMP_RIG="+rigName)
}

// outputs returns the files and directories the test binary will write for
// go test (test log, coverage, profiles): riginit sends them back and boot()
// stores them at the same host paths.
func outputs(args []string) (files, dirs []string) {
	var outDir string
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "-test.outputdir="); ok {
			outDir = v
		}
	}
	for _, a := range args {
		name, v, ok := strings.Cut(strings.TrimPrefix(a, "-"), "=")
		if !ok || v == "" {
			continue
		}
		switch name {
		case "test.gocoverdir":
			if filepath.IsAbs(v) {
				dirs = append(dirs, v)
			}
		case "test.testlogfile", "test.coverprofile", "test.cpuprofile",
			"test.memprofile", "test.blockprofile", "test.mutexprofile", "test.trace":
			if !filepath.IsAbs(v) {
				if outDir == "" {
					continue
				}
				v = filepath.Join(outDir, v)
			}
			files = append(files, v)
		}
	}
	return files, dirs
}

// isOutput reports whether the guest may write path back to the host.
func isOutput(sp *spec, path string) bool {
	path = filepath.Clean(path)
	for _, o := range append(sp.Outputs, sp.OutDirs...) {
		if path == o || strings.HasPrefix(path, o+"/") {
			return true
		}
	}
	return false
}

// boot runs QEMU and streams the test's output. screen, when not nil,
// answers the guest's screen requests (screen.go) on its serial input.
func boot(r rig, sp *spec, qargs, env []string, screen func(string) string, timeout time.Duration, t0 time.Time) int {
	if verbose {
		fmt.Fprintf(os.Stderr, "vmexec: %s %s\n", r.qemu, shellJoin(qargs))
	}
	cmd := exec.Command(r.qemu, qargs...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return setupErr("%v", err)
	}
	var stdin io.WriteCloser
	if screen != nil {
		if stdin, err = cmd.StdinPipe(); err != nil {
			return setupErr("%v", err)
		}
		defer stdin.Close()
	}
	if err := cmd.Start(); err != nil {
		return setupErr("starting %s: %v (run test/rig/deps.sh)", r.qemu, err)
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGQUIT, syscall.SIGHUP)
	timer := time.NewTimer(timeout)
	why := make(chan string, 1)
	go func() {
		select {
		case s := <-sigs:
			why <- "vmexec got " + s.String()
		case <-timer.C:
			why <- fmt.Sprintf("timed out after %v (MINICOMP_RIG_TIMEOUT)", timeout)
		}
		cmd.Process.Kill()
	}()

	var bootLog bytes.Buffer
	status := -1
	started := false
	var tStart time.Time
	var file *os.File // output file being received
	var fileData strings.Builder
	out := bufio.NewWriter(os.Stdout)
	rd := bufio.NewReaderSize(stdout, 64<<10)
	for {
		line, err := rd.ReadString('\n')
		if strings.HasSuffix(line, "\r\n") {
			line = line[:len(line)-2] + "\n"
		}
		switch {
		case line == "":
		case !started:
			if i := strings.Index(line, startMarker); i >= 0 {
				started = true
				tStart = time.Now()
				bootLog.WriteString(line[:i])
				vlog("guest started the test after %v", tStart.Sub(t0).Round(time.Millisecond))
			} else {
				bootLog.WriteString(line)
				if verbose {
					os.Stderr.WriteString(line)
				}
			}
		case file != nil:
			if strings.TrimSpace(line) == fileEnd {
				b, derr := base64.StdEncoding.DecodeString(fileData.String())
				if derr == nil {
					_, derr = file.Write(b)
				}
				if cerr := file.Close(); derr == nil {
					derr = cerr
				}
				if derr != nil {
					fmt.Fprintf(os.Stderr, "vmexec: receiving %s: %v\n", file.Name(), derr)
				}
				file = nil
				fileData.Reset()
			} else {
				fileData.WriteString(strings.TrimSpace(line))
			}
		default:
			if i := strings.Index(line, exitMarker); i >= 0 {
				out.WriteString(line[:i])
				rest := strings.TrimSuffix(strings.TrimSpace(line[i+len(exitMarker):]), "@@")
				if n, perr := strconv.Atoi(rest); perr == nil {
					status = n
				}
				out.Flush()
				vlog("verdict %d after %v (test ran %v)", status, time.Since(t0).Round(time.Millisecond),
					time.Since(tStart).Round(time.Millisecond))
				break
			}
			if i := strings.Index(line, screenMarker); i >= 0 && stdin != nil {
				out.WriteString(line[:i])
				reply := screen(strings.TrimSuffix(strings.TrimSpace(line[i+len(screenMarker):]), "@@"))
				vlog("screen request %q: %s", strings.TrimSpace(line[i:]), strings.TrimSpace(reply))
				io.WriteString(stdin, reply)
				continue
			}
			if i := strings.Index(line, fileMarker); i >= 0 {
				out.WriteString(line[:i])
				p := strings.TrimSuffix(strings.TrimSpace(line[i+len(fileMarker):]), "@@")
				if isOutput(sp, p) {
					os.MkdirAll(filepath.Dir(p), 0o755)
					f, ferr := os.Create(p)
					if ferr != nil {
						fmt.Fprintf(os.Stderr, "vmexec: %v\n", ferr)
						f, _ = os.Create(os.DevNull)
					}
					file = f
				} else {
					file, _ = os.Create(os.DevNull)
				}
				continue
			}
			out.WriteString(line)
			if rd.Buffered() == 0 {
				out.Flush()
			}
		}
		if status >= 0 || err != nil {
			break
		}
	}
	out.Flush()

	if status >= 0 {
		// The guest restarts right after the verdict; QEMU exits on its own.
		done := make(chan struct{})
		go func() { io.Copy(io.Discard, rd); cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		return status
	}

	werr := cmd.Wait()
	reason := fmt.Sprintf("QEMU exited (%v)", werr)
	if werr == nil {
		reason = "QEMU exited"
	}
	select {
	case w := <-why:
		reason = w
	default:
	}
	fmt.Fprintf(os.Stderr, "vmexec: no verdict from the %s guest: %s after %v\n", r.name, reason,
		time.Since(t0).Round(time.Millisecond))
	if !started {
		fmt.Fprintf(os.Stderr, "vmexec: guest boot log:\n%s\n", bootLog.String())
	} else {
		fmt.Fprintf(os.Stderr, "vmexec: the test started; its output is above; boot log:\n%s\n", bootLog.String())
	}
	fmt.Fprintf(os.Stderr, "vmexec: command: %s %s\n", r.qemu, shellJoin(qargs))
	fmt.Fprintf(os.Stderr, "vmexec: for the full kernel log set MINICOMP_RIG_KERNEL_ARGS=loglevel=8 (and MINICOMP_RIG_VERBOSE=1)\n")
	return exitNoVerdict
}

func shellJoin(args []string) string {
	var b strings.Builder
	for i, a := range args {
		if i > 0 {
			b.WriteByte(' ')
		}
		if a != "" && strings.IndexFunc(a, func(c rune) bool {
			return !(c == '/' || c == '-' || c == '.' || c == '_' || c == '=' || c == ',' || c == ':' ||
				c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z')
		}) < 0 {
			b.WriteString(a)
		} else {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		}
	}
	return b.String()
}

// writeInitramfs writes an uncompressed newc cpio archive with the init, the
// test binary, the spec, the package's testdata directory and the extra host
// files; it returns the archive's size and the number and bytes of the
// extra files packed.
func writeInitramfs(path, initPath, binary, hostDir string, sp *spec, extra []hostFile) (size int64, extraFiles int, extraBytes int64, err error) {
	f, err := os.Create(path)
	if err != nil {
		return 0, 0, 0, err
	}
	w := &cpioWriter{w: bufio.NewWriterSize(f, 1<<20), dirs: map[string]bool{}, seen: map[string]bool{}}
	for _, d := range []string{"/dev", "/proc", "/sys", "/tmp", "/run", "/rig"} {
		w.dir(d, 0o755)
	}
	w.node("/dev/console", syscall.S_IFCHR|0o600, 5, 1)
	w.node("/dev/null", syscall.S_IFCHR|0o666, 1, 3)
	w.file("/init", initPath, 0o755)
	w.file(sp.Binary, binary, 0o755)
	specJSON, err := json.MarshalIndent(sp, "", "  ")
	if err != nil {
		return 0, 0, 0, err
	}
	w.bytes("/rig/spec.json", specJSON, 0o644)
	w.dir(sp.Dir, 0o755)
	td := filepath.Join(hostDir, "testdata")
	if fi, err := os.Stat(td); err == nil && fi.IsDir() {
		w.tree(td, filepath.Join(sp.Dir, "testdata"))
	}
	extraFiles, extraBytes = w.hostFiles(extra)
	w.trailer()
	if w.err != nil {
		f.Close()
		return 0, 0, 0, w.err
	}
	if err := w.w.Flush(); err != nil {
		f.Close()
		return 0, 0, 0, err
	}
	return w.n, extraFiles, extraBytes, f.Close()
}

type cpioWriter struct {
	w    *bufio.Writer
	n    int64 // bytes written (for padding)
	ino  int
	dirs map[string]bool
	seen map[string]bool // files and symlinks packed by hostFiles
	// inodes maps hard-linked host files packed by hostFiles to their path.
	inodes map[[2]uint64]string
	err    error
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	n, err := c.w.Write(b)
	c.n += int64(n)
	c.err = err
}

func (c *cpioWriter) pad() {
	if r := c.n % 4; r != 0 {
		c.write(make([]byte, 4-r))
	}
}

// header writes a newc header and the name; the caller writes size data bytes.
func (c *cpioWriter) header(name string, mode uint32, size int64, rmaj, rmin uint32) {
	c.ino++
	name = strings.TrimPrefix(name, "/")
	nlink := 1
	if mode&syscall.S_IFMT == syscall.S_IFDIR {
		nlink = 2
	}
	h := fmt.Sprintf("070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		c.ino, mode, 0, 0, nlink, 0, size, 0, 0, rmaj, rmin, len(name)+1, 0)
	c.write([]byte(h))
	c.write(append([]byte(name), 0))
	c.pad()
}

func (c *cpioWriter) dir(path string, perm uint32) {
	path = filepath.Clean(path)
	if path == "/" || c.dirs[path] {
		return
	}
	c.dir(filepath.Dir(path), 0o755)
	c.dirs[path] = true
	c.header(path, syscall.S_IFDIR|perm, 0, 0, 0)
}

func (c *cpioWriter) node(path string, mode, maj, min uint32) {
	c.dir(filepath.Dir(path), 0o755)
	c.header(path, mode, 0, maj, min)
}

func (c *cpioWriter) bytes(path string, b []byte, perm uint32) {
	c.dir(filepath.Dir(path), 0o755)
	c.header(path, syscall.S_IFREG|perm, int64(len(b)), 0, 0)
	c.write(b)
	c.pad()
}

func (c *cpioWriter) file(path, src string, perm uint32) {
	if c.err != nil {
		return
	}
	f, err := os.Open(src)
	if err != nil {
		c.err = err
		return
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		c.err = err
		return
	}
	c.dir(filepath.Dir(path), 0o755)
	c.header(path, syscall.S_IFREG|perm, fi.Size(), 0, 0)
	if c.err != nil {
		return
	}
	n, err := io.Copy(c.w, f)
	c.n += n
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("%s changed while packing", src)
	}
	c.err = err
	c.pad()
}

// tree packs a host directory at the same absolute path (files, dirs, symlinks).
// tree packs the host directory root as dest in the guest.
func (c *cpioWriter) tree(root, dest string) {
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		g := filepath.Join(dest, rel)
		perm := uint32(fi.Mode().Perm())
		switch {
		case fi.IsDir():
			c.dir(g, perm|0o700)
		case fi.Mode()&os.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			c.dir(filepath.Dir(g), 0o755)
			c.header(g, syscall.S_IFLNK|0o777, int64(len(t)), 0, 0)
			c.write([]byte(t))
			c.pad()
		case fi.Mode().IsRegular():
			c.file(g, p, perm)
		}
		return c.err
	})
	if err != nil && c.err == nil {
		c.err = err
	}
}

func (c *cpioWriter) trailer() {
	c.header("TRAILER!!!", 0, 0, 0, 0)
	// The kernel reads the initrd in whole blocks; pad to 512 bytes.
	if r := c.n % 512; r != 0 {
		c.write(make([]byte, 512-r))
	}
}
