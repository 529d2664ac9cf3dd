package drm

import (
	"errors"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/minicomp/minicomp/internal/rigtest"
)

// Every typed wrapper against the rig's real drivers, on amd64, arm64 and
// 32-bit arm (where a struct laid out wrong shows up as EFAULT or garbage).
func TestRigWrappers(t *testing.T) {
	rig := rigtest.Require(t)
	rigtest.CheckFDs(t)
	gpus, err := Scan("/sys", "/dev/dri")
	if err != nil {
		t.Fatal(err)
	}
	var display, vgem *Device
	for _, g := range gpus {
		if g.Primary == nil {
			continue
		}
		d, err := Open(g.Primary.Path)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		v, err := d.Version()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %s %d.%d.%d %q", d.Path, v.Name, v.Major, v.Minor, v.Patch, v.Desc)
		switch v.Name {
		case rig:
			display = d
		case "vgem":
			vgem = d
		}
	}
	if display == nil || vgem == nil {
		t.Fatal("rig devices missing")
	}
	if v, err := display.Cap(CapDumbBuffer); err != nil || v != 1 {
		t.Errorf("CapDumbBuffer = %d, %v", v, err)
	}
	if v, err := display.Cap(CapPrime); err != nil || v&PrimeCapImport == 0 {
		t.Errorf("CapPrime = %d, %v", v, err)
	}
	if err := display.SetClientCap(ClientCapUniversalPlanes, 1); err != nil {
		t.Fatal(err)
	}
	if err := display.SetClientCap(ClientCapAtomic, 1); err != nil {
		t.Fatal(err)
	}
	if err := display.DropMaster(); err != nil {
		t.Errorf("DropMaster: %v", err)
	}
	if err := display.SetMaster(); err != nil {
		t.Errorf("SetMaster: %v", err)
	}
	res, err := display.Resources()
	if err != nil || len(res.CRTCs) != 1 || len(res.Connectors) == 0 || res.MaxWidth == 0 {
		t.Fatalf("resources %+v %v", res, err)
	}
	conn, err := display.Connector(res.Connectors[0])
	if err != nil || conn.Connection != Connected || len(conn.Modes) == 0 || conn.Modes[0].HDisplay == 0 {
		t.Fatalf("connector %+v %v", conn, err)
	}
	t.Logf("connector %d type %d: %d modes, first %s %d mHz", conn.ID, conn.Type, len(conn.Modes), conn.Modes[0].Name(), conn.Modes[0].RefreshMilliHz())
	if _, err := display.Encoder(conn.Encoders[0]); err != nil {
		t.Error(err)
	}
	if _, err := display.CRTC(res.CRTCs[0]); err != nil {
		t.Error(err)
	}
	planes, err := display.PlaneIDs()
	if err != nil || len(planes) == 0 {
		t.Fatal(planes, err)
	}
	pl, err := display.Plane(planes[0])
	if err != nil || len(pl.Formats) == 0 {
		t.Fatal(pl, err)
	}
	props, err := display.Props(planes[0], ObjectPlane)
	if err != nil {
		t.Fatal(err)
	}
	if props.Values["type"] != PlanePrimary {
		t.Errorf("first plane type %d", props.Values["type"])
	}
	if blob := props.Values["IN_FORMATS"]; blob != 0 {
		b, err := display.Blob(uint32(blob))
		if err != nil {
			t.Fatal(err)
		}
		fm, err := ParseInFormats(b)
		if err != nil || len(fm[FormatXRGB8888]) == 0 {
			t.Fatalf("IN_FORMATS %v %v", fm, err)
		}
	}
	p, err := display.Property(props.IDs["type"])
	if err != nil || len(p.Enums) != 3 || p.Flags&PropEnum == 0 {
		t.Errorf("type property %+v %v", p, err)
	}
	mode := conn.Modes[0]
	blob, err := display.CreateBlob(ModeBytes(&mode))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := display.Blob(blob); err != nil || len(got) != len(ModeBytes(&mode)) {
		t.Errorf("mode blob read back: %d bytes, %v", len(got), err)
	}
	if err := display.DestroyBlob(blob); err != nil {
		t.Error(err)
	}

	// A dumb buffer on vgem, exported, imported into the display, framed.
	dumb, err := vgem.CreateDumb(640, 480, 32)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := vgem.MmapDumb(dumb.Handle, int(dumb.Size))
	if err != nil {
		t.Fatal(err)
	}
	mem[0] = 0xab
	unix.Munmap(mem)
	fd, err := vgem.PrimeHandleToFD(dumb.Handle)
	if err != nil {
		t.Fatal(err)
	}
	h1, err := display.PrimeFDToHandle(fd)
	if err != nil {
		t.Fatalf("display import of a 640x480 vgem buffer: %v", err)
	}
	h2, err := display.PrimeFDToHandle(fd)
	if err != nil || h2 != h1 {
		t.Errorf("second import: handle %d (first %d), %v", h2, h1, err)
	}
	fb, err := display.AddFB2(FB2{Width: 640, Height: 480, Format: FormatXRGB8888, Handles: [4]uint32{h1}, Pitches: [4]uint32{dumb.Pitch}})
	if err != nil {
		t.Logf("ADDFB2 of an imported vgem buffer: %v", err) // pl111 may refuse (not contiguous)
	} else {
		info, err := display.GetFB2(fb)
		if err != nil || info.Width != 640 || info.Pitches[0] != dumb.Pitch || info.PixelFormat != FormatXRGB8888 {
			t.Errorf("GETFB2 %+v %v", info, err)
		}
		if info.Handles[0] != 0 {
			display.GemClose(info.Handles[0])
		}
		if err := display.RmFB(fb); err != nil {
			t.Error(err)
		}
		if err := display.RmFB(fb); !errors.Is(err, unix.ENOENT) {
			t.Errorf("second RMFB: %v, want ENOENT", err)
		}
	}
	if err := display.GemClose(h1); err != nil {
		t.Error(err)
	}
	if err := display.GemClose(h1); !errors.Is(err, unix.EINVAL) {
		t.Errorf("GEM_CLOSE of a closed handle: %v, want EINVAL", err)
	}
	unix.Close(fd)
	if err := vgem.DestroyDumb(dumb.Handle); err != nil {
		t.Error(err)
	}
	var r AtomicReq
	r.Add(res.CRTCs[0], 0xffffff, 1) // no such property
	if err := display.Atomic(&r, AtomicTestOnly, 0); Errno(err) == 0 {
		t.Errorf("atomic with a bogus property: %v", err)
	}
}

// Scan's driver names (sysfs) are the names DRM_IOCTL_VERSION reports for
// every node of every device in the guest, and no rig device has an IOMMU.
func TestRigScanNamesMatchVersion(t *testing.T) {
	rigtest.Require(t)
	rigtest.CheckFDs(t)
	gpus, err := Scan("/sys", "/dev/dri")
	if err != nil {
		t.Fatal(err)
	}
	if len(gpus) < 2 {
		t.Fatalf("want a display and vgem, found %d devices", len(gpus))
	}
	for _, g := range gpus {
		if g.IOMMU {
			t.Errorf("%s: IOMMU reported; the rig's devices have none", g.SysPath)
		}
		for _, n := range []*Node{g.Primary, g.Render} {
			if n == nil {
				continue
			}
			d, err := Open(n.Path)
			if err != nil {
				t.Fatal(err)
			}
			v, err := d.Version()
			d.Close()
			if err != nil {
				t.Fatal(err)
			}
			if v.Name != g.Driver || n.Driver != g.Driver {
				t.Errorf("%s: sysfs says %q, DRM_IOCTL_VERSION %q", n.Path, g.Driver, v.Name)
			}
		}
	}
}
