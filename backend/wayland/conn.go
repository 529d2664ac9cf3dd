package wayland

import (
	"net"
	"reflect"
	"unsafe"

	"github.com/neurlang/wayland/wl"
)

// libConn returns the socket of a wl.Context, or nil. The library has no
// way to interrupt a Context.Run blocked in a read, and its Close races
// with that read (it clears the field the reader uses, without the lock).
// With the socket, Close sets a read deadline instead: the blocked read
// returns, the event loop sees it is stopping and ends, and only then is
// the Context closed. Read once, before the loop starts. If a later
// version of the library renames the field, nil is returned and Close
// falls back to a wl_display.sync roundtrip.
func libConn(ctx *wl.Context) *net.UnixConn {
	v := reflect.ValueOf(ctx).Elem().FieldByName("conn")
	if !v.IsValid() || v.Type() != reflect.TypeFor[*net.UnixConn]() {
		return nil
	}
	return *(**net.UnixConn)(unsafe.Pointer(v.UnsafeAddr()))
}
