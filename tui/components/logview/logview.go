// Package logview is the log pane: the last log records, newest at the bottom.
package logview

import (
	"github.com/pimsync-go/pimsync/engine/present"
	"log/slog"
	"strings"

	"github.com/pimsync-go/pimsync/tui/common"
)

// maxLines is how many lines the pane keeps.
const maxLines = 500

// Model holds the log lines.
type Model struct {
	c     *common.Common
	lines []common.LogLine
	// Unseen counts warnings and errors since the pane was last visible.
	Unseen int
}

// New returns an empty log pane.
func New(c *common.Common) *Model { return &Model{c: c} }

// Add appends lines.
func (m *Model) Add(lines ...common.LogLine) {
	for _, l := range lines {
		m.lines = append(m.lines, l)
		if l.Level >= slog.LevelWarn {
			m.Unseen++
		}
	}
	if len(m.lines) > maxLines {
		m.lines = append([]common.LogLine(nil), m.lines[len(m.lines)-maxLines:]...)
	}
}

// Len is the number of lines kept.
func (m *Model) Len() int { return len(m.lines) }

// Lines returns the lines kept.
func (m *Model) Lines() []common.LogLine { return m.lines }

// View renders the last h lines in width w.
func (m *Model) View(w, h int) string {
	st := m.c.Styles
	var out []string
	start := max(len(m.lines)-h, 0)
	for _, l := range m.lines[start:] {
		text := present.LevelName(l.Level) + ": " + strings.ReplaceAll(l.Text, "\n", " ")
		text = common.Trunc(text, w)
		switch {
		case l.Level >= slog.LevelError:
			text = st.Error.Render(text)
		case l.Level >= slog.LevelWarn:
			text = st.Warn.Render(text)
		default:
			text = st.Dim.Render(text)
		}
		out = append(out, text)
	}
	if len(out) == 0 {
		out = append(out, st.Dim.Render("(no log messages)"))
	}
	m.Unseen = 0
	return common.Fit(strings.Join(out, "\n"), w, h)
}
