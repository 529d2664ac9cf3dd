package libinput

import (
	"context"
	"errors"
	"math"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// requireRigLibinput skips outside the rig and in guests that do not get
// the host's libinput (only the amd64 guest does: test/rig's
// testdata/rig-programs); in the amd64 guest a missing library or
// uinput fails.
func requireRigLibinput(t *testing.T) {
	t.Helper()
	rigtest.RequireUInput(t)
	if why := os.Getenv("MINICOMP_RIG_PROGRAMS_UNAVAILABLE"); why != "" {
		t.Skip(why)
	}
	if _, err := load(); err != nil {
		t.Fatalf("libinput in the guest: %v (vmexec ships what testdata/rig-programs names)", err)
	}
}

// events runs c and returns its events on a channel.
func events(t *testing.T, c *Context) <-chan Event {
	ch := make(chan Event, 1024)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(e *Event) { ch <- *e })
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		c.Close()
	})
	return ch
}

// next waits for the next event of one of the types (others skipped).
func next(t *testing.T, ch <-chan Event, types ...EventType) Event {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case e := <-ch:
			if slices.Contains(types, e.Type) {
				return e
			}
			t.Logf("skipped event %d", e.Type)
		case <-timeout:
			t.Fatalf("no event of types %v within 10 s", types)
		}
	}
}

// added waits until libinput added the event device (other devices,
// such as the guest's ACPI power button, are skipped).
func added(t *testing.T, ch <-chan Event, sysname string) *Device {
	t.Helper()
	for {
		if e := next(t, ch, DeviceAdded); e.Device.Sysname == sysname {
			return e.Device
		}
	}
}

// autoContext runs a context whose backend New chooses (BackendAuto) and
// fails the test unless it chose want.
func autoContext(t *testing.T, want Backend) (*Context, <-chan Event) {
	t.Helper()
	c, err := New(Options{Logger: rigtest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend() != want {
		c.Close()
		t.Fatalf("New chose the %v backend (udevd running: %v), want %v", c.Backend(), udevRunning(), want)
	}
	return c, events(t, c)
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-3 }

// TestRigDevices: uinput devices (a real evdev node, a real uevent)
// reach libinput through the path backend and minicomp's hotplug, with
// the right codes, deltas, wheel steps and touch frames, and unplugging
// one removes it.
func TestRigDevices(t *testing.T) {
	requireRigLibinput(t)
	rigtest.CheckFDs(t)
	c, ch := autoContext(t, BackendPath) // no udevd in the guest
	if c.dc == nil {
		t.Error("coordinates through reflection: libffi missing or its self-check failed (the log says which)")
	}

	kb := rigtest.Plug(t, rigtest.Keyboard("minicomp test keyboard"))
	if d := added(t, ch, kb.Event); d.Caps&CapKeyboard == 0 {
		t.Fatalf("added %+v, want a keyboard", *d)
	}
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp test mouse"))
	if d := added(t, ch, mouse.Event); d.Caps&CapPointer == 0 {
		t.Fatalf("added %+v, want a pointer", *d)
	}
	ts := rigtest.Plug(t, rigtest.Touchscreen("minicomp test touchscreen"))
	if d := added(t, ch, ts.Event); d.Caps&CapTouch == 0 {
		t.Fatalf("added %+v, want touch", *d)
	}

	// Keys: KEY_A (30) down and up.
	var e Event
	kb.Key(30, true)
	kb.Key(30, false)
	for _, want := range []bool{true, false} {
		e = next(t, ch, KeyboardKey)
		if e.Key != 30 || e.Pressed != want {
			t.Fatalf("key event %d pressed %v, want 30 %v", e.Key, e.Pressed, want)
		}
	}

	// Relative motion: raw deltas as written, accelerated ones nonzero.
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 10}, [3]int32{rigtest.EvRel, rigtest.RelY, -4})
	e = next(t, ch, PointerMotion)
	if e.DXRaw != 10 || e.DYRaw != -4 || e.DX <= 0 || e.DY >= 0 {
		t.Fatalf("motion raw (%v, %v) accelerated (%v, %v), want raw (10, -4)", e.DXRaw, e.DYRaw, e.DX, e.DY)
	}
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 1})
	mouse.Emit([3]int32{rigtest.EvKey, rigtest.BtnLeft, 0})
	for _, want := range []bool{true, false} {
		e = next(t, ch, PointerButton)
		if e.Button != rigtest.BtnLeft || e.Pressed != want {
			t.Fatalf("button %#x pressed %v, want BTN_LEFT %v", e.Button, e.Pressed, want)
		}
	}
	// One wheel detent up, with its high-resolution twin: libinput says
	// -120 (up is negative) and 15 degrees.
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelWheel, 1}, [3]int32{rigtest.EvRel, rigtest.RelWheelHiRes, 120})
	e = next(t, ch, PointerScrollWheel)
	if !e.HasAxis[AxisVertical] || e.V120[AxisVertical] != -120 || e.Scroll[AxisVertical] != -15 {
		t.Fatalf("wheel: axes %v v120 %v value %v, want vertical -120, -15", e.HasAxis, e.V120, e.Scroll)
	}
	// Half a detent in high resolution only: a v120 of -60.
	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelWheelHiRes, 60})
	e = next(t, ch, PointerScrollWheel)
	if e.V120[AxisVertical] != -60 {
		t.Fatalf("half detent: v120 %v, want -60", e.V120)
	}

	// Touch: one finger down at (2048, 1024) of 0..4095, moved, lifted.
	abs := func(code, v int32) [3]int32 { return [3]int32{rigtest.EvAbs, code, v} }
	ts.Emit(abs(rigtest.AbsMTSlot, 0), abs(rigtest.AbsMTTrackingID, 7), abs(rigtest.AbsMTPositionX, 2048),
		abs(rigtest.AbsMTPositionY, 1024), [3]int32{rigtest.EvKey, rigtest.BtnTouch, 1}, abs(rigtest.AbsX, 2048), abs(rigtest.AbsY, 1024))
	e = next(t, ch, TouchDown)
	if e.Slot != 0 || !near(e.X, 2048.0/4096) || !near(e.Y, 1024.0/4096) {
		t.Fatalf("touch down slot %d at (%v, %v), want 0 at (0.5, 0.25)", e.Slot, e.X, e.Y)
	}
	next(t, ch, TouchFrame)
	ts.Emit(abs(rigtest.AbsMTPositionX, 1024), abs(rigtest.AbsX, 1024))
	e = next(t, ch, TouchMotion)
	if e.Slot != 0 || !near(e.X, 1024.0/4096) || !near(e.Y, 1024.0/4096) {
		t.Fatalf("touch motion slot %d at (%v, %v), want 0 at (0.25, 0.25)", e.Slot, e.X, e.Y)
	}
	next(t, ch, TouchFrame)
	ts.Emit(abs(rigtest.AbsMTTrackingID, -1), [3]int32{rigtest.EvKey, rigtest.BtnTouch, 0})
	if e = next(t, ch, TouchUp); e.Slot != 0 {
		t.Fatalf("touch up slot %d, want 0", e.Slot)
	}
	next(t, ch, TouchFrame)

	// Unplug the mouse: removed, and its database entry with it; plug a
	// new one: added and working.
	devnum, err := os.ReadFile("/sys/class/input/" + mouse.Event + "/dev")
	if err != nil {
		t.Fatal(err)
	}
	db := udevDataDir + "/c" + strings.TrimSpace(string(devnum))
	if _, err := os.Stat(db); err != nil {
		t.Fatalf("no udev database entry for the mouse: %v", err)
	}
	if err := mouse.Close(); err != nil {
		t.Fatal(err)
	}
	if e = next(t, ch, DeviceRemoved); e.Device.Sysname != mouse.Event {
		t.Fatalf("removed %s, want %s", e.Device.Sysname, mouse.Event)
	}
	deadline := time.Now().Add(5 * time.Second)
	for _, err := os.Stat(db); err == nil; _, err = os.Stat(db) {
		if time.Now().After(deadline) {
			t.Fatalf("%s still there 5 s after the unplug", db)
		}
		time.Sleep(10 * time.Millisecond)
	}
	mouse2 := rigtest.Plug(t, rigtest.Mouse("minicomp test mouse 2"))
	added(t, ch, mouse2.Event)
	mouse2.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 3})
	if e = next(t, ch, PointerMotion); e.DXRaw != 3 {
		t.Fatalf("re-plugged mouse moved %v, want 3", e.DXRaw)
	}
	var names []string
	for _, d := range c.Devices() {
		names = append(names, d.Sysname)
	}
	for _, want := range []string{kb.Event, ts.Event, mouse2.Event} {
		if !slices.Contains(names, want) {
			t.Fatalf("devices %v, want %s among them", names, want)
		}
	}
	if slices.Contains(names, mouse.Event) && mouse.Event != mouse2.Event {
		t.Fatalf("devices %v still have the unplugged %s", names, mouse.Event)
	}
	n := len(names)

	// Suspend closes every device through the opener; Resume re-opens
	// them (a session's VT switch).
	if err := c.Suspend(); err != nil {
		t.Fatal(err)
	}
	for range n {
		next(t, ch, DeviceRemoved)
	}
	if len(c.Devices()) != 0 {
		t.Fatalf("devices %v while suspended", c.Devices())
	}
	// A device unplugged while away is simply not there on return; the
	// others come back.
	if err := mouse2.Close(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond) // the uevent is read while suspended
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	for range n - 1 {
		if e := next(t, ch, DeviceAdded); e.Device.Sysname == mouse2.Event {
			t.Fatalf("the mouse unplugged while suspended came back")
		}
	}
	kb.Key(31, true)
	if e = next(t, ch, KeyboardKey); e.Key != 31 {
		t.Fatalf("key after resume %d, want 31", e.Key)
	}
	kb.Key(31, false)
	next(t, ch, KeyboardKey)
}

// TestRigLatency measures from a uinput write to the event in Run's
// callback (the kernel's evdev, libinput's dispatch, minicomp's copy).
func TestRigLatency(t *testing.T) {
	requireRigLibinput(t)
	c, err := New(Options{Logger: rigtest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	ch := events(t, c)
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp latency mouse"))
	added(t, ch, mouse.Event)
	const n = 200
	lat := make([]time.Duration, 0, n)
	for range n {
		t0 := time.Now()
		mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 1})
		next(t, ch, PointerMotion)
		lat = append(lat, time.Since(t0))
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	t.Logf("uinput write → libinput event in Run: median %v, p90 %v, min %v, max %v over %d events",
		lat[n/2], lat[n*9/10], lat[0], lat[n-1], n)
	d := c.DispatchStats()
	t.Logf("libinput dispatch+copy per batch: %v mean over %d batches, %d events", d.Mean(), d.Batches, d.Events)
}

// TestRigSettings: the settings reach the devices. Natural scrolling
// turns a wheel step up into a positive one, the flat profile at speed 0
// moves a mouse 1:1, and tap-to-click on a touchpad (libinput's default
// is off) turns a short touch into a left click.
func TestRigSettings(t *testing.T) {
	requireRigLibinput(t)
	zero := 0.0
	for _, tap := range []Toggle{On, Default} {
		t.Run(map[Toggle]string{On: "tap", Default: "default"}[tap], func(t *testing.T) {
			c, err := New(Options{Logger: rigtest.Logger(), Settings: Settings{Tap: tap, NaturalScroll: On, AccelProfile: AccelFlat, AccelSpeed: &zero}})
			if err != nil {
				t.Fatal(err)
			}
			ch := events(t, c)
			mouse := rigtest.Plug(t, rigtest.Mouse("minicomp settings mouse"))
			added(t, ch, mouse.Event)
			pad := rigtest.Plug(t, rigtest.Touchpad("minicomp settings touchpad"))
			if d := added(t, ch, pad.Event); d.Caps&CapPointer == 0 {
				t.Fatalf("touchpad %+v has no pointer", *d)
			}
			mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelWheel, 1}, [3]int32{rigtest.EvRel, rigtest.RelWheelHiRes, 120})
			if e := next(t, ch, PointerScrollWheel); e.V120[AxisVertical] != 120 {
				t.Fatalf("natural scrolling: wheel up gave v120 %v, want +120", e.V120)
			}
			mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 7}, [3]int32{rigtest.EvRel, rigtest.RelY, -3})
			if e := next(t, ch, PointerMotion); e.DX != 7 || e.DY != -3 {
				t.Fatalf("flat profile at speed 0 moved (%v, %v), want (7, -3)", e.DX, e.DY)
			}
			abs := func(code, v int32) [3]int32 { return [3]int32{rigtest.EvAbs, code, v} }
			key := func(code, v int32) [3]int32 { return [3]int32{rigtest.EvKey, code, v} }
			pad.Emit(abs(rigtest.AbsMTSlot, 0), abs(rigtest.AbsMTTrackingID, 5), abs(rigtest.AbsMTPositionX, 500), abs(rigtest.AbsMTPositionY, 300),
				key(rigtest.BtnTouch, 1), key(rigtest.BtnToolFinger, 1), abs(rigtest.AbsX, 500), abs(rigtest.AbsY, 300))
			time.Sleep(30 * time.Millisecond)
			pad.Emit(abs(rigtest.AbsMTTrackingID, -1), key(rigtest.BtnTouch, 0), key(rigtest.BtnToolFinger, 0))
			timeout := time.After(time.Second)
			for {
				select {
				case e := <-ch:
					if e.Type != PointerButton {
						continue
					}
					if tap != On {
						t.Fatalf("a tap clicked (button %#x) with tapping at libinput's default (off)", e.Button)
					}
					if e.Button != rigtest.BtnLeft || !e.Pressed {
						t.Fatalf("tap gave button %#x pressed %v, want BTN_LEFT pressed", e.Button, e.Pressed)
					}
					return
				case <-timeout:
					if tap == On {
						t.Fatal("no click within 1 s of a tap with tap-to-click on")
					}
					return
				}
			}
		})
	}
}

// TestRigUdevBackend: libinput's udev backend (the one used where
// systemd-udevd runs) on a real device, without udevd: the path context
// classifies the keyboard and records it in udev's database first; the
// udev context then enumerates it from there. Hotplug through udevd's
// broadcasts: TestRigUdevdHotplug.
func TestRigUdevBackend(t *testing.T) {
	requireRigLibinput(t)
	kb := rigtest.Plug(t, rigtest.Keyboard("minicomp udev keyboard"))
	pc, err := New(Options{Logger: rigtest.Logger(), Backend: BackendPath})
	if err != nil {
		t.Fatal(err)
	}
	added(t, events(t, pc), kb.Event)
	uc, err := New(Options{Logger: rigtest.Logger(), Backend: BackendUdev})
	if err != nil {
		t.Fatal(err)
	}
	ch := events(t, uc)
	if d := added(t, ch, kb.Event); d.Caps&CapKeyboard == 0 {
		t.Fatalf("udev backend added %+v, want a keyboard", *d)
	}
	kb.Key(44, true)
	if e := next(t, ch, KeyboardKey); e.Key != 44 || !e.Pressed {
		t.Fatalf("key %d pressed %v through the udev backend, want 44 pressed", e.Key, e.Pressed)
	}
	kb.Key(44, false)
	next(t, ch, KeyboardKey)
}

// TestRigUdevdHotplug: with the host's systemd-udevd running in the guest
// (as on Raspberry Pi OS), New picks libinput's udev backend, and a mouse
// plugged after it started reaches it through udevd (udevd classifies
// it, writes its database entry and broadcasts it; minicomp writes
// nothing), moves, and goes away when unplugged.
func TestRigUdevdHotplug(t *testing.T) {
	requireRigLibinput(t)
	rigtest.CheckFDs(t)
	rigtest.StartUdevd(t)
	c, ch := autoContext(t, BackendUdev)
	t0 := time.Now()
	mouse := rigtest.Plug(t, rigtest.Mouse("minicomp udevd mouse"))
	if d := added(t, ch, mouse.Event); d.Caps&CapPointer == 0 || d.Caps&CapKeyboard != 0 {
		t.Fatalf("added %+v, want a pointer only", *d)
	}
	t.Logf("uinput mouse created → libinput added it through udevd: %v", time.Since(t0))
	devnum, err := os.ReadFile("/sys/class/input/" + mouse.Event + "/dev")
	if err != nil {
		t.Fatal(err)
	}
	db, err := os.ReadFile(udevDataDir + "/c" + strings.TrimSpace(string(devnum)))
	if err != nil || !strings.Contains(string(db), "E:ID_INPUT_MOUSE=1") {
		t.Fatalf("udevd's database entry for the mouse: %q %v", db, err)
	}
	if c.hot != nil {
		t.Fatal("the udev backend runs minicomp's own hotplug")
	}

	mouse.Emit([3]int32{rigtest.EvRel, rigtest.RelX, 7}, [3]int32{rigtest.EvRel, rigtest.RelY, 3})
	if e := next(t, ch, PointerMotion); e.DXRaw != 7 || e.DYRaw != 3 {
		t.Fatalf("motion raw (%v, %v), want (7, 3)", e.DXRaw, e.DYRaw)
	}
	if err := mouse.Close(); err != nil {
		t.Fatal(err)
	}
	for {
		if e := next(t, ch, DeviceRemoved); e.Device.Sysname == mouse.Event {
			break
		}
	}
	if _, err := os.Stat(udevDataDir + "/c" + strings.TrimSpace(string(devnum))); !os.IsNotExist(err) {
		t.Errorf("udevd's database entry outlived the mouse: %v", err)
	}
}
