package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// A program on the pseudo-terminal is read line by line, without the
// terminal's carriage returns. The program is this test binary itself
// (the rig guests have no shell).
func TestStartOnPTY(t *testing.T) {
	if os.Getenv("TESTENV_PTY_CHILD") == "1" {
		fmt.Println("one")
		fmt.Fprintln(os.Stderr, "two")
		os.Exit(0)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestStartOnPTY$")
	cmd.Env = append(os.Environ(), "TESTENV_PTY_CHILD=1")
	out := StartOnPTY(t, cmd)
	if m := out.Expect(t, `^two$`); len(m) != 1 {
		t.Fatalf("submatches %q", m)
	}
	out.ExpectSeen(t, `^one$`)
}
