// Package conflictview shows the two versions of a conflicting item side by side:
// aligned by component and property (SUMMARY, DTSTART, RRULE, …; FN, EMAIL, TEL, …)
// with the differing properties marked, or as raw text aligned line by line.
package conflictview

import (
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/storage"
	"github.com/pimsync-go/pimsync/tui/common"
)

// Model is the side-by-side view of one conflict.
type Model struct {
	c      *common.Common
	a, b   string // item texts
	names  [2]string
	raw    bool
	offset int
	height int
	// rows is the last rendering's row count (for scrolling limits).
	rows int
}

// New returns an empty view.
func New(c *common.Common) *Model { return &Model{c: c} }

// Set shows two versions; names are the storage names of side a and b.
func (m *Model) Set(v *engine.Versions, names [2]string) {
	m.a, m.b = "", ""
	if v != nil && v.A != nil && v.A.Item != nil {
		m.a = v.A.Item.Text()
	}
	if v != nil && v.B != nil && v.B.Item != nil {
		m.b = v.B.Item.Text()
	}
	m.names = names
	m.offset = 0
}

// Raw reports whether the raw text is shown.
func (m *Model) Raw() bool { return m.raw }

// ToggleRaw switches between the property view and the raw text.
func (m *Model) ToggleRaw() {
	m.raw = !m.raw
	m.offset = 0
}

// Update handles scrolling keys.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	m.offset, _ = m.c.Keys.Scroll(k, m.offset, max(m.height-3, 1))
	m.clamp()
	return nil
}

func (m *Model) clamp() {
	body := max(m.height-1, 1)
	m.offset = min(m.offset, max(m.rows-body, 0))
	m.offset = max(m.offset, 0)
}

// row is one rendered line pair.
type row struct {
	section string // a component heading instead of a row
	name    string
	a, b    string
	differs bool
}

// Rows returns the aligned rows of the property view (for tests and the raw toggle).
func fieldRows(a, b string) []row {
	var out []row
	comp := "\x00"
	for _, f := range present.CompareItems(a, b) {
		if f.Component != comp {
			comp = f.Component
			if comp != "" {
				out = append(out, row{section: comp})
			}
		}
		n := max(len(f.A), len(f.B), 1)
		for i := range n {
			r := row{differs: f.Differs()}
			if i == 0 {
				r.name = f.Name
			}
			if i < len(f.A) {
				r.a = value(f.A[i])
			} else if i == 0 && len(f.A) == 0 {
				r.a = "(absent)"
			}
			if i < len(f.B) {
				r.b = value(f.B[i])
			} else if i == 0 && len(f.B) == 0 {
				r.b = "(absent)"
			}
			out = append(out, r)
		}
	}
	return out
}

// value renders a content line without its name: the value (dates and times in a
// readable form), then any parameters.
func value(line string) string {
	cl := storage.SplitLine(line)
	v := cl.Value
	if dateProps[strings.ToUpper(cl.Name)] {
		v = readableDate(v)
	}
	if cl.Params != "" {
		v += "  [" + cl.Params + "]"
	}
	return v
}

// dateProps hold a date or a date-time.
var dateProps = map[string]bool{"DTSTART": true, "DTEND": true, "DUE": true, "RECURRENCE-ID": true,
	"COMPLETED": true, "CREATED": true, "BDAY": true, "ANNIVERSARY": true}

// readableDate turns 20250108 into "2025-01-08 Wed" and 20250108T160000[Z] into
// "2025-01-08 Wed 16:00 [UTC]"; anything else is left as it is.
func readableDate(v string) string {
	for _, in := range []string{"20060102T150405Z", "20060102T150405", "20060102", "2006-01-02"} {
		if len(v) != len(in) {
			continue
		}
		t, err := time.Parse(in, v)
		if err != nil {
			continue
		}
		out := t.Format("2006-01-02 Mon")
		if strings.Contains(in, "T") {
			if t.Second() != 0 {
				out += t.Format(" 15:04:05")
			} else {
				out += t.Format(" 15:04")
			}
			if strings.HasSuffix(in, "Z") {
				out += " UTC"
			}
		}
		return out
	}
	return v
}

// rawRows aligns the physical lines of both texts with a line diff.
func rawRows(a, b string) []row {
	split := func(s string) []string {
		s = strings.ReplaceAll(s, "\r\n", "\n")
		s = strings.TrimSuffix(s, "\n")
		if s == "" {
			return nil
		}
		return strings.Split(s, "\n")
	}
	la, lb := split(a), split(b)
	na := strings.Join(la, "\n") + "\n"
	nb := strings.Join(lb, "\n") + "\n"
	edits := udiff.Lines(na, nb)
	var out []row
	if len(edits) == 0 {
		for _, l := range la {
			out = append(out, row{a: l, b: l})
		}
		return out
	}
	d, err := udiff.ToUnifiedDiff("a", "b", na, edits, len(la)+len(lb)+1)
	if err != nil {
		for i := range max(len(la), len(lb)) {
			r := row{differs: true}
			if i < len(la) {
				r.a = la[i]
			}
			if i < len(lb) {
				r.b = lb[i]
			}
			out = append(out, r)
		}
		return out
	}
	var dels, ins []string
	flush := func() {
		for i := range max(len(dels), len(ins)) {
			r := row{differs: true}
			if i < len(dels) {
				r.a = dels[i]
			}
			if i < len(ins) {
				r.b = ins[i]
			}
			out = append(out, r)
		}
		dels, ins = nil, nil
	}
	for _, h := range d.Hunks {
		for _, l := range h.Lines {
			text := strings.TrimRight(l.Content, "\n")
			switch l.Kind {
			case udiff.Delete:
				dels = append(dels, text)
			case udiff.Insert:
				ins = append(ins, text)
			default:
				flush()
				out = append(out, row{a: text, b: text})
			}
		}
	}
	flush()
	return out
}

// DiffCount returns how many aligned properties differ.
func DiffCount(a, b string) int {
	n := 0
	for _, f := range present.CompareItems(a, b) {
		if f.Differs() {
			n++
		}
	}
	return n
}

// View renders the view in w×h: a heading line, then the rows.
func (m *Model) View(w, h int) string {
	m.height = h
	st := m.c.Styles
	var rows []row
	if m.raw {
		rows = rawRows(m.a, m.b)
	} else {
		rows = fieldRows(m.a, m.b)
	}
	nameW := 0
	if !m.raw {
		for _, r := range rows {
			nameW = max(nameW, len(r.name))
		}
		nameW = min(nameW, 16)
	}
	// marker(2) name(nameW+1) a(colW) gap(3) b(colW)
	fixed := 2 + 3
	if nameW > 0 {
		fixed += nameW + 1
	}
	colW := max((w-fixed)/2, 4)
	var lines []string
	for _, r := range rows {
		if r.section != "" {
			lines = append(lines, st.Section.Render(r.section))
			continue
		}
		wa := wrap(r.a, colW)
		wb := wrap(r.b, colW)
		for i := range max(len(wa), len(wb)) {
			var ca, cb string
			if i < len(wa) {
				ca = wa[i]
			}
			if i < len(wb) {
				cb = wb[i]
			}
			marker, gap := "  ", "   "
			if r.differs {
				marker = st.DiffMarker.Render("! ")
				gap = st.DiffMarker.Render(" ≠ ")
				if i > 0 {
					gap = "   "
				}
				ca, cb = st.Differs.Render(common.Pad(ca, colW)), st.Differs.Render(common.Pad(cb, colW))
			} else {
				ca, cb = common.Pad(ca, colW), common.Pad(cb, colW)
			}
			line := marker
			if nameW > 0 {
				name := ""
				if i == 0 {
					name = r.name
				}
				line += common.Pad(name, nameW) + " "
			}
			lines = append(lines, line+ca+gap+cb)
		}
	}
	m.rows = len(lines)
	head := "  "
	if nameW > 0 {
		head += strings.Repeat(" ", nameW+1)
	}
	head += st.Bold.Render(common.Pad("a: "+m.names[0], colW)) + "   " + st.Bold.Render(common.Pad("b: "+m.names[1], colW))
	m.clamp()
	body := max(h-1, 0)
	end := min(m.offset+body, len(lines))
	visible := lines[min(m.offset, end):end]
	out := append([]string{head}, visible...)
	return common.Fit(strings.Join(out, "\n"), w, h)
}

// wrap cuts a value into lines of at most w cells (at least one line).
func wrap(s string, w int) []string {
	if s == "" {
		return []string{""}
	}
	return strings.Split(ansi.Wrap(s, w, " ,;"), "\n")
}
