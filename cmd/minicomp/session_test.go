package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minicomp/minicomp/internal/seat"
	"github.com/minicomp/minicomp/internal/testenv"
)

// A seat provider counts as a seat for the automatic backend choice:
// LIBSEAT_BACKEND named, or seatd's socket present.
func TestSeatAvailable(t *testing.T) {
	t.Setenv("LIBSEAT_BACKEND", "")
	sock := filepath.Join(t.TempDir(), "seatd.sock")
	t.Setenv("SEATD_SOCK", sock)
	if ok, _ := seatAvailable(); ok {
		t.Fatal("a seat without seatd or LIBSEAT_BACKEND")
	}
	os.WriteFile(sock, nil, 0o600)
	if ok, which := seatAvailable(); !ok || !strings.Contains(which, sock) {
		t.Errorf("seatd socket: %v %q", ok, which)
	}
	os.Remove(sock)
	t.Setenv("LIBSEAT_BACKEND", "builtin")
	if ok, which := seatAvailable(); !ok || which != "LIBSEAT_BACKEND=builtin" {
		t.Errorf("LIBSEAT_BACKEND: %v %q", ok, which)
	}
}

// --session: none opens nothing; libseat with no seat provider is an
// error naming it (or libseat's package when the library is missing);
// auto falls back to no session; anything else is a usage error.
func TestOpenSeatModes(t *testing.T) {
	ctx := context.Background()
	if st, err := openSeat(ctx, sessionNone, quiet()); st != nil || err != nil {
		t.Fatalf("none: %v %v", st, err)
	}
	if _, err := openSeat(ctx, "logind", quiet()); err == nil || !strings.Contains(err.Error(), "want auto, libseat or none") {
		t.Fatalf("bad mode: %v", err)
	}
	if _, err := os.Stat(testenv.SeatdSocket); err == nil {
		t.Skip("a seatd runs on this machine")
	}
	t.Setenv("LIBSEAT_BACKEND", "seatd")
	_, err := openSeat(ctx, sessionLibseat, quiet())
	switch {
	case errors.Is(err, seat.ErrNoLibseat):
		if !strings.Contains(err.Error(), "libseat1") {
			t.Errorf("missing libseat: %v does not name the package", err)
		}
		testenv.SkipOrFail(t, err.Error())
	case !errors.Is(err, seat.ErrNoSeat) || !strings.Contains(err.Error(), "--session=libseat"):
		t.Fatalf("libseat without seatd: %v", err)
	}
	if st, err := openSeat(ctx, sessionAuto, quiet()); st != nil || err != nil {
		t.Fatalf("auto without seatd: %v %v", st, err)
	}
}
