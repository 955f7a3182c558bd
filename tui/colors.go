package tui

import (
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/charmbracelet/lipgloss"
	"github.com/charmbracelet/x/term"
	"golang.org/x/sys/unix"
)

// colorQueryTimeout bounds the wait for the terminal's answer to the background colour
// query: a terminal that never answers (script(1) into a pipe, some CI and IDE
// terminals, serial consoles) gets the dark palette after this long. termenv, which
// lipgloss would use, waits 5 s and cannot be told otherwise.
const colorQueryTimeout = time.Second

// detectColors sets lipgloss's default renderer for out: the colour profile from the
// environment (TERM, COLORTERM, NO_COLOR), and whether the background is dark, asked
// once here, before Bubble Tea reads the keyboard (afterwards the answer would arrive
// as key presses). Nothing else in pimsync queries a terminal: the Bubble Tea copy in
// tui/third_party has no package init (docs/DECISIONS.md, Terminal).
func detectColors(in io.Reader, out io.Writer) {
	f, ok := out.(*os.File)
	if !ok {
		return
	}
	r := lipgloss.NewRenderer(f)
	r.ColorProfile()
	dark := true
	if d, ok := envBackground(os.Getenv("COLORFGBG")); ok {
		dark = d
	} else if in, ok := in.(*os.File); ok {
		if d, ok := queryBackground(in, f, os.Getenv("TERM"), colorQueryTimeout); ok {
			dark = d
		}
	}
	r.SetHasDarkBackground(dark)
	lipgloss.SetDefaultRenderer(r)
}

// envBackground reads COLORFGBG ("15;0": the background is the last number, an ANSI
// colour; 0–6 and 8 are dark).
func envBackground(v string) (dark, ok bool) {
	i := strings.LastIndexByte(v, ';')
	if i < 0 {
		return false, false
	}
	n, err := strconv.Atoi(v[i+1:])
	if err != nil {
		return false, false
	}
	return n < 7 || n == 8, true
}

// queryBackground asks the terminal for its background colour (OSC 11), followed by a
// cursor position request (DSR 6) that every terminal answers, and reads until that
// answer or timeout. ok is false when nothing usable came back: no terminal, a
// terminal multiplexer (which cannot answer for every client), the process in the
// background, no answer in time, or no colour in the answer.
func queryBackground(in, out *os.File, termName string, timeout time.Duration) (dark, ok bool) {
	if strings.HasPrefix(termName, "dumb") || strings.HasPrefix(termName, "screen") || strings.HasPrefix(termName, "tmux") {
		return false, false
	}
	fd := in.Fd()
	if !term.IsTerminal(fd) || !term.IsTerminal(out.Fd()) {
		return false, false
	}
	if pgrp, err := unix.IoctlGetInt(int(fd), unix.TIOCGPGRP); err != nil || pgrp != syscall.Getpgrp() {
		return false, false // not the foreground job: reading would stop us (SIGTTIN)
	}
	return askBackground(in, out, timeout)
}

// askBackground writes the two queries to out and reads the answers from in.
func askBackground(in, out *os.File, timeout time.Duration) (dark, ok bool) {
	fd := in.Fd()
	state, err := term.MakeRaw(fd)
	if err != nil {
		return false, false
	}
	defer term.Restore(fd, state)
	if _, err := io.WriteString(out, "\x1b]11;?\x1b\\\x1b[6n"); err != nil {
		return false, false
	}
	var answer []byte
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 256)
	for !dsrAnswered(answer) {
		left := time.Until(deadline)
		if left <= 0 {
			break
		}
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, int(left/time.Millisecond)+1)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n == 0 {
			break
		}
		m, err := syscall.Read(int(fd), buf)
		if err != nil || m <= 0 {
			break
		}
		answer = append(answer, buf[:m]...)
	}
	return parseBackground(string(answer))
}

// dsrAnswered reports whether b holds a cursor position report (ESC [ row ; col R).
func dsrAnswered(b []byte) bool {
	s := string(b)
	i := strings.LastIndex(s, "\x1b[")
	return i >= 0 && strings.HasSuffix(s, "R") && strings.Contains(s[i:], ";")
}

// parseBackground finds "ESC ] 11 ; rgb:RRRR/GGGG/BBBB" in a terminal's answer and
// reports whether that colour is dark (HSL lightness below one half).
func parseBackground(s string) (dark, ok bool) {
	i := strings.Index(s, "\x1b]11;rgb:")
	if i < 0 {
		return false, false
	}
	s = s[i+len("\x1b]11;rgb:"):]
	if j := strings.IndexAny(s, "\x1b\a"); j >= 0 {
		s = s[:j]
	}
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return false, false
	}
	var c [3]float64
	for k, p := range parts {
		if p == "" || len(p) > 4 {
			return false, false
		}
		v, err := strconv.ParseUint(p, 16, 16)
		if err != nil {
			return false, false
		}
		c[k] = float64(v) / float64(uint64(1)<<(4*len(p))-1)
	}
	hi, lo := max(c[0], c[1], c[2]), min(c[0], c[1], c[2])
	return (hi+lo)/2 < 0.5, true
}
