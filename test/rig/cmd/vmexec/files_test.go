package main

import (
	"debug/elf"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
)

// Absolute paths in rig-programs: a symlinked directory is walked and
// its files named under the link (so that hostFiles packs the link too),
// a glob is expanded, and a path or glob that matches nothing is an
// error naming it.
func TestDataLines(t *testing.T) {
	dir := t.TempDir()
	data := t.TempDir()
	os.MkdirAll(filepath.Join(data, "share/a/b"), 0o755)
	os.WriteFile(filepath.Join(data, "share/a/one.txt"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(data, "share/a/b/two.txt"), []byte("2"), 0o644)
	os.WriteFile(filepath.Join(data, "plugin-x.so"), []byte("not elf"), 0o644)
	os.Symlink(filepath.Join(data, "share/a"), filepath.Join(data, "link"))
	os.Mkdir(filepath.Join(dir, "testdata"), 0o755)
	list := "# data\n" + filepath.Join(data, "link") + "   # a symlinked directory\n" + filepath.Join(data, "plugin-*.so") + "\n"
	os.WriteFile(filepath.Join(dir, programsFile), []byte(list), 0o644)
	t.Setenv(envPrograms, "")
	names, err := requestedPrograms(dir)
	if err != nil {
		t.Fatal(err)
	}
	files, err := programFiles(names, elf.EM_NONE)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, strings.TrimPrefix(f.host, data))
	}
	sort.Strings(got)
	if want := []string{"/link/b/two.txt", "/link/one.txt", "/plugin-x.so"}; !slices.Equal(got, want) {
		t.Errorf("files %q, want %q", got, want)
	}
	if n := programNames(files); len(n) != 0 {
		t.Errorf("data listed as programs: %q", n)
	}

	for _, missing := range []string{filepath.Join(data, "missing"), filepath.Join(data, "none-*.so")} {
		if _, err := programFiles([]string{missing}, elf.EM_NONE); err == nil || !strings.Contains(err.Error(), "does not exist") || !strings.Contains(err.Error(), missing) {
			t.Errorf("%s: %v", missing, err)
		}
	}
	if _, err := programFiles([]string{filepath.Join(data, "[")}, elf.EM_NONE); err == nil {
		t.Error("a malformed glob was accepted")
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
