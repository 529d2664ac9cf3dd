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
	e := cpioEntries(buf.Bytes())
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
	e := cpioHeaders(t, f)
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

// cpioHeaders reads the member names of the newc archive in f (skipping
// the data) like cpioEntries.
func cpioHeaders(t *testing.T, f *os.File) map[string]cpioEntry {
	t.Helper()
	out := map[string]cpioEntry{}
	hex := func(s []byte) int {
		n := 0
		for _, c := range s {
			n <<= 4
			switch {
			case c >= '0' && c <= '9':
				n |= int(c - '0')
			case c >= 'A' && c <= 'F':
				n |= int(c-'A') + 10
			}
		}
		return n
	}
	align := func(n int64) int64 { return (n + 3) &^ 3 }
	hdr := make([]byte, 110)
	for off := int64(0); ; {
		if _, err := f.ReadAt(hdr, off); err != nil || string(hdr[:6]) != "070701" {
			t.Fatalf("bad archive at %d: %v", off, err)
		}
		mode, size, nameLen := hex(hdr[14:22]), int64(hex(hdr[54:62])), hex(hdr[94:102])
		name := make([]byte, nameLen-1)
		f.ReadAt(name, off+110)
		if string(name) == "TRAILER!!!" {
			return out
		}
		data := align(off + 110 + int64(nameLen))
		switch mode & 0o170000 {
		case 0o120000:
			b := make([]byte, size)
			f.ReadAt(b, data)
			out["/"+string(name)] = string(b)
		case 0o040000:
			out["/"+string(name)] = "/"
		default:
			out["/"+string(name)] = ""
		}
		off = align(data + size)
	}
}
