package wire

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Listener is a Wayland display socket: $XDG_RUNTIME_DIR/wayland-N with its
// wayland-N.lock held (flock) for the socket's life.
type Listener struct {
	Name string // "wayland-N", the WAYLAND_DISPLAY for clients
	Path string
	fd   int
	lock int
}

// Listen creates the first free wayland-N socket in dir (usually
// $XDG_RUNTIME_DIR). A stale socket whose lock is free is replaced.
func Listen(dir string) (*Listener, error) {
	if dir == "" {
		return nil, errors.New("XDG_RUNTIME_DIR is not set")
	}
	for n := 0; n < 32; n++ {
		name := "wayland-" + strconv.Itoa(n)
		path := filepath.Join(dir, name)
		lock, err := unix.Open(path+".lock", unix.O_CREAT|unix.O_RDWR|unix.O_CLOEXEC, 0o660)
		if err != nil {
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		if err := unix.Flock(lock, unix.LOCK_EX|unix.LOCK_NB); err != nil {
			unix.Close(lock)
			continue // another compositor owns this name
		}
		os.Remove(path) // stale: its owner's lock is gone
		fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK, 0)
		if err != nil {
			unix.Close(lock)
			return nil, fmt.Errorf("socket: %w", err)
		}
		if err := unix.Bind(fd, &unix.SockaddrUnix{Name: path}); err != nil {
			unix.Close(fd)
			unix.Close(lock)
			return nil, fmt.Errorf("bind %s: %w", path, err)
		}
		if err := unix.Listen(fd, 128); err != nil {
			unix.Close(fd)
			unix.Close(lock)
			os.Remove(path)
			return nil, fmt.Errorf("listen %s: %w", path, err)
		}
		return &Listener{Name: name, Path: path, fd: fd, lock: lock}, nil
	}
	return nil, fmt.Errorf("no free wayland-N socket name in %s", dir)
}

// FD returns the listening socket (non-blocking), for polling.
func (l *Listener) FD() int { return l.fd }

// Accept accepts one client; it returns unix.EAGAIN when none is waiting.
func (l *Listener) Accept() (*Conn, error) {
	fd, _, err := unix.Accept4(l.fd, unix.SOCK_CLOEXEC|unix.SOCK_NONBLOCK)
	if err != nil {
		return nil, err
	}
	return NewConn(fd), nil
}

// Close removes the socket and releases the lock.
func (l *Listener) Close() error {
	if l == nil || l.fd < 0 {
		return nil
	}
	os.Remove(l.Path)
	os.Remove(l.Path + ".lock")
	err := errors.Join(unix.Close(l.fd), unix.Close(l.lock))
	l.fd = -1
	return err
}

// Conn is one client connection, owned by one goroutine.
type Conn struct {
	fd     int
	oob    []byte // Read's control-message buffer
	msg    unix.Msghdr
	iov    unix.Iovec
	in     []byte // unread input, inside inBuf
	inBuf  []byte
	inFDs  []int
	out    []byte
	outFDs []int
	closed bool
}

// MaxOutput is how much unsent output a client may leave before it is
// disconnected (it stopped reading).
const MaxOutput = 4 << 20

// MaxInputFDs bounds the fds a client may send ahead of the messages that
// use them.
const MaxInputFDs = 1024

// NewConn wraps a connected, non-blocking unix socket.
func NewConn(fd int) *Conn { return &Conn{fd: fd} }

// FD returns the socket.
func (c *Conn) FD() int { return c.fd }

// Read reads what the socket holds (up to MaxReadPerCall bytes) into the
// connection's input, with the fds sent along. It never blocks: with
// nothing to read it returns unix.EAGAIN. The end of the stream is
// unix.ECONNRESET; too many queued fds is ErrProtocol.
func (c *Conn) Read() (int, error) {
	if c.oob == nil {
		c.oob = make([]byte, unix.CmsgSpace(MaxFDsPerMessage*4))
	}
	total := 0
	for total < MaxReadPerCall {
		c.makeRoom(4096)
		buf := c.in[len(c.in):cap(c.in)]
		n, oobn, err := c.recvmsg(buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			if err == unix.EAGAIN && total > 0 {
				return total, nil
			}
			return total, err
		}
		if oobn > 0 {
			if err := c.takeFDs(c.oob[:oobn]); err != nil {
				return total, err
			}
		}
		if n == 0 && oobn == 0 {
			return total, unix.ECONNRESET
		}
		c.in = c.in[:len(c.in)+n]
		total += n
	}
	return total, nil
}

// recvmsg is recvmsg(2) without a blocking wait, reusing the connection's
// message header (unix.Recvmsg allocates one per call). Like sendmsg it
// is a raw system call: it never blocks (MSG_DONTWAIT), and a
// syscall.Syscall would wake the runtime's sysmon thread after an idle
// spell, to poll every 20 µs while the server works (see
// internal/server's loop).
func (c *Conn) recvmsg(buf []byte) (n, oobn int, err error) {
	return c.rawmsg(unix.SYS_RECVMSG, buf, c.oob[:], unix.MSG_CMSG_CLOEXEC|unix.MSG_DONTWAIT)
}

// rawmsg makes the raw system call sysno (recvmsg or sendmsg) on b and
// oob (none when empty) with the connection's message header: the bytes
// moved and the control bytes received.
func (c *Conn) rawmsg(sysno uintptr, b, oob []byte, flags int) (n, oobn int, err error) {
	c.iov.Base = &b[0]
	c.iov.SetLen(len(b))
	c.msg.Iov = &c.iov
	c.msg.SetIovlen(1)
	c.msg.Control = nil
	c.msg.SetControllen(0)
	if len(oob) > 0 {
		c.msg.Control = &oob[0]
		c.msg.SetControllen(len(oob))
	}
	c.msg.Flags = 0
	r, _, e := unix.RawSyscall(sysno, uintptr(c.fd), uintptr(unsafe.Pointer(&c.msg)), uintptr(flags))
	oobn = int(c.msg.Controllen)
	c.iov.Base, c.msg.Iov, c.msg.Control = nil, nil, nil // keep no buffer alive
	if e != 0 {
		return 0, 0, e
	}
	return int(r), oobn, nil
}

// MaxReadPerCall bounds what one Read takes, so one busy client cannot
// starve the others.
const MaxReadPerCall = 64 << 10

// takeFDs queues the fds of SCM_RIGHTS control messages.
func (c *Conn) takeFDs(oob []byte) error {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return nil
	}
	for _, m := range msgs {
		if fds, err := unix.ParseUnixRights(&m); err == nil {
			c.inFDs = append(c.inFDs, fds...)
		}
	}
	if len(c.inFDs) > MaxInputFDs {
		return fmt.Errorf("%w: %d file descriptors queued", ErrProtocol, len(c.inFDs))
	}
	return nil
}

// Feed appends received bytes and fds to the connection's input.
func (c *Conn) Feed(b []byte, fds []int) error {
	c.makeRoom(len(b))
	c.in = append(c.in, b...)
	c.inFDs = append(c.inFDs, fds...)
	if len(c.inFDs) > MaxInputFDs {
		return fmt.Errorf("%w: %d file descriptors queued", ErrProtocol, len(c.inFDs))
	}
	return nil
}

// Next returns the next complete message in the input: its header and a
// decoder for its arguments (valid until the next call). ok is false when
// the input holds no complete message.
func (c *Conn) Next() (h Header, d Decoder, ok bool, err error) {
	if len(c.in) < 8 {
		c.compact()
		return h, d, false, nil
	}
	h, err = ParseHeader(c.in)
	if err != nil {
		return h, d, false, err
	}
	if int(h.Size) > len(c.in) {
		return h, d, false, nil
	}
	body := c.in[8:h.Size]
	c.in = c.in[h.Size:]
	return h, NewDecoder(body, &c.inFDs), true, nil
}

// compact moves unread input to the start of the input buffer.
func (c *Conn) compact() {
	if len(c.in) == 0 {
		c.in = c.inBuf[:0]
		return
	}
	if &c.in[0] != &c.inBuf[0] {
		c.in = c.inBuf[:copy(c.inBuf, c.in)]
	}
}

// makeRoom makes at least n bytes free after the unread input, reusing
// the input buffer (moving unread bytes to its start) before growing it.
func (c *Conn) makeRoom(n int) {
	if cap(c.in)-len(c.in) >= n {
		return
	}
	if len(c.in)+n <= cap(c.inBuf) {
		c.compact()
		return
	}
	grown := make([]byte, len(c.in), 2*len(c.in)+n+8192)
	copy(grown, c.in)
	c.inBuf, c.in = grown[:cap(grown)], grown
}

// Begin starts an event into the connection's output buffer.
func (c *Conn) Begin(object uint32, opcode uint16) Encoder { return Begin(c.out, object, opcode) }

// End queues an event built with Begin.
func (c *Conn) End(e Encoder) error {
	b, fds, err := e.Finish()
	c.out = b
	if err != nil {
		return err
	}
	for _, fd := range fds {
		dup, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("dup fd for an event: %w", err)
		}
		c.outFDs = append(c.outFDs, dup)
	}
	if len(c.out) > MaxOutput {
		return fmt.Errorf("client stopped reading: %d bytes of events queued", len(c.out))
	}
	return nil
}

// Flush writes queued events; what the socket does not take stays queued.
func (c *Conn) Flush() error {
	for len(c.out) > 0 || len(c.outFDs) > 0 {
		var oob []byte
		nfds := min(len(c.outFDs), MaxFDsPerMessage)
		if nfds > 0 {
			oob = unix.UnixRights(c.outFDs[:nfds]...)
		}
		chunk := c.out
		if len(chunk) == 0 {
			return fmt.Errorf("%d fds queued without bytes", len(c.outFDs))
		}
		n, err := c.sendmsg(chunk, oob)
		if err == unix.EAGAIN {
			return nil
		}
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return err
		}
		for _, fd := range c.outFDs[:nfds] {
			unix.Close(fd)
		}
		c.outFDs = c.outFDs[nfds:]
		// Keep unsent bytes at the start of the buffer, so its capacity
		// is reused (partial sends are rare: a full socket).
		c.out = c.out[:copy(c.out, c.out[n:])]
	}
	return nil
}

// sendmsg is sendmsg(2) without a blocking wait (MSG_DONTWAIT), made raw
// for the reason recvmsg is, reusing the connection's message header.
func (c *Conn) sendmsg(b, oob []byte) (int, error) {
	n, _, err := c.rawmsg(unix.SYS_SENDMSG, b, oob, unix.MSG_NOSIGNAL|unix.MSG_DONTWAIT)
	return n, err
}

// Pending reports whether events wait to be flushed.
func (c *Conn) Pending() bool { return len(c.out) > 0 }

// Close closes the socket and every fd still queued either way.
func (c *Conn) Close() error {
	if c.closed {
		return nil
	}
	c.closed = true
	for _, fd := range c.inFDs {
		unix.Close(fd)
	}
	for _, fd := range c.outFDs {
		unix.Close(fd)
	}
	c.inFDs, c.outFDs = nil, nil
	return unix.Close(c.fd)
}
