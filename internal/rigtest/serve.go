package rigtest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"
)

// Logger returns the logger a rig test hands the compositor and the
// libraries under test: discarded, or Info and above on stderr under
// go test -v (the rig streams the guest's stderr).
func Logger() *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// RuntimeDir returns a new directory for a test's Wayland sockets
// (XDG_RUNTIME_DIR), mode 0700 as libwayland wants it; removed when the
// test ends.
func RuntimeDir(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Serve runs run (a compositor's Run) until the test ends; then it
// cancels run's context, fails the test if run returned an error, and
// calls closers in order (the backend, then the devices it used), failing
// the test on each error.
func Serve(t testing.TB, run func(context.Context) error, closers ...func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		for _, c := range closers {
			if err := c(); err != nil {
				t.Errorf("Close: %v", err)
			}
		}
	})
}
