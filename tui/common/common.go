// Package common holds what the pages and components of the TUI share: the Common
// struct (size, styles, keys, the engine service and the store), the key map, the
// styles, the messages and layout helpers.
package common

import (
	"fmt"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"
)

// Common is shared by the root model, every page and every component.
type Common struct {
	Width, Height int
	Styles        *Styles
	Keys          *KeyMap
	Svc           *Service
	Store         *Store
	// Now is the clock used for "2 h ago" (fixed in tests).
	Now func() time.Time
	// Spinner is the current spinner frame, drawn next to anything in progress.
	Spinner string
	// Navigate handles a navigation message (OpenPlanMsg, StartSyncMsg, BackMsg, …)
	// at once, so that keys typed quickly after it reach the new page.
	Navigate func(tea.Msg) tea.Cmd
}

// Go navigates: through Navigate when set, else as a command.
func (c *Common) Go(msg tea.Msg) tea.Cmd {
	if c.Navigate != nil {
		return c.Navigate(msg)
	}
	return Send(msg)
}

// Fit pads or cuts s to exactly h lines of exactly w cells each, so that a page never
// draws outside its box and the screen never jumps.
func Fit(s string, w, h int) string {
	if h <= 0 || w <= 0 {
		return ""
	}
	lines := strings.Split(s, "\n")
	if len(lines) > h {
		lines = lines[:h]
	}
	for len(lines) < h {
		lines = append(lines, "")
	}
	for i, l := range lines {
		lines[i] = FitLine(l, w)
	}
	return strings.Join(lines, "\n")
}

// FitLine pads or cuts one line to exactly w cells ("…" marks a cut).
func FitLine(l string, w int) string {
	n := ansi.StringWidth(l)
	if n > w {
		l = ansi.Truncate(l, w, "…")
		n = ansi.StringWidth(l)
	}
	if n < w {
		l += strings.Repeat(" ", w-n)
	}
	return l
}

// Trunc cuts a plain or styled string to at most w cells.
func Trunc(s string, w int) string {
	if w <= 0 {
		return ""
	}
	if ansi.StringWidth(s) <= w {
		return s
	}
	return ansi.Truncate(s, w, "…")
}

// Pad cuts or pads s to exactly w cells.
func Pad(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return FitLine(s, w)
}

// Width is the number of cells s takes.
func Width(s string) int { return ansi.StringWidth(s) }

// Ago renders the time since t for humans: "just now", "5 min ago", "3 h ago",
// "2 days ago", or the date for anything older than a week.
func Ago(now, t time.Time) string {
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return "just now"
	case d < time.Hour:
		return fmt.Sprintf("%d min ago", int(d/time.Minute))
	case d < 24*time.Hour:
		return fmt.Sprintf("%d h ago", int(d/time.Hour))
	case d < 7*24*time.Hour:
		n := int(d / (24 * time.Hour))
		if n == 1 {
			return "1 day ago"
		}
		return fmt.Sprintf("%d days ago", n)
	}
	return t.Local().Format("2006-01-02")
}

// Rule is a horizontal line of width w with an optional title.
func (c *Common) Rule(title string, w int) string {
	if title == "" {
		return c.Styles.Rule.Render(strings.Repeat("─", max(w, 0)))
	}
	t := "─ " + title + " "
	return c.Styles.Rule.Render(t + strings.Repeat("─", max(w-Width(t), 0)))
}

// Scroll keeps a cursor visible in a window of h lines over n lines, given the current
// offset, and returns the new offset.
func Scroll(offset, cursor, n, h int) int {
	if h <= 0 {
		return 0
	}
	if cursor < offset {
		offset = cursor
	}
	if cursor >= offset+h {
		offset = cursor - h + 1
	}
	if offset > n-h {
		offset = n - h
	}
	if offset < 0 {
		offset = 0
	}
	return offset
}

// Page is one screen of the TUI: the overview, the plan preview, the sync progress and
// the conflicts.
type Page interface {
	// Update handles a message meant for the page (keys when it is in front, and the
	// results it asked for).
	Update(msg tea.Msg) tea.Cmd
	// View renders the page in exactly w×h cells.
	View(w, h int) string
	// ShortHelp and FullHelp are the page's key bindings for the help bar.
	ShortHelp() []key.Binding
	FullHelp() [][]key.Binding
	// Busy reports whether the page waits for a result.
	Busy() bool
}

// New returns a Common with the default styles and keys for the service's pairs.
func New(svc *Service, now func() time.Time) *Common {
	if now == nil {
		now = time.Now
	}
	return &Common{Styles: DefaultStyles(), Keys: DefaultKeyMap(), Svc: svc, Store: NewStore(svc.Pairs), Now: now}
}

// NaturalLess orders strings the way people count: runs of digits compare by their
// value ("bulk-19" < "bulk-184"), everything else by letter, ignoring case first.
func NaturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		ra, rb := strings.ToLower(a[:1]), strings.ToLower(b[:1])
		if ra != rb {
			return ra < rb
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}
