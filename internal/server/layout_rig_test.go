package server

import (
	"encoding/binary"
	"image"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/minicomp/minicomp/backend"
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
// primary plane), and the second output sits right of the first. Then a
// dma-buf window fullscreen on the second output is scanned out directly
// there (its own buffer on that CRTC) while the first still composes.
// Last, a cursor crossing the edge between them is on both CRTCs'
// cursor planes (checkCursorAcross).
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
	shm, size, x := showFullscreen(t, dir, solidShm(0x00ff00))
	if size != image.Pt(m2.Width, m2.Height) {
		t.Fatalf("fullscreen on %s configured %v, want its mode %v", outs[1].Name(), size, m2)
	}
	if x != m1.Width {
		t.Errorf("wl_output.geometry of %s at x %d, want %d (right of the first)", outs[1].Name(), x, m1.Width)
	}
	settle(t, outs[0], before[0])
	settle(t, outs[1], before[1])
	checkCRTCs(t, outs, 0xff0000, 0x00ff00)

	// The shm window goes; a dma-buf one takes the second output.
	shm.req(8, 0, nil) // xdg_toplevel.destroy
	shm.roundtrip(60)
	// virtio-gpu (2D) imports no foreign dma-buf: the client's is a dumb
	// buffer of the display itself, as a client of a KMS-only device
	// allocates one.
	f, stride := displayDumb(t, node, m2.Width, m2.Height, 0x00c03010)
	direct := s.Stats().DirectFrames
	dma, _, _ := showFullscreen(t, dir, func(r *raw, w, h int) {
		fd, err := unix.Dup(int(f.Fd()))
		if err != nil {
			t.Fatal(err)
		}
		r.dmabufBuffer(15, 10, fd, w, h, 0, stride, 0)
	})
	// Frames until the display shows the client's buffer itself.
	deadline := time.Now().Add(10 * time.Second)
	for s.Stats().DirectFrames < direct+2 {
		if time.Now().After(deadline) {
			t.Fatalf("%s: no direct frames of the dma-buf window (server %d; %s)", outs[1].Name(), s.Stats().DirectFrames, pathOf(outs[1].Info()))
		}
		dma.req(6, 3, func(e *wire.Encoder) { e.NewID(40) }) // frame callback: ask for a frame
		dma.req(6, 6, nil)
		dma.events(func(obj uint32, op uint16, body []byte) bool { return obj == 40 })
	}
	if got, want := planeDmabuf(t, outs[1]), inode(t, int(f.Fd())); got != want {
		t.Errorf("%s's CRTC shows dma-buf inode %d, the client's is %d (server direct frames %d; %s)", outs[1].Name(), got, want, s.Stats().DirectFrames, pathOf(outs[1].Info()))
	}
	checkCRTCs(t, outs, 0xff0000, 0xc03010)
	if d := outs[0].Info().Stats.DirectFrames; d != 0 {
		t.Errorf("%s scanned %d client frames out, want none (it composes the red window)", outs[0].Name(), d)
	}
	checkCursorAcross(t, s, dir, outs)
}

// checkCRTCs checks that each output's CRTC scans out its colour (corners
// and middle of the framebuffer on its primary plane).
func checkCRTCs(t *testing.T, outs []backend.Output, want ...uint32) {
	t.Helper()
	for i, o := range outs {
		px, pitch := scannedOutPixels(t, o)
		m := o.Mode()
		for _, p := range []image.Point{{0, 0}, {m.Width / 2, m.Height / 2}, {m.Width - 1, m.Height - 1}} {
			if got := binary.LittleEndian.Uint32(px[p.Y*pitch+p.X*4:]) & 0xffffff; got != want[i] {
				t.Errorf("%s (CRTC %d) at %v: %06x, want %06x", o.Name(), outputCRTC(t, openDisplay(t, o), o), p, got, want[i])
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

// showFullscreen maps a toplevel (surface 6, xdg_surface 7, toplevel 8)
// that asks to be fullscreen on the last wl_output announced, with
// buffer 10 that buffer makes at the size it is configured to (wl_shm
// bound at 4, linux-dmabuf at 11), and returns the client, that size and
// the output's x in wl_output.geometry.
func showFullscreen(t *testing.T, dir string, buffer func(r *raw, w, h int)) (r *raw, size image.Point, x int) {
	t.Helper()
	r = dial(t, dir)
	g := r.globals()
	for id, iface := range map[uint32]*protocol.Interface{3: protocol.WlCompositorInterface, 4: protocol.WlShmInterface,
		5: protocol.XdgWmBaseInterface, 11: protocol.ZwpLinuxDmabufV1Interface, 12: protocol.WlOutputInterface} {
		r.bindGlobal(g[iface.Name], iface.Name, min(iface.Version, 4), id)
	}
	r.events(func(obj uint32, op uint16, body []byte) bool {
		if obj == 12 && op == 0 { // wl_output.geometry
			x = int(int32(binary.NativeEndian.Uint32(body)))
		}
		return obj == 12 && op == 2 // done
	})
	size.X, size.Y = r.mapFullscreen(12)
	w, h := size.X, size.Y
	buffer(r, w, h)
	r.commitBuffer(10, 0, w, h)
	r.roundtrip(50)
	return r, size, x
}

// displayDumb makes a w×h XRGB8888 dumb buffer on the display device
// node, filled with px, and returns it as a dma-buf (closed at cleanup)
// with its stride.
func displayDumb(t *testing.T, node string, w, h int, px uint32) (*os.File, int) {
	t.Helper()
	d, err := drm.Open(node)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	db, err := d.CreateDumb(uint32(w), uint32(h), 32)
	if err != nil {
		t.Fatal(err)
	}
	defer d.DestroyDumb(db.Handle) // the dma-buf keeps the buffer
	mem, err := d.MmapDumb(db.Handle, int(db.Size))
	if err != nil {
		t.Fatal(err)
	}
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			binary.LittleEndian.PutUint32(mem[y*int(db.Pitch)+x*4:], px)
		}
	}
	unix.Munmap(mem)
	fd, err := d.PrimeHandleToFD(db.Handle)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "display dumb buffer")
	t.Cleanup(func() { f.Close() })
	return f, int(db.Pitch)
}

// solidShm is a showFullscreen buffer: wl_shm (pool 9) of one colour.
func solidShm(px uint32) func(r *raw, w, h int) {
	return func(r *raw, w, h int) {
		fd := memfd(r.t, int64(w*h*4))
		pix := make([]byte, w*h*4)
		for i := 0; i < len(pix); i += 4 {
			binary.LittleEndian.PutUint32(pix[i:], px)
		}
		if _, err := unix.Pwrite(fd, pix, 0); err != nil {
			r.t.Fatal(err)
		}
		r.shmBuffer(9, 10, fd, w, h, w*4)
	}
}
