package server

import (
	"errors"
	"image"
	"os"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/rigtest"
	"github.com/minicomp/minicomp/render"
	"github.com/minicomp/minicomp/render/gles"
	"github.com/minicomp/minicomp/render/pixman"
	"github.com/minicomp/minicomp/render/soft"
)

// marker is a 100×60 picture whose orientation shows: green top-left
// 10×10 corner, red left half, blue right half.
func marker(x, y int) uint32 {
	switch {
	case x < 10 && y < 10:
		return 0x00ff00
	case x < 50:
		return 0xff0000
	}
	return 0x0000ff
}

// On a headless 640×480 panel mounted turned (--transform), the
// compositor draws the picture turned into the panel's targets; grim,
// which turns the captured panel upright by wl_output.transform, gets
// the upright picture (480×640 when turned by 90 or 270 degrees) with
// the kiosk toplevel at its top left, for each renderer that can turn.
func TestGrimTurned(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	renderers := map[string]func() (render.Renderer, error){
		"soft":   func() (render.Renderer, error) { return soft.New(), nil },
		"pixman": func() (render.Renderer, error) { return pixman.New() },
		"gles":   func() (render.Renderer, error) { return gles.New(gles.Options{}) },
	}
	for _, tr := range []backend.Transform{backend.Transform90, backend.Transform180, backend.Transform270, backend.TransformFlipped90} {
		for name, mk := range renderers {
			t.Run(tr.String()+"/"+name, func(t *testing.T) {
				r, err := mk()
				if err != nil {
					if errors.Is(err, pixman.ErrNoPixman) && os.Getenv("MINICOMP_REQUIRE_PIXMAN") != "1" ||
						(errors.Is(err, gles.ErrNoEGL) || errors.Is(err, gles.ErrMissingExtension)) && os.Getenv("MINICOMP_REQUIRE_GLES") != "1" {
						t.Skipf("%s unavailable: %v", name, err)
					}
					t.Fatal(err)
				}
				hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Transform: tr, Logger: testLog(t)})
				if err != nil {
					r.Close()
					t.Fatal(err)
				}
				s, dir, _ := startOn(t, hb, r)
				showPixels(t, s, dir, 100, 60, marker)
				img := grimShot(t, dir)
				lw, lh := tr.LogicalSize(640, 480)
				expectUpright(t, img, lw, lh)
				// A region (grim -g, the picture's coordinates): the
				// marker alone.
				img = grimShot(t, dir, "-g", "0,0 100x60")
				if b := img.Bounds(); b.Dx() != 100 || b.Dy() != 60 {
					t.Fatalf("region screenshot is %v, want 100x60", b)
				}
				expectPixels(t, "region of "+tr.String(), img, map[image.Point]uint32{
					{0, 0}: 0x00ff00, {9, 9}: 0x00ff00, {10, 0}: 0xff0000, {49, 59}: 0xff0000, {50, 0}: 0x0000ff, {99, 59}: 0x0000ff})
			})
		}
	}
}

// expectUpright checks a screenshot of the whole lw×lh picture: the
// marker at the top left on the background.
func expectUpright(t *testing.T, img image.Image, lw, lh int) {
	t.Helper()
	if b := img.Bounds(); b.Dx() != lw || b.Dy() != lh {
		t.Fatalf("screenshot is %v, want %dx%d", b, lw, lh)
	}
	expectPixels(t, "upright", img, map[image.Point]uint32{
		{0, 0}: 0x00ff00, {9, 9}: 0x00ff00, {10, 0}: 0xff0000, {49, 59}: 0xff0000, {50, 0}: 0x0000ff, {99, 59}: 0x0000ff,
		{100, 0}: bgRGB(), {0, 60}: bgRGB(), {lw - 1, lh - 1}: bgRGB(),
	})
}

// planeTurned is a headless backend whose outputs say their panel is
// mounted turned by t while the frames are drawn upright, as on a KMS
// display whose plane turns the picture (vc4's 180 degrees and flips).
type planeTurned struct {
	*headless.Backend
	t backend.Transform
}

type planeTurnedOutput struct {
	*headless.Output
	t backend.Transform
}

func (o planeTurnedOutput) Transform() backend.Transform       { return o.t }
func (o planeTurnedOutput) RenderTransform() backend.Transform { return backend.TransformNormal }

func (b planeTurned) Outputs() []backend.Output {
	var outs []backend.Output
	for _, o := range b.Backend.Outputs() {
		outs = append(outs, planeTurnedOutput{o.(*headless.Output), b.t})
	}
	return outs
}

// Where the display's plane turns the picture, the frames are drawn
// upright, and screencopy gives the panel's pixels (the picture turned
// by wl_output.transform), so grim's screenshot still comes out upright.
func TestGrimPlaneTurned(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	for _, tr := range []backend.Transform{backend.Transform180, backend.TransformFlipped, backend.TransformFlipped180} {
		t.Run(tr.String(), func(t *testing.T) {
			hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Logger: testLog(t)})
			if err != nil {
				t.Fatal(err)
			}
			s, dir, _ := startOn(t, planeTurned{hb, tr}, nil)
			showPixels(t, s, dir, 100, 60, marker)
			expectUpright(t, grimShot(t, dir), 640, 480)
		})
	}
}

func bgRGB() uint32 { return uint32(background.R)<<16 | uint32(background.G)<<8 | uint32(background.B) }

// wlr-randr sees how a turned headless panel is mounted; asking for the
// transform it has is accepted, and so is another (turn_test.go tests
// the turn itself); after a mode change grim's picture is the new mode
// turned.
func TestWlrRandrTurned(t *testing.T) {
	bin := realProgram(t, "wlr-randr", "wlr-randr")
	hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 640, Height: 480}}, Transform: backend.Transform90, Logger: testLog(t)})
	if err != nil {
		t.Fatal(err)
	}
	_, dir, _ := startOn(t, hb, nil)
	randr := func(args ...string) (string, error) { return wlrRandr(t, dir, bin, args...) }
	if list, err := randr(); err != nil || !strings.Contains(list, "Transform: 90") {
		t.Errorf("wlr-randr: %v\n%s", err, list)
	}
	if b, err := randr("--output", "HEADLESS-1", "--transform", "90"); err != nil {
		t.Errorf("wlr-randr --transform 90 (as mounted): %v\n%s", err, b)
	}
	if b, err := randr("--output", "HEADLESS-1", "--transform", "normal"); err != nil {
		t.Errorf("wlr-randr --transform normal: %v\n%s", err, b)
	}
	if b, err := randr("--output", "HEADLESS-1", "--transform", "90"); err != nil {
		t.Errorf("wlr-randr --transform 90 again: %v\n%s", err, b)
	}
	if b, err := randr("--output", "HEADLESS-1", "--mode", "1280x720"); err != nil {
		t.Fatalf("wlr-randr --mode 1280x720: %v\n%s", err, b)
	}
	if img := grimShot(t, dir); img.Bounds().Dx() != 720 || img.Bounds().Dy() != 1280 {
		t.Errorf("grim's picture is %v after --mode 1280x720 on a panel turned by 90", img.Bounds())
	}
}
