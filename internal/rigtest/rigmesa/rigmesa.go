// Package rigmesa is for tests that need Mesa and virtio-gpu in the amd64
// rig guest (packages with testdata/rig-mesa).
package rigmesa

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/minicomp/minicomp/internal/drm"
	"github.com/minicomp/minicomp/internal/rigtest"
)

// Require skips outside the rig (and in its guests without Mesa,
// which say why); in the amd64 guest, where vmexec ships the host's Mesa
// and virtio-gpu for packages with testdata/rig-mesa, Mesa must be there.
func Require(t testing.TB) {
	t.Helper()
	if rigtest.Name() == "" {
		t.Skip("needs Mesa and virtio-gpu in the amd64 rig guest: go test -exec vmexec (test/rig, testdata/rig-mesa)")
	}
	if os.Getenv("MINICOMP_RIG_MESA") != "1" {
		if why := os.Getenv("MINICOMP_RIG_MESA_UNAVAILABLE"); why != "" {
			t.Skip(why)
		}
		t.Fatal("in the rig without Mesa: vmexec ships it for packages with testdata/rig-mesa")
	}
}

// RenderNode returns the render node whose DRM driver (DRM_IOCTL_VERSION)
// is driver; the test fails when there is none.
func RenderNode(t testing.TB, driver string) string {
	t.Helper()
	nodes, _ := filepath.Glob("/dev/dri/renderD*")
	var seen []string
	for _, n := range nodes {
		d, err := drm.Open(n)
		if err != nil {
			t.Fatal(err)
		}
		v, err := d.Version()
		d.Close()
		if err != nil {
			t.Fatal(err)
		}
		if v.Name == driver {
			return n
		}
		seen = append(seen, n+" "+v.Name)
	}
	t.Fatalf("no %s render node among %q", driver, seen)
	return ""
}
