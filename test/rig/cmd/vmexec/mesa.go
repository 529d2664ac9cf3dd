package main

// Mesa and a real GPU driver in the amd64 guest (KERNEL-RIG.md, "Rig C").
//
// A package asks for it with a testdata/rig-mesa file (its content is
// free text: say why), or ad hoc with MINICOMP_RIG_MESA=1 on the host.
// Then, in a guest of the host's architecture only:
//
//   - the host's Mesa is packed into the initramfs at the host's paths:
//     libEGL (glvnd), libEGL_mesa, libGLESv2, libgbm, the gallium
//     megadriver under the names the loader asks for (virtio_gpu,
//     kms_swrast, swrast: one file on the host, hard links; one file and
//     symlinks in the guest), every library ldd names for them (LLVM,
//     ...), glvnd's EGL vendor file and drirc;
//   - QEMU gets -device virtio-gpu-gl-pci (virgl: 3D in the host's GL)
//     and -display gtk,gl=on on a private Xvfb that vmexec starts and
//     stops (sdl,gl=on aborts in libepoxy; egl-headless needs a host
//     render node, which these machines lack);
//   - the guest gets MINICOMP_RIG_MESA=1: EGL must work there, and a
//     virtio_gpu render node exists (tests fail, not skip, without them);
//   - and MINICOMP_RIG_SCREEN=/dev/<console>: a test can ask what the
//     screen shows (screen.go).
//
// Elsewhere nothing is shipped and the guest gets
// MINICOMP_RIG_MESA_UNAVAILABLE=<why>. Packing (not a 9p share) keeps the
// guest kernel and riginit as they are and the run self-contained; the
// cost (~210 MB, see README.md) is paid only by the packages that ask.

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"
)

const (
	mesaFile               = "testdata/rig-mesa"
	envMesa                = "MINICOMP_RIG_MESA"
	envMesaUnavailable     = "MINICOMP_RIG_MESA_UNAVAILABLE"
	mesaDevice             = "virtio-gpu-gl-pci"
	mesaDisplay            = "gtk,gl=on"
	mesaXvfbStartupTimeout = 10 * time.Second
)

// wantsMesa reports whether the package in dir (or $MINICOMP_RIG_MESA=1)
// asks for Mesa in the guest.
func wantsMesa(dir string) (bool, error) {
	if os.Getenv(envMesa) == "1" {
		return true, nil
	}
	_, err := os.Stat(filepath.Join(dir, mesaFile))
	switch {
	case err == nil:
		return true, nil
	case os.IsNotExist(err):
		return false, nil
	}
	return false, err
}

// multiarchLib is the host's library directory by GOARCH (Debian multiarch).
var multiarchLib = map[string]string{
	"amd64": "/usr/lib/x86_64-linux-gnu",
	"arm64": "/usr/lib/aarch64-linux-gnu",
	"arm":   "/usr/lib/arm-linux-gnueabihf",
}

// mesaLibs are the libraries a GLES/EGL/GBM program loads (by soname),
// and the Debian packages that ship them.
var mesaLibs = []struct{ name, pkg string }{
	{"libEGL.so.1", "libegl1"},
	{"libGLESv2.so.2", "libgles2"},
	{"libEGL_mesa.so.0", "libegl-mesa0"},
	{"libgbm.so.1", "libgbm1"},
}

// mesaDrivers are the gallium driver names the guest's devices load: the
// megadriver serves them all (hard links on the host).
var mesaDrivers = []string{"virtio_gpu", "kms_swrast", "swrast"}

// mesaFiles returns the host's Mesa for a guest of the host's
// architecture: libraries, drivers, their ldd closure, data files.
func mesaFiles() ([]hostFile, error) {
	lib, ok := multiarchLib[runtime.GOARCH]
	if !ok {
		return nil, fmt.Errorf("packing Mesa for the guest: no library directory known for GOARCH=%s", runtime.GOARCH)
	}
	var files []hostFile
	add := func(p, pkg string, closure bool) error {
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("packing Mesa for the guest (%s): %v (install %s; test/rig/deps.sh does)", mesaFile, err, pkg)
		}
		files = append(files, hostFile{host: p})
		if !closure {
			return nil
		}
		libs, err := lddFiles(p)
		if err != nil {
			return fmt.Errorf("packing Mesa for the guest: %v", err)
		}
		files = append(files, libs...)
		return nil
	}
	for _, l := range mesaLibs {
		if err := add(filepath.Join(lib, l.name), l.pkg, true); err != nil {
			return nil, err
		}
	}
	for i, d := range mesaDrivers {
		if err := add(filepath.Join(lib, "dri", d+"_dri.so"), "libgl1-mesa-dri", i == 0); err != nil {
			return nil, err
		}
	}
	vendors, _ := filepath.Glob("/usr/share/glvnd/egl_vendor.d/*mesa*.json")
	if len(vendors) == 0 {
		return nil, fmt.Errorf("packing Mesa for the guest: no /usr/share/glvnd/egl_vendor.d/*mesa*.json (install libegl-mesa0)")
	}
	drirc, _ := filepath.Glob("/usr/share/drirc.d/*.conf")
	for _, p := range append(vendors, drirc...) {
		files = append(files, hostFile{host: p})
	}
	return files, nil
}

// xvfb is the private X server QEMU's GTK display (with GL) runs on.
type xvfb struct {
	cmd     *exec.Cmd
	display string
}

// startXvfb starts Xvfb on a free display number (-displayfd).
func startXvfb() (*xvfb, error) {
	bin, err := exec.LookPath("Xvfb")
	if err != nil {
		return nil, fmt.Errorf("starting Xvfb for QEMU's virtio-gpu display: %v (install xvfb; test/rig/deps.sh does)", err)
	}
	pr, pw, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("starting Xvfb: pipe: %w", err)
	}
	defer pr.Close()
	cmd := exec.Command(bin, "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-noreset")
	cmd.ExtraFiles = []*os.File{pw}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		pw.Close()
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	pw.Close()
	got := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(pr).ReadString('\n')
		got <- strings.TrimSpace(line)
		io.Copy(io.Discard, pr)
	}()
	x := &xvfb{cmd: cmd}
	select {
	case n := <-got:
		if n == "" {
			x.stop()
			return nil, fmt.Errorf("starting Xvfb: it exited without a display number: %s", strings.TrimSpace(stderr.String()))
		}
		x.display = ":" + n
	case <-time.After(mesaXvfbStartupTimeout):
		x.stop()
		return nil, fmt.Errorf("starting Xvfb: it printed no display number within %v: %s", mesaXvfbStartupTimeout, strings.TrimSpace(stderr.String()))
	}
	return x, nil
}

func (x *xvfb) stop() {
	x.cmd.Process.Kill()
	x.cmd.Wait()
}
