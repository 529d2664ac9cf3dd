package server

import (
	"encoding/binary"
	"image"
	"os"
	"strconv"
	"testing"

	"github.com/minicomp/minicomp/backend/kms"
	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/internal/wire"
	"github.com/minicomp/minicomp/scanout"
	"golang.org/x/sys/unix"
)

// rigVirtioOutputs is set in the guest when vmexec attached QEMU's
// virtio-gpu with that many outputs (test/rig/cmd/vmexec, virtio.go).
const rigVirtioOutputs = "MINICOMP_RIG_VIRTIO_OUTPUTS"

// Two outputs on one device, each with its own picture: QEMU's
// virtio-gpu with max_outputs=2 has two connectors and two CRTCs; a
// window maximized on the first output and one fullscreen on the second
// are each scanned out on their own CRTC (read back from each CRTC's
// primary plane), and the second output sits right of the first.
func TestRigVirtioTwoOutputs(t *testing.T) {
	rigtest.Require(t)
	n, _ := strconv.Atoi(os.Getenv(rigVirtioOutputs))
	if n == 0 {
		t.Skip("vmexec attaches a two-output virtio-gpu only with " + rigVirtioOutputs + "=2 (test/all.sh runs this test so)")
	}
	if n != 2 {
		t.Fatalf("%s=%d: this test wants 2", rigVirtioOutputs, n)
	}
	gpus, err := scanout.Discover()
	if err != nil {
		t.Fatal(err)
	}
	var node string
	for _, g := range gpus {
		t.Logf("DRM device %s: %s", g.Primary, g.Driver)
		if g.Driver == "virtio_gpu" && g.Primary != "" {
			node = g.Primary
		}
	}
	if node == "" {
		t.Fatal("no virtio_gpu display in the guest")
	}
	names := connectedConnectors(t, node)
	if len(names) != 2 {
		t.Fatalf("%s has %d connected connectors %v, want 2 (vmexec forces them on)", node, len(names), names)
	}
	devs, err := scanout.OpenDevices(scanout.DevicesConfig{Display: true, DisplayPath: node, RenderNode: scanout.NoRender})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devs.Close() })
	// Two sizes, so that each output's part of the layout is its own
	// (a forced connector would take 5120x2160, slow to compose).
	modes := map[string]scanout.Mode{names[0]: {Width: 800, Height: 600}, names[1]: {Width: 640, Height: 480}}
	s, dir, outs := serveKMS(t, kms.Options{Devices: devs, Modes: modes}, Options{}, 2)
	m1, m2 := outs[0].Mode(), outs[1].Mode()

	before := [2]uint64{outs[0].Info().Stats.Frames, outs[1].Info().Stats.Frames}
	showSolid(t, s, dir, m1.Width, m1.Height, 0xff0000)
	size, x := showFullscreen(t, dir, 0x00ff00)
	if size != image.Pt(m2.Width, m2.Height) {
		t.Fatalf("fullscreen on %s configured %v, want its mode %v", outs[1].Name(), size, m2)
	}
	if x != m1.Width {
		t.Errorf("wl_output.geometry of %s at x %d, want %d (right of the first)", outs[1].Name(), x, m1.Width)
	}
	settle(t, outs[0], before[0])
	settle(t, outs[1], before[1])
	for i, want := range [2]uint32{0xff0000, 0x00ff00} {
		o := outs[i]
		px, pitch := scannedOutPixels(t, o)
		m := o.Mode()
		for _, p := range []image.Point{{0, 0}, {m.Width / 2, m.Height / 2}, {m.Width - 1, m.Height - 1}} {
			if got := binary.LittleEndian.Uint32(px[p.Y*pitch+p.X*4:]) & 0xffffff; got != want {
				t.Errorf("%s (CRTC %d) at %v: %06x, want %06x", o.Name(), outputCRTC(t, openDisplay(t, o), o), p, got, want)
			}
		}
		t.Logf("%s: %s", o.Name(), pathOf(o.Info()))
	}
}

// connectedConnectors logs the device's connectors and whether each is
// connected (QEMU connects a virtio-gpu output only when a display UI
// enables it, vmexec forces them) and returns the connected ones' names.
func connectedConnectors(t *testing.T, node string) []string {
	d, err := drm.Open(node)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var names []string
	res, err := d.Resources()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %d CRTCs, %d connectors", node, len(res.CRTCs), len(res.Connectors))
	for _, id := range res.Connectors {
		c, err := d.Connector(id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("connector %d type %d-%d: connection %d, %d modes", id, c.Type, c.TypeID, c.Connection, len(c.Modes))
		if c.Connection == drm.Connected && c.Type == drm.ConnectorVirtual {
			names = append(names, "Virtual-"+strconv.Itoa(int(c.TypeID)))
		}
	}
	return names
}

// showFullscreen maps a toplevel that asks to be fullscreen on the last
// wl_output announced, filled with px at the size it is configured to,
// and returns that size and the output's x in wl_output.geometry.
func showFullscreen(t *testing.T, dir string, px uint32) (size image.Point, x int) {
	t.Helper()
	r := dial(t, dir)
	g := r.globals()
	for id, iface := range map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface,
		5: protocol.XdgWmBaseInterface, 11: protocol.WlOutputInterface} {
		r.bindGlobal(g[iface.Name], iface.Name, min(iface.Version, 4), id)
	}
	r.req(3, 0, func(e *wire.Encoder) { e.NewID(6) })              // wl_surface 6
	r.req(5, 2, func(e *wire.Encoder) { e.NewID(7); e.Object(6) }) // xdg_surface 7
	r.req(7, 1, func(e *wire.Encoder) { e.NewID(8) })              // xdg_toplevel 8
	r.req(8, 11, func(e *wire.Encoder) { e.Object(11) })           // set_fullscreen
	r.req(6, 6, nil)                                               // initial commit
	var serial uint32
	r.events(func(obj uint32, op uint16, body []byte) bool {
		switch {
		case obj == 11 && op == 0: // wl_output.geometry
			x = int(int32(binary.NativeEndian.Uint32(body)))
		case obj == 8 && op == 0: // xdg_toplevel.configure
			size = image.Pt(int(int32(binary.NativeEndian.Uint32(body))), int(int32(binary.NativeEndian.Uint32(body[4:]))))
		case obj == 7 && op == 0:
			serial = binary.NativeEndian.Uint32(body)
			return true
		}
		return false
	})
	r.req(7, 4, func(e *wire.Encoder) { e.Uint(serial) }) // ack_configure
	w, h := size.X, size.Y
	fd := memfd(t, int64(w*h*4))
	pix := make([]byte, w*h*4)
	for i := 0; i < len(pix); i += 4 {
		binary.LittleEndian.PutUint32(pix[i:], px)
	}
	if _, err := unix.Pwrite(fd, pix, 0); err != nil {
		t.Fatal(err)
	}
	r.shmBuffer(9, 10, fd, w, h, w*4)
	r.req(6, 1, func(e *wire.Encoder) { e.Object(10); e.Int(0); e.Int(0) })
	r.req(6, 2, func(e *wire.Encoder) { e.Int(0); e.Int(0); e.Int(int32(w)); e.Int(int32(h)) })
	r.req(6, 6, nil)
	r.roundtrip(50)
	return size, x
}
