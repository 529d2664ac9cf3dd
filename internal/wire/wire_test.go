package wire

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func pair(t *testing.T) (server *Conn, client int) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetNonblock(fds[0], true)
	s := NewConn(fds[0])
	t.Cleanup(func() { s.Close(); unix.Close(fds[1]) })
	return s, fds[1]
}

// A request with every argument type, sent with two fds, decodes back.
func TestRoundTripWithFDs(t *testing.T) {
	s, c := pair(t)
	e := Begin(nil, 7, 3)
	e.Int(-5)
	e.Uint(42)
	e.Fixed(FixedFromFloat(1.5))
	e.String("hello")
	e.Array([]byte{1, 2, 3})
	e.Object(9)
	e.NewID(10)
	msg, _, err := e.Finish()
	if err != nil {
		t.Fatal(err)
	}
	f1, _ := os.CreateTemp(t.TempDir(), "a")
	f2, _ := os.CreateTemp(t.TempDir(), "b")
	defer f1.Close()
	defer f2.Close()
	if err := unix.Sendmsg(c, msg, unix.UnixRights(int(f1.Fd()), int(f2.Fd())), nil, 0); err != nil {
		t.Fatal(err)
	}
	n, err := s.Read()
	if err != nil || n != len(msg) || len(s.inFDs) != 2 {
		t.Fatalf("read %d %v %v", n, s.inFDs, err)
	}
	if _, err := s.Read(); err != unix.EAGAIN {
		t.Fatalf("read with nothing sent: %v, want EAGAIN", err)
	}
	h, d, ok, err := s.Next()
	if !ok || err != nil || h.Object != 7 || h.Opcode != 3 || int(h.Size) != len(msg) {
		t.Fatalf("header %+v %v %v", h, ok, err)
	}
	if d.Int() != -5 || d.Uint() != 42 || d.Fixed().Float() != 1.5 || d.String() != "hello" {
		t.Fatal("scalar args")
	}
	if a := d.Array(); string(a) != "\x01\x02\x03" {
		t.Fatalf("array %v", a)
	}
	if d.Object() != 9 || d.NewID() != 10 {
		t.Fatal("ids")
	}
	fd := d.FD()
	if err := d.Err(); err != nil {
		t.Fatal(err)
	}
	unix.Close(fd)
	if _, _, ok, _ := s.Next(); ok {
		t.Fatal("a second message out of nothing")
	}
}

func TestDecoderRejects(t *testing.T) {
	cases := map[string][]byte{
		"truncated uint":    {1, 2},
		"array overrun":     {8, 0, 0, 0, 'a', 'b'},
		"string no NUL":     {4, 0, 0, 0, 'a', 'b', 'c', 'd'},
		"string inner NUL":  {4, 0, 0, 0, 'a', 0, 'c', 0},
		"huge array length": {0xff, 0xff, 0xff, 0xff},
	}
	for name, body := range cases {
		d := NewDecoder(body, nil)
		d.Uint()
		if name != "truncated uint" {
			d = NewDecoder(body, nil)
			_ = d.String()
		}
		if err := d.Err(); !errors.Is(err, ErrProtocol) {
			t.Errorf("%s: %v", name, err)
		}
	}
	d := NewDecoder(nil, nil)
	d.FD()
	if !errors.Is(d.Err(), ErrProtocol) {
		t.Error("fd without fds accepted")
	}
	d = NewDecoder([]byte{1, 0, 0, 0, 2, 0, 0, 0}, nil)
	d.Uint()
	if !errors.Is(d.Err(), ErrProtocol) {
		t.Error("leftover bytes accepted")
	}
	if _, err := ParseHeader([]byte{1, 0, 0, 0, 0, 0, 6, 0}); !errors.Is(err, ErrProtocol) {
		t.Error("size 6 accepted")
	}
}

func TestEventFlushWithFD(t *testing.T) {
	s, c := pair(t)
	f, _ := os.CreateTemp(t.TempDir(), "keymap")
	defer f.Close()
	e := s.Begin(3, 0)
	e.Uint(1)
	e.FD(int(f.Fd()))
	e.Uint(100)
	if err := s.End(e); err != nil {
		t.Fatal(err)
	}
	if err := s.Flush(); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 64)
	oob := make([]byte, unix.CmsgSpace(4))
	n, oobn, _, _, err := unix.Recvmsg(c, buf, oob, 0)
	if err != nil || n != 16 || oobn == 0 {
		t.Fatalf("client got %d bytes, %d oob, %v", n, oobn, err)
	}
	msgs, _ := unix.ParseSocketControlMessage(oob[:oobn])
	fds, _ := unix.ParseUnixRights(&msgs[0])
	unix.Close(fds[0])
	if s.Pending() {
		t.Error("output left after flush")
	}
}

func TestListenLockAndStaleSocket(t *testing.T) {
	dir := t.TempDir()
	l1, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	l2, err := Listen(dir)
	if err != nil {
		t.Fatal(err)
	}
	if l1.Name != "wayland-0" || l2.Name != "wayland-1" {
		t.Fatalf("%s %s", l1.Name, l2.Name)
	}
	l2.Close()
	// A stale socket file without a held lock is replaced.
	os.WriteFile(filepath.Join(dir, "wayland-1"), nil, 0o600)
	l3, err := Listen(dir)
	if err != nil || l3.Name != "wayland-1" {
		t.Fatalf("%v %v", l3, err)
	}
	l3.Close()
	l1.Close()
	if _, err := Listen(""); err == nil {
		t.Error("empty runtime dir accepted")
	}
}

func FuzzNext(f *testing.F) {
	e := Begin(nil, 1, 0)
	e.String("wl_compositor")
	e.Uint(4)
	msg, _, _ := e.Finish()
	f.Add(msg)
	f.Add([]byte{1, 0, 0, 0, 0, 0, 8, 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		c := &Conn{fd: -1}
		c.Feed(b, nil)
		for i := 0; i < 100; i++ {
			h, d, ok, err := c.Next()
			if err != nil || !ok {
				return
			}
			// Decode as if every message were (string, uint, array, fd).
			_ = h
			_ = d.String()
			d.Uint()
			d.Array()
			d.FD()
			_ = d.Err()
		}
	})
}
