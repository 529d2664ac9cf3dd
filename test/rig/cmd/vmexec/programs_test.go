package main

import (
	"bufio"
	"bytes"
	"debug/elf"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
)

func TestRequestedPrograms(t *testing.T) {
	dir := t.TempDir()
	os.Mkdir(filepath.Join(dir, "testdata"), 0o755)
	os.WriteFile(filepath.Join(dir, programsFile), []byte("# clients\ngrim  wayland-info # two\n\nweston-simple-shm\n"), 0o644)
	t.Setenv(envPrograms, "foot grim")
	got, err := requestedPrograms(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"grim", "wayland-info", "weston-simple-shm", "foot"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	t.Setenv(envPrograms, "")
	if got, err := requestedPrograms(t.TempDir()); err != nil || len(got) != 0 {
		t.Errorf("no file, no env: %q %v", got, err)
	}
}

func TestResolveSymlinks(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/lib/x"), 0o755)
	os.WriteFile(filepath.Join(root, "usr/lib/x/libfoo.so.1.2"), []byte("elf"), 0o644)
	os.Symlink("usr/lib", filepath.Join(root, "lib"))                           // relative, like /lib -> usr/lib
	os.Symlink("libfoo.so.1.2", filepath.Join(root, "usr/lib/x/libfoo.so.1"))   // same directory
	os.Symlink(root+"/lib/x/libfoo.so.1", filepath.Join(root, "usr/lib/ld.so")) // absolute, through /lib
	real, links, err := resolve(filepath.Join(root, "usr/lib/ld.so"))
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(root, "usr/lib/x/libfoo.so.1.2"); real != want {
		t.Errorf("real %s, want %s", real, want)
	}
	var paths []string
	for _, l := range links {
		paths = append(paths, strings.TrimPrefix(l.path, root))
	}
	if want := []string{"/usr/lib/ld.so", "/lib", "/usr/lib/x/libfoo.so.1"}; !slices.Equal(paths, want) {
		t.Errorf("links %q, want %q", paths, want)
	}
	os.Symlink("loop", filepath.Join(root, "loop"))
	if _, _, err := resolve(filepath.Join(root, "loop")); err == nil {
		t.Error("a symlink loop resolved")
	}
}

// The host's own dynamically linked ls: ldd's libraries and the loader,
// and the archive holds each at its path with the symlinks on the way.
func TestLddFilesPacked(t *testing.T) {
	ls, err := exec.LookPath("ls")
	if err != nil {
		t.Skip(err)
	}
	f, err := elf.Open(ls)
	if err != nil {
		t.Skip(err)
	}
	in, _ := interp(f)
	f.Close()
	if in == "" {
		t.Skip("ls is static here")
	}
	files, err := lddFiles(ls)
	if err != nil {
		t.Fatal(err)
	}
	if files[0].host != in || len(files) < 2 {
		t.Fatalf("files %+v, interpreter %s", files, in)
	}
	var buf bytes.Buffer
	w := &cpioWriter{w: bufio.NewWriter(&buf), dirs: map[string]bool{}, seen: map[string]bool{}}
	n, size := w.hostFiles(append(files, hostFile{host: ls, guest: "/usr/bin/ls"}))
	w.trailer()
	w.w.Flush()
	if w.err != nil || n < 2 || size == 0 {
		t.Fatalf("packed %d files, %d bytes: %v", n, size, w.err)
	}
	entries := cpioEntries(t, bytes.NewReader(buf.Bytes()))
	for _, want := range append([]string{in, "/usr/bin/ls"}, files[1].host) {
		if !inArchive(entries, want) {
			t.Errorf("%s does not resolve to a file in the archive: %v", want, entries)
		}
	}
	t.Logf("%s on %s: %d files, %d bytes: %v", ls, runtime.GOARCH, n, size, entries)
}

func TestLddNotFound(t *testing.T) {
	if _, err := lddFiles("/nonexistent/prog"); err == nil {
		t.Error("no error for a missing file")
	}
	if _, err := programFiles([]string{"bin/ls"}, elf.EM_X86_64); err == nil || !strings.Contains(err.Error(), "not a relative path") {
		t.Errorf("a relative path as program name: %v", err)
	}
}

// cpioEntry is a newc archive member: a symlink's target, or "" for a
// regular file ("/" for a directory).
type cpioEntry = string

// cpioEntries maps the names in the newc archive r to their entries,
// reading only the headers and symlink targets (a Mesa initramfs is
// 200 MB).
func cpioEntries(t *testing.T, r io.ReaderAt) map[string]cpioEntry {
	t.Helper()
	out := map[string]cpioEntry{}
	hex := func(s []byte) int64 {
		var n int64
		for _, c := range s {
			n <<= 4
			switch {
			case c >= '0' && c <= '9':
				n |= int64(c - '0')
			case c >= 'A' && c <= 'F':
				n |= int64(c-'A') + 10
			}
		}
		return n
	}
	align := func(n int64) int64 { return (n + 3) &^ 3 }
	hdr := make([]byte, 110)
	for off := int64(0); ; {
		if _, err := r.ReadAt(hdr, off); err != nil || string(hdr[:6]) != "070701" {
			t.Fatalf("bad archive at %d: %v", off, err)
		}
		mode, size, nameLen := hex(hdr[14:22]), hex(hdr[54:62]), hex(hdr[94:102])
		name := make([]byte, nameLen-1)
		if _, err := r.ReadAt(name, off+110); err != nil {
			t.Fatalf("archive name at %d: %v", off, err)
		}
		if string(name) == "TRAILER!!!" {
			return out
		}
		data := align(off + 110 + nameLen)
		switch mode & 0o170000 {
		case 0o120000:
			b := make([]byte, size)
			if _, err := r.ReadAt(b, data); err != nil {
				t.Fatalf("symlink /%s: %v", name, err)
			}
			out["/"+string(name)] = string(b)
		case 0o040000:
			out["/"+string(name)] = "/"
		default:
			out["/"+string(name)] = ""
		}
		off = align(data + size)
	}
}

// inArchive reports whether path resolves, through the archive's own
// symlinks, to a regular file in it (as the guest kernel would).
func inArchive(entries map[string]cpioEntry, path string) bool {
	cur := "/"
	rest := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for hops := 0; len(rest) > 0 && hops < 40; {
		next := filepath.Join(cur, rest[0])
		rest = rest[1:]
		e, ok := entries[next]
		switch {
		case !ok:
			return false
		case e == "" || e == "/":
			cur = next
		default:
			hops++
			if filepath.IsAbs(e) {
				cur = "/"
			}
			rest = append(strings.Split(strings.TrimPrefix(e, "/"), "/"), rest...)
		}
	}
	return len(rest) == 0 && entries[cur] == ""
}

// A library entry (a dlopen'ed one, "libc.so.6" here: on every host) is
// packed at its host path with its own libraries; an unknown one is a
// setup failure that names it.
func TestLibraryFiles(t *testing.T) {
	if os.Getenv("MINICOMP_RIG") != "" {
		t.Skip("vmexec resolves libraries on the host (ldconfig -p): the rig guests have no ldconfig")
	}
	if !isLibName("libseat.so.1") || isLibName("seatd") || isLibName("weston-simple-shm") {
		t.Fatal("isLibName")
	}
	files, err := programFiles([]string{"libc.so.6"}, machineOf(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 || filepath.Base(files[0].host) != "libc.so.6" || files[0].guest != "" {
		t.Errorf("libc.so.6: %+v", files)
	}
	if _, err := programFiles([]string{"libminicomp-nonexistent.so.9"}, machineOf(t)); err == nil || !strings.Contains(err.Error(), "libminicomp-nonexistent.so.9") {
		t.Errorf("missing library: %v", err)
	}
}

func machineOf(t *testing.T) elf.Machine {
	f, err := elf.Open("/proc/self/exe")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return f.Machine
}

// An absolute path in rig-programs packs a file or a directory tree at
// the same path; a missing one is an error naming it.
func TestDataFiles(t *testing.T) {
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "sub"), 0o755)
	os.WriteFile(filepath.Join(data, "a.quirks"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(data, "sub/b.quirks"), []byte("b"), 0o644)
	files, err := programFiles([]string{data}, elf.EM_NONE)
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, f := range files {
		hosts = append(hosts, f.host)
	}
	if want := []string{filepath.Join(data, "a.quirks"), filepath.Join(data, "sub/b.quirks")}; !slices.Equal(hosts, want) {
		t.Errorf("packed %q, want %q", hosts, want)
	}
	if _, err := programFiles([]string{"/does/not/exist"}, elf.EM_NONE); err == nil || !strings.Contains(err.Error(), "/does/not/exist") {
		t.Errorf("missing path: %v", err)
	}
	if _, err := programFiles([]string{"rel/path"}, elf.EM_NONE); err == nil {
		t.Error("a relative path accepted")
	}
}
