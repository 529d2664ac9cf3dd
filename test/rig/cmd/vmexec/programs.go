package main

// Host programs and shared libraries in the guest.
//
// Two things need a dynamic loader and shared libraries in the initramfs:
//
//   - Programs a test asks for (real Wayland clients: weston-simple-shm,
//     grim, wayland-info): listed in the package's testdata/rig-programs or
//     in $MINICOMP_RIG_PROGRAMS (with the sonames of libraries tests
//     dlopen, and absolute paths or globs of data files, directories and
//     plugins programs and libraries read: files.go), packed as
//     /usr/bin/NAME with every library ldd names, at the host's paths (symlinks on the way, such as /lib ->
//     usr/lib, are reproduced). Only when the guest runs the host's
//     architecture: the host's binaries cannot run elsewhere.
//   - A dynamically linked test binary (a CGO_ENABLED=0 binary importing
//     github.com/ebitengine/purego has an ELF interpreter and needs libc):
//     on the host's architecture its libraries come from ldd; on the others
//     from the cross toolchain's sysroot (/usr/aarch64-linux-gnu/lib,
//     /usr/arm-linux-gnueabihf/lib from libc6-*-cross, which the cross gcc
//     that deps.sh installs depends on).

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
)

// programsFile lists programs to ship, relative to the package directory
// (one name per line, # comments).
const programsFile = "testdata/rig-programs"

// Guest environment describing the programs: the names shipped, or why the
// requested ones were not.
const (
	envPrograms            = "MINICOMP_RIG_PROGRAMS"
	envProgramsUnavailable = "MINICOMP_RIG_PROGRAMS_UNAVAILABLE"
)

// hostFile is a host file to pack: at its own path, reproducing symlinks
// (guest == ""), or as a regular file at guest.
type hostFile struct {
	host, guest string
}

// requestedPrograms returns the program names from testdata/rig-programs in
// dir and from $MINICOMP_RIG_PROGRAMS, without duplicates.
func requestedPrograms(dir string) ([]string, error) {
	var names []string
	b, err := os.ReadFile(filepath.Join(dir, programsFile))
	switch {
	case err == nil:
		sc := bufio.NewScanner(strings.NewReader(string(b)))
		for sc.Scan() {
			line, _, _ := strings.Cut(sc.Text(), "#")
			names = append(names, strings.Fields(line)...)
		}
	case !os.IsNotExist(err):
		return nil, err
	}
	names = append(names, strings.Fields(os.Getenv(envPrograms))...)
	seen := map[string]bool{}
	out := names[:0]
	for _, n := range names {
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// programFiles resolves the named host programs (PATH) for a guest of
// machine m: each as /usr/bin/NAME plus its loader and libraries.
func programFiles(names []string, m elf.Machine) ([]hostFile, error) {
	var files []hostFile
	for _, n := range names {
		if filepath.IsAbs(n) { // data or a plugin (files.go)
			paths, err := dataPaths(n)
			if err != nil {
				return nil, err
			}
			df, err := dataFiles(paths)
			if err != nil {
				return nil, err
			}
			files = append(files, df...)
			continue
		}
		if strings.Contains(n, "/") {
			return nil, fmt.Errorf("%s: give a program name (looked up in PATH), a library's soname or an absolute path, not a relative path", n)
		}
		if isLibName(n) {
			lf, err := libraryFiles(n)
			if err != nil {
				return nil, err
			}
			files = append(files, lf...)
			continue
		}
		p, err := exec.LookPath(n)
		if err != nil {
			return nil, fmt.Errorf("program %s for the guest: %v (listed in %s or $%s)", n, err, programsFile, envPrograms)
		}
		p, err = filepath.EvalSymlinks(p)
		if err != nil {
			return nil, err
		}
		f, err := elf.Open(p)
		if err != nil {
			return nil, fmt.Errorf("program %s (%s): %v (only ELF executables can be shipped)", n, p, err)
		}
		pm := f.Machine
		f.Close()
		if pm != m {
			return nil, fmt.Errorf("program %s (%s) is for %v, the guest is %v", n, p, pm, m)
		}
		libs, err := lddFiles(p)
		if err != nil {
			return nil, fmt.Errorf("program %s: %v", n, err)
		}
		files = append(files, hostFile{host: p, guest: "/usr/bin/" + n})
		files = append(files, libs...)
	}
	return files, nil
}

// isLibName reports whether a rig-programs entry names a shared library
// ("libseat.so.1": one a test loads with dlopen, which ldd of no program
// shows) rather than a program.
func isLibName(n string) bool { return strings.HasPrefix(n, "lib") && strings.Contains(n, ".so") }

// libraryFiles resolves a shared library by soname as the host's loader
// does (ldconfig -p) and returns it with its own libraries, packed at the
// host's paths, where the guest's loader finds it.
func libraryFiles(name string) ([]hostFile, error) {
	out, err := exec.Command("ldconfig", "-p").Output()
	if err != nil {
		return nil, fmt.Errorf("library %s for the guest: ldconfig -p: %v", name, err)
	}
	for _, line := range strings.Split(string(out), "\n") {
		soname, target, ok := strings.Cut(strings.TrimSpace(line), " => ")
		if !ok || strings.Fields(soname)[0] != name {
			continue
		}
		libs, err := lddFiles(target)
		if err != nil {
			return nil, fmt.Errorf("library %s: %v", name, err)
		}
		return append([]hostFile{{host: target}}, libs...), nil
	}
	return nil, fmt.Errorf("library %s for the guest: not installed on the host (ldconfig -p does not list it; listed in %s or $%s)", name, programsFile, envPrograms)
}

// interp returns the ELF interpreter of the file ("" when static).
func interp(f *elf.File) (string, error) {
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b := make([]byte, p.Filesz)
			if _, err := p.ReadAt(b, 0); err != nil {
				return "", err
			}
			return strings.TrimRight(string(b), "\x00"), nil
		}
	}
	return "", nil
}

// lddFiles returns the loader and the shared libraries of a host-arch ELF
// file (an executable, or a shared library such as a dlopen'ed driver), as
// ldd resolves them; a library ldd cannot find is an error.
func lddFiles(path string) ([]hostFile, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	in, err := interp(f)
	var needed []string
	if err == nil && in == "" && f.Type == elf.ET_DYN {
		needed, err = f.ImportedLibraries()
	}
	f.Close()
	if err != nil || (in == "" && len(needed) == 0) {
		return nil, err // static
	}
	out, err := exec.Command("ldd", path).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("ldd %s: %v\n%s", path, err, out)
	}
	var files []hostFile
	if in != "" {
		files = append(files, hostFile{host: in})
	}
	var missing []string
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		name, target, arrow := strings.Cut(line, "=>")
		if arrow {
			target = strings.TrimSpace(target)
			if strings.HasPrefix(target, "not found") {
				missing = append(missing, strings.TrimSpace(name))
				continue
			}
		} else {
			target = line
		}
		p, _, _ := strings.Cut(target, " (")
		p = strings.TrimSpace(p)
		if strings.HasPrefix(p, "/") { // not linux-vdso.so.1
			files = append(files, hostFile{host: p})
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("ldd %s: libraries not found on the host: %s", path, strings.Join(missing, ", "))
	}
	return files, nil
}

// crossSysroot is where the cross toolchain keeps the guest's libc, by GOARCH.
var crossSysroot = map[string]string{
	"amd64": "/usr/x86_64-linux-gnu/lib",
	"arm64": "/usr/aarch64-linux-gnu/lib",
	"arm":   "/usr/arm-linux-gnueabihf/lib",
}

// interpFallback names the loader to use when the sysroot lacks the one a
// binary asks for: Go's linux/arm binaries ask for /lib/ld-linux.so.3
// (armel); Debian's armhf loader runs them.
var interpFallback = map[string]string{"ld-linux.so.3": "ld-linux-armhf.so.3"}

// testBinaryFiles returns the loader and libraries a dynamically linked test
// binary needs in the guest (nothing for a static one).
func testBinaryFiles(binary string, r rig) ([]hostFile, error) {
	f, err := elf.Open(binary)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	in, err := interp(f)
	if err != nil || in == "" {
		return nil, err
	}
	if r.goarch == runtime.GOARCH {
		return lddFiles(binary)
	}
	root := crossSysroot[r.goarch]
	hint := fmt.Sprintf("the test binary is dynamically linked (interpreter %s); its libraries come from %s (the libc6-*-cross package of the cross gcc test/rig/deps.sh installs)", in, root)
	find := func(name string) (string, error) {
		p := filepath.Join(root, name)
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s: %v", hint, err)
		}
		return p, nil
	}
	src, err := find(filepath.Base(in))
	if err != nil && interpFallback[filepath.Base(in)] != "" {
		src, err = find(interpFallback[filepath.Base(in)])
	}
	if err != nil {
		return nil, err
	}
	files := []hostFile{{host: src, guest: in}}
	// DT_NEEDED, transitively; the guest's loader looks in /lib by default.
	seen := map[string]bool{}
	queue, err := f.ImportedLibraries()
	if err != nil {
		return nil, err
	}
	for len(queue) > 0 {
		name := queue[0]
		queue = queue[1:]
		if seen[name] {
			continue
		}
		seen[name] = true
		p, err := find(name)
		if err != nil {
			return nil, err
		}
		files = append(files, hostFile{host: p, guest: "/lib/" + name})
		lf, err := elf.Open(p)
		if err != nil {
			return nil, err
		}
		more, err := lf.ImportedLibraries()
		lf.Close()
		if err != nil {
			return nil, err
		}
		queue = append(queue, more...)
	}
	return files, nil
}

// hostFiles packs files: a regular file at its guest path, or the host path
// itself with every symlink on the way (so /lib64/ld-linux-x86-64.so.2 ->
// /lib/x86_64-linux-gnu/... with /lib -> usr/lib works as on the host).
// It returns the number of regular files and of their bytes added.
func (c *cpioWriter) hostFiles(files []hostFile) (count int, added int64) {
	for _, hf := range files {
		if c.err != nil {
			return count, added
		}
		if hf.guest != "" {
			if c.seen[hf.guest] {
				continue
			}
			c.seen[hf.guest] = true
			n := c.n
			c.file(hf.guest, hf.host, 0o755)
			added += c.n - n
			count++
			continue
		}
		real, links, err := resolve(hf.host)
		if err != nil {
			c.err = err
			return count, added
		}
		for _, l := range links {
			if c.seen[l.path] {
				continue
			}
			c.seen[l.path] = true
			c.dir(filepath.Dir(l.path), 0o755)
			c.header(l.path, syscall.S_IFLNK|0o777, int64(len(l.target)), 0, 0)
			c.write([]byte(l.target))
			c.pad()
		}
		if c.seen[real] {
			continue
		}
		c.seen[real] = true
		fi, err := os.Stat(real)
		if err != nil {
			c.err = err
			return count, added
		}
		// Hard links (Mesa's megadriver has a dozen names) are packed once;
		// the other names become symlinks to it.
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := c.inodes[key]; ok {
				c.dir(filepath.Dir(real), 0o755)
				c.header(real, syscall.S_IFLNK|0o777, int64(len(first)), 0, 0)
				c.write([]byte(first))
				c.pad()
				continue
			}
			if c.inodes == nil {
				c.inodes = map[[2]uint64]string{}
			}
			c.inodes[key] = real
		}
		n := c.n
		c.file(real, real, uint32(fi.Mode().Perm()))
		added += c.n - n
		count++
	}
	return count, added
}

type symlink struct{ path, target string }

// resolve follows path component by component like the kernel does and
// returns the real file and every symlink met (at their resolved paths).
func resolve(path string) (string, []symlink, error) {
	var links []symlink
	cur := "/"
	rest := strings.Split(strings.TrimPrefix(filepath.Clean(path), "/"), "/")
	for hops := 0; len(rest) > 0; {
		comp := rest[0]
		rest = rest[1:]
		if comp == "" || comp == "." {
			continue
		}
		next := filepath.Join(cur, comp)
		fi, err := os.Lstat(next)
		if err != nil {
			return "", nil, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			cur = next
			continue
		}
		if hops++; hops > 40 {
			return "", nil, fmt.Errorf("%s: too many symlinks", path)
		}
		t, err := os.Readlink(next)
		if err != nil {
			return "", nil, err
		}
		links = append(links, symlink{next, t})
		if filepath.IsAbs(t) {
			cur = "/"
		}
		rest = append(strings.Split(strings.TrimPrefix(t, "/"), "/"), rest...)
	}
	return cur, links, nil
}

// programNames returns the sorted base names of the /usr/bin entries.
func programNames(files []hostFile) []string {
	var out []string
	for _, f := range files {
		if strings.HasPrefix(f.guest, "/usr/bin/") {
			out = append(out, strings.TrimPrefix(f.guest, "/usr/bin/"))
		}
	}
	sort.Strings(out)
	return out
}
