package protocol

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minicomp/minicomp/internal/wire"
)

// The generated files match what the generator makes from the vendored XML.
func TestGeneratedUpToDate(t *testing.T) {
	if os.Getenv("MINICOMP_RIG") != "" {
		t.Skip("the guest has no Go toolchain")
	}
	dir := t.TempDir()
	xmls, _ := filepath.Glob("xml/*.xml")
	order := []string{"xml/wayland.xml", "xml/xdg-shell.xml", "xml/viewporter.xml", "xml/presentation-time.xml", "xml/linux-dmabuf-unstable-v1.xml", "xml/xdg-output-unstable-v1.xml", "xml/wlr-screencopy-unstable-v1.xml",
		"xml/wlr-virtual-pointer-unstable-v1.xml", "xml/virtual-keyboard-unstable-v1.xml", "xml/wlr-output-power-management-unstable-v1.xml", "xml/wlr-data-control-unstable-v1.xml",
		"xml/wlr-layer-shell-unstable-v1.xml", "xml/wlr-output-management-unstable-v1.xml", "xml/ext-idle-notify-v1.xml", "xml/idle-inhibit-unstable-v1.xml", "xml/xdg-activation-v1.xml"}
	if len(xmls) != len(order) {
		t.Fatalf("xml/ has %d files, go:generate lists %d", len(xmls), len(order))
	}
	cmd := exec.Command("go", append([]string{"run", "./gen", "-out", dir}, order...)...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen: %v\n%s", err, out)
	}
	gen, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, g := range gen {
		want, _ := os.ReadFile(g)
		got, err := os.ReadFile(filepath.Base(g))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run go generate ./internal/protocol", filepath.Base(g))
		}
	}
}

type registry struct {
	name, version, id uint32
	iface             string
}

func (r *registry) Bind(name uint32, iface string, version uint32, id uint32) error {
	r.name, r.iface, r.version, r.id = name, iface, version, id
	return nil
}

func TestDispatchBind(t *testing.T) {
	e := wire.Begin(nil, 2, 0)
	e.Uint(5)
	e.String("wl_compositor")
	e.Uint(4)
	e.NewID(3)
	msg, _, _ := e.Finish()
	d := wire.NewDecoder(msg[8:], nil)
	var r registry
	if err := DispatchWlRegistry(&r, 1, 0, &d); err != nil {
		t.Fatal(err)
	}
	if r != (registry{name: 5, version: 4, id: 3, iface: "wl_compositor"}) {
		t.Fatalf("%+v", r)
	}
	d = wire.NewDecoder(msg[8:20], nil)
	if err := DispatchWlRegistry(&r, 1, 0, &d); !errors.Is(err, wire.ErrProtocol) {
		t.Fatalf("truncated bind: %v", err)
	}
	d = wire.NewDecoder(nil, nil)
	if err := DispatchWlRegistry(&r, 1, 1, &d); !errors.Is(err, wire.ErrProtocol) {
		t.Fatalf("unknown opcode: %v", err)
	}
}

// A request newer than the object's version is a protocol error.
func TestSinceVersion(t *testing.T) {
	// wl_surface.offset is since 5.
	var op uint16
	for i, m := range WlSurfaceInterface.Requests {
		if m.Name == "offset" {
			op = uint16(i)
		}
	}
	e := wire.Begin(nil, 9, op)
	e.Int(1)
	e.Int(2)
	msg, _, _ := e.Finish()
	d := wire.NewDecoder(msg[8:], nil)
	if err := nopDispatchers["wl_surface"](4, op, &d); !errors.Is(err, wire.ErrProtocol) {
		t.Fatalf("offset on a v4 surface: %v", err)
	}
	d = wire.NewDecoder(msg[8:], nil)
	if err := nopDispatchers["wl_surface"](5, op, &d); err != nil {
		t.Fatalf("offset on a v5 surface: %v", err)
	}
}

func FuzzDispatch(f *testing.F) {
	names := make([]string, 0, len(nopDispatchers))
	for n := range nopDispatchers {
		names = append(names, n)
	}
	slices.Sort(names)
	f.Add(uint8(0), uint8(0), []byte{5, 0, 0, 0, 14, 0, 0, 0, 'w', 'l', '_', 'c', 'o', 'm', 'p', 'o', 's', 'i', 't', 'o', 'r', 0, 0, 0, 4, 0, 0, 0, 3, 0, 0, 0})
	f.Fuzz(func(t *testing.T, which, opcode uint8, body []byte) {
		name := names[int(which)%len(names)]
		fds := []int{}
		d := wire.NewDecoder(body, &fds)
		_ = nopDispatchers[name](100, uint16(opcode%16), &d)
	})
}
