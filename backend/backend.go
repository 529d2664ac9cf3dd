// Package backend defines what a compositor draws on: a Backend with one
// or more Outputs (a KMS connector in backend/kms, a virtual output in
// backend/headless, a window in backend/x11 or backend/wayland).
//
// How the pieces fit:
//
//   - The caller resolves the devices once (scanout.OpenDevices, or
//     scanout.NewDevice on fds from a seat) and gives the same
//     scanout.Devices to the backend (kms.Options, headless.Options), to
//     its renderer (Devices.Render) and to its Wayland server (the
//     render node's dev_t for dma-buf feedback). Backend.RenderDevice says
//     which device the render targets were imported into.
//   - Per frame, on one goroutine at a time: Output.Next hands out a
//     render target (a scanout.Buffer from the output's swapchain) and
//     its age; the caller draws into it and calls Output.Present with
//     the damage and an optional render fence; Output.WaitFrame returns
//     when that frame is on screen, as a Presented.
//   - Buffers on screen are locked (scanout.Buffer.Lock), so Next never
//     hands one out while it is shown; an output that cannot give a free
//     target returns scanout.ErrSwapchainExhausted.
//   - Backends that have input or windows also implement EventSource;
//     KMS outputs implement ClientScanout (a client's buffer on the
//     primary plane with no copy).
package backend

import (
	"context"
	"errors"
	"image"
	"os"
	"time"

	"github.com/minicomp/minicomp/scanout"
)

// Backend is a set of outputs of one kind.
type Backend interface {
	// Name says which backend this is ("kms", "headless", "x11",
	// "wayland").
	Name() string
	// Outputs lists the outputs. Backends whose screens come and go
	// (KMS connector hotplug) say so with OutputAdded and OutputRemoved
	// events; the list changes with them.
	Outputs() []Output
	// RenderDevice is the device the render targets were imported into,
	// the one a GPU renderer must draw with; nil when the targets are
	// CPU memory or no render device is in use.
	RenderDevice() *scanout.Device
	// Close turns outputs off and releases every buffer and whatever
	// the backend opened itself (devices the caller passed in stay open).
	Close() error
}

// Output is one screen.
//
// Concurrency: Next, Present and WaitFrame are called by one goroutine at
// a time (any goroutine; a Present and the WaitFrame after it may run on
// different goroutines when the caller orders them). Name, Mode, Format
// and Info may be called at any time, from any goroutine.
type Output interface {
	// Name is stable and unique within the backend ("Virtual-1", "HEADLESS-1").
	Name() string
	// Mode is the output's size and refresh rate.
	Mode() scanout.Mode
	// Format is the render targets' format.
	Format() scanout.Format
	// Next returns the render target for the next frame and its age: how
	// many frames ago its content was current (0: draw everything). It
	// fails with scanout.ErrSwapchainExhausted when every target is busy.
	Next() (*scanout.Buffer, int, error)
	// Present queues target (from Next) with the damage since the previous
	// frame (nil: all) and an optional render fence (a sync_file that
	// signals when drawing into target is done); it reports the path.
	// The caller keeps fence: Present does not close it, and a backend
	// that needs it after returning duplicates it.
	Present(target *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error)
	// WaitFrame blocks until the presented frame is on screen (a real flip,
	// a window's frame pacing, or the headless clock's tick) and says
	// when; with nothing presented it returns at once.
	WaitFrame(ctx context.Context) (Presented, error)
	// Info describes the output's buffer path for logs and `minicomp info`.
	// It may be called at any time, from any goroutine.
	Info() Info
}

// Presented is a frame that reached the screen (what a frame to show,
// scanout.Submission, becomes).
type Presented struct {
	Sequence uint64
	Time     time.Duration // CLOCK_MONOTONIC
	// Path is how the frame reached the screen: direct, blit, or
	// scanout.PathNone where nothing scans out (headless).
	Path scanout.Path
	// VSync is true when Time is a real display refresh (a KMS page
	// flip) rather than a software clock's tick.
	VSync bool
}

// Size is the size of a virtual output or a window, in pixels.
type Size struct{ Width, Height int }

// ErrNoDisplay means the backend has nothing to show on: no KMS display
// with a connected screen, no X server, no parent Wayland compositor.
// Errors from every backend's New wrap it; it is scanout.ErrNoDisplay.
var ErrNoDisplay = scanout.ErrNoDisplay

// ErrLost means a backend lost what it showed on (the X server or the
// parent compositor went away, the DRM device's events stopped); errors
// from its outputs and its EventLost event wrap it.
var ErrLost = errors.New("lost the display")

// LostError says what a backend lost and why. It matches ErrLost with
// errors.Is and unwraps to the cause.
type LostError struct {
	Backend string // "x11", "wayland", "kms"
	What    string // "X server :1", "parent compositor wayland-0"
	Cause   error
}

func (e *LostError) Error() string {
	return e.Backend + ": lost connection to " + e.What + ": " + e.Cause.Error()
}

// Is reports whether target is ErrLost.
func (e *LostError) Is(target error) bool { return target == ErrLost }

// Unwrap returns the cause.
func (e *LostError) Unwrap() error { return e.Cause }

// Info describes an output's buffer path.
type Info struct {
	Backend  string
	Output   string
	Mode     scanout.Mode
	Display  string // "vc4 (/dev/dri/card1)", "" when headless
	Render   string // the render device (RenderDevice's String), "" when none
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

	// Seated input (libinput on KMS). Touch events carry the touch
	// point's ID; TouchFrame ends a set of them.
	TouchDown   // ID touched Output at X, Y
	TouchUp     // ID lifted
	TouchMotion // ID moved to X, Y on Output
	TouchFrame
	TouchCancel // every touch point is void (the device went away)
	// SeatChanged: the input devices changed; Caps says what the seat
	// has now.
	SeatChanged
)

// Capability bits of a seat's devices (Event.Caps).
const (
	CapPointer  = 1 << 0
	CapKeyboard = 1 << 1
	CapTouch    = 1 << 2
)

// Outputs that come and go (kept apart from the input kinds above).
const (
	// OutputAdded: Output is new (a screen was plugged in).
	OutputAdded EventKind = iota + 100
	// OutputRemoved: Output is gone (unplugged): the caller stops
	// presenting on it and then calls its Close (it implements
	// io.Closer).
	OutputRemoved
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
	// Seated input: the touch point (Touch*), the seat's capabilities
	// (SeatChanged), a scroll's source (a wl_pointer axis_source, 0:
	// wheel) and high-resolution wheel steps in 120ths of a detent.
	ID           int32
	Caps         uint32
	AxisSource   uint32
	V120X, V120Y int32
	// PointerAxis: a finger or continuous scroll on that axis stopped
	// (libinput's final zero value; wl_pointer.axis_stop).
	AxisStopX, AxisStopY bool
}

// ClientScanout is implemented by outputs that can put a client's buffer
// on screen as it is, with no composition and no copy (KMS: import into
// the display, ADDFB2, atomic TEST_ONLY, remembered per buffer).
type ClientScanout interface {
	// CanScanOut decides (once per buffer, then from memory) whether buf
	// can be shown directly.
	CanScanOut(buf *scanout.Buffer) scanout.Verdict
	// PresentBuffer is Present for a buffer that did not come from Next.
	// The output locks buf while it is on screen (or queued), so the
	// caller may Close it at any time.
	PresentBuffer(buf *scanout.Buffer, damage []image.Rectangle, fence *os.File) (scanout.Verdict, error)
	// ScanoutFormats names the display device (its dev_t) and the formats
	// and modifiers its primary plane scans out, for clients that want to
	// allocate buffers the display can show (dma-buf feedback).
	ScanoutFormats() (device uint64, formats map[scanout.Format][]uint64)
}

// CursorPlane is implemented by outputs that can show the pointer's
// image on a plane of its own (a KMS cursor plane), so that moving it
// needs no composition.
type CursorPlane interface {
	// SetCursor shows img on the plane (nil hides it). An error means
	// the plane cannot show it: the caller composes the cursor (for
	// good when it wraps scanout.ErrCursorRefused).
	SetCursor(img *CursorImage) error
	// MoveCursor puts the image's hotspot at x, y (output pixels); like
	// SetCursor it takes effect with the next Present or CommitCursor.
	MoveCursor(x, y int)
	// CommitCursor shows a cursor change with nothing else; when it
	// reports true, the commit completes through WaitFrame like a
	// Present.
	CommitCursor() (bool, error)
}

// CursorImage is a cursor: Width×Height premultiplied ARGB8888 pixels,
// Stride bytes a row, and the Hotspot of them that points.
type CursorImage struct {
	Pix                   []byte
	Width, Height, Stride int
	Hotspot               image.Point
}

// PointerDevices is implemented by backends that know whether a pointer
// device exists (KMS with its input devices); without one no cursor is
// shown. Window backends (x11, wayland) report the host's pointer and
// give the host the cursor image through CursorPlane.
type PointerDevices interface {
	HasPointer() bool
}

// PowerControl is implemented by outputs whose display can be turned off
// and on (wlr-output-power-management); a virtual output accepts both
// and has nothing to blank.
type PowerControl interface {
	SetPower(on bool) error
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
