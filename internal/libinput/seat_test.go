package libinput

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// A udev database entry's ID_SEAT names the device's seat; none (or an
// empty one) is seat0.
func TestUdevSeat(t *testing.T) {
	for _, c := range []struct{ db, want string }{
		{"I:123\nE:ID_INPUT=1\nE:ID_INPUT_MOUSE=1\nG:seat\n", "seat0"},
		{"I:123\nE:ID_INPUT=1\nE:ID_SEAT=seat1\nG:seat\nQ:seat\nV:1\n", "seat1"},
		{"E:ID_SEAT=seat-usb\n", "seat-usb"},
		{"E:ID_SEAT=\n", "seat0"},
		{"E:ID_SEATX=seat2\nE:XID_SEAT=seat3", "seat0"},
		{"E:ID_SEAT=seat4", "seat4"}, // no final newline
		{"", "seat0"},
	} {
		if got := udevSeat([]byte(c.db)); got != c.want {
			t.Errorf("udevSeat(%q) = %q, want %q", c.db, got, c.want)
		}
	}
}

// The path backend leaves a device of another seat alone: two uinput
// mice, one with ID_SEAT=seat1 in its udev database entry (written by
// the test, standing in for udevd and a seat rule), one without; a
// seat0 context takes only the second, a seat1 context only the first.
func TestRigPathSeat(t *testing.T) {
	requireRigLibinput(t)
	ctl := filepath.Join(t.TempDir(), "control")
	if err := os.WriteFile(ctl, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := udevControl
	udevControl = ctl // udevd "runs": minicomp writes no database entries
	t.Cleanup(func() { udevControl = old })

	entry := func(u *rigtest.UInput, props ...string) {
		devnum, err := os.ReadFile(filepath.Join(sysClassInput, u.Event, "dev"))
		if err != nil {
			t.Fatal(err)
		}
		db := filepath.Join(udevDataDir, "c"+strings.TrimSpace(string(devnum)))
		if err := writeUdevDB(db, append([]string{"ID_INPUT=1", "ID_INPUT_MOUSE=1"}, props...)); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.Remove(db) })
	}
	other := rigtest.Plug(t, rigtest.Mouse("minicomp seat1 mouse"))
	entry(other, "ID_SEAT=seat1")
	ours := rigtest.Plug(t, rigtest.Mouse("minicomp seat0 mouse"))
	entry(ours)

	for _, c := range []struct {
		seat      string
		take, not *rigtest.UInput
	}{{"seat0", ours, other}, {"seat1", other, ours}} {
		li, err := New(Options{Seat: c.seat, Backend: BackendPath, Logger: rigtest.Logger()})
		if err != nil {
			t.Fatal(err)
		}
		ch := events(t, li)
		added(t, ch, c.take.Event)
		// Both were scanned in New: every added event is queued by now.
		timeout := time.After(300 * time.Millisecond)
	drain:
		for {
			select {
			case e := <-ch:
				if e.Type == DeviceAdded && e.Device.Sysname == c.not.Event {
					t.Errorf("%s context took %s, of the other seat", c.seat, c.not.Event)
				}
			case <-timeout:
				break drain
			}
		}
		li.mu.Lock()
		for _, d := range li.devices {
			if d.Sysname == c.not.Event {
				t.Errorf("%s context has %s, of the other seat", c.seat, d.Sysname)
			}
		}
		li.mu.Unlock()
	}
}
