package heap

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/rigtest"
)

func TestPreference(t *testing.T) {
	t.Setenv("MINICOMP_HEAP", "reserved") // the library never reads the environment
	if got := Preference("", false); !slices.Equal(got, DefaultPreference) {
		t.Errorf("contiguous: %v", got)
	}
	if got := Preference("", true); got[len(got)-1] != "system" {
		t.Errorf("non-contiguous: %v", got)
	}
	if got := Preference("linux,cma:system reserved", false); !slices.Equal(got, []string{"linux,cma", "system", "reserved"}) {
		t.Errorf("override: %v", got)
	}
}

func TestNoHeapsDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "dma_heap")
	_, err := List(dir)
	if !errors.Is(err, ErrNoHeaps) || !strings.Contains(err.Error(), "CONFIG_DMABUF_HEAPS") {
		t.Fatalf("List: %v", err)
	}
	_, _, err = AutoIn(dir, DefaultPreference)
	if !errors.Is(err, ErrNoHeaps) {
		t.Fatalf("AutoIn: %v", err)
	}
}

func TestMissingHeapNamesTheOthers(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "system"), nil, 0o600)
	_, err := OpenIn(dir, "linux,cma")
	if !errors.Is(err, unix.ENOENT) || !strings.Contains(err.Error(), "this kernel's heaps are: system") {
		t.Fatalf("OpenIn: %v", err)
	}
	_, attempts, err := AutoIn(dir, []string{"vc4", "linux,cma"})
	if !errors.Is(err, unix.ENOENT) || len(attempts) != 2 || !strings.Contains(err.Error(), overrideHint) {
		t.Fatalf("AutoIn: %v %v", attempts, err)
	}
}

const overrideHint = "pass a heap preference"

func TestPermissionHint(t *testing.T) {
	h := openHint("/nonexistent", "/nonexistent/x", unix.EACCES)
	if !strings.Contains(h, "group video") || !strings.Contains(h, UdevRule) {
		t.Fatalf("hint %q", h)
	}
	if rigtest.Name() != "" {
		return // the guest holds the test binary, not the repository
	}
	if _, err := os.Stat(filepath.Join("..", UdevRule)); err != nil {
		t.Fatalf("the hint names a udev rule the repo does not ship: %v", err)
	}
}

func TestListDescribes(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "linux,cma"), nil, 0o660)
	os.Chmod(filepath.Join(dir, "linux,cma"), 0o660)
	os.Symlink("linux,cma", filepath.Join(dir, "vidbuf_cached"))
	os.WriteFile(filepath.Join(dir, "system"), nil, 0o600)
	infos, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(infos) != 3 || infos[0].Name != "linux,cma" || infos[2].Name != "vidbuf_cached" || infos[2].Alias != "linux,cma" {
		t.Fatalf("%+v", infos)
	}
	if !infos[0].Contiguous() || infos[1].Contiguous() || !infos[2].Contiguous() {
		t.Errorf("contiguity: %v %v %v", infos[0].Contiguous(), infos[1].Contiguous(), infos[2].Contiguous())
	}
	if infos[0].Mode != 0o660 {
		t.Errorf("mode %o", infos[0].Mode)
	}
}

func TestAllocRejectsBadSize(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "fake"), nil, 0o600)
	h, err := OpenIn(dir, "fake")
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	if _, err := h.Alloc(0); !errors.Is(err, unix.EINVAL) {
		t.Errorf("Alloc(0): %v", err)
	}
	// A regular file is not a heap: the ioctl is refused, with the errno.
	if _, err := h.Alloc(4096); !errors.Is(err, unix.ENOTTY) {
		t.Errorf("Alloc on a non-heap: %v", err)
	}
	h.Close()
	if _, err := h.Alloc(4096); !errors.Is(err, unix.EBADF) {
		t.Errorf("Alloc after Close: %v", err)
	}
	var nilHeap *Heap
	if err := nilHeap.Close(); err != nil {
		t.Error(err)
	}
}

// On real kernels: allocate from every heap, hit ENOMEM on CMA, and EACCES as
// an unprivileged user.
func TestRigAlloc(t *testing.T) {
	rig := rigtest.Require(t)
	rigtest.CheckFDs(t)
	cma := "reserved"
	if rig == "pl111" {
		cma = "linux,cma"
	}
	for _, name := range []string{"system", cma} {
		h, err := Open(name)
		if err != nil {
			t.Fatalf("open %s: %v", name, err)
		}
		f, err := h.Alloc(1920 * 1080 * 4)
		if err != nil {
			t.Fatalf("alloc %s: %v", name, err)
		}
		var st unix.Stat_t
		if err := unix.Fstat(int(f.Fd()), &st); err != nil {
			t.Fatal(err)
		}
		size, _ := unix.Seek(int(f.Fd()), 0, 2)
		if size != 1920*1080*4 {
			t.Errorf("%s: dma-buf size %d", name, size)
		}
		f.Close()
		h.Close()
	}
	h, err := Open(cma)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, err = h.Alloc(256 << 20) // the rig's CMA area is 64 MiB
	if !errors.Is(err, unix.ENOMEM) || !strings.Contains(err.Error(), "cma=") {
		t.Fatalf("oversized CMA alloc: %v, want ENOMEM with a hint", err)
	}
	t.Logf("ENOMEM message: %v", err)
}

// TestRigUnprivileged runs in a child process as uid/gid 65534 (see
// TestMain) and must get EACCES with the udev hint.
func TestRigUnprivileged(t *testing.T) {
	rigtest.Require(t)
	out, err := rigtest.RunAsNobody(t, "TestUnprivilegedChild")
	if err != nil {
		t.Fatalf("child: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}

func TestUnprivilegedChild(t *testing.T) {
	if !rigtest.IsChild() {
		t.Skip("runs as a child of TestRigUnprivileged")
	}
	_, err := Open("system")
	if !errors.Is(err, unix.EACCES) || !strings.Contains(err.Error(), "udev rule") {
		t.Fatalf("as uid %d: %v, want EACCES with a hint", os.Getuid(), err)
	}
	_, attempts, err := Auto(Preference("", true))
	if !errors.Is(err, unix.EACCES) {
		t.Fatalf("Auto as uid %d: %v", os.Getuid(), err)
	}
	t.Logf("as uid %d: %v (%d attempts)", os.Getuid(), err, len(attempts))
}
