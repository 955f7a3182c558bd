package tui

import (
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.IoctlSetPointerInt(int(m.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatal(err)
	}
	n, err := unix.IoctlGetInt(int(m.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatal(err)
	}
	s, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close(); m.Close() })
	return m, s
}

// A terminal that answers is asked once and its answer is read; one that never
// answers gives up after the timeout, leaving the default.
func TestAskBackground(t *testing.T) {
	for _, c := range []struct {
		answer   string
		dark, ok bool
	}{
		{"\x1b]11;rgb:ffff/ffff/ffff\x1b\\\x1b[24;1R", false, true},
		{"\x1b]11;rgb:1e1e/1e1e/2e2e\a\x1b[3;7R", true, true},
		{"\x1b[1;1R", false, false}, // no OSC 11 support: only the cursor report
		{"", false, false},          // silent
	} {
		m, s := openPTY(t)
		got := make(chan string, 1)
		go func() {
			buf := make([]byte, 64)
			var q []byte
			for !strings.Contains(string(q), "\x1b[6n") {
				n, err := m.Read(buf)
				if err != nil {
					break
				}
				q = append(q, buf[:n]...)
			}
			got <- string(q)
			if c.answer != "" {
				m.WriteString(c.answer)
			}
		}()
		dark, ok := askBackground(s, s, 300*time.Millisecond)
		if q := <-got; q != "\x1b]11;?\x1b\\\x1b[6n" {
			t.Errorf("asked %q", q)
		}
		if dark != c.dark || ok != c.ok {
			t.Errorf("answer %q: dark %v ok %v, want %v %v", c.answer, dark, ok, c.dark, c.ok)
		}
	}
}

func TestBackgroundFromEnvAndAnswers(t *testing.T) {
	for v, want := range map[string][2]bool{"15;0": {true, true}, "0;15": {false, true}, "0;default;7": {false, true}, "": {false, false}, "x": {false, false}} {
		if d, ok := envBackground(v); d != want[0] || ok != want[1] {
			t.Errorf("COLORFGBG=%q: %v %v", v, d, ok)
		}
	}
	if _, ok := parseBackground("\x1b]11;rgb:zz/00/00\x1b\\"); ok {
		t.Error("a malformed colour was accepted")
	}
	if d, ok := parseBackground("\x1b]11;rgb:80/80/80\x1b\\"); !ok || d {
		t.Errorf("mid grey: dark %v ok %v", d, ok)
	}
	// Not a terminal: nothing is written, nothing is waited for.
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := queryBackground(f, f, "xterm", time.Hour); ok {
		t.Error("a file answered")
	}
	if st, _ := f.Stat(); st.Size() != 0 {
		t.Error("the query was written to a file")
	}
	// A multiplexer is never asked.
	m, s := openPTY(t)
	if _, ok := queryBackground(s, s, "screen-256color", time.Hour); ok {
		t.Error("screen was asked")
	}
	_ = m
}
