package main

// Commands on a terminal that never answers: a pseudo-terminal whose master side the
// test reads but never writes to (like script(1) writing to a pipe, some CI and IDE
// terminals, serial consoles). Non-interactive commands must not write a single escape
// sequence there and must not wait for an answer; the TUI must still come up.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// silentPTY is a pseudo-terminal pair; everything written to the terminal side is
// collected, and nothing is ever answered unless the test types.
type silentPTY struct {
	master, slave *os.File
	mu            sync.Mutex
	out           bytes.Buffer
	done          chan struct{}
}

func newSilentPTY(t *testing.T, cols, rows int) *silentPTY {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening /dev/ptmx: %v", err)
	}
	fd := int(m.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlockpt: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("ptsname: %v", err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening the terminal side: %v", err)
	}
	if err := unix.IoctlSetWinsize(int(s.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: uint16(rows), Col: uint16(cols)}); err != nil {
		t.Fatalf("setting the window size: %v", err)
	}
	p := &silentPTY{master: m, slave: s, done: make(chan struct{})}
	go func() {
		defer close(p.done)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			p.mu.Lock()
			p.out.Write(buf[:n])
			p.mu.Unlock()
			if err != nil {
				return // EIO once every terminal side is closed
			}
		}
	}()
	t.Cleanup(func() { s.Close(); m.Close() })
	return p
}

func (p *silentPTY) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out.String()
}

// start runs the binary with the terminal as its controlling terminal and stdin,
// stdout and stderr, in a session of its own (so that it is the terminal's foreground
// process group, the case in which terminal libraries query it).
func (p *silentPTY) start(t *testing.T, dir string, env []string, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(binPath, args...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.Stdin, cmd.Stdout, cmd.Stderr = p.slave, p.slave, p.slave
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// wait waits for the command (a generous safety net, never a timing assertion) and
// returns its exit status.
func waitExit(t *testing.T, cmd *exec.Cmd, what string, screen func() string) int {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		return 0
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("%s did not finish; the terminal got:\n%q", what, screen())
	}
	return -1
}

// terminalEnv is the environment of an interactive shell on a colour terminal: no CI
// variable (terminal libraries skip their queries when it is set) and no NO_COLOR.
func terminalEnv(e *env) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		switch k {
		case "CI", "TERM", "NO_COLOR", "COLORFGBG", "HOME", "XDG_CONFIG_HOME", "XDG_RUNTIME_DIR":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "TERM=xterm-256color", "HOME="+e.home, "XDG_RUNTIME_DIR="+e.path("run"), raceNoSleep)
}

// version, check, sync and sync -n on a terminal that never answers write exactly what
// they write into a pipe, without one escape sequence, and finish.
func TestCommandsNeverQueryTheTerminal(t *testing.T) {
	e := newEnv(t)
	e.write("a/cal/x1.ics", event("x1", "One"))
	if err := os.MkdirAll(e.path("run"), 0o700); err != nil {
		t.Fatal(err)
	}
	env := terminalEnv(e)
	fresh := func() { // b and the status as before any sync
		e.remove("status")
		e.remove("b")
		if err := os.MkdirAll(e.path("b"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	synced := func() { fresh(); e.mustRun(0, "sync") }
	for _, row := range []struct {
		args    []string
		prepare func()
	}{
		{[]string{"version"}, func() {}},
		{[]string{"-c", e.cfg, "check"}, func() {}},
		{[]string{"-c", e.cfg, "sync", "-n"}, fresh},
		{[]string{"-c", e.cfg, "sync"}, fresh},
		{[]string{"-c", e.cfg, "sync"}, synced}, // nothing to do
		{[]string{"-c", e.cfg, "nosuchcommand"}, func() {}},
	} {
		args := row.args
		// The same command into pipes first, for the expected text.
		row.prepare()
		piped := exec.Command(binPath, args...)
		piped.Dir, piped.Env = e.dir, env
		var pipeOut bytes.Buffer
		piped.Stdout, piped.Stderr = &pipeOut, &pipeOut
		pipeCode := 0
		if err := piped.Run(); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("%v: %v", args, err)
			}
			pipeCode = ee.ExitCode()
		}

		row.prepare()
		p := newSilentPTY(t, 80, 24)
		cmd := p.start(t, e.dir, env, args...)
		code := waitExit(t, cmd, fmt.Sprint("pimsync ", args), p.output)
		p.slave.Close()
		<-p.done
		got := strings.ReplaceAll(p.output(), "\r\n", "\n")
		if strings.Contains(got, "\x1b") {
			t.Errorf("pimsync %v wrote an escape sequence to the terminal: %q", args, got)
		}
		if code != pipeCode || got != pipeOut.String() {
			t.Errorf("pimsync %v on a terminal: exit %d, output\n%q\ninto a pipe: exit %d, output\n%q", args, code, got, pipeCode, pipeOut.String())
		}
	}
}

// The TUI on a terminal that never answers its colour query still comes up, draws the
// overview and quits on q.
func TestTUIStartsOnATerminalThatNeverAnswers(t *testing.T) {
	e := newEnv(t)
	e.write("a/cal/x1.ics", event("x1", "One"))
	if err := os.MkdirAll(e.path("run"), 0o700); err != nil {
		t.Fatal(err)
	}
	p := newSilentPTY(t, 100, 30)
	cmd := p.start(t, e.dir, terminalEnv(e), "-c", e.cfg)
	if !waitFor(2*time.Minute, func() bool {
		return strings.Contains(p.output(), "overview") && strings.Contains(p.output(), "1 change")
	}) {
		cmd.Process.Kill()
		t.Fatalf("the TUI did not draw the overview; the terminal got:\n%q", p.output())
	}
	if _, err := p.master.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	if code := waitExit(t, cmd, "the TUI", p.output); code != 0 {
		t.Errorf("the TUI exited %d; the terminal got:\n%q", code, p.output())
	}
}
