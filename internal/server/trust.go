package server

import (
	"fmt"
	"strings"

	"github.com/minicomp/minicomp/internal/protocol"
)

// Trust model: any client that can open the socket may bind every global
// (as in wlroots compositors: the same user, the same socket). The socket
// lives in the user's private XDG_RUNTIME_DIR (0700), so only that user
// (and root) connects. Some globals give a client power over the others:
// reading the screen, typing and pointing into other clients, reading and
// setting the clipboard behind their backs, changing or blanking outputs.
// Options.Withhold leaves groups of them out of the registry.

// Privileged is a set of groups of powerful globals.
type Privileged uint

const (
	// PrivCapture is screen capture: zwlr_screencopy_manager_v1.
	PrivCapture Privileged = 1 << iota
	// PrivInput is input injection: zwlr_virtual_pointer_manager_v1 and
	// zwp_virtual_keyboard_manager_v1.
	PrivInput
	// PrivClipboard is clipboard access without focus:
	// zwlr_data_control_manager_v1.
	PrivClipboard
	// PrivOutputs is output control: zwlr_output_manager_v1 and
	// zwlr_output_power_manager_v1.
	PrivOutputs
	// PrivAll is every group.
	PrivAll = PrivCapture | PrivInput | PrivClipboard | PrivOutputs
)

var privilegedGroups = []struct {
	name   string
	priv   Privileged
	ifaces []*protocol.Interface
}{
	{"capture", PrivCapture, []*protocol.Interface{protocol.ZwlrScreencopyManagerV1Interface}},
	{"input", PrivInput, []*protocol.Interface{protocol.ZwlrVirtualPointerManagerV1Interface, protocol.ZwpVirtualKeyboardManagerV1Interface}},
	{"clipboard", PrivClipboard, []*protocol.Interface{protocol.ZwlrDataControlManagerV1Interface}},
	{"outputs", PrivOutputs, []*protocol.Interface{protocol.ZwlrOutputManagerV1Interface, protocol.ZwlrOutputPowerManagerV1Interface}},
}

// privilegeOf is the group a global belongs to (0: none).
func privilegeOf(iface *protocol.Interface) Privileged {
	for _, g := range privilegedGroups {
		for _, i := range g.ifaces {
			if i == iface {
				return g.priv
			}
		}
	}
	return 0
}

// ParsePrivileged reads a comma-separated list of group names (capture,
// input, clipboard, outputs), "all", or "" (none).
func ParsePrivileged(s string) (Privileged, error) {
	var p Privileged
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		if name == "all" {
			p |= PrivAll
			continue
		}
		found := false
		for _, g := range privilegedGroups {
			if g.name == name {
				p |= g.priv
				found = true
			}
		}
		if !found {
			return 0, fmt.Errorf("unknown protocol group %q (want capture, input, clipboard, outputs or all)", name)
		}
	}
	return p, nil
}

// String lists the groups by name.
func (p Privileged) String() string {
	var names []string
	for _, g := range privilegedGroups {
		if p&g.priv != 0 {
			names = append(names, g.name)
		}
	}
	return strings.Join(names, ",")
}
