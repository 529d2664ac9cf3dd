package drm

import (
	"bufio"
	"debug/elf"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// goLayouts maps each C struct of testdata/layout.c to its Go twin and the
// C field names (as layout.c spells them) to Go field names.
var goLayouts = []struct {
	c      string
	v      any
	fields map[string]string
}{
	{"drm_version", Version{}, map[string]string{"name_len": "NameLen", "desc": "Desc"}},
	{"drm_gem_close", GemClose{}, nil},
	{"drm_get_cap", GetCap{}, nil},
	{"drm_set_client_cap", SetClientCap{}, nil},
	{"drm_prime_handle", PrimeHandle{}, map[string]string{"fd": "FD"}},
	{"drm_mode_card_res", ModeCardRes{}, map[string]string{"count_fbs": "CountFBs", "max_height": "MaxHeight"}},
	{"drm_mode_modeinfo", ModeInfo{}, map[string]string{"vrefresh": "VRefresh", "name": "NameBytes"}},
	{"drm_mode_crtc", ModeCRTC{}, map[string]string{"mode_valid": "ModeValid", "mode": "Mode"}},
	{"drm_mode_get_encoder", ModeGetEncoder{}, nil},
	{"drm_mode_get_connector", ModeGetConnector{}, map[string]string{"count_modes": "CountModes", "subpixel": "Subpixel"}},
	{"drm_mode_get_property", ModeGetProperty{}, map[string]string{"name": "Name", "count_enum_blobs": "CountEnumBlobs"}},
	{"drm_mode_property_enum", ModePropertyEnum{}, map[string]string{"name": "Name"}},
	{"drm_mode_get_blob", ModeGetBlob{}, map[string]string{"data": "Data"}},
	{"drm_mode_create_blob", ModeCreateBlob{}, map[string]string{"blob_id": "BlobID"}},
	{"drm_mode_destroy_blob", ModeDestroyBlob{}, nil},
	{"drm_mode_create_dumb", ModeCreateDumb{}, map[string]string{"size": "Size"}},
	{"drm_mode_map_dumb", ModeMapDumb{}, map[string]string{"offset": "Offset"}},
	{"drm_mode_destroy_dumb", ModeDestroyDumb{}, nil},
	{"drm_mode_get_plane_res", ModeGetPlaneRes{}, map[string]string{"count_planes": "CountPlanes"}},
	{"drm_mode_get_plane", ModeGetPlane{}, map[string]string{"format_type_ptr": "FormatTypePtr"}},
	{"drm_mode_fb_cmd2", ModeFBCmd2{}, map[string]string{"offsets": "Offsets", "modifier": "Modifier"}},
	{"drm_mode_obj_get_properties", ModeObjGetProperties{}, map[string]string{"obj_type": "ObjType"}},
	{"drm_mode_atomic", ModeAtomic{}, map[string]string{"objs_ptr": "ObjsPtr", "user_data": "UserData"}},
	{"drm_event", Event{}, nil},
	{"drm_event_vblank", EventVblank{}, map[string]string{"user_data": "UserData", "crtc_id": "CRTCID"}},
	{"drm_format_modifier_blob", FormatModifierBlob{}, nil},
	{"drm_format_modifier", FormatModifier{}, map[string]string{"offset": "Offset", "modifier": "Modifier"}},
}

// goLayout returns "sz__T" and "off__T__f" entries for the running GOARCH.
func goLayout(t *testing.T) map[string]uint64 {
	m := map[string]uint64{}
	for _, l := range goLayouts {
		typ := reflect.TypeOf(l.v)
		m["sz__"+l.c] = uint64(typ.Size())
		for cf, gf := range l.fields {
			f, ok := typ.FieldByName(gf)
			if !ok {
				t.Fatalf("%s has no field %s", typ, gf)
			}
			m["off__"+l.c+"__"+cf] = uint64(f.Offset)
		}
	}
	return m
}

func goldenPath(arch string) string { return filepath.Join("testdata", "layout_"+arch+".txt") }

func readGolden(t *testing.T, arch string) map[string]uint64 {
	f, err := os.Open(goldenPath(arch))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m := map[string]uint64{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var k string
		var v uint64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &k, &v); err != nil {
			t.Fatalf("%s: %q: %v", goldenPath(arch), sc.Text(), err)
		}
		m[k] = v
	}
	return m
}

// TestLayoutMatchesGolden checks the Go structs of this GOARCH against the
// sizes and offsets the C compiler gave for the same GOARCH (the rig runs
// this test on arm64 and 32-bit arm guests).
func TestLayoutMatchesGolden(t *testing.T) {
	want := readGolden(t, runtime.GOARCH)
	got := goLayout(t)
	if len(want) != len(got) {
		t.Errorf("golden has %d entries, Go side %d: regenerate with -update-layout", len(want), len(got))
	}
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s (%s): Go %d, kernel headers %d", k, runtime.GOARCH, g, w)
		}
	}
}

var updateLayout = flag.Bool("update-layout", false, "rewrite testdata/layout_*.txt from the C compilers")

var compilers = map[string]string{
	"amd64": "x86_64-linux-gnu-gcc",
	"arm64": "aarch64-linux-gnu-gcc",
	"arm":   "arm-linux-gnueabihf-gcc",
}

// drmHeaderDir finds a directory holding drm/drm.h for any ABI: the UAPI DRM
// headers are the same text for all of them.
func drmHeaderDir() string {
	for _, d := range []string{"/usr/include", "/usr/aarch64-linux-gnu/include", "/usr/arm-linux-gnueabihf/include", "/usr/x86_64-linux-gnu/include"} {
		if _, err := os.Stat(filepath.Join(d, "drm", "drm_mode.h")); err == nil {
			return d
		}
	}
	return ""
}

// TestGoldenMatchesKernelHeaders compiles testdata/layout.c with each ABI's C
// compiler and checks the golden files (so every arch's golden is tied to
// the kernel headers, not typed in by hand).
func TestGoldenMatchesKernelHeaders(t *testing.T) {
	hdr := drmHeaderDir()
	if hdr == "" {
		t.Skip("no drm/drm_mode.h installed (linux-libc-dev-arm64-cross or libdrm-dev); test/rig/deps.sh installs it")
	}
	for arch, cc := range compilers {
		t.Run(arch, func(t *testing.T) {
			if _, err := exec.LookPath(cc); err != nil {
				if os.Getenv("CI") != "" {
					t.Fatalf("%s missing in CI: %v", cc, err)
				}
				t.Skipf("%s not installed", cc)
			}
			obj := filepath.Join(t.TempDir(), "layout.o")
			out, err := exec.Command(cc, "-c", "-o", obj, "-idirafter", hdr, "testdata/layout.c").CombinedOutput()
			if err != nil {
				t.Fatalf("%s: %v\n%s", cc, err, out)
			}
			c := cLayout(t, obj)
			if *updateLayout {
				writeGolden(t, arch, c)
				return
			}
			g := readGolden(t, arch)
			for k, v := range c {
				if g[k] != v {
					t.Errorf("%s: golden %d, %s says %d", k, g[k], cc, v)
				}
			}
			if len(c) != len(g) {
				t.Errorf("golden has %d entries, layout.c %d", len(g), len(c))
			}
		})
	}
}

func cLayout(t *testing.T, obj string) map[string]uint64 {
	f, err := elf.Open(obj)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	syms, err := f.Symbols()
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]uint64{}
	for _, s := range syms {
		switch {
		case strings.HasPrefix(s.Name, "sz__"):
			m[s.Name] = s.Size
		case strings.HasPrefix(s.Name, "off__"):
			m[s.Name] = s.Size - 1
		}
	}
	return m
}

func writeGolden(t *testing.T, arch string, m map[string]uint64) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s %d\n", k, m[k])
	}
	if err := os.WriteFile(goldenPath(arch), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}
