package main

// Host files and directories in the guest: data a shipped program reads
// (glmark2's models and shaders under /usr/share/glmark2) and plugins it
// dlopens (weston's backends and shells). Listed in the package's
// testdata/rig-programs beside the programs, as absolute host paths (a
// directory means everything under it; shell globs allowed), packed at
// the same paths. Every ELF shared object among them brings its ldd
// closure, as a program does. Like programs, only into a guest of the
// host's architecture.

import (
	"debug/elf"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// dataPaths expands an absolute path line of testdata/rig-programs (or
// $MINICOMP_RIG_PROGRAMS): shell globs allowed; a pattern that matches
// nothing is an error naming it.
func dataPaths(pattern string) ([]string, error) {
	m, err := filepath.Glob(pattern)
	if err != nil {
		return nil, fmt.Errorf("%s (%s or $%s): %v", pattern, programsFile, envPrograms, err)
	}
	if len(m) == 0 {
		return nil, fmt.Errorf("data %s for the guest does not exist on the host (listed in %s or $%s; install the package that ships it, test/rig/deps.sh should)", pattern, programsFile, envPrograms)
	}
	return m, nil
}

// dataFiles returns the files under paths (directories walked, symlinks
// kept as they are resolved by hostFiles) plus the ldd closure of every
// ELF shared object among them.
func dataFiles(paths []string) ([]hostFile, error) {
	var files []hostFile
	add := func(p string) error {
		files = append(files, hostFile{host: p})
		f, err := elf.Open(p)
		if err != nil {
			return nil // not ELF: data
		}
		typ := f.Type
		f.Close()
		if typ != elf.ET_DYN {
			return nil
		}
		libs, err := lddFiles(p)
		if err != nil {
			return fmt.Errorf("%s (%s): %v", p, programsFile, err)
		}
		files = append(files, libs...)
		return nil
	}
	for _, root := range paths {
		// Walk what root resolves to, naming the files under root itself:
		// hostFiles then packs the symlinks on the way too.
		real, err := filepath.EvalSymlinks(root)
		if err != nil {
			return nil, fmt.Errorf("packing %s for the guest: %v", root, err)
		}
		err = filepath.WalkDir(real, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if rel, err := filepath.Rel(real, p); err == nil {
				p = filepath.Join(root, rel)
			}
			if d.IsDir() {
				return nil
			}
			fi, err := os.Stat(p) // follows a symlink: a dangling one is an error
			if err != nil {
				return err
			}
			if !fi.Mode().IsRegular() {
				return nil
			}
			return add(p)
		})
		if err != nil {
			return nil, fmt.Errorf("packing %s for the guest: %v", root, err)
		}
	}
	return files, nil
}
