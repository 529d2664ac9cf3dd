package kms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/internal/libinput"
)

// DeviceOpener opens input devices for the backend's libinput: a seat
// session (libseat), so an unprivileged compositor reads them and loses
// them when its session is disabled. nil in InputOptions opens them
// directly (root, or group input).
type DeviceOpener interface {
	OpenDevice(path string) (*os.File, error)
	CloseDevice(*os.File) error
}

// InputOptions configure the seat's keyboards, mice, touchpads and
// touchscreens, read through libinput (libinput.so.10, loaded at run
// time). Where libinput is missing, New logs why (naming the Debian
// package) and the backend has no input.
type InputOptions struct {
	Opener DeviceOpener // nil: open(2) directly
	Seat   string       // default "seat0"
	// Tap-to-click and natural scrolling; nil keeps the device's default.
	Tap, NaturalScroll *bool
	// AccelProfile is "flat" or "adaptive" ("" keeps the default);
	// AccelSpeed in [-1, 1] (nil keeps the default).
	AccelProfile string
	AccelSpeed   *float64
}

// inputSource turns libinput's events into backend events: the pointer
// position clamped to the outputs, touch mapped to the first output, the
// seat's capabilities as devices come and go.
type inputSource struct {
	li      *libinput.Context
	devices func() []*libinput.Device // li.Devices
	outputs func() []*Output          // the backend's outputs now (hotplug changes them)
	events  chan backend.Event
	log     *slog.Logger
	ctx     context.Context // ends with close: a send never outlives the backend
	cancel  context.CancelFunc
	done    chan struct{}

	// Run's goroutine only:
	x, y    float64 // pointer position in the layout
	caps    uint32
	touches map[int32]bool // touch points down
}

// startInput opens the input devices; without libinput (or with bad
// settings) the backend runs without input and the log says why.
func (b *Backend) startInput(opts InputOptions, log *slog.Logger) {
	in, err := newInput(opts, b.list, b.events, log)
	if err != nil {
		log.Error("kms: no input devices", "err", err)
		return
	}
	b.input = in
}

// SuspendInput closes every input device until ResumeInput (the seat's
// session was disabled: a VT switch away; Pause calls it). The server
// sees the seat's capabilities go and come back.
func (b *Backend) SuspendInput() error {
	if b.input == nil {
		return nil
	}
	return b.input.li.Suspend()
}

// ResumeInput opens the input devices again (Resume calls it).
func (b *Backend) ResumeInput() error {
	if b.input == nil {
		return nil
	}
	return b.input.li.Resume()
}

// newInput opens libinput for the backend's outputs.
func newInput(opts InputOptions, outputs func() []*Output, events chan backend.Event, log *slog.Logger) (*inputSource, error) {
	set := libinput.Settings{AccelSpeed: opts.AccelSpeed}
	toggle := func(b *bool) libinput.Toggle {
		switch {
		case b == nil:
			return libinput.Default
		case *b:
			return libinput.On
		}
		return libinput.Off
	}
	set.Tap, set.NaturalScroll = toggle(opts.Tap), toggle(opts.NaturalScroll)
	switch opts.AccelProfile {
	case "":
	case "flat":
		set.AccelProfile = libinput.AccelFlat
	case "adaptive":
		set.AccelProfile = libinput.AccelAdaptive
	default:
		return nil, fmt.Errorf("kms input: acceleration profile %q (flat or adaptive)", opts.AccelProfile)
	}
	if s := opts.AccelSpeed; s != nil && (*s < -1 || *s > 1 || math.IsNaN(*s)) {
		return nil, fmt.Errorf("kms input: acceleration speed %v outside [-1, 1]", *s)
	}
	var opener libinput.DeviceOpener = libinput.DirectOpener{}
	if opts.Opener != nil {
		opener = opts.Opener
	}
	li, err := libinput.New(libinput.Options{Seat: opts.Seat, Opener: opener, Settings: set, Logger: log})
	if err != nil {
		return nil, err
	}
	in := &inputSource{li: li, devices: li.Devices, outputs: outputs, events: events, log: log,
		done: make(chan struct{}), touches: map[int32]bool{}}
	if outs := outputs(); len(outs) > 0 {
		m := outs[0].Mode()
		in.x, in.y = float64(m.Width)/2, float64(m.Height)/2
	}
	ctx, cancel := context.WithCancel(context.Background())
	in.ctx, in.cancel = ctx, cancel
	go in.run(ctx)
	return in, nil
}

func (in *inputSource) run(ctx context.Context) {
	defer close(in.done)
	// The devices present at start, then the capabilities once, even
	// with no device at all (the server assumes a pointer and a
	// keyboard until told).
	err := in.li.Dispatch(in.handle)
	in.caps = ^uint32(0)
	in.seatChanged(nil)
	if err == nil {
		err = in.li.Run(ctx, in.handle)
	}
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, libinput.ErrClosed) {
		in.log.Error("input stopped", "err", err)
	}
}

// close stops the events (the channel is closed) and releases every device.
func (in *inputSource) close() error {
	in.cancel()
	<-in.done
	return in.li.Close()
}

// layout is outs side by side, left to right: the layout's size.
func layout(outs []*Output) (w, h float64) {
	for _, o := range outs {
		ow, oh := o.logicalSize()
		w += ow
		h = max(h, oh)
	}
	return w, h
}

// at finds the output of outs containing layout point (x, y) and the
// point in its pixels.
func at(outs []*Output, x, y float64) (*Output, float64, float64) {
	off := 0.0
	for _, o := range outs {
		ow, oh := o.logicalSize()
		if x < off+ow {
			return o, x - off, min(y, oh-1.0/256)
		}
		off += ow
	}
	return nil, 0, 0
}

// clamp keeps (x, y) inside the layout of outs (the last representable
// point of wl_fixed before its edge).
func (in *inputSource) clamp(outs []*Output) {
	w, h := layout(outs)
	in.x = max(0, min(in.x, w-1.0/256))
	in.y = max(0, min(in.y, h-1.0/256))
}

// send queues ev for the server; a server that stopped reading delays
// input until Close.
func (in *inputSource) send(ev backend.Event) {
	select {
	case in.events <- ev:
	case <-in.ctx.Done():
	}
}

func (in *inputSource) handle(e *libinput.Event) {
	switch e.Type {
	case libinput.DeviceAdded, libinput.DeviceRemoved:
		in.seatChanged(e)
	case libinput.KeyboardKey:
		in.send(backend.Event{Kind: backend.Key, Time: e.Time, Key: e.Key, Pressed: e.Pressed})
	case libinput.PointerMotion, libinput.PointerMotionAbsolute:
		outs := in.outputs() // once per event: it takes the backend's lock
		if e.Type == libinput.PointerMotion {
			in.x, in.y = in.x+e.DX, in.y+e.DY
		} else {
			in.x, in.y = absolute(outs, e.X, e.Y)
		}
		in.clamp(outs)
		o, x, y := at(outs, in.x, in.y)
		if o == nil {
			return
		}
		in.send(backend.Event{Kind: backend.PointerMotion, Output: o, Time: e.Time, X: x, Y: y})
	case libinput.PointerButton:
		in.send(backend.Event{Kind: backend.PointerButton, Time: e.Time, Button: e.Button, Pressed: e.Pressed})
	case libinput.PointerScrollWheel, libinput.PointerScrollFinger, libinput.PointerScrollContinuous:
		ev := backend.Event{Kind: backend.PointerAxis, Time: e.Time}
		v, hz := libinput.AxisVertical, libinput.AxisHorizontal
		switch e.Type {
		case libinput.PointerScrollWheel:
			// 10 wl_pointer units per detent, as the nested backends.
			ev.AxisY, ev.AxisX = e.V120[v]/12, e.V120[hz]/12
			ev.V120Y, ev.V120X = int32(e.V120[v]), int32(e.V120[hz])
			ev.DiscreteY, ev.DiscreteX = int32(e.V120[v])/120, int32(e.V120[hz])/120
		default:
			ev.AxisSource = 1 // wl_pointer.axis_source.finger
			if e.Type == libinput.PointerScrollContinuous {
				ev.AxisSource = 2 // continuous
			}
			ev.AxisY, ev.AxisX = e.Scroll[v], e.Scroll[hz]
			// libinput ends a finger or continuous scroll with a value of 0
			// on the axis: the client's kinetic scrolling may start.
			ev.AxisStopY = e.HasAxis[v] && e.Scroll[v] == 0
			ev.AxisStopX = e.HasAxis[hz] && e.Scroll[hz] == 0
		}
		in.send(ev)
	case libinput.TouchDown, libinput.TouchMotion:
		outs := in.outputs()
		if len(outs) == 0 {
			return
		}
		o := outs[0]
		m := o.Mode()
		// The touchscreen reports panel positions; a panel mounted turned
		// shows the picture turned (Options.Transform).
		x, y := o.Transform().ToLogical(m.Width, m.Height, e.X*float64(m.Width), e.Y*float64(m.Height))
		kind := backend.TouchDown
		if e.Type == libinput.TouchMotion {
			kind = backend.TouchMotion
		} else {
			in.touches[e.Slot] = true
		}
		in.send(backend.Event{Kind: kind, Output: o, Time: e.Time, ID: e.Slot,
			X: x, Y: y})
	case libinput.TouchUp:
		delete(in.touches, e.Slot)
		in.send(backend.Event{Kind: backend.TouchUp, Time: e.Time, ID: e.Slot})
	case libinput.TouchFrame:
		in.send(backend.Event{Kind: backend.TouchFrame, Time: e.Time})
	case libinput.TouchCancel:
		clear(in.touches)
		in.send(backend.Event{Kind: backend.TouchCancel, Time: e.Time})
	}
}

// seatChanged recomputes the capabilities from the devices present and
// tells the server when they changed; touch points of a touchscreen that
// went away are cancelled.
func (in *inputSource) seatChanged(e *libinput.Event) {
	var caps uint32
	for _, d := range in.devices() {
		if d.Caps&libinput.CapPointer != 0 {
			caps |= backend.CapPointer
		}
		if d.Caps&libinput.CapKeyboard != 0 {
			caps |= backend.CapKeyboard
		}
		if d.Caps&libinput.CapTouch != 0 {
			caps |= backend.CapTouch
		}
	}
	if e != nil && e.Type == libinput.DeviceRemoved && e.Device.Caps&libinput.CapTouch != 0 && len(in.touches) > 0 {
		clear(in.touches)
		in.send(backend.Event{Kind: backend.TouchCancel, Time: backend.Monotonic()})
	}
	if caps != in.caps {
		in.caps = caps
		in.send(backend.Event{Kind: backend.SeatChanged, Time: backend.Monotonic(), Caps: caps})
	}
}
