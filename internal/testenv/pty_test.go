package testenv

import (
	"os/exec"
	"testing"
)

// A program on the pseudo-terminal is read line by line, without the
// terminal's carriage returns.
func TestStartOnPTY(t *testing.T) {
	out := StartOnPTY(t, exec.Command("sh", "-c", "echo one; echo two 2>&1 >&2"))
	if m := out.Expect(t, `^two$`); len(m) != 1 {
		t.Fatalf("submatches %q", m)
	}
	out.ExpectSeen(t, `^one$`)
}
