package main

// Go programs of this module in the guest: a testdata/rig-programs line
// "go:./cmd/minicomp" builds that package (from the module root, for the
// guest's GOARCH, CGO_ENABLED=0, no race detector) and packs it as
// /usr/bin/minicomp. A test that compares minicomp with another program
// runs the real binary this way, not its own (race-instrumented) copy.
// Unlike host programs, these work in every guest.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

const goProgramPrefix = "go:"

// splitGoPrograms separates "go:PKG" entries from host program names.
func splitGoPrograms(names []string) (host, pkgs []string) {
	for _, n := range names {
		if p, ok := strings.CutPrefix(n, goProgramPrefix); ok {
			pkgs = append(pkgs, p)
		} else {
			host = append(host, n)
		}
	}
	return host, pkgs
}

// buildGoPrograms builds each package (relative to the module of dir)
// into out for goarch and returns them as /usr/bin/BASENAME.
func buildGoPrograms(dir, out, goarch string, pkgs []string) ([]hostFile, error) {
	var files []hostFile
	for _, p := range pkgs {
		env := exec.Command("go", "env", "GOMOD")
		env.Dir = dir
		gomod, err := env.Output()
		if err != nil {
			return nil, fmt.Errorf("%s%s: go env GOMOD: %v", goProgramPrefix, p, err)
		}
		root := filepath.Dir(strings.TrimSpace(string(gomod)))
		name := filepath.Base(p)
		bin := filepath.Join(out, name)
		cmd := exec.Command("go", "build", "-o", bin, p)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH="+goarch, "CGO_ENABLED=0")
		if o, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("building %s%s for the guest: %v\n%s", goProgramPrefix, p, err, o)
		}
		files = append(files, hostFile{host: bin, guest: "/usr/bin/" + name})
	}
	return files, nil
}
