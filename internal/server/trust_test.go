package server

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/minicomp/minicomp/backend"
	"github.com/minicomp/minicomp/backend/headless"
	"github.com/minicomp/minicomp/internal/protocol"
	"github.com/minicomp/minicomp/internal/rigtest"
)

func TestParsePrivileged(t *testing.T) {
	for in, want := range map[string]Privileged{"": 0, "all": PrivAll, "capture": PrivCapture, "input, clipboard": PrivInput | PrivClipboard, "outputs,all": PrivAll} {
		if got, err := ParsePrivileged(in); err != nil || got != want {
			t.Errorf("ParsePrivileged(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := ParsePrivileged("capture,keys"); err == nil || !strings.Contains(err.Error(), `"keys"`) {
		t.Errorf("an unknown group: %v", err)
	}
	if s := (PrivInput | PrivOutputs).String(); s != "input,outputs" {
		t.Errorf("String() = %q", s)
	}
}

// Withheld groups are not in the registry wayland-info sees (and a raw
// bind of one is refused); the others are.
func TestWithholdGlobals(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	groups := map[Privileged][]string{
		PrivCapture:   {"zwlr_screencopy_manager_v1"},
		PrivInput:     {"zwlr_virtual_pointer_manager_v1", "zwp_virtual_keyboard_manager_v1"},
		PrivClipboard: {"zwlr_data_control_manager_v1"},
		PrivOutputs:   {"zwlr_output_manager_v1", "zwlr_output_power_manager_v1"},
	}
	for _, withhold := range []Privileged{PrivAll, PrivInput | PrivCapture, PrivOutputs, PrivClipboard} {
		t.Run(withhold.String(), func(t *testing.T) {
			hb, err := headless.New(headless.Options{Outputs: []backend.Size{{Width: 64, Height: 64}}, Logger: testLog(t)})
			if err != nil {
				t.Fatal(err)
			}
			s, dir, _ := startServer(t, hb, Options{Withhold: withhold})
			out, err := client(t, dir, "wayland-info").CombinedOutput()
			if err != nil {
				t.Fatalf("wayland-info: %v\n%s", err, out)
			}
			for g, names := range groups {
				for _, n := range names {
					if listed := strings.Contains(string(out), "'"+n+"'"); listed != (withhold&g == 0) {
						t.Errorf("withholding %v: %s listed %v", withhold, n, listed)
					}
				}
			}
			if !strings.Contains(string(out), "'wl_compositor'") {
				t.Errorf("wl_compositor missing:\n%s", out)
			}
			if withhold&PrivInput != 0 {
				// The name a full server would give it is not bindable.
				if globalName(s, protocol.ZwlrVirtualPointerManagerV1Interface) != 0 {
					t.Error("the virtual pointer manager is a global")
				}
			}
		})
	}
}

// The socket's directory is private to the user: another uid cannot
// connect (checked by running wayland-info as nobody when the test runs
// as root, the only way to be another uid), the owner can.
func TestSocketPrivate(t *testing.T) {
	if rigtest.Name() != "" {
		t.Skip("real clients run on the host")
	}
	_, dir := start(t)
	st, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o700 || int(st.Sys().(*syscall.Stat_t).Uid) != os.Getuid() {
		t.Fatalf("runtime dir %s: mode %v uid %d", dir, st.Mode(), st.Sys().(*syscall.Stat_t).Uid)
	}
	if out, err := client(t, dir, "wayland-info").CombinedOutput(); err != nil {
		t.Fatalf("the owner cannot connect: %v\n%s", err, out)
	}
	if os.Getuid() != 0 {
		t.Logf("not root: another uid's connect is not tried (the directory's 0700 is checked)")
		return
	}
	cmd := client(t, dir, "wayland-info")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("uid 65534 connected:\n%s", out)
	}
	t.Logf("uid 65534: %v: %s", err, strings.TrimSpace(string(out)))
}

// ParsePrivileged takes any text without a panic; what it accepts
// prints back as a list it reads the same way.
func FuzzParsePrivileged(f *testing.F) {
	for _, s := range []string{"", "all", "capture,input", " outputs , clipboard", ",,", "capture,x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePrivileged(s)
		if err != nil {
			return
		}
		if p&^PrivAll != 0 {
			t.Fatalf("%q: bits %b outside PrivAll", s, p)
		}
		if q, err := ParsePrivileged(p.String()); err != nil || q != p {
			t.Fatalf("%q → %v → %q → %v, %v", s, p, p.String(), q, err)
		}
	})
}
