package libinput

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// requireLibinput skips where libinput is missing, unless
// MINICOMP_REQUIRE_LIBINPUT=1 (test/all.sh) makes that a failure.
func requireLibinput(t *testing.T) {
	t.Helper()
	if _, err := load(); err != nil {
		if os.Getenv("MINICOMP_REQUIRE_LIBINPUT") == "1" {
			t.Fatalf("MINICOMP_REQUIRE_LIBINPUT=1 but: %v", err)
		}
		t.Skip(err)
	}
}

// TestPathContextNoDevices: a path context on a machine without input
// devices (the build host) starts, runs, stops on its context and
// closes, through the real library and its callbacks.
func TestPathContextNoDevices(t *testing.T) {
	requireLibinput(t)
	old := sysClassInput
	sysClassInput = t.TempDir()
	defer func() { sysClassInput = old }()
	c, err := New(Options{Backend: BackendPath, Logger: rigtest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Devices()) != 0 {
		t.Fatalf("devices %v in an empty sysfs", c.Devices())
	}
	lifecycle(t, c, func(e *Event) { t.Errorf("unexpected event %+v", e) })
}

// lifecycle runs c until a deadline, suspends and resumes it, closes it
// and checks that Run refuses to start again.
func lifecycle(t *testing.T, c *Context, fn func(*Event)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if err := c.Run(ctx, fn); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v, want the deadline", err)
	}
	if err := c.Suspend(); err != nil {
		t.Fatal(err)
	}
	if err := c.Resume(); err != nil {
		t.Fatal(err)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if err := c.Run(context.Background(), func(*Event) {}); !errors.Is(err, ErrClosed) {
		t.Fatalf("Run after Close: %v, want ErrClosed", err)
	}
}

func TestParseBitmap(t *testing.T) {
	b, err := ParseBitmap("1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe", 64)
	if err != nil {
		t.Fatal(err)
	}
	for _, bit := range []int{1, 30, 63, 64 + 0, 3*64 + 0, 3*64 + 48} {
		if !b.Has(bit) {
			t.Errorf("bit %d not set", bit)
		}
	}
	if b.Has(0) || b.Has(4*64) || b.Has(-1) {
		t.Error("bits set that are not in the bitmap")
	}
	b32, err := ParseBitmap("3 80000001", 32)
	if err != nil {
		t.Fatal(err)
	}
	if !b32.Has(0) || !b32.Has(31) || !b32.Has(32) || !b32.Has(33) || b32.Has(34) {
		t.Errorf("32-bit words: %x", b32)
	}
	for _, bad := range []string{"xyz", "1 2 zz", "10000000000000000"} {
		if _, err := ParseBitmap(bad, 64); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := ParseBitmap("100000000", 32); err == nil {
		t.Error("a 33-bit word parsed as 32-bit")
	}
}

func bitmap(bits ...int) Bitmap {
	var b Bitmap
	for _, n := range bits {
		for n/64 >= len(b) {
			b = append(b, 0)
		}
		b[n/64] |= 1 << (n % 64)
	}
	return b
}

func rangeBits(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestClassify checks the kinds udev's input_id gives the devices the
// rig tests plug and a few real ones.
func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		name string
		caps Capabilities
		want []string
	}{
		{"keyboard", Capabilities{EV: bitmap(0, evKey), Key: bitmap(rangeBits(1, 249)...)},
			[]string{"ID_INPUT=1", "ID_INPUT_KEY=1", "ID_INPUT_KEYBOARD=1"}},
		{"mouse", Capabilities{EV: bitmap(0, evKey, evRel), Key: bitmap(0x110, 0x111, 0x112), Rel: bitmap(relX, relY, relWheel, 0x0b)},
			[]string{"ID_INPUT=1", "ID_INPUT_MOUSE=1"}},
		{"touchscreen", Capabilities{EV: bitmap(0, evKey, 3), Key: bitmap(btnTouch), Abs: bitmap(absX, absY, absMTSlot, absMTPosX, absMTPosY, 0x39), Props: bitmap(propDirect)},
			[]string{"ID_INPUT=1", "ID_INPUT_TOUCHSCREEN=1"}},
		{"touchpad", Capabilities{EV: bitmap(0, evKey, 3), Key: bitmap(0x110, btnToolFinger, btnTouch), Abs: bitmap(absX, absY, absMTSlot, absMTPosX, absMTPosY)},
			[]string{"ID_INPUT=1", "ID_INPUT_TOUCHPAD=1"}},
		{"QEMU tablet (absolute mouse)", Capabilities{EV: bitmap(0, evKey, evRel, 3), Key: bitmap(0x110, 0x111, 0x112), Rel: bitmap(relWheel), Abs: bitmap(absX, absY)},
			[]string{"ID_INPUT=1", "ID_INPUT_MOUSE=1"}},
		{"power button", Capabilities{EV: bitmap(0, evKey), Key: bitmap(116)}, []string{"ID_INPUT=1", "ID_INPUT_KEY=1"}},
		{"lid switch", Capabilities{EV: bitmap(0, evSW), SW: bitmap(0)}, []string{"ID_INPUT=1", "ID_INPUT_SWITCH=1"}},
		{"accelerometer", Capabilities{EV: bitmap(0, 3), Abs: bitmap(absX, absY, absZ)}, []string{"ID_INPUT=1", "ID_INPUT_ACCELEROMETER=1"}},
		{"nothing", Capabilities{EV: bitmap(0)}, nil},
	} {
		if got := Classify(tc.caps); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// FuzzParseBitmap: a sysfs capability file of any content is parsed or
// refused, and what parses answers Has for any bit.
func FuzzParseBitmap(f *testing.F) {
	f.Add("1000000000007 ff9f207ac14057ff febeffdfffefffff fffffffffffffffe", true)
	f.Add("3 80000001", false)
	f.Fuzz(func(t *testing.T, s string, wide bool) {
		w := 32
		if wide {
			w = 64
		}
		b, err := ParseBitmap(s, w)
		if err != nil {
			return
		}
		for _, n := range []int{-1, 0, 63, 64, 767, 4095} {
			b.Has(n)
		}
		Classify(Capabilities{EV: b, Key: b, Rel: b, Abs: b, SW: b, Props: b})
	})
}

// TestUdevContext: libinput's udev backend (what a system with
// systemd-udevd uses) starts, assigns the seat and closes. Without a
// udev daemon here its monitor never speaks and devices without a
// database entry are not initialized: this checks the calls, not devices.
func TestUdevContext(t *testing.T) {
	requireLibinput(t)
	c, err := New(Options{Backend: BackendUdev, Logger: rigtest.Logger()})
	if err != nil {
		t.Fatal(err)
	}
	if c.Backend() != BackendUdev {
		t.Fatalf("backend %v", c.Backend())
	}
	lifecycle(t, c, func(*Event) {})
}
