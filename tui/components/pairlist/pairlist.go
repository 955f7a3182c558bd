// Package pairlist is the overview's list of pairs and their collections: one row per
// pair, one per collection mapping (a-side ↔ b-side with display names and colours,
// item counts and what is pending), and per-storage errors in place.
package pairlist

import (
	"fmt"
	"path"
	"strings"
	"time"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/tui/common"
)

// RowKind is the kind of a row.
type RowKind int

const (
	PairRow RowKind = iota // a pair (selectable)
	CollRow                // a collection mapping (selectable)
	NoteRow                // an error or remark under a pair
)

// Row is one line of the list.
type Row struct {
	Kind  RowKind
	Pair  int
	Coll  common.Coll
	Note  string
	Error bool
}

func (r Row) selectable() bool { return r.Kind != NoteRow }

func (r Row) scope() common.Scope {
	if r.Kind == CollRow {
		return common.Scope{Pair: r.Pair, Alias: r.Coll.Alias}
	}
	return common.Scope{Pair: r.Pair}
}

// Model is the list. The selection is remembered by identity (pair and alias), so it
// stays on the same row while rows come and go.
type Model struct {
	c      *common.Common
	sel    common.Scope
	offset int
	// Filter keeps the rows whose pair, collection or display name contains it (case
	// does not matter); a pair stays when one of its collections matches.
	Filter string
}

// matches reports whether any of the names contains the filter.
func (m *Model) matches(names ...string) bool {
	if m.Filter == "" {
		return true
	}
	f := strings.ToLower(m.Filter)
	for _, n := range names {
		if strings.Contains(strings.ToLower(n), f) {
			return true
		}
	}
	return false
}

// New returns a list with the first pair selected.
func New(c *common.Common) *Model { return &Model{c: c} }

// Rows builds the rows from the store (those the filter keeps).
func (m *Model) Rows() []Row {
	var rows []Row
	for i, ps := range m.c.Store.Pairs {
		pairMatches := m.matches(ps.Pair.Name, ps.Pair.NameA, ps.Pair.NameB)
		var colls []common.Coll
		for _, c := range ps.Collections() {
			if pairMatches || m.matches(c.Alias, c.Name[0], c.Name[1]) {
				colls = append(colls, c)
			}
		}
		if !pairMatches && len(colls) == 0 {
			continue
		}
		rows = append(rows, Row{Kind: PairRow, Pair: i})
		if d := ps.Discovery; d != nil && !ps.Discovering {
			names := [2]string{ps.Pair.NameA, ps.Pair.NameB}
			for s := range 2 {
				if d.Errs[s] != nil {
					rows = append(rows, Row{Kind: NoteRow, Pair: i, Error: true,
						Note: fmt.Sprintf("%s (%s): error: %v", []string{"a", "b"}[s], names[s], d.Errs[s])})
				}
			}
			if d.Err != nil {
				rows = append(rows, Row{Kind: NoteRow, Pair: i, Error: true, Note: "error: " + d.Err.Error()})
			}
			if in, ok := ps.RetryIn(m.c.Now()); ok && ps.DiscoveryFailed() {
				rows = append(rows, Row{Kind: NoteRow, Pair: i, Note: fmt.Sprintf("retrying in %s (r: reload the configuration and retry now)", Countdown(in))})
			}
		}
		if pp := ps.Plan; pp != nil && pp.Err != nil && !ps.DiscoveryFailed() && !ps.Planning {
			rows = append(rows, Row{Kind: NoteRow, Pair: i, Error: true, Note: "error: " + pp.Err.Error()})
		}
		for _, c := range colls {
			rows = append(rows, Row{Kind: CollRow, Pair: i, Coll: c})
		}
		if len(colls) == 0 && m.Filter == "" && ps.Discovery != nil && !ps.Discovering && !ps.DiscoveryFailed() {
			rows = append(rows, Row{Kind: NoteRow, Pair: i, Note: "no collections to sync"})
		}
	}
	return rows
}

// cursor returns the index of the selected row (the first selectable one if the
// selection is gone).
func (m *Model) cursor(rows []Row) int {
	first := -1
	for i, r := range rows {
		if !r.selectable() {
			continue
		}
		if first < 0 {
			first = i
		}
		if r.scope() == m.sel {
			return i
		}
	}
	if first >= 0 {
		// The selected collection is gone: select its pair if it is still there.
		for i, r := range rows {
			if r.Kind == PairRow && r.Pair == m.sel.Pair {
				return i
			}
		}
	}
	return first
}

// Selected returns what is selected: a pair or one of its collections.
func (m *Model) Selected() (common.Scope, bool) {
	rows := m.Rows()
	i := m.cursor(rows)
	if i < 0 {
		return common.Scope{}, false
	}
	return rows[i].scope(), true
}

// Select moves the selection to a scope.
func (m *Model) Select(s common.Scope) { m.sel = s }

// Move moves the selection by delta selectable rows (clamped).
func (m *Model) Move(delta int) {
	rows := m.Rows()
	var sel []int
	cur := m.cursor(rows)
	pos := 0
	for i, r := range rows {
		if r.selectable() {
			if i == cur {
				pos = len(sel)
			}
			sel = append(sel, i)
		}
	}
	if len(sel) == 0 {
		return
	}
	pos = min(max(pos+delta, 0), len(sel)-1)
	m.sel = rows[sel[pos]].scope()
}

// Click selects the row shown on line y of the list (counted from 0), if it is
// selectable.
func (m *Model) Click(y int) {
	rows := m.Rows()
	if i := m.offset + y; y >= 0 && i < len(rows) && rows[i].selectable() {
		m.sel = rows[i].scope()
	}
}

// Countdown renders a wait for people: "45 s", "3 min".
func Countdown(d time.Duration) string {
	secs := int((d + time.Second - 1) / time.Second)
	if secs < 120 {
		return fmt.Sprintf("%d s", secs)
	}
	return fmt.Sprintf("%d min", (secs+59)/60)
}

// Update handles movement keys.
func (m *Model) Update(msg tea.Msg, height int) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	keys := m.c.Keys
	page := max(height-1, 1)
	switch {
	case key.Matches(k, keys.Up):
		m.Move(-1)
	case key.Matches(k, keys.Down):
		m.Move(1)
	case key.Matches(k, keys.PageUp):
		m.Move(-page)
	case key.Matches(k, keys.PageDown):
		m.Move(page)
	case key.Matches(k, keys.Top):
		m.Move(-1 << 20)
	case key.Matches(k, keys.Bottom):
		m.Move(1 << 20)
	}
	return nil
}

// View renders h lines of width w.
func (m *Model) View(w, h int) string {
	rows := m.Rows()
	cur := m.cursor(rows)
	m.offset = common.Scroll(m.offset, max(cur, 0), len(rows), h)
	lay := m.layout(rows, w)
	var lines []string
	for i := m.offset; i < len(rows) && len(lines) < h; i++ {
		line := m.row(rows[i], i == cur, lay, w)
		if i == cur {
			line = m.c.Styles.SelectedBar.Render(common.Pad(line, w))
		}
		lines = append(lines, line)
	}
	if len(rows) == 0 && m.Filter != "" {
		lines = append(lines, m.c.Styles.Dim.Render(fmt.Sprintf("  nothing matches %q", m.Filter)))
	}
	return common.Fit(strings.Join(lines, "\n"), w, h)
}

type layout struct{ name, sides, third int }

func (m *Model) layout(rows []Row, w int) layout {
	var l layout
	for _, r := range rows {
		switch r.Kind {
		case PairRow:
			ps := m.c.Store.Pairs[r.Pair]
			l.name = max(l.name, common.Width(ps.Pair.Name))
			l.sides = max(l.sides, common.Width(ps.Pair.NameA+" ↔ "+ps.Pair.NameB))
		case CollRow:
			l.name = max(l.name, common.Width(r.Coll.Alias)+4)
			l.sides = max(l.sides, common.Width(collSides(r.Coll)))
		}
	}
	l.name = min(max(l.name, 8), 22)
	// Narrow terminals drop the a ↔ b column, then the counts and last sync.
	if w >= 50 {
		l.third = 16
	}
	const statusMin = 24
	if w >= 72 {
		l.sides = min(max(l.sides, 8), max(w-2-l.name-2-2-l.third-2-statusMin, 10))
	} else {
		l.sides = 0
	}
	return l
}

// SideName is how a side of a collection is named: its display name, else the last
// segment of its href.
func SideName(c common.Coll, s int) string {
	if c.Name[s] != "" {
		return c.Name[s]
	}
	h := strings.TrimSuffix(c.Href[s], "/")
	if h == "" {
		return "?"
	}
	return path.Base(h)
}

func collSides(c common.Coll) string {
	var side [2]string
	for s := range 2 {
		side[s] = SideName(c, s)
		switch {
		case c.Only >= 0 && c.Only != s:
			side[s] = "?"
		case !c.Exists[s]:
			side[s] = "(new)"
		}
	}
	return side[0] + " ↔ " + side[1]
}

func (m *Model) row(r Row, selected bool, l layout, w int) string {
	st := m.c.Styles
	marker := "  "
	if selected {
		marker = st.Cursor.Render("> ")
	}
	switch r.Kind {
	case NoteRow:
		text := "    " + r.Note
		if r.Error {
			return st.Error.Render(common.Trunc(text, w))
		}
		return st.Dim.Render(common.Trunc(text, w))
	case PairRow:
		ps := m.c.Store.Pairs[r.Pair]
		name := common.Pad(ps.Pair.Name, l.name)
		if selected {
			name = st.Selected.Render(name)
		} else {
			name = st.Bold.Render(name)
		}
		return marker + name + col(ps.Pair.NameA+" ↔ "+ps.Pair.NameB, l.sides) + col(m.lastSync(ps), l.third) + "  " + m.pairStatus(ps)
	default:
		ps := m.c.Store.Pairs[r.Pair]
		c := r.Coll
		name := common.Pad(c.Alias, l.name-4)
		if selected {
			name = st.Selected.Render(name)
		}
		return marker + "  " + st.Swatch(c.Color) + " " + name + col(collSides(c), l.sides) + col(counts(c), l.third) + "  " + m.collStatus(ps, c)
	}
}

// col renders a column of width w after two blanks ("" when the column is dropped).
func col(s string, w int) string {
	if w <= 0 {
		return ""
	}
	return "  " + common.Pad(s, w)
}

func (m *Model) lastSync(ps *common.PairState) string {
	switch {
	case ps.LastRunErr != nil:
		return "last sync: ?"
	case !ps.LastRunLoaded:
		return ""
	case ps.LastRun == nil:
		return "never synced"
	case ps.LastRun.Error != "":
		return "failed " + common.Ago(m.c.Now(), ps.LastRun.Finished)
	}
	return "synced " + common.Ago(m.c.Now(), ps.LastRun.Finished)
}

func counts(c common.Coll) string {
	if c.Only >= 0 {
		n := "?"
		if c.Count >= 0 {
			n = fmt.Sprint(c.Count)
		}
		if c.Only == 0 {
			return "a " + n + " · b ?"
		}
		return "a ? · b " + n
	}
	if c.Plan == nil {
		return ""
	}
	return fmt.Sprintf("a %d · b %d", c.Plan.Listed[0], c.Plan.Listed[1])
}

func (m *Model) busy(text string) string {
	return m.c.Styles.SpinnerText.Render(m.c.Spinner + " " + text)
}

func (m *Model) pairStatus(ps *common.PairState) string {
	st := m.c.Styles
	switch {
	case ps.Syncing && ps.ProgressText() != "":
		return m.busy("daemon syncing… " + ps.ProgressText())
	case ps.Syncing:
		return m.busy("syncing…")
	case ps.Discovering:
		return m.busy("discovering…")
	case ps.DiscoveryFailed():
		if in, ok := ps.RetryIn(m.c.Now()); ok {
			return st.Error.Render("error") + st.Dim.Render(" · retry in "+Countdown(in))
		}
		return st.Error.Render("error")
	case ps.Daemon != nil && ps.Daemon.State == "retrying" && !ps.Daemon.NextRetry.IsZero():
		in, _ := ps.RetryIn(m.c.Now())
		return st.Error.Render("daemon: sync failed") + st.Dim.Render(" · retry in "+Countdown(in))
	case ps.Planning && ps.Plan == nil:
		return m.busy("planning…")
	case ps.Plan == nil:
		return ""
	case ps.Plan.Err != nil:
		return st.Error.Render("error")
	}
	return m.pendingText(common.PendingOfPair(ps.Plan))
}

func (m *Model) collStatus(ps *common.PairState, c common.Coll) string {
	switch {
	case c.Only >= 0:
		return m.c.Styles.Dim.Render(fmt.Sprintf("%s unreachable", []string{"b", "a"}[c.Only]))
	case ps.Syncing:
		return ""
	case c.Plan == nil && ps.Planning:
		return m.busy("planning…")
	case c.Plan == nil:
		return ""
	}
	return m.pendingText(common.PendingOf(c.Plan))
}

// pendingText renders what a plan would do: "in sync", "3 changes", "1 conflict", …
func (m *Model) pendingText(p common.Pending) string {
	st := m.c.Styles
	var parts []string
	if n := p.Changes(); n > 0 {
		parts = append(parts, st.Info.Render(common.Plural(n, "change", "changes")))
	}
	if n := p.Conflicts + p.PropConfl; n > 0 {
		parts = append(parts, st.Conflict.Render(common.Plural(n, "conflict", "conflicts")))
	}
	if p.Errors > 0 {
		parts = append(parts, st.Error.Render(common.Plural(p.Errors, "error", "errors")))
	}
	if len(parts) == 0 {
		return st.OK.Render("in sync")
	}
	return strings.Join(parts, " · ")
}
