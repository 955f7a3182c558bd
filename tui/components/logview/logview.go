// Package logview is the log pane: every log line of the session, newest at the
// bottom, wrapped to the width of the screen (never cut). Unfocused it shows the last
// few lines; focused (l) it fills the screen and can be scrolled, searched (/, n, N)
// and saved to a file (w).
package logview

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/tui/common"
)

// maxLines is how many lines the pane keeps.
const maxLines = 2000

// Model holds the log lines.
type Model struct {
	c     *common.Common
	lines []common.LogLine
	// back is how many wrapped rows the view is scrolled up from the bottom (0:
	// following the newest line).
	back int
	// The search: the query, whether it is being typed, and the current match (an
	// index into the matching rows, counted from the bottom).
	query     string
	searching bool
	input     textinput.Model
	match     int
	// Unseen counts warnings and errors that arrived while the pane was not focused.
	Unseen int
	// last rendering, for the scroll limits
	rows, height int
}

// New returns an empty log pane.
func New(c *common.Common) *Model {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "search the log"
	in.PromptStyle, in.TextStyle = c.Styles.Input, c.Styles.Input
	return &Model{c: c, input: in}
}

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

// Text is the whole log as text, one line per record ("level: text").
func (m *Model) Text() string {
	var b strings.Builder
	for _, l := range m.lines {
		fmt.Fprintf(&b, "%s: %s\n", present.LevelName(l.Level), l.Text)
	}
	return b.String()
}

// Rows is the number of screen rows the log takes at width w.
func (m *Model) Rows(w int) int { return len(m.wrapped(w)) }

// Typing reports whether the search line has the keyboard.
func (m *Model) Typing() bool { return m.searching }

// Query is the current search ("" for none).
func (m *Model) Query() string { return m.query }

// row is one wrapped screen row of a log line.
type row struct {
	text  string // plain
	level slog.Level
}

// wrapped renders every line as rows of width w: "level: text", continuation rows
// indented under the text.
func (m *Model) wrapped(w int) []row {
	var out []row
	for _, l := range m.lines {
		prefix := present.LevelName(l.Level) + ": "
		indent := strings.Repeat(" ", len(prefix))
		tw := max(w-len(prefix), 10)
		for i, part := range strings.Split(l.Text, "\n") {
			for j, r := range strings.Split(ansi.Wrap(part, tw, " /"), "\n") {
				lead := indent
				if i == 0 && j == 0 {
					lead = prefix
				}
				out = append(out, row{text: lead + r, level: l.Level})
			}
		}
	}
	return out
}

// matches returns the indices of the rows that contain the query.
func (m *Model) matches(rows []row) []int {
	if m.query == "" {
		return nil
	}
	q := strings.ToLower(m.query)
	var out []int
	for i, r := range rows {
		if strings.Contains(strings.ToLower(r.text), q) {
			out = append(out, i)
		}
	}
	return out
}

// Update handles the keys of the focused pane (scrolling, search). It reports
// whether it used the key.
func (m *Model) Update(msg tea.Msg) (tea.Cmd, bool) {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil, false
	}
	keys := m.c.Keys
	if m.searching {
		switch k.Type {
		case tea.KeyEnter:
			m.searching = false
			m.input.Blur()
			m.query = m.input.Value()
			m.match = 0
			m.jump()
		case tea.KeyEsc:
			m.searching = false
			m.input.Blur()
		default:
			var cmd tea.Cmd
			m.input, cmd = m.input.Update(msg)
			return cmd, true
		}
		return nil, true
	}
	page := max(m.height-1, 1)
	switch {
	case key.Matches(k, keys.Search):
		m.searching = true
		m.input.SetValue(m.query)
		return m.input.Focus(), true
	case key.Matches(k, keys.NextMatch):
		m.match++
		m.jump()
	case key.Matches(k, keys.PrevMatch):
		m.match--
		m.jump()
	case key.Matches(k, keys.Up):
		m.back++
	case key.Matches(k, keys.Down):
		m.back--
	case key.Matches(k, keys.PageUp):
		m.back += page
	case key.Matches(k, keys.PageDown):
		m.back -= page
	case key.Matches(k, keys.Top):
		m.back = 1 << 20
	case key.Matches(k, keys.Bottom):
		m.back = 0
	case key.Matches(k, keys.Back) && m.query != "":
		m.query = ""
	default:
		return nil, false
	}
	m.clamp()
	return nil, true
}

// Scroll moves the view by n rows (positive: towards older lines).
func (m *Model) Scroll(n int) {
	m.back += n
	m.clamp()
}

func (m *Model) clamp() {
	m.back = max(min(m.back, m.rows-m.height), 0)
}

// jump scrolls to the current match (the first one is the newest).
func (m *Model) jump() {
	rows := m.wrapped(max(m.c.Width, 10))
	ms := m.matches(rows)
	if len(ms) == 0 {
		return
	}
	m.match = ((m.match % len(ms)) + len(ms)) % len(ms)
	target := ms[len(ms)-1-m.match]
	// Put the match in the middle of the view.
	m.back = max(len(rows)-target-1-m.height/2, 0)
	m.rows = len(rows)
	m.clamp()
}

// View renders the pane in w×h cells. Focused, the last line is the search line or a
// position and key summary.
func (m *Model) View(w, h int, focused bool) string {
	st := m.c.Styles
	if focused {
		m.Unseen = 0
	}
	body := h
	if focused {
		body = max(h-1, 1)
	}
	rows := m.wrapped(w)
	m.rows, m.height = len(rows), body
	m.clamp()
	end := len(rows) - m.back
	start := max(end-body, 0)
	ms := m.matches(rows)
	current := -1
	if len(ms) > 0 {
		current = ms[len(ms)-1-(((m.match%len(ms))+len(ms))%len(ms))]
	}
	var out []string
	for i := start; i < end; i++ {
		r := rows[i]
		text := r.text
		switch {
		case r.level >= slog.LevelError:
			text = st.Error.Render(text)
		case r.level >= slog.LevelWarn:
			text = st.Warn.Render(text)
		case !focused:
			text = st.Dim.Render(text)
		}
		if i == current {
			text = st.Match.Render(common.Pad(r.text, w))
		} else if m.query != "" && strings.Contains(strings.ToLower(r.text), strings.ToLower(m.query)) {
			text = "▌" + ansi.Truncate(text, w-1, "")
		}
		out = append(out, text)
	}
	if len(rows) == 0 {
		out = append(out, st.Dim.Render("(no log messages yet: errors and warnings of this session appear here)"))
	}
	view := common.Fit(strings.Join(out, "\n"), w, body)
	if !focused {
		return view
	}
	var status string
	switch {
	case m.searching:
		status = m.input.View()
	case m.query != "" && len(ms) == 0:
		status = st.Warn.Render(fmt.Sprintf("no line contains %q", m.query)) + st.Dim.Render(" · /: search again")
	case m.query != "":
		status = st.Dim.Render(fmt.Sprintf("match %d of %d for %q · n/N: next/previous", (((m.match%len(ms))+len(ms))%len(ms))+1, len(ms), m.query))
	default:
		pos := "newest lines"
		if m.back > 0 {
			pos = fmt.Sprintf("%d lines above the newest", m.back)
		}
		status = st.Dim.Render(fmt.Sprintf("%s · %s", common.Plural(len(m.lines), "message", "messages"), pos))
	}
	return view + "\n" + common.FitLine(status, w)
}
