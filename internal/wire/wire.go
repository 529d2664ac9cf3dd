// Package wire is the server side of the Wayland wire protocol: a listening
// socket in $XDG_RUNTIME_DIR (wayland-N with its lock file), client
// connections that read framed messages with their file descriptors
// (SCM_RIGHTS, many per read), argument decoding with bounds checks, and
// buffered event encoding.
//
// A message is an 8-byte header (object id; size<<16 | opcode) and 32-bit
// aligned arguments: int, uint, fixed (24.8), string (length incl. NUL,
// padded), array (length, padded), object and new_id (ids), fd (out of band).
package wire

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// MaxMessageSize is the largest message libwayland accepts or sends.
const MaxMessageSize = 4096

// MaxFDsPerMessage bounds the fds one sendmsg carries (libwayland's limit).
const MaxFDsPerMessage = 28

// ErrProtocol marks malformed input from a client; the compositor answers
// it with wl_display.error and a disconnect.
var ErrProtocol = errors.New("wayland protocol error")

// Header is a message header.
type Header struct {
	Object uint32
	Opcode uint16
	Size   uint16 // whole message, header included
}

// ParseHeader reads a header from the first 8 bytes of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 8 {
		return Header{}, fmt.Errorf("%w: %d bytes, header needs 8", ErrProtocol, len(b))
	}
	w := binary.NativeEndian.Uint32(b[4:])
	h := Header{Object: binary.NativeEndian.Uint32(b), Opcode: uint16(w), Size: uint16(w >> 16)}
	if h.Size < 8 || h.Size%4 != 0 {
		return h, fmt.Errorf("%w: message size %d", ErrProtocol, h.Size)
	}
	return h, nil
}

// Fixed is a signed 24.8 fixed-point number.
type Fixed int32

// FixedFromFloat converts a float64 to Fixed.
func FixedFromFloat(f float64) Fixed { return Fixed(f * 256) }

// Float returns the value as a float64.
func (f Fixed) Float() float64 { return float64(f) / 256 }

// Decoder reads one message's arguments in order. The first error sticks:
// check Err once after reading every argument.
type Decoder struct {
	b   []byte
	fds *[]int // the connection's queue of received fds
	err error
}

// NewDecoder decodes body (the bytes after the header), taking fds from the
// front of fds as fd arguments are read.
func NewDecoder(body []byte, fds *[]int) Decoder { return Decoder{b: body, fds: fds} }

func (d *Decoder) fail(format string, a ...any) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: "+format, append([]any{ErrProtocol}, a...)...)
	}
}

// Err returns the first decoding error, or an error if bytes are left over.
func (d *Decoder) Err() error {
	if d.err == nil && len(d.b) != 0 {
		d.fail("%d bytes after the last argument", len(d.b))
	}
	return d.err
}

// Uint reads a uint argument.
func (d *Decoder) Uint() uint32 {
	if d.err != nil {
		return 0
	}
	if len(d.b) < 4 {
		d.fail("message truncated")
		return 0
	}
	v := binary.NativeEndian.Uint32(d.b)
	d.b = d.b[4:]
	return v
}

// Int reads an int argument.
func (d *Decoder) Int() int32 { return int32(d.Uint()) }

// Fixed reads a fixed argument.
func (d *Decoder) Fixed() Fixed { return Fixed(d.Uint()) }

// Object reads an object id (0 is null).
func (d *Decoder) Object() uint32 { return d.Uint() }

// NewID reads a new_id.
func (d *Decoder) NewID() uint32 { return d.Uint() }

// Array reads an array argument; the result aliases the message buffer.
func (d *Decoder) Array() []byte {
	n := d.Uint()
	if d.err != nil {
		return nil
	}
	padded := (uint64(n) + 3) &^ 3
	if padded > uint64(len(d.b)) {
		d.fail("array of %d bytes overruns the message", n)
		return nil
	}
	v := d.b[:n:n]
	d.b = d.b[padded:]
	return v
}

// String reads a string argument (nullable strings decode "" for null).
func (d *Decoder) String() string {
	b := d.Array()
	if d.err != nil || len(b) == 0 {
		return ""
	}
	if b[len(b)-1] != 0 {
		d.fail("string not NUL-terminated")
		return ""
	}
	b = b[:len(b)-1]
	for _, c := range b {
		if c == 0 {
			d.fail("string with an embedded NUL")
			return ""
		}
	}
	return string(b)
}

// FD takes the next received file descriptor; the caller owns it.
func (d *Decoder) FD() int {
	if d.err != nil {
		return -1
	}
	if d.fds == nil || len(*d.fds) == 0 {
		d.fail("fd argument without a file descriptor")
		return -1
	}
	fd := (*d.fds)[0]
	*d.fds = (*d.fds)[1:]
	return fd
}

// Encoder builds one event into a buffer.
type Encoder struct {
	b     []byte
	start int
	fds   []int
}

// Begin starts an event for object with opcode, appending to buf.
func Begin(buf []byte, object uint32, opcode uint16) Encoder {
	e := Encoder{b: buf, start: len(buf)}
	e.b = binary.NativeEndian.AppendUint32(e.b, object)
	e.b = binary.NativeEndian.AppendUint32(e.b, uint32(opcode))
	return e
}

// Uint appends a uint.
func (e *Encoder) Uint(v uint32) { e.b = binary.NativeEndian.AppendUint32(e.b, v) }

// Int appends an int.
func (e *Encoder) Int(v int32) { e.Uint(uint32(v)) }

// Fixed appends a fixed.
func (e *Encoder) Fixed(v Fixed) { e.Uint(uint32(v)) }

// Object appends an object id.
func (e *Encoder) Object(id uint32) { e.Uint(id) }

// NewID appends a new_id.
func (e *Encoder) NewID(id uint32) { e.Uint(id) }

// Array appends an array.
func (e *Encoder) Array(v []byte) {
	e.Uint(uint32(len(v)))
	e.b = append(e.b, v...)
	for len(e.b)%4 != 0 {
		e.b = append(e.b, 0)
	}
}

// String appends a string.
func (e *Encoder) String(s string) {
	e.Uint(uint32(len(s) + 1))
	e.b = append(e.b, s...)
	e.b = append(e.b, 0)
	for len(e.b)%4 != 0 {
		e.b = append(e.b, 0)
	}
}

// FD queues a file descriptor to send with the event (duplicated by the
// kernel on send; the caller keeps its own).
func (e *Encoder) FD(fd int) { e.fds = append(e.fds, fd) }

// Finish writes the size into the header and returns the buffer and fds.
func (e *Encoder) Finish() ([]byte, []int, error) {
	size := len(e.b) - e.start
	if size > MaxMessageSize {
		return e.b[:e.start], nil, fmt.Errorf("event of %d bytes exceeds %d", size, MaxMessageSize)
	}
	w := binary.NativeEndian.Uint32(e.b[e.start+4:])
	binary.NativeEndian.PutUint32(e.b[e.start+4:], uint32(size)<<16|w&0xffff)
	return e.b, e.fds, nil
}
