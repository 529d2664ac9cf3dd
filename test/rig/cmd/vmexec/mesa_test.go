package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestWantsMesa(t *testing.T) {
	t.Setenv(envMesa, "")
	dir := t.TempDir()
	if got, err := wantsMesa(dir); got || err != nil {
		t.Errorf("no marker: %v %v", got, err)
	}
	os.Mkdir(filepath.Join(dir, "testdata"), 0o755)
	os.WriteFile(filepath.Join(dir, mesaFile), []byte("# why\n"), 0o644)
	if got, err := wantsMesa(dir); !got || err != nil {
		t.Errorf("marker: %v %v", got, err)
	}
	t.Setenv(envMesa, "1")
	if got, err := wantsMesa(t.TempDir()); !got || err != nil {
		t.Errorf("%s=1: %v %v", envMesa, got, err)
	}
}

// Hard links are packed once; the other names are symlinks to it.
func TestHardLinksPacked(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a_dri.so"), filepath.Join(dir, "b_dri.so")
	os.WriteFile(a, []byte("megadriver"), 0o644)
	if err := os.Link(a, b); err != nil {
		t.Skip(err)
	}
	var buf bytes.Buffer
	w := &cpioWriter{w: bufio.NewWriter(&buf), dirs: map[string]bool{}, seen: map[string]bool{}}
	n, size := w.hostFiles([]hostFile{{host: a}, {host: b}})
	w.trailer()
	w.w.Flush()
	if w.err != nil || n != 1 || size == 0 {
		t.Fatalf("packed %d files, %d bytes: %v", n, size, w.err)
	}
	e := cpioEntries(t, bytes.NewReader(buf.Bytes()))
	if e[a] != "" || e[b] != a || !inArchive(e, b) {
		t.Errorf("entries %q", e)
	}
}

// The host's Mesa (deps.sh installs it): every library and driver name
// resolves to a file in the archive, the megadriver is packed once.
func TestMesaFilesPacked(t *testing.T) {
	files, err := mesaFiles()
	if err != nil {
		if os.Getenv("MINICOMP_REQUIRE_GLES") == "1" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	f, err := os.Create(filepath.Join(t.TempDir(), "mesa.cpio"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := &cpioWriter{w: bufio.NewWriterSize(f, 1<<20), dirs: map[string]bool{}, seen: map[string]bool{}}
	n, size := w.hostFiles(files)
	w.trailer()
	w.w.Flush()
	if w.err != nil {
		t.Fatal(w.err)
	}
	t.Logf("Mesa: %d files, %.1f MiB", n, float64(size)/(1<<20))
	e := cpioEntries(t, f)
	lib := multiarchLib[runtime.GOARCH]
	want := []string{lib + "/libEGL.so.1", lib + "/libGLESv2.so.2", lib + "/libEGL_mesa.so.0", lib + "/libgbm.so.1"}
	for _, d := range mesaDrivers {
		want = append(want, lib+"/dri/"+d+"_dri.so")
	}
	for _, p := range want {
		if !inArchive(e, p) {
			t.Errorf("%s does not resolve to a file in the archive", p)
		}
	}
	regular := 0
	for _, d := range mesaDrivers {
		if e[lib+"/dri/"+d+"_dri.so"] == "" {
			regular++
		}
	}
	if regular != 1 {
		t.Errorf("%d of the driver names packed as files, want 1 (hard links)", regular)
	}
	var vendor, llvm bool
	for p := range e {
		vendor = vendor || strings.HasPrefix(p, "/usr/share/glvnd/egl_vendor.d/")
		llvm = llvm || strings.HasPrefix(filepath.Base(p), "libLLVM")
	}
	if !vendor || !llvm {
		t.Errorf("glvnd EGL vendor file %v, the driver's libLLVM %v: want both", vendor, llvm)
	}
}
