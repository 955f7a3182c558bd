// Package conflictview shows the two versions of a conflicting item side by side,
// aligned by component and property (SUMMARY, DTSTART, RRULE, …; FN, EMAIL, TEL, …) with
// the values rendered for people and the differing properties marked, and lets a
// person choose per property: a's value, b's value, or (sets such as ATTENDEE, EMAIL)
// both. A preview pane shows the item those choices make, line by line as it would be
// uploaded (merge.Compose). The raw text, aligned line by line, is a toggle away.
package conflictview

import (
	"fmt"
	"strings"
	"time"

	"github.com/aymanbagabas/go-udiff"
	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/tui/common"
)

// Mark is the sign of the side whose value is in the result.
const Mark = "✓"

// Model is the side-by-side view of one conflict.
type Model struct {
	c     *common.Common
	a, b  string // item texts
	names [2]string
	raw   bool
	// Loc is the time zone values are shown in (nil: the local one).
	Loc *time.Location

	fields []present.Field
	rows   []row
	// parts are the choices to make, in the order their rows appear.
	parts   []string
	multi   map[string]bool // parts whose values can all be kept
	cursor  int             // index into parts
	choices merge.Choices
	comp    merge.Composition
	compErr error

	offset  int // first line of the table shown
	poffset int // first line of the preview shown
	height  int
	lines   int // the last rendering's table line count
}

// New returns an empty view.
func New(c *common.Common) *Model { return &Model{c: c} }

// Set shows two versions; names are the storage names of side a and b. The choices
// start over: the result is a's version (every property a's value, a component only
// b has left out) until b's values are picked.
func (m *Model) Set(v *engine.Versions, names [2]string) {
	m.a, m.b = "", ""
	if v != nil && v.A != nil && v.A.Item != nil {
		m.a = v.A.Item.Text()
	}
	if v != nil && v.B != nil && v.B.Item != nil {
		m.b = v.B.Item.Text()
	}
	m.names = names
	m.offset, m.poffset, m.cursor = 0, 0, 0
	m.fields, m.parts, m.multi, m.choices = nil, nil, map[string]bool{}, merge.Choices{}
	if m.a != "" || m.b != "" {
		m.fields = present.CompareItems(m.a, m.b)
	}
	seen := map[string]bool{}
	for _, f := range m.fields {
		if f.Part != "" && !seen[f.Part] {
			seen[f.Part] = true
			m.parts = append(m.parts, f.Part)
		}
		if f.Part != "" && f.Multi && f.Only == merge.Both {
			m.multi[f.Part] = true
		}
	}
	m.rows = nil
	m.compose()
}

func (m *Model) compose() {
	m.comp, m.compErr = merge.Composition{}, nil
	if len(m.parts) == 0 {
		return
	}
	m.comp, m.compErr = merge.ComposeLines(m.a, m.b, m.choices)
}

// Raw reports whether the raw text is shown.
func (m *Model) Raw() bool { return m.raw }

// ToggleRaw switches between the property view and the raw text.
func (m *Model) ToggleRaw() {
	m.raw = !m.raw
	m.offset, m.rows = 0, nil
}

// Choosable reports whether there is anything to choose per property.
func (m *Model) Choosable() bool { return len(m.parts) > 0 }

// Choices returns the choices made so far (every part has one).
func (m *Model) Choices() merge.Choices {
	out := merge.Choices{}
	for _, p := range m.parts {
		out[p] = m.choices[p]
	}
	return out
}

// Composition is the item the choices make (merge.ComposeLines).
func (m *Model) Composition() (merge.Composition, error) { return m.comp, m.compErr }

// Current is the name of the property under the cursor ("" when none).
func (m *Model) Current() string {
	if len(m.parts) == 0 {
		return ""
	}
	for _, f := range m.fields {
		if f.Part == m.parts[m.cursor] {
			if f.Only != merge.Both {
				return f.Component
			}
			return f.Name
		}
	}
	return ""
}

// Tally counts the parts taken from a, from b, and with both values.
func (m *Model) Tally() (a, b, both int) {
	for _, p := range m.parts {
		switch m.choices[p] {
		case merge.PickA:
			a++
		case merge.PickB:
			b++
		case merge.PickBoth:
			both++
		}
	}
	return a, b, both
}

// Pick sets the choice of the property under the cursor; PickBoth only for a set both
// sides have. It reports whether the choice was taken.
func (m *Model) Pick(p merge.Pick) bool {
	if len(m.parts) == 0 {
		return false
	}
	part := m.parts[m.cursor]
	if p == merge.PickBoth && !m.multi[part] {
		return false
	}
	m.choices[part] = p
	m.compose()
	m.follow()
	return true
}

// Toggle moves the property under the cursor to its next choice: a, b, then both
// values for a set.
func (m *Model) Toggle() bool {
	if len(m.parts) == 0 {
		return false
	}
	part := m.parts[m.cursor]
	next := merge.PickB
	switch m.choices[part] {
	case merge.PickB:
		next = merge.PickA
		if m.multi[part] {
			next = merge.PickBoth
		}
	case merge.PickBoth:
		next = merge.PickA
	}
	return m.Pick(next)
}

// Move moves the cursor by d choices (clamped), scrolling the table and the preview
// to it.
func (m *Model) Move(d int) {
	if len(m.parts) == 0 {
		return
	}
	m.cursor = max(0, min(len(m.parts)-1, m.cursor+d))
	m.follow()
}

// Update handles moving and scrolling keys: up and down move the cursor from choice to
// choice (or scroll, when there is nothing to choose or the raw text is shown); the
// page keys scroll.
func (m *Model) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	keys := m.c.Keys
	if len(m.parts) > 0 && !m.raw {
		switch {
		case key.Matches(k, keys.Up):
			m.Move(-1)
			return nil
		case key.Matches(k, keys.Down):
			m.Move(1)
			return nil
		case key.Matches(k, keys.Top):
			m.Move(-len(m.parts))
			return nil
		case key.Matches(k, keys.Bottom):
			m.Move(len(m.parts))
			return nil
		}
	}
	// View clamps the offset to the rows it renders.
	m.offset, _ = keys.Scroll(k, m.offset, max(m.height-3, 1))
	return nil
}

func (m *Model) clamp(h int) {
	body := max(h-1, 1)
	m.offset = min(m.offset, max(m.lines-body, 0))
	m.offset = max(m.offset, 0)
}

// follow scrolls the table to the cursor's rows and the preview to its lines at the
// next rendering.
func (m *Model) follow() { m.rows = nil }

// row is one rendered line pair.
type row struct {
	section string // a component heading instead of a row
	name    string
	a, b    string
	differs bool
	part    string // the choice this row belongs to
	marks   [2]bool
}

// fieldRows aligns the fields into rows: sets value by value, anything else line by
// line; a component only one side has gets a heading saying so.
func (m *Model) fieldRows() []row {
	var out []row
	comp := "\x00"
	loc := m.Loc
	for _, f := range m.fields {
		if f.Component != comp {
			comp = f.Component
			if comp != "" {
				head := comp
				switch f.Only {
				case merge.FromA:
					head += " · only on a"
				case merge.FromB:
					head += " · only on b"
				}
				out = append(out, row{section: head, part: partIfOnly(f)})
			}
		}
		marks := m.marks(f)
		pairs := alignValues(f)
		for i, pr := range pairs {
			r := row{differs: f.Differs(), part: f.Part, marks: marks}
			if f.Multi {
				// A set's element is marked on the side whose line is in the result.
				r.differs = pr.differs
				r.marks = [2]bool{}
				if pr.differs {
					pick := m.choices[f.Part]
					r.marks[0] = pr.a != "" && pick != merge.PickB
					r.marks[1] = pr.b != "" && (pick == merge.PickB || pick == merge.PickBoth && pr.a == "")
				}
			} else if i > 0 {
				r.marks = [2]bool{}
			}
			if i == 0 {
				r.name = f.Name
			}
			if pr.a != "" {
				r.a = f.Value(pr.a, loc)
			} else if i == 0 && len(f.A) == 0 {
				r.a = "(absent)"
			}
			if pr.b != "" {
				r.b = f.Value(pr.b, loc)
			} else if i == 0 && len(f.B) == 0 {
				r.b = "(absent)"
			}
			out = append(out, r)
		}
	}
	return out
}

func partIfOnly(f present.Field) string {
	if f.Only != merge.Both {
		return f.Part
	}
	return ""
}

// marks says which side's value of a field is in the result.
func (m *Model) marks(f present.Field) [2]bool {
	switch {
	case !f.Differs():
		return [2]bool{}
	case f.Auto:
		return [2]bool{f.Winner == merge.PickA, f.Winner == merge.PickB}
	case f.Part == "":
		return [2]bool{}
	}
	switch m.choices[f.Part] {
	case merge.PickB:
		return [2]bool{false, true}
	case merge.PickBoth:
		return [2]bool{true, true}
	}
	return [2]bool{true, false}
}

type valuePair struct {
	a, b    string
	differs bool
}

// alignValues pairs the lines of a field: a set's elements by value (an attendee with
// an attendee), anything else by position.
func alignValues(f present.Field) []valuePair {
	if !f.Multi {
		n := max(len(f.A), len(f.B), 1)
		out := make([]valuePair, n)
		for i := range out {
			if i < len(f.A) {
				out[i].a = f.A[i]
			}
			if i < len(f.B) {
				out[i].b = f.B[i]
			}
			out[i].differs = f.Differs()
		}
		return out
	}
	val := func(l string) string {
		_, v, _ := strings.Cut(l, ":")
		if cl := splitValue(l); cl != "" {
			v = cl
		}
		return strings.ToLower(v)
	}
	var out []valuePair
	used := make([]bool, len(f.B))
	for _, la := range f.A {
		p := valuePair{a: la, differs: true}
		for j, lb := range f.B {
			if !used[j] && val(lb) == val(la) {
				used[j] = true
				p.b = lb
				p.differs = !merge.SameLines([]string{la}, []string{lb})
				break
			}
		}
		out = append(out, p)
	}
	for j, lb := range f.B {
		if !used[j] {
			out = append(out, valuePair{b: lb, differs: true})
		}
	}
	if len(out) == 0 {
		out = append(out, valuePair{})
	}
	return out
}

// splitValue is the value of a content line (after the first colon outside quotes).
func splitValue(line string) string {
	quoted := false
	for i := 0; i < len(line); i++ {
		switch line[i] {
		case '"':
			quoted = !quoted
		case ':':
			if !quoted {
				return line[i+1:]
			}
		}
	}
	return ""
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

// previewMin is the smallest preview pane worth showing (its title and 3 lines).
const previewMin = 4

// previewShown reports whether the preview pane has room in h lines.
func (m *Model) previewShown(h int) bool {
	return !m.raw && len(m.parts) > 0 && h >= 10
}

// tableHeight is how many of h lines the table gets: what it needs when the preview
// keeps at least previewMin lines, else three fifths.
func (m *Model) tableHeight(h int) int {
	if !m.previewShown(h) {
		return h
	}
	if want := m.lines + 1; want <= h-previewMin {
		return want
	}
	return max(h*3/5, 3)
}

// View renders the view in w×h: the table (a heading line, then the rows) and, when
// there is something to choose and room, the preview pane under it.
func (m *Model) View(w, h int) string {
	m.height = h
	if m.rows == nil || m.raw {
		if m.raw {
			m.rows = rawRows(m.a, m.b)
		} else {
			m.rows = m.fieldRows()
		}
	}
	table, cursorLine := m.table(w)
	m.lines = len(table) - 1
	th := m.tableHeight(h)
	body := max(th-1, 0)
	if cursorLine >= 0 {
		m.offset = common.Scroll(m.offset, cursorLine, len(table)-1, body)
	}
	m.clamp(th)
	end := min(m.offset+body, len(table)-1)
	out := append([]string{table[0]}, table[1+min(m.offset, end):1+end]...)
	top := common.Fit(strings.Join(out, "\n"), w, th)
	if th >= h {
		return top
	}
	return top + "\n" + m.preview(w, h-th)
}

// table renders the heading and every row; it returns the lines and the index (among
// the rows' lines) of the cursor's first line, or -1.
func (m *Model) table(w int) ([]string, int) {
	st := m.c.Styles
	nameW := 0
	if !m.raw {
		for _, r := range m.rows {
			nameW = max(nameW, len(r.name))
		}
		nameW = min(nameW, 16)
	}
	choose := !m.raw && len(m.parts) > 0
	// cursor(1) marker(2) name(nameW+1) [mark(2)] a(colW) gap(3) [mark(2)] b(colW)
	fixed := 3 + 3
	if nameW > 0 {
		fixed += nameW + 1
	}
	markW := 0
	if choose {
		markW = 2
		fixed += 2 * markW
	}
	colW := max((w-fixed)/2, 4)
	cur := ""
	if choose {
		cur = m.parts[m.cursor]
	}
	var lines []string
	cursorLine := -1
	pointer := func() string {
		if len(lines) == cursorLine {
			return st.Cursor.Render(">")
		}
		return " "
	}
	for _, r := range m.rows {
		if cur != "" && r.part == cur && cursorLine < 0 {
			cursorLine = len(lines)
		}
		if r.section != "" {
			lines = append(lines, pointer()+st.Section.Render(r.section))
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
			c := pointer()
			marker, gap := "  ", "   "
			if r.differs {
				marker = st.DiffMarker.Render("! ")
				if i == 0 {
					gap = st.DiffMarker.Render(" ≠ ")
				}
				ca, cb = st.Differs.Render(common.Pad(ca, colW)), st.Differs.Render(common.Pad(cb, colW))
			} else {
				ca, cb = common.Pad(ca, colW), common.Pad(cb, colW)
			}
			ma, mb := "", ""
			if markW > 0 {
				ma, mb = "  ", "  "
				if i == 0 && r.marks[0] {
					ma = st.OK.Render(Mark) + " "
				}
				if i == 0 && r.marks[1] {
					mb = st.OK.Render(Mark) + " "
				}
			}
			line := c + marker
			if nameW > 0 {
				name := ""
				if i == 0 {
					name = r.name
				}
				line += common.Pad(name, nameW) + " "
			}
			lines = append(lines, line+ma+ca+gap+mb+cb)
		}
	}
	head := "   "
	if nameW > 0 {
		head += strings.Repeat(" ", nameW+1)
	}
	head += strings.Repeat(" ", markW) + st.Bold.Render(common.Pad("a: "+m.names[0], colW)) + "   " +
		strings.Repeat(" ", markW) + st.Bold.Render(common.Pad("b: "+m.names[1], colW))
	return append([]string{head}, lines...), cursorLine
}

// preview renders the pane of the composed item in w×h: a title, then its lines, each
// with where it comes from (a, b, or blank when both sides have it), the lines of the
// choice under the cursor marked with ▸.
func (m *Model) preview(w, h int) string {
	st := m.c.Styles
	a, b, both := m.Tally()
	title := fmt.Sprintf("result · %d from a · %d from b", a, b)
	if both > 0 {
		title += fmt.Sprintf(" · %d with both", both)
	}
	title += " · enter: apply"
	lines := []string{m.c.Rule(title, w)}
	if m.compErr != nil {
		lines = append(lines, st.Error.Render("cannot build the result: "+m.compErr.Error()))
		return common.Fit(strings.Join(lines, "\n"), w, h)
	}
	body := h - 1
	cur := m.parts[m.cursor]
	first := -1
	for i, l := range m.comp.Lines {
		if l.Part == cur && first < 0 {
			first = i
		}
	}
	if first >= 0 {
		// The cursor's lines, with a line of context above when there is room.
		if first < m.poffset+1 || first >= m.poffset+body {
			m.poffset = first - 1
		}
	}
	m.poffset = max(0, min(m.poffset, len(m.comp.Lines)-body))
	for i := m.poffset; i < len(m.comp.Lines) && i < m.poffset+body; i++ {
		l := m.comp.Lines[i]
		g := " "
		switch l.From {
		case merge.FromA:
			g = "a"
		case merge.FromB:
			g = "b"
		}
		sep := " "
		if l.Part == cur && cur != "" {
			sep = "▸"
		}
		text := l.Text
		if l.From != merge.Both {
			text = st.Differs.Render(text)
		}
		lines = append(lines, st.Dim.Render(g+sep)+" "+text)
	}
	return common.Fit(strings.Join(lines, "\n"), w, h)
}

// wrap cuts a value into lines of at most w cells (at least one line).
func wrap(s string, w int) []string {
	if s == "" {
		return []string{""}
	}
	return strings.Split(ansi.Wrap(s, w, " ,;"), "\n")
}
