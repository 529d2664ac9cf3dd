package main

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

func TestRequestedFiles(t *testing.T) {
	dir := t.TempDir()
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "share/a/b"), 0o755)
	os.WriteFile(filepath.Join(data, "share/a/one.txt"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(data, "share/a/b/two.txt"), []byte("2"), 0o644)
	os.WriteFile(filepath.Join(data, "plugin-x.so"), []byte("not elf"), 0o644)
	os.Symlink(filepath.Join(data, "share/a"), filepath.Join(data, "link"))
	os.Mkdir(filepath.Join(dir, "testdata"), 0o755)
	list := "# data\n" + filepath.Join(data, "link") + "   # a symlinked directory\n" + filepath.Join(data, "plugin-*.so") + "\n"
	os.WriteFile(filepath.Join(dir, filesFile), []byte(list), 0o644)
	paths, err := requestedFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{filepath.Join(data, "link"), filepath.Join(data, "plugin-x.so")}; !slices.Equal(paths, want) {
		t.Fatalf("paths %q, want %q", paths, want)
	}
	files, err := dataFiles(paths)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, strings.TrimPrefix(f.host, data))
	}
	sort.Strings(got)
	// Named under the symlink, so that hostFiles packs the link too.
	if want := []string{"/link/b/two.txt", "/link/one.txt", "/plugin-x.so"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}

	os.WriteFile(filepath.Join(dir, filesFile), []byte(filepath.Join(data, "missing")+"\n"), 0o644)
	if _, err := requestedFiles(dir); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("a missing path: %v", err)
	}
	os.WriteFile(filepath.Join(dir, filesFile), []byte("relative/path\n"), 0o644)
	if _, err := requestedFiles(dir); err == nil {
		t.Error("a relative path was accepted")
	}
	if p, err := requestedFiles(t.TempDir()); err != nil || p != nil {
		t.Errorf("no file: %q %v", p, err)
	}
}

func TestSplitGoPrograms(t *testing.T) {
	host, pkgs := splitGoPrograms([]string{"grim", "go:./cmd/minicomp", "weston"})
	if !slices.Equal(host, []string{"grim", "weston"}) || !slices.Equal(pkgs, []string{"./cmd/minicomp"}) {
		t.Errorf("host %q, go %q", host, pkgs)
	}
}

func TestBuildGoPrograms(t *testing.T) {
	if testing.Short() {
		t.Skip("builds a program")
	}
	if os.Getenv("MINICOMP_RIG") != "" {
		t.Skip("vmexec builds on the host (go build): the rig guests have no Go toolchain")
	}
	out := t.TempDir()
	files, err := buildGoPrograms(".", out, "arm64", []string{"./test/rig/cmd/riginit"})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != 1 || files[0].guest != "/usr/bin/riginit" {
		t.Fatalf("%+v", files)
	}
	if _, err := os.Stat(files[0].host); err != nil {
		t.Error(err)
	}
	if _, err := buildGoPrograms(".", out, "arm64", []string{"./no/such/package"}); err == nil {
		t.Error("a missing package built")
	}
}
