// Package heap allocates dma-bufs from Linux DMA-BUF heaps
// (/dev/dma_heap/NAME): discovery, a preference order that knows which heaps
// give physically contiguous memory a display like vc4 can scan out, and
// errors that tell the user what to do.
//
// Heap names differ between kernels and platforms: "linux,cma" (CMA from the
// device tree, as on a Raspberry Pi), "reserved" (CMA from cma= on the
// command line), "default_cma_region" (Linux 6.17+), "vidbuf_cached"
// (Raspberry Pi OS udev alias), "system" (not contiguous).
package heap

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"structs"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/ioc"
)

// Dir is where the kernel puts heap nodes.
const Dir = "/dev/dma_heap"

// UdevRule names the udev rule shipped with minicomp that opens heaps to
// group video.
const UdevRule = "heap/udev/60-minicomp-dma-heap.rules"

// DefaultPreference is the order in which heaps are tried for buffers a
// display that needs contiguous memory must scan out (vc4 on a Pi 4).
var DefaultPreference = []string{"vc4", "default_cma_region", "linux,cma", "reserved", "vidbuf_cached"}

// ErrNoHeaps means the kernel offers no DMA-BUF heaps at all.
var ErrNoHeaps = errors.New("no DMA-BUF heaps")

// Error is a failed heap operation: which heap, what was done, the errno,
// and a hint that says what to do about it.
type Error struct {
	Heap string
	Op   string
	Err  error
	Hint string
}

func (e *Error) Error() string {
	s := "heap " + e.Heap + ": " + e.Op + ": " + e.Err.Error()
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the underlying error (an errno or ErrNoHeaps).
func (e *Error) Unwrap() error { return e.Err }

// Preference returns the heaps to try, in order. override (a flag or
// environment value, read by the caller) is a list of names separated by
// colons or spaces that replaces the default; empty keeps the default.
// acceptsNonContiguous adds "system" last, for displays that took a
// non-contiguous buffer (an IOMMU, vkms, Pi 5).
func Preference(override string, acceptsNonContiguous bool) []string {
	if override != "" {
		return strings.FieldsFunc(override, func(r rune) bool { return r == ':' || r == ' ' || r == '\t' })
	}
	out := append([]string(nil), DefaultPreference...)
	if acceptsNonContiguous {
		out = append(out, "system")
	}
	return out
}

// Info describes a heap node without opening it.
type Info struct {
	Name   string
	Path   string
	Alias  string // for a symlink (vidbuf_cached), the heap it points to
	Mode   fs.FileMode
	UID    uint32
	GID    uint32
	Usable error // nil when this process may open it read-write
}

// Contiguous reports whether the heap is known to hand out physically
// contiguous memory (CMA); "system" is not.
func (i Info) Contiguous() bool {
	n := i.Name
	if i.Alias != "" {
		n = i.Alias
	}
	return n != "system" && n != "system-uncached"
}

// List describes every heap in dir (Dir outside tests), sorted by name. A
// missing dir is ErrNoHeaps with a hint about the kernel configuration.
func List(dir string) ([]Info, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, &Error{Heap: "*", Op: "list " + dir, Err: ErrNoHeaps,
				Hint: "the kernel has no CONFIG_DMABUF_HEAPS (needs CONFIG_DMABUF_HEAPS_CMA for contiguous memory), or /dev is not devtmpfs"}
		}
		return nil, &Error{Heap: "*", Op: "list " + dir, Err: err}
	}
	var out []Info
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		info := Info{Name: e.Name(), Path: p}
		if t, err := os.Readlink(p); err == nil {
			info.Alias = filepath.Base(t)
		}
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			info.Usable = err
		} else {
			info.Mode = fs.FileMode(st.Mode & 0o777)
			info.UID, info.GID = st.Uid, st.Gid
			if err := unix.Access(p, unix.R_OK|unix.W_OK); err != nil {
				info.Usable = err
			}
		}
		out = append(out, info)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Heap is an open DMA-BUF heap. Alloc is safe for concurrent use.
type Heap struct {
	Name string // as asked for, e.g. "linux,cma"
	Path string

	mu     sync.RWMutex
	fd     int
	closed bool
}

// Open opens the heap called name in Dir (or at name, if it is a path).
func Open(name string) (*Heap, error) { return OpenIn(Dir, name) }

// OpenIn opens the heap called name in dir.
func OpenIn(dir, name string) (*Heap, error) {
	p := name
	if !strings.ContainsRune(name, '/') {
		p = filepath.Join(dir, name)
	} else {
		name = filepath.Base(name)
	}
	fd, err := unix.Open(p, unix.O_RDWR|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &Error{Heap: name, Op: "open " + p, Err: err, Hint: openHint(dir, p, err)}
	}
	return &Heap{Name: name, Path: p, fd: fd}, nil
}

func openHint(dir, p string, err error) string {
	switch {
	case errors.Is(err, unix.ENOENT):
		if _, derr := os.Stat(dir); derr != nil {
			return "no " + dir + ": the kernel has no CONFIG_DMABUF_HEAPS"
		}
		var names []string
		if infos, lerr := List(dir); lerr == nil {
			for _, i := range infos {
				names = append(names, i.Name)
			}
		}
		return "this kernel's heaps are: " + strings.Join(names, ", ")
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		var st unix.Stat_t
		owner := ""
		if unix.Stat(p, &st) == nil {
			owner = fmt.Sprintf("mode %04o uid %d gid %d; ", st.Mode&0o777, st.Uid, st.Gid)
		}
		return owner + "add your user to group video and install the udev rule " + UdevRule
	}
	return ""
}

// struct dma_heap_allocation_data (linux/dma-heap.h).
type allocationData struct {
	_         structs.HostLayout
	Len       uint64
	FD        uint32
	FDFlags   uint32
	HeapFlags uint64
}

var ioctlAlloc = ioc.IOWR('H', 0, unsafe.Sizeof(allocationData{}))

// Alloc allocates size bytes (rounded up to the page size) and returns the
// dma-buf. The memory is zeroed by the kernel up front, which takes
// milliseconds for a full frame: allocate once and reuse.
func (h *Heap) Alloc(size int64) (*os.File, error) {
	if size <= 0 {
		return nil, &Error{Heap: h.Name, Op: fmt.Sprintf("alloc %d bytes", size), Err: unix.EINVAL}
	}
	page := int64(os.Getpagesize())
	size = (size + page - 1) / page * page
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return nil, &Error{Heap: h.Name, Op: "alloc", Err: unix.EBADF}
	}
	a := allocationData{Len: uint64(size), FDFlags: unix.O_RDWR | unix.O_CLOEXEC}
	if err := ioc.Call(h.fd, ioctlAlloc, unsafe.Pointer(&a)); err != nil {
		e := &Error{Heap: h.Name, Op: fmt.Sprintf("alloc %d bytes", size), Err: err}
		if errors.Is(err, unix.ENOMEM) {
			e.Hint = "CMA exhausted or fragmented: grow it with cma=256M on the kernel command line, or dtoverlay=vc4-kms-v3d,cma-512 in config.txt on a Raspberry Pi"
		}
		return nil, e
	}
	return os.NewFile(uintptr(a.FD), "dmabuf:"+h.Name), nil
}

// Close closes the heap; buffers already allocated stay valid. It accepts
// nil and is idempotent.
func (h *Heap) Close() error {
	if h == nil {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	h.closed = true
	return unix.Close(h.fd)
}

// Attempt is one thing tried and why it was not taken: a heap tried by
// Auto, an allocation strategy (scanout.Attempt is this type).
type Attempt struct {
	Name string
	Err  error
}

// Auto opens the first heap of prefs that exists and may be opened. When
// none can, the error joins every attempt's error (errors.Is finds
// unix.EACCES, ErrNoHeaps, …) and attempts lists them.
func Auto(prefs []string) (*Heap, []Attempt, error) { return AutoIn(Dir, prefs) }

// AutoIn is Auto for heaps in dir.
func AutoIn(dir string, prefs []string) (*Heap, []Attempt, error) {
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		_, lerr := List(dir)
		return nil, nil, lerr
	}
	var attempts []Attempt
	var errs []error
	for _, name := range prefs {
		h, err := OpenIn(dir, name)
		if err == nil {
			return h, attempts, nil
		}
		attempts = append(attempts, Attempt{Name: name, Err: err})
		if !errors.Is(err, unix.ENOENT) {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		infos, _ := List(dir)
		var names []string
		for _, i := range infos {
			names = append(names, i.Name)
		}
		return nil, attempts, &Error{Heap: strings.Join(prefs, ","), Op: "choose", Err: syscall.ENOENT,
			Hint: "none of the preferred heaps exists; this kernel has: " + strings.Join(names, ", ") + "; pass a heap preference to choose (minicomp: --heap or MINICOMP_HEAP)"}
	}
	return nil, attempts, errors.Join(errs...)
}
