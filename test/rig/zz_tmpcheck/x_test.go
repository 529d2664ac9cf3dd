package zz

import (
	"fmt"
	"os"
	"testing"
	"syscall"
)

func TestX(t *testing.T) {
	b, err := os.ReadFile("testdata/link")
	wd, _ := os.Getwd()
	t.Logf("wd=%s data=%q err=%v uid=%d env=%s home=%s xdg=%s", wd, b, err, os.Getuid(), os.Getenv("MINICOMP_FOO"), os.Getenv("HOME"), os.Getenv("XDG_RUNTIME_DIR"))
	fi, _ := os.Stat("/run/user/0"); t.Logf("%v", fi.Mode())
	if os.Getenv("MINICOMP_FOO") == "fail" { t.Fatal("asked to fail") }
	if os.Getenv("MINICOMP_FOO") == "exit3" { fmt.Print("no newline"); os.Exit(3) }
	if os.Getenv("MINICOMP_FOO") == "kill" { syscall.Kill(os.Getpid(), syscall.SIGKILL) }
	if os.Getenv("MINICOMP_FOO") == "hang" { for { syscall.Nanosleep(&syscall.Timespec{Sec: 100}, nil) } }
	if os.Getenv("MINICOMP_FOO") == "cover" { return }
	if err := syscall.Setuid(1000); err != nil { t.Fatal(err) }
	t.Logf("now uid %d", os.Getuid())
}
