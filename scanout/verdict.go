package scanout

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/drm"
)

// Path is how a buffer reaches the screen.
type Path int

// Paths.
const (
	PathUnknown Path = iota
	// PathDirect: the display scans the buffer itself, zero copies.
	PathDirect
	// PathBlit: the display refused the buffer; its damaged region is
	// copied into a dumb buffer the display owns.
	PathBlit
	// PathNone: nothing scans the buffer out (a headless output): the
	// frame is done when drawn.
	PathNone
)

func (p Path) String() string {
	switch p {
	case PathDirect:
		return "direct"
	case PathBlit:
		return "blit"
	case PathNone:
		return "none"
	}
	return "unknown"
}

// Step is where the direct path was refused.
type Step string

// Steps of the direct-scanout attempt, in order.
const (
	StepNone     Step = ""
	StepDisabled Step = "disabled"  // turned off by option or environment
	StepFormat   Step = "format"    // the plane does not list the format/modifier
	StepImport   Step = "import"    // PRIME_FD_TO_HANDLE on the display refused
	StepAddFB    Step = "addfb"     // ADDFB2 refused
	StepTest     Step = "test-only" // atomic TEST_ONLY commit refused
	StepCommit   Step = "commit"    // the real commit refused after the test passed
)

// Verdict says which path a buffer took and, for the blit path, where and
// why direct scanout was refused.
type Verdict struct {
	Path   Path
	Step   Step
	Errno  syscall.Errno
	Reason string
}

func (v Verdict) String() string {
	if v.Path == PathDirect {
		return "direct scanout"
	}
	if v.Path == PathNone && v.Reason != "" {
		return v.Reason
	}
	s := v.Path.String()
	if v.Step != StepNone {
		s += " (refused at " + string(v.Step)
		if v.Errno != 0 {
			s += fmt.Sprintf(": %s", errnoName(v.Errno))
		}
		s += ")"
	}
	if v.Reason != "" {
		s += ": " + v.Reason
	}
	return s
}

func refused(step Step, err error, reason string) Verdict {
	return Verdict{Path: PathBlit, Step: step, Errno: drm.Errno(err), Reason: reason}
}

// errnoName returns the errno's symbol ("EINVAL"), or its text when it has none.
func errnoName(e syscall.Errno) string {
	if n := unix.ErrnoName(e); n != "" {
		return n
	}
	return e.Error()
}

// importHint explains a refused display import.
func importHint(err error, driver string) string {
	switch drm.Errno(err) {
	case syscall.EINVAL:
		return driver + " cannot import this dma-buf: its pages are not physically contiguous (a display without an IOMMU, like vc4 on a Pi 4, needs CMA memory: allocate from a CMA heap)"
	case syscall.ENODEV, syscall.EOPNOTSUPP:
		return driver + " does not import foreign dma-bufs"
	}
	return "the display refused the import"
}
