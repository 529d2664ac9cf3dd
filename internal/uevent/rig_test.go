package uevent

import (
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// trigger is /dev/null's uevent file: writing an action to it makes the
// kernel send a synthetic uevent for the device.
const trigger = "/sys/class/mem/null/uevent"

func triggerNull(t *testing.T, n int) {
	t.Helper()
	f, err := os.OpenFile(trigger, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for i := range n {
		if _, err := fmt.Fprintf(f, "change 00000000-0000-0000-0000-%012d", i); err != nil {
			t.Fatalf("uevent %d: %v", i, err)
		}
	}
}

// TestRigRead: a uevent the kernel sends arrives parsed, both waiting
// (Read) and polled (ReadQueued), and Close ends a waiting Read.
func TestRigRead(t *testing.T) {
	rigtest.Require(t)
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	if ev, ok, err := c.ReadQueued(); ok || err != nil {
		t.Fatalf("empty socket gave %+v %v %v", ev, ok, err)
	}
	triggerNull(t, 1)
	want := Event{Action: "change", DevPath: "/devices/virtual/mem/null", Subsystem: "mem", DevName: "null", Major: 1, Minor: 3, Synthetic: true}
	if ev, err := c.Read(); err != nil || ev != want {
		t.Fatalf("Read: %+v %v, want %+v", ev, err, want)
	}
	triggerNull(t, 1)
	fds := []unix.PollFd{{Fd: int32(c.Fd()), Events: unix.POLLIN}}
	if n, err := unix.Poll(fds, 5000); n != 1 || err != nil {
		t.Fatalf("poll: %d %v", n, err)
	}
	if ev, ok, err := c.ReadQueued(); !ok || err != nil || ev != want {
		t.Fatalf("ReadQueued: %+v %v %v, want %+v", ev, ok, err, want)
	}
	done := make(chan error)
	go func() {
		_, err := c.Read()
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	c.Close()
	select {
	case err := <-done:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("Read after Close: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not end Read")
	}
}

// TestRigOverflow: uevents beyond the receive buffer are reported as
// ENOBUFS, after which the socket reads on.
func TestRigOverflow(t *testing.T) {
	rigtest.Require(t)
	c, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	got, err := unix.GetsockoptInt(c.Fd(), unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil || got < rcvbuf {
		t.Errorf("receive buffer %d %v, want %d (root forces it)", got, err, rcvbuf)
	}
	const sent = 3000 // 1 MiB holds some 1600 of these
	triggerNull(t, sent)
	var read, lost int
	for {
		_, ok, err := c.ReadQueued()
		if errors.Is(err, unix.ENOBUFS) {
			lost++
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			break
		}
		read++
	}
	t.Logf("%d uevents sent, %d read, %d overflow reports", sent, read, lost)
	if lost == 0 || read == 0 || read >= sent {
		t.Fatalf("want an overflow and uevents around it: %d read, %d overflows", read, lost)
	}
	triggerNull(t, 1)
	if ev, err := c.Read(); err != nil || ev.DevName != "null" {
		t.Fatalf("after the overflow: %+v %v", ev, err)
	}
}
