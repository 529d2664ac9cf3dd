package rigtest

import "testing"

func TestChildRan(t *testing.T) {
	for _, c := range []struct {
		out string
		ok  bool
	}{
		{"=== RUN   TestX\n--- PASS: TestX (0.01s)\nPASS\n", true},
		{"testing: warning: no tests to run\nPASS\n", false},
		{"=== RUN   TestX\n    x_test.go:3: skipped\n--- SKIP: TestX (0.00s)\nPASS\n", false},
		{"=== RUN   TestXY\n--- PASS: TestXY (0.01s)\nPASS\n", false},
	} {
		if err := childRan([]byte(c.out), "TestX"); (err == nil) != c.ok {
			t.Errorf("%q: %v, want ok %v", c.out, err, c.ok)
		}
	}
}
