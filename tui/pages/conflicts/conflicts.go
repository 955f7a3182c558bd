// Package conflicts is the conflicts page: the list of pending item and property
// conflicts and the conflict viewer, where a conflict is finished by choosing per
// property (a's value, b's value, or both values of a set, with a live preview of the
// result), by keeping side a, side b or both (b's version as a conflict copy), by
// running the configured merge tool (the protocol of `resolve-conflicts`), or skipped.
// Every resolution re-reads both versions and uploads with etag-conditional writes
// through the engine, which keeps what it replaces in the trash; the choice just made
// can be undone at once (u). After a choice the viewer moves on to the next conflict;
// when none is left the list shows a summary.
package conflicts

import (
	"errors"
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/components/conflictview"
)

// Entry is one pending conflict: an item conflict (Conflict) or, when Prop is set, a
// collection property conflict.
type Entry struct {
	Conflict engine.Conflict
	Prop     *engine.PropConflict
	Pair     int
	// Result says how it was resolved ("" while pending); Failed marks an error.
	Result string
	Failed bool
	// Skipped: passed over with n on this visit of the page; the viewer does not move
	// on to it by itself.
	Skipped bool
}

func (e *Entry) key() string {
	if e.Prop != nil {
		return e.Prop.Pair.Name() + "\x00" + e.Prop.Mapping.Alias + "\x00property\x00" + e.Prop.Action.Name
	}
	c := e.Conflict
	return c.Pair.Name() + "\x00" + c.Mapping.Alias + "\x00" + c.Action.Ident
}

// where is "pair/alias".
func (e *Entry) where() string {
	if e.Prop != nil {
		return e.Prop.Pair.Name() + "/" + e.Prop.Mapping.Alias
	}
	return e.Conflict.Pair.Name() + "/" + e.Conflict.Mapping.Alias
}

// label is the ident of an item conflict, "property NAME" for a property conflict.
func (e *Entry) label() string {
	if e.Prop != nil {
		return "property " + e.Prop.Action.Name
	}
	return e.Conflict.Action.Ident
}

// alias is the collection of the conflict.
func (e *Entry) alias() string {
	if e.Prop != nil {
		return e.Prop.Mapping.Alias
	}
	return e.Conflict.Mapping.Alias
}

// Page is the conflicts page.
type Page struct {
	c       *common.Common
	Entries []*Entry
	cursor  int
	offset  int
	results map[string]*Entry // resolved entries by key, kept across re-plans

	skipped map[string]bool // entries skipped on this visit, by key

	// Viewer state.
	Viewing  bool
	current  *Entry
	Viewer   *conflictview.Model
	Versions *engine.Versions
	Loading  bool
	Working  string
	opID     int
	Message  string
	Bad      bool
	// Summary: every conflict of the visit has been through the viewer; the list
	// says how they ended.
	Summary bool
	// last is the choice that u undoes (nil: none).
	last *choice
}

// choice is a resolution that can be undone: the trash runs it wrote.
type choice struct {
	entry *Entry
	pair  int
	runs  []string
}

// New returns the conflicts page.
func New(c *common.Common) *Page {
	return &Page{c: c, Viewer: conflictview.New(c), results: map[string]*Entry{}, skipped: map[string]bool{}}
}

// Busy implements common.Page.
func (p *Page) Busy() bool { return p.Loading || p.Working != "" }

// Rebuild lists the conflicts of the store's plans again, keeping the selection and
// what was resolved: a conflict resolved on this visit of the page stays in the list
// with its result, although the new plans no longer have it.
func (p *Page) Rebuild() {
	var sel string
	if p.cursor < len(p.Entries) {
		sel = p.Entries[p.cursor].key()
	}
	fresh := map[string]*Entry{}
	var order []*Entry
	for i, ps := range p.c.Store.Pairs {
		if ps.Plan == nil || ps.Plan.Err != nil || ps.Syncing {
			continue
		}
		var entries []*Entry
		for _, c := range ps.Plan.PropertyConflicts() {
			entries = append(entries, &Entry{Prop: &c, Pair: i})
		}
		for _, c := range ps.Plan.Conflicts() {
			entries = append(entries, &Entry{Conflict: c, Pair: i})
		}
		for _, e := range entries {
			if r, ok := p.results[e.key()]; ok {
				e.Result, e.Failed = r.Result, r.Failed
			}
			e.Skipped = p.skipped[e.key()]
			fresh[e.key()] = e
			order = append(order, e)
		}
	}
	var out []*Entry
	seen := map[string]bool{}
	for _, old := range p.Entries {
		k := old.key()
		if e, ok := fresh[k]; ok {
			out = append(out, e)
			seen[k] = true
		} else if old.Result != "" && !old.Failed {
			out = append(out, old)
			seen[k] = true
		}
	}
	for _, e := range order {
		if !seen[e.key()] {
			out = append(out, e)
		}
	}
	p.Entries = out
	p.cursor = 0
	for i, e := range p.Entries {
		if e.key() == sel {
			p.cursor = i
		}
	}
}

// Open shows the list with the first conflict of the scope selected.
func (p *Page) Open(s common.Scope) {
	p.Entries = nil
	p.skipped = map[string]bool{}
	p.Rebuild()
	p.Viewing, p.Summary = false, false
	p.Message = ""
	if s.IsAll() {
		return
	}
	for i, e := range p.Entries {
		if e.Pair == s.Pair && (s.Alias == "" || e.alias() == s.Alias) {
			p.cursor = i
			return
		}
	}
}

// ShortHelp implements common.Page.
func (p *Page) ShortHelp() []key.Binding {
	k := p.c.Keys
	var out []key.Binding
	if p.last != nil {
		out = append(out, k.Undo)
	}
	switch {
	case p.Viewing && p.Viewer.Choosable() && p.current != nil && p.current.Prop == nil:
		out = append(out, k.Choose, k.Apply, k.KeepA, k.KeepB, k.KeepBoth, k.Skip, k.Help, k.Quit)
	case p.Viewing:
		out = append(out, k.KeepA, k.KeepB, k.KeepBoth, k.External, k.Skip, k.Raw, k.Back, k.Help, k.Quit)
	default:
		out = append(out, k.Open, k.Up, k.Down, k.Back, k.Help, k.Quit)
	}
	return out
}

// FullHelp implements common.Page.
func (p *Page) FullHelp() [][]key.Binding {
	k := p.c.Keys
	if p.Viewing {
		return [][]key.Binding{{k.Up, k.Down, k.PickA, k.PickB, k.PickBoth, k.Toggle, k.Apply},
			{k.KeepA, k.KeepB, k.KeepBoth, k.External, k.Skip, k.Undo}, {k.Raw, k.PageUp, k.PageDown, k.Back, k.ToggleLog, k.Help, k.Quit}}
	}
	return [][]key.Binding{{k.Open, k.Up, k.Down, k.Top, k.Bottom}, {k.Undo, k.Back, k.ToggleLog, k.Help, k.Quit}}
}

// open starts viewing an entry: both versions are read again.
func (p *Page) open(e *Entry) tea.Cmd {
	p.Viewing, p.current, p.Summary = true, e, false
	p.Versions, p.Message, p.Bad = nil, "", false
	p.opID++
	p.Viewer.Set(nil, [2]string{})
	if e.Prop != nil {
		return nil // both values are in the plan; they are read again on a choice
	}
	p.Loading = true
	return p.c.Svc.Refetch(e.Conflict, p.opID)
}

// Update implements common.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.ConflictLoadedMsg:
		if msg.ID != p.opID || !p.Viewing {
			return nil
		}
		p.Loading = false
		p.setVersions(msg.Versions)
		if msg.Err != nil {
			p.fail(msg.Err)
		}
		return nil
	case common.ConflictResultMsg:
		if msg.ID != p.opID {
			return nil
		}
		p.Working = ""
		if msg.Action == "undo" {
			return p.undone(msg)
		}
		switch {
		case msg.Changed && p.current.Prop != nil:
			p.Message = "A value changed since it was planned, so nothing was written. Go back (esc): the list is planned again."
			p.Bad = true
			return p.c.Go(common.RefreshMsg{Pair: p.current.Pair})
		case msg.Changed:
			p.setVersions(msg.Versions)
			p.Message = "One side changed since it was shown, so nothing was written. Here are the current versions: choose again."
			p.Bad = true
			return nil
		case msg.Err != nil:
			p.fail(msg.Err)
			if len(msg.Sides) > 0 {
				p.Message += " (already uploaded to " + sides(msg.Sides) + ")"
			}
			return p.c.Go(common.RefreshMsg{Pair: p.current.Pair})
		}
		return p.resolved(msg)
	case tea.KeyMsg:
		if p.Viewing {
			return p.viewerKey(msg)
		}
		return p.listKey(msg)
	}
	return nil
}

// what words a resolution for the list and the messages.
func (p *Page) what(action string) string {
	switch action {
	case "merge tool":
		return "merged"
	case "keep both":
		return "kept both"
	case "choice per property":
		a, b, both := p.Viewer.Tally()
		s := fmt.Sprintf("your choices, %d from a, %d from b", a, b)
		if both > 0 {
			s += fmt.Sprintf(", %d with both values", both)
		}
		return s
	}
	return "kept " + strings.TrimPrefix(action, "keep ")
}

// resolved records a successful resolution, offers its undo and moves on to the next
// pending conflict, or to the summary when there is none.
func (p *Page) resolved(msg common.ConflictResultMsg) tea.Cmd {
	e := p.current
	what := p.what(msg.Action)
	p.setVersions(msg.Versions)
	p.resolve(fmt.Sprintf("resolved (%s): %s", what, written(msg.Sides)), false)
	long := what
	if msg.Action == "keep both" {
		long = "kept both (b's as a conflict copy)"
	}
	text := fmt.Sprintf("Resolved %s: %s; %s.", e.label(), long, written(msg.Sides))
	p.last = nil
	switch {
	case len(msg.Runs) > 0:
		p.last = &choice{entry: e, pair: e.Pair, runs: msg.Runs}
		text += " u: undo"
	case e.Prop != nil:
		text += " (A collection property has no undo.)"
	}
	return p.advance(text, false, p.c.Go(common.RefreshMsg{Pair: e.Pair}))
}

// advance opens the next pending conflict with a message, or shows the summary.
func (p *Page) advance(text string, bad bool, cmd tea.Cmd) tea.Cmd {
	if next := p.next(); next != nil {
		p.cursor = p.index(next)
		open := p.open(next)
		p.Message, p.Bad = text, bad
		return tea.Batch(cmd, open)
	}
	p.Viewing, p.Summary = false, true
	p.Rebuild()
	p.Message, p.Bad = text, bad
	return cmd
}

// next is the first pending conflict after the current one (wrapping around) that was
// not skipped on this visit.
func (p *Page) next() *Entry {
	at := p.index(p.current)
	for i := 1; i < len(p.Entries); i++ {
		e := p.Entries[(at+i)%len(p.Entries)]
		if e.Result == "" && !e.Skipped && e.key() != p.current.key() {
			return e
		}
	}
	return nil
}

// undone shows what an undo did; the conflict is back, and opened again.
func (p *Page) undone(msg common.ConflictResultMsg) tea.Cmd {
	last := p.last
	p.last = nil
	if last == nil {
		return nil
	}
	var reverted, refused int
	var reasons []string
	if msg.Undo != nil {
		reverted, refused = len(msg.Undo.Reverted), len(msg.Undo.Refused)
		for _, r := range msg.Undo.Refused {
			reasons = append(reasons, r.Reason)
		}
	}
	if msg.Err != nil && reverted == 0 {
		p.Message, p.Bad = "Not undone: "+msg.Err.Error(), true
		return nil
	}
	e := last.entry
	e.Result, e.Failed, e.Skipped = "", false, false
	delete(p.results, e.key())
	delete(p.skipped, e.key())
	text := fmt.Sprintf("Undone: %s has both versions back (%d %s reverted); choose again.", e.label(), reverted, plural(reverted, "write", "writes"))
	bad := false
	if refused > 0 {
		text = fmt.Sprintf("Undone in part: %d %s reverted, %d not: %s", reverted, plural(reverted, "write", "writes"), refused, strings.Join(reasons, "; "))
		bad = true
	}
	if msg.Err != nil {
		text += " (" + msg.Err.Error() + ")"
		bad = true
	}
	refresh := p.c.Go(common.RefreshMsg{Pair: last.pair})
	if p.find(e) < 0 { // listed on an earlier visit of the page
		p.Entries = append(p.Entries, e)
	}
	p.cursor = p.index(e)
	open := p.open(e)
	p.Message, p.Bad = text, bad
	return tea.Batch(refresh, open)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// undo reverts the last choice.
func (p *Page) undo() tea.Cmd {
	if p.last == nil || p.Busy() {
		return nil
	}
	p.Working = "undo"
	p.Message, p.Bad = "", false
	p.opID++
	return p.c.Svc.Undo(p.last.pair, p.last.runs, p.opID)
}

func (p *Page) setVersions(v *engine.Versions) {
	p.Versions = v
	if p.current.Prop != nil {
		return
	}
	if v == nil || v.A == nil || v.B == nil {
		p.Viewer.Set(nil, [2]string{})
		return
	}
	pr := p.current.Conflict.Pair.Pair
	p.Viewer.Set(v, [2]string{pr.NameA, pr.NameB})
}

// fail shows an error; a conflict that is gone or already solved is marked as such.
func (p *Page) fail(err error) {
	switch {
	case errors.Is(err, engine.ErrConflictGone):
		p.resolve("gone: "+err.Error(), false)
		p.Message = "Nothing to resolve: " + err.Error() + "."
		p.Bad = false
	case errors.Is(err, engine.ErrConflictSolved):
		p.resolve("solved: "+err.Error(), false)
		p.Message = "Nothing to resolve: " + err.Error() + "."
		p.Bad = false
	case errors.Is(err, engine.ErrUnresolved):
		p.Message = "Not resolved, nothing was uploaded: " + err.Error() + "."
		p.Bad = true
	default:
		p.current.Failed = true
		p.Message = "error: " + err.Error()
		p.Bad = true
	}
}

func (p *Page) resolve(result string, failed bool) {
	p.current.Result, p.current.Failed = result, failed
	p.results[p.current.key()] = &Entry{Result: result, Failed: failed}
}

func sides(s []engine.Side) string {
	var names []string
	for _, x := range s {
		names = append(names, x.String())
	}
	return strings.Join(names, " and ")
}

func written(s []engine.Side) string {
	if len(s) == 0 {
		return "both sides already held the result, nothing uploaded"
	}
	return "uploaded to " + sides(s)
}

func (p *Page) listKey(k tea.KeyMsg) tea.Cmd {
	keys := p.c.Keys
	switch {
	case key.Matches(k, keys.Up):
		p.cursor--
	case key.Matches(k, keys.Down):
		p.cursor++
	case key.Matches(k, keys.PageUp):
		p.cursor -= 10
	case key.Matches(k, keys.PageDown):
		p.cursor += 10
	case key.Matches(k, keys.Top):
		p.cursor = 0
	case key.Matches(k, keys.Bottom):
		p.cursor = len(p.Entries) - 1
	case key.Matches(k, keys.Open):
		if p.cursor < len(p.Entries) {
			return p.open(p.Entries[p.cursor])
		}
	case key.Matches(k, keys.Undo):
		return p.undo()
	case key.Matches(k, keys.Back):
		return p.c.Go(common.BackMsg{})
	}
	p.cursor = max(min(p.cursor, len(p.Entries)-1), 0)
	return nil
}

func (p *Page) viewerKey(k tea.KeyMsg) tea.Cmd {
	keys := p.c.Keys
	busy := p.Loading || p.Working != ""
	pending := p.current.Result == "" && (p.current.Prop != nil || p.Versions != nil && p.Versions.A != nil && p.Versions.B != nil)
	propOnly := func() tea.Cmd {
		p.Message, p.Bad = "A property conflict is settled by keeping one side's value: press a or b.", true
		return nil
	}
	start := func(what string) {
		p.Working = what
		p.Message, p.Bad = "", false
		p.opID++
	}
	switch {
	case key.Matches(k, keys.Back):
		if !busy {
			p.Viewing = false
			p.Rebuild()
		}
	case key.Matches(k, keys.Undo):
		return p.undo()
	case key.Matches(k, keys.KeepA), key.Matches(k, keys.KeepB):
		if busy || !pending {
			return nil
		}
		side := engine.A
		if key.Matches(k, keys.KeepB) {
			side = engine.B
		}
		start("keep " + side.String())
		if p.current.Prop != nil {
			return p.c.Svc.KeepProperty(*p.current.Prop, side, p.opID)
		}
		return p.c.Svc.Keep(p.current.Conflict, p.Versions, side, p.opID)
	case key.Matches(k, keys.KeepBoth):
		if busy || !pending {
			return nil
		}
		if p.current.Prop != nil {
			return propOnly()
		}
		start("keep both")
		return p.c.Svc.KeepBoth(p.current.Conflict, p.Versions, p.opID)
	case key.Matches(k, keys.PickA), key.Matches(k, keys.PickB), key.Matches(k, keys.PickBoth), key.Matches(k, keys.Toggle):
		if busy || !pending {
			return nil
		}
		if p.current.Prop != nil {
			return propOnly()
		}
		if !p.Viewer.Choosable() {
			p.Message, p.Bad = nothingToChoose, true
			return nil
		}
		var ok bool
		switch {
		case key.Matches(k, keys.PickA):
			ok = p.Viewer.Pick(merge.PickA)
		case key.Matches(k, keys.PickB):
			ok = p.Viewer.Pick(merge.PickB)
		case key.Matches(k, keys.PickBoth):
			ok = p.Viewer.Pick(merge.PickBoth)
			if !ok {
				p.Message, p.Bad = p.Viewer.Current()+" has one value: take a's (←) or b's (→).", true
				return nil
			}
		default:
			ok = p.Viewer.Toggle()
		}
		if ok && p.Bad {
			p.Message, p.Bad = "", false
		}
	case key.Matches(k, keys.Apply):
		if busy || !pending {
			return nil
		}
		if p.current.Prop != nil {
			return propOnly()
		}
		if !p.Viewer.Choosable() {
			p.Message, p.Bad = nothingToChoose, true
			return nil
		}
		if _, err := p.Viewer.Composition(); err != nil {
			p.Message, p.Bad = "Your choices do not make an item: "+err.Error(), true
			return nil
		}
		start("choice per property")
		return p.c.Svc.Compose(p.current.Conflict, p.Versions, p.Viewer.Choices(), p.opID)
	case key.Matches(k, keys.External):
		if busy || !pending {
			return nil
		}
		if p.current.Prop != nil {
			return propOnly()
		}
		argv := mergeTool(p.current.Conflict.Pair.Pair)
		if len(argv) == 0 {
			p.Message = fmt.Sprintf("No merge tool is configured: add `conflict_resolution cmd PROGRAM [ARG…]` to pair %s.", p.current.Conflict.Pair.Name())
			p.Bad = true
			return nil
		}
		start("merge tool")
		return p.c.Svc.Merge(p.current.Conflict, argv, p.opID)
	case key.Matches(k, keys.Skip):
		if busy {
			return nil
		}
		if p.current.Result == "" {
			p.current.Skipped = true
			p.skipped[p.current.key()] = true
		}
		return p.advance("Skipped "+p.current.label()+".", false, nil)
	case key.Matches(k, keys.Raw):
		p.Viewer.ToggleRaw()
	default:
		return p.Viewer.Update(k)
	}
	return nil
}

// nothingToChoose: the versions cannot be aligned property by property (their
// components do not nest), or only what is decided without a choice differs.
const nothingToChoose = "Nothing to choose property by property here: keep a (a), keep b (b), keep both (K) or use the merge tool (e)."

// index returns the position of the entry (by identity of the conflict) in the list,
// 0 when it is not there.
func (p *Page) index(e *Entry) int { return max(p.find(e), 0) }

// find returns the position of the entry in the list, or -1.
func (p *Page) find(e *Entry) int {
	for i, x := range p.Entries {
		if x.key() == e.key() {
			return i
		}
	}
	return -1
}

func mergeTool(pr *engine.Pair) []string {
	if pr.Config == nil || pr.Config.ConflictResolution != config.ResolveCmd {
		return nil
	}
	return pr.Config.ResolverCmd
}

// View implements common.Page.
func (p *Page) View(w, h int) string {
	if p.Viewing {
		return p.viewer(w, h)
	}
	st := p.c.Styles
	var lines []string
	if len(p.Entries) == 0 {
		lines = append(lines, st.OK.Render("No pending conflicts."))
		if p.c.Store.Busy() {
			lines = append(lines, st.SpinnerText.Render(p.c.Spinner+" still planning…"))
		}
		if p.Message != "" {
			lines = append(lines, p.Message)
		}
		return common.Fit(strings.Join(lines, "\n"), w, h)
	}
	lines = append(lines, st.Section.Render(fmt.Sprintf("Conflicts (%d)", len(p.Entries)))+st.Dim.Render(" · enter: open · esc: back"))
	if p.Summary {
		lines = append(lines, p.summary())
	}
	if p.Working == "undo" {
		lines = append(lines, st.SpinnerText.Render(p.c.Spinner+" undo: putting back what the last choice replaced…"))
	}
	if p.Message != "" {
		style := st.ResultGood
		if p.Bad {
			style = st.ResultBad
		}
		for _, l := range strings.Split(ansi.Wrap(p.Message, w, " "), "\n") {
			lines = append(lines, style.Render(l))
		}
	}
	body := max(h-len(lines), 1)
	p.offset = common.Scroll(p.offset, p.cursor, len(p.Entries), body)
	whereW, identW := 0, 0
	for _, e := range p.Entries {
		whereW = max(whereW, common.Width(e.where()))
		identW = max(identW, common.Width(e.label()))
	}
	whereW, identW = min(whereW, 24), min(identW, 24)
	for i := p.offset; i < len(p.Entries) && i < p.offset+body; i++ {
		e := p.Entries[i]
		marker := "  "
		if i == p.cursor {
			marker = st.Cursor.Render("> ")
		}
		line := marker + common.Pad(e.where(), whereW) + "  " + common.Pad(e.label(), identW)
		if e.Prop != nil {
			line += "  " + propValues(e.Prop.Action)
		} else if s := e.Conflict.Action.Summary(); s != "" {
			line += fmt.Sprintf("  %q", s)
		}
		a := e.Conflict.Action
		switch {
		case e.Result != "" && e.Failed:
			line += "  " + st.Error.Render(e.Result)
		case e.Result != "":
			line += "  " + st.OK.Render(e.Result)
		case e.Skipped:
			line += "  " + st.Warn.Render("skipped, still pending")
		case e.Failed:
			line += "  " + st.Error.Render("failed, still pending")
		case e.Prop == nil && a.A != nil && a.B != nil && a.A.Item != nil && a.B.Item != nil:
			line += "  " + st.Dim.Render(present.DiffSummary(a.A.Item.Text(), a.B.Item.Text()))
		}
		lines = append(lines, line)
	}
	return common.Fit(strings.Join(lines, "\n"), w, h)
}

// summary says how the conflicts of this visit ended.
func (p *Page) summary() string {
	var resolved, skipped, pending int
	for _, e := range p.Entries {
		switch {
		case e.Result != "" && !e.Failed:
			resolved++
		case e.Skipped:
			skipped++
		default:
			pending++
		}
	}
	st := p.c.Styles
	s := fmt.Sprintf("Done: %d resolved, %d skipped", resolved, skipped)
	if pending > 0 {
		s += fmt.Sprintf(", %d still pending", pending)
	}
	s += "."
	if skipped+pending > 0 {
		s += " Open one with enter."
	}
	return st.Bold.Render(s)
}

// propValues renders both values of a property conflict.
func propValues(a *engine.PropAction) string {
	v := func(s string, has bool) string {
		if !has {
			return "(none)"
		}
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("a %s · b %s", v(a.A, a.HasA), v(a.B, a.HasB))
}

func (p *Page) viewer(w, h int) string {
	st := p.c.Styles
	e := p.current
	c := e.Conflict
	pos := fmt.Sprintf("Conflict %d/%d", p.index(e)+1, len(p.Entries))
	title := st.Section.Render(pos) + " · " + e.where() + " · " + e.label()
	if e.Prop == nil {
		if s := c.Action.Summary(); s != "" {
			title += fmt.Sprintf(" %q", s)
		}
	}
	lines := []string{title}
	var status string
	switch {
	case p.Loading && p.Message != "":
		// What the last choice did stays in view while the next conflict is read.
		style := st.ResultGood
		if p.Bad {
			style = st.ResultBad
		}
		status = style.Render(p.Message) + "\n" + st.SpinnerText.Render(p.c.Spinner+" reading both versions…")
	case p.Loading:
		status = st.SpinnerText.Render(p.c.Spinner + " reading both versions…")
	case p.Working == "merge tool":
		status = st.SpinnerText.Render(p.c.Spinner + " running the merge tool…")
	case p.Working == "undo":
		status = st.SpinnerText.Render(p.c.Spinner + " undo: putting back what the last choice replaced…")
	case p.Working == "choice per property":
		status = st.SpinnerText.Render(p.c.Spinner + " applying your choices: reading both versions again and uploading…")
	case p.Working != "":
		status = st.SpinnerText.Render(p.c.Spinner + " " + p.Working + ": reading both versions again and uploading…")
	case p.Message != "" && p.Bad:
		status = st.ResultBad.Render(p.Message)
	case p.Message != "":
		status = st.ResultGood.Render(p.Message)
	}
	var statusLines []string
	if status != "" {
		statusLines = strings.Split(ansi.Wrap(status, w, " "), "\n")
		if len(statusLines) > 3 {
			statusLines = statusLines[:3]
		}
	}
	body := max(h-len(lines)-1-len(statusLines), 1)
	if e.Prop != nil {
		pr, act := e.Prop.Pair.Pair, e.Prop.Action
		val := func(s string, has bool) string {
			if !has {
				return st.Dim.Render("(none)")
			}
			return fmt.Sprintf("%q", s)
		}
		lines = append(lines, st.Dim.Render("The collection property "+act.Name+" differs; keep one side's value:"), "",
			fmt.Sprintf("  a (%s): %s", pr.NameA, val(act.A, act.HasA)),
			fmt.Sprintf("  b (%s): %s", pr.NameB, val(act.B, act.HasB)))
	}
	v := p.Versions
	if v != nil && v.A != nil && v.B != nil && v.A.Item != nil && v.B.Item != nil {
		diff := present.DiffSummary(v.A.Item.Text(), v.B.Item.Text())
		if v.A.Hash == v.B.Hash {
			diff = "both sides hold the same version"
		}
		toggle := "r: raw text"
		if p.Viewer.Raw() {
			toggle = "r: properties"
		}
		legend := " · ! = differs · "
		if p.Viewer.Choosable() && !p.Viewer.Raw() && e.Result == "" {
			legend = " · " + conflictview.Mark + " = chosen · "
		}
		lines = append(lines, st.Dim.Render(diff+legend+toggle))
		lines = append(lines, p.Viewer.View(w, body))
	}
	// The status stays at the bottom, under the view.
	top := common.Fit(strings.Join(lines, "\n"), w, h-len(statusLines))
	if len(statusLines) == 0 {
		return top
	}
	return top + "\n" + common.Fit(strings.Join(statusLines, "\n"), w, len(statusLines))
}
