// Package protocol holds the Wayland server bindings generated from the
// vendored protocol XML in xml/ (MIT-licensed, from Debian's libwayland-dev
// and wayland-protocols): interface metadata, enums, request dispatchers
// that decode and validate every argument, and event encoders.
//
// Regenerate with `go generate ./internal/protocol`.
package protocol

//go:generate go run ./gen -out . xml/wayland.xml xml/xdg-shell.xml xml/viewporter.xml xml/presentation-time.xml xml/linux-dmabuf-unstable-v1.xml xml/xdg-output-unstable-v1.xml xml/wlr-screencopy-unstable-v1.xml xml/wlr-virtual-pointer-unstable-v1.xml xml/virtual-keyboard-unstable-v1.xml xml/wlr-output-power-management-unstable-v1.xml xml/wlr-data-control-unstable-v1.xml xml/wlr-layer-shell-unstable-v1.xml xml/wlr-output-management-unstable-v1.xml xml/ext-idle-notify-v1.xml xml/idle-inhibit-unstable-v1.xml xml/xdg-activation-v1.xml

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/wire"
)

// Message describes one request or event.
type Message struct {
	Name       string
	Since      uint32
	Signature  string   // libwayland-style: i u f s o n a h, ? nullable, "sun" untyped new_id
	Destructor bool     // the object is gone after this request
	Types      []string // interfaces of the object/new_id arguments, in order
}

// Interface describes one protocol interface.
type Interface struct {
	Name     string
	Version  uint32
	Requests []Message
	Events   []Message
}

// checkRequest rejects opcodes the interface does not have and requests
// newer than the object's version.
func checkRequest(i *Interface, version uint32, opcode uint16) error {
	if int(opcode) >= len(i.Requests) {
		return fmt.Errorf("%w: %s has no request %d", wire.ErrProtocol, i.Name, opcode)
	}
	if m := i.Requests[opcode]; m.Since > version {
		return fmt.Errorf("%w: %s.%s needs version %d, the object has %d", wire.ErrProtocol, i.Name, m.Name, m.Since, version)
	}
	return nil
}

func closeFD(fd int) {
	if fd >= 0 {
		unix.Close(fd)
	}
}
