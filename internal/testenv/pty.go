package testenv

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Lines is a program's output read line by line, for tests that wait for
// what it prints (wev's input events).
type Lines struct {
	ch   <-chan string
	last []string // the last lines, printed when an expectation fails
	all  []string
}

// OpenPTY returns a new pseudo-terminal's master and slave (both
// close-on-exec: give the slave to a child as its stdout).
func OpenPTY() (master, slave *os.File, err error) {
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		return nil, nil, err
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("unlockpt: %w", err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		m.Close()
		return nil, nil, fmt.Errorf("ptsname: %w", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		m.Close()
		return nil, nil, err
	}
	return m, s, nil
}

// StartOnPTY starts cmd with its stdout and stderr on a pseudo-terminal,
// so a program that never flushes (wev: on a pipe its lines would wait
// for 4 KiB) prints each line at once; the program is killed at cleanup.
func StartOnPTY(tb testing.TB, cmd *exec.Cmd) *Lines {
	tb.Helper()
	master, slave, err := OpenPTY()
	if err != nil {
		tb.Fatalf("pty: %v", err)
	}
	cmd.Stdout, cmd.Stderr = slave, slave
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	slave.Close()
	ch := make(chan string, 4096)
	go func() {
		sc := bufio.NewScanner(master)
		for sc.Scan() {
			ch <- strings.TrimRight(sc.Text(), "\r")
		}
		close(ch)
	}()
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		master.Close()
	})
	return &Lines{ch: ch}
}

// Expect waits (15 s at most) for a line matching re and returns its
// submatches; lines before it are passed over.
func (l *Lines) Expect(tb testing.TB, re string) []string {
	tb.Helper()
	r := regexp.MustCompile(re)
	timeout := time.After(15 * time.Second)
	fail := func(why string) {
		tb.Helper()
		tb.Fatalf("%s; the last lines:\n%s", why, strings.Join(l.last, "\n"))
	}
	for {
		select {
		case s, ok := <-l.ch:
			if !ok {
				fail(fmt.Sprintf("the program exited before printing %q", re))
			}
			l.all = append(l.all, s)
			if l.last = append(l.last, s); len(l.last) > 60 {
				l.last = l.last[1:]
			}
			if m := r.FindStringSubmatch(s); m != nil {
				return m
			}
		case <-timeout:
			fail(fmt.Sprintf("no line matching %q within 15 s", re))
		}
	}
}

// ExpectSeen is Expect for a line whose order against others is not
// fixed: one printed earlier counts.
func (l *Lines) ExpectSeen(tb testing.TB, re string) {
	tb.Helper()
	r := regexp.MustCompile(re)
	for _, s := range l.all {
		if r.MatchString(s) {
			return
		}
	}
	l.Expect(tb, re)
}

// Seen reports whether a line read so far matches re.
func (l *Lines) Seen(re string) bool {
	r := regexp.MustCompile(re)
	for _, s := range l.all {
		if r.MatchString(s) {
			return true
		}
	}
	return false
}
