// Package backend defines what minicomp draws on: a Backend with one or more
// Outputs (a KMS connector, a virtual headless output, later a window in
// X11 or another Wayland compositor). Every output hands out render targets
// from a scanout.Swapchain and presents them, reporting which buffer path
// each frame took.
package backend

import (
	"context"
	"image"
	"os"
	"time"

	"github.com/minicomp/minicomp/scanout"
)

// Backend is a set of outputs of one kind.
type Backend interface {
	// Name says which backend this is ("kms", "headless").
	Name() string
	// Outputs lists the outputs; the list is fixed for the Backend's life.
	Outputs() []Output
	// Close turns outputs off and releases every buffer and device.
	Close() error
}

// Output is one screen.
type Output interface {
	// Name is stable and unique within the backend ("Virtual-1", "HEADLESS-1").
	Name() string
	// Mode is the output's size and refresh rate.
	Mode() scanout.Mode
	// Format is the render targets' pixel format.
	Format() scanout.Format
	// Next returns the render target for the next frame and its age: how
	// many frames ago its content was current (0: draw everything).
	Next() (*scanout.Buffer, int)
	// Present queues target (from Next) with the damage since the previous
	// frame (nil: all) and an optional render fence; it reports the path.
	Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error)
	// WaitFrame blocks until the presented frame is on screen (a real flip,
	// or the headless clock's tick).
	WaitFrame(ctx context.Context) (Frame, error)
	// Info describes the output's buffer path for logs and `minicomp info`.
	Info() Info
}

// Frame is a frame that reached the screen.
type Frame struct {
	Sequence uint64
	Time     time.Duration // CLOCK_MONOTONIC
	Path     scanout.Path
}

// Info describes an output's buffer path.
type Info struct {
	Backend  string
	Output   string
	Mode     scanout.Mode
	Display  string // "vc4 (/dev/dri/card1)", "" when headless
	Render   string // the render device, "" when none
	Strategy string // what made the render targets
	// Attempts are strategies that failed before Strategy, with reasons;
	// Unavailable, those that could not be set up at all.
	Attempts, Unavailable []scanout.Attempt
	Stats                 scanout.Stats
}

// EventSource is implemented by backends that deliver events besides
// frames: input from a window or a seat, outputs resized or closed by the
// user, a lost parent (X server or Wayland compositor gone).
type EventSource interface {
	// Events returns the backend's event channel. It is closed after an
	// EventLost event or when the backend is closed; events are never
	// dropped silently (a slow reader delays the backend).
	Events() <-chan Event
}

// EventKind says what an Event is.
type EventKind int

// The kinds of Event.
const (
	// PointerEnter: the pointer entered Output at X, Y.
	PointerEnter EventKind = iota + 1
	// PointerLeave: the pointer left Output.
	PointerLeave
	// PointerMotion: the pointer moved to X, Y on Output.
	PointerMotion
	// PointerButton: Button (a Linux BTN_* code) was pressed or released.
	PointerButton
	// PointerAxis: scrolling by AxisX, AxisY (wl_pointer units: 10 per
	// wheel step) with Discrete steps, when the device has them.
	PointerAxis
	// Key: Key (a Linux evdev KEY_* code) was pressed or released.
	Key
	// KeyboardEnter: the backend's window got keyboard focus; Keys are
	// the keys already held.
	KeyboardEnter
	// KeyboardLeave: the backend's window lost keyboard focus (or, as a
	// backend's first event, starts without it).
	KeyboardLeave
	// OutputResized: Output's mode changed (a window was resized); the
	// next Next returns targets of the new size.
	OutputResized
	// OutputClosed: the user closed Output's window.
	OutputClosed
	// EventLost: the backend lost its parent (X server gone, Wayland
	// compositor exited); Err says why. No event follows.
	EventLost
)

// Event is input or a change to an output. Coordinates are in the
// output's pixels.
type Event struct {
	Kind   EventKind
	Output Output
	Time   time.Duration // CLOCK_MONOTONIC when it happened
	X, Y   float64
	// Button is a Linux BTN_* code (BTN_LEFT = 0x110).
	Button uint32
	// Key is a Linux evdev KEY_* code (an X keycode minus 8).
	Key           uint32
	Keys          []uint32
	Pressed       bool
	AxisX, AxisY  float64
	DiscreteX     int32
	DiscreteY     int32
	Width, Height int // OutputResized: the new size
	Err           error
}

// ClientScanout is implemented by outputs that can put a client's buffer
// on screen as it is, with no composition and no copy (KMS: import into
// the display, ADDFB2, atomic TEST_ONLY, remembered per buffer).
type ClientScanout interface {
	// CanScanOut decides (once per buffer, then from memory) whether buf
	// can be shown directly.
	CanScanOut(buf *scanout.Buffer) scanout.Verdict
	// PresentBuffer is Present for a buffer that did not come from Next.
	// The caller keeps buf open until a later frame replaced it on screen.
	PresentBuffer(buf *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error)
	// ScanoutFormats names the display device (its dev_t) and the formats
	// and modifiers its primary plane scans out, for clients that want to
	// allocate buffers the display can show (dma-buf feedback).
	ScanoutFormats() (device uint64, formats map[scanout.Format][]uint64)
}

// OutputList returns a backend's outputs as the Output interface, for
// Backend.Outputs.
func OutputList[O Output](outputs []O) []Output {
	out := make([]Output, len(outputs))
	for i, o := range outputs {
		out[i] = o
	}
	return out
}
