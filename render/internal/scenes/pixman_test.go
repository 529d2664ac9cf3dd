package scenes

import (
	"errors"
	"os"
	"testing"

	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
)

// newPixman returns the pixman renderer, skipping when libpixman is
// missing unless MINICOMP_REQUIRE_PIXMAN=1.
func newPixman(t testing.TB) *pixman.Renderer {
	t.Helper()
	r, err := pixman.New()
	if err != nil {
		if errors.Is(err, pixman.ErrNoPixman) && os.Getenv("MINICOMP_REQUIRE_PIXMAN") != "1" {
			t.Skipf("pixman renderer unavailable here (%v); set MINICOMP_REQUIRE_PIXMAN=1 to fail instead", err)
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// Every scene, drawn by pixman, matches the hand-checked pixels, the
// reference image and soft's drawing, within Tolerance.
func TestScenesPixman(t *testing.T) {
	p := newPixman(t)
	s := soft.New()
	for _, sc := range All() {
		t.Run(sc.Name, func(t *testing.T) {
			sp := runScene(t, s, sc)
			pp := runScene(t, p, sc)
			for _, b := range CheckPixels(sc, pp) {
				t.Errorf("pixman: hand-checked pixel %s", b)
			}
			ref, w, h, err := ReadPNG(RefPath(sc.Name))
			if err != nil || w != W || h != H {
				t.Fatalf("reference %s: %v (%dx%d)", RefPath(sc.Name), err, w, h)
			}
			d := Compare(pp, ref, W)
			t.Logf("pixman vs reference: %v", d)
			if d.Max > Tolerance {
				t.Errorf("pixman differs from %s: %v", RefPath(sc.Name), d)
				WritePNG(t.TempDir()+"/pixman.png", pp, W, H)
			}
			d = Compare(pp, sp, W)
			t.Logf("pixman vs soft: %v", d)
			if d.Max > Tolerance {
				t.Errorf("pixman vs soft: %v", d)
			}
		})
	}
}
