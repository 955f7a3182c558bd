// Package plan is the plan preview: what a sync of a pair or a collection would
// create, update and delete on which side, and the conflicts, before anything is
// written. Confirming starts the sync.
package plan

import (
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/tui/common"
)

// Page is the plan preview.
type Page struct {
	c       *common.Common
	Scope   common.Scope
	id      int
	loading bool
	plan    *engine.PairPlan
	// mappings are the plan's mappings in scope.
	mappings []*engine.MappingPlan
	offset   int
	body     int
	total    int
	// Filter keeps the actions whose label, UID or summary contains it.
	Filter    string
	filtering bool
	input     textinput.Model
	// shown is what View lists, kept until the plan, the filter or the width changes:
	// rendering and sorting every action on each frame (a spinner tick, a key) would
	// take seconds a frame for a first sync of 100,000 items.
	shown rendered
}

// rendered is the cached body of the page.
type rendered struct {
	valid   bool
	width   int
	filter  string
	lines   []string
	pending common.Pending
	renders int // how many times it was computed (tests)
}

// listing returns the lines the page lists at width w, and what the plan would change.
func (p *Page) listing(w int) ([]string, common.Pending) {
	c := &p.shown
	if !c.valid || c.width != w || c.filter != p.Filter {
		var pd common.Pending
		for _, m := range p.mappings {
			pd = pd.Add(common.PendingOf(m))
		}
		c.valid, c.width, c.filter, c.pending, c.lines = true, w, p.Filter, pd, p.lines(w)
		c.renders++
	}
	return c.lines, c.pending
}

// New returns the plan page.
func New(c *common.Common) *Page {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "UID, summary or action"
	in.PromptStyle, in.TextStyle = c.Styles.Input, c.Styles.Input
	return &Page{c: c, input: in}
}

// Typing reports whether the filter is being typed.
func (p *Page) Typing() bool { return p.filtering }

// Open starts planning a scope (a pair or one of its collections).
func (p *Page) Open(s common.Scope) tea.Cmd {
	p.Scope = s
	p.id++
	p.loading = true
	p.plan, p.mappings, p.offset = nil, nil, 0
	p.shown.valid = false
	p.Filter, p.filtering = "", false
	p.input.SetValue("")
	return p.c.Svc.Preview(s.Pair, p.id)
}

// Busy implements common.Page.
func (p *Page) Busy() bool { return p.loading }

// Plan returns the plan shown (nil while planning).
func (p *Page) Plan() *engine.PairPlan { return p.plan }

// ShortHelp implements common.Page.
func (p *Page) ShortHelp() []key.Binding {
	k := p.c.Keys
	if p.canApply() {
		return []key.Binding{k.Confirm, k.Deny, k.Up, k.Down, k.Filter, k.Help, k.Quit}
	}
	return []key.Binding{k.Deny, k.Up, k.Down, k.Filter, k.Help, k.Quit}
}

// FullHelp implements common.Page.
func (p *Page) FullHelp() [][]key.Binding {
	k := p.c.Keys
	return [][]key.Binding{{k.Confirm, k.Deny}, {k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom}, {k.Filter, k.ToggleLog, k.Help, k.Quit}}
}

func (p *Page) canApply() bool {
	return !p.loading && p.plan != nil && p.plan.Err == nil && p.hasChanges()
}

func (p *Page) hasChanges() bool {
	if p.Scope.Alias == "" && len(p.plan.Stale) > 0 {
		return true
	}
	for _, m := range p.mappings {
		if m.Action != engine.CollNone || m.NumActions() > 0 || len(m.Props) > 0 {
			return true
		}
	}
	return false
}

// Update implements common.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.PreviewMsg:
		if msg.ID != p.id {
			return nil
		}
		p.loading = false
		p.plan = msg.Plan
		p.mappings = nil
		p.shown.valid = false
		if msg.Plan.Err == nil {
			for _, m := range msg.Plan.Mappings {
				if p.Scope.Alias == "" || m.Alias == p.Scope.Alias {
					p.mappings = append(p.mappings, m)
				}
			}
		}
		return nil
	case tea.KeyMsg:
		keys := p.c.Keys
		page := max(p.body-1, 1)
		if p.filtering {
			switch msg.Type {
			case tea.KeyEnter:
				p.filtering = false
				p.input.Blur()
			case tea.KeyEsc:
				p.filtering = false
				p.input.Blur()
				p.input.SetValue("")
				p.Filter = ""
			default:
				var cmd tea.Cmd
				p.input, cmd = p.input.Update(msg)
				p.Filter = p.input.Value()
				p.offset = 0
				return cmd
			}
			return nil
		}
		switch {
		case key.Matches(msg, keys.Filter):
			p.filtering = true
			return p.input.Focus()
		case key.Matches(msg, keys.Back) && p.Filter != "":
			p.Filter = ""
			p.input.SetValue("")
		case key.Matches(msg, keys.Confirm):
			if p.canApply() {
				return p.c.Go(common.StartSyncMsg{Scope: p.Scope})
			}
		case key.Matches(msg, keys.Deny):
			return p.c.Go(common.BackMsg{})
		default:
			p.offset, _ = keys.Scroll(msg, p.offset, page)
		}
		p.clamp()
	}
	return nil
}

func (p *Page) clamp() {
	p.offset = max(min(p.offset, p.total-p.body), 0)
}

// View implements common.Page.
func (p *Page) View(w, h int) string {
	st := p.c.Styles
	label := p.Scope.Label(p.c.Store)
	var head []string
	head = append(head, st.Section.Render("Plan for "+label)+st.Dim.Render(" · nothing is written until you confirm"))
	if p.loading {
		head = append(head, st.SpinnerText.Render(p.c.Spinner+" planning (reading both sides)…"))
		return common.Fit(strings.Join(head, "\n"), w, h)
	}
	if p.plan.Err != nil {
		head = append(head, st.Error.Render("error: "+p.plan.Err.Error()))
		head = append(head, "", st.Dim.Render("esc: back"))
		return common.Fit(strings.Join(head, "\n"), w, h)
	}
	pr := p.plan.Pair
	lines, pd := p.listing(w)
	head = append(head, fmt.Sprintf("a = %s, b = %s · %s", pr.NameA, pr.NameB, summary(pd)))
	var prompt string
	if p.canApply() {
		prompt = st.Prompt.Render(fmt.Sprintf("Apply this plan? y/enter: sync %s now · n/esc: back", label))
	} else {
		prompt = st.OK.Render("Nothing to do: "+label+" is in sync.") + st.Dim.Render(" esc: back")
	}
	if p.filtering || p.Filter != "" {
		f := p.input.View()
		if !p.filtering {
			f = st.Dim.Render(fmt.Sprintf("showing the actions matching %q · /: change · esc: all", p.Filter))
		}
		head = append(head, f)
	}
	p.body = max(h-len(head)-2, 1)
	p.total = len(lines)
	p.clamp()
	end := min(p.offset+p.body, len(lines))
	shown := lines[p.offset:end]
	more := ""
	if len(lines) > p.body {
		more = fmt.Sprintf("lines %d–%d of %d", p.offset+1, end, len(lines))
	}
	out := append(head, common.Fit(strings.Join(shown, "\n"), w, p.body), p.c.Rule(more, w), prompt)
	return common.Fit(strings.Join(out, "\n"), w, h)
}

func summary(pd common.Pending) string {
	parts := []string{common.CountsText(pd.Counts)}
	if pd.PropChanges > 0 {
		parts = append(parts, common.Plural(pd.PropChanges, "property change", "property changes"))
	}
	if n := pd.Conflicts + pd.PropConfl; n > 0 {
		parts = append(parts, common.Plural(n, "conflict", "conflicts"))
	}
	if pd.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d read-only skipped", pd.Skipped))
	}
	if pd.Errors > 0 {
		parts = append(parts, common.Plural(pd.Errors, "error", "errors"))
	}
	return strings.Join(parts, " · ")
}

// lines renders the plan of the mappings in scope, one action per line.
func (p *Page) lines(w int) []string {
	st := p.c.Styles
	var out []string
	if p.Scope.Alias == "" {
		for _, s := range p.plan.Stale {
			out = append(out, st.Dim.Render(fmt.Sprintf("forget mapping %d (a: %s, b: %s)", s.UID, s.HrefA, s.HrefB)))
		}
	}
	verbW, identW := 0, 0
	for _, m := range p.mappings {
		for _, a := range p.items(m) {
			verbW = max(verbW, common.Width(present.ActionLabel(a)))
			identW = max(identW, common.Width(a.Ident))
		}
	}
	verbW = min(verbW, 26)
	identW = min(identW, max(w/4, 12))
	for _, m := range p.mappings {
		items := p.items(m)
		if p.Filter != "" && len(items) == 0 && !p.matches(m.Alias) {
			continue
		}
		head := fmt.Sprintf("collection %s (a: %s, b: %s): %s", m.Alias, m.HrefA, m.HrefB, present.CollectionLabel(m))
		if m.ReasonIsError {
			out = append(out, st.Error.Render(head))
		} else {
			out = append(out, st.Bold.Render(head))
		}
		if m.NumActions() == 0 && len(m.Props) == 0 && len(m.Unfetchable) == 0 {
			out = append(out, st.Dim.Render("  no item changes"))
		}
		for _, u := range m.Unfetchable {
			out = append(out, st.Error.Render(fmt.Sprintf("  cannot read %s on %s: %v", u.Href, u.Side, u.Err)))
		}
		for _, a := range items {
			verb := verbStyle(st, a).Render(common.Pad(present.ActionLabel(a), verbW))
			line := "  " + verb + "  " + common.Pad(a.Ident, identW)
			if s := a.Summary(); s != "" {
				line += fmt.Sprintf("  %q", s)
			}
			out = append(out, line)
			if a.Verb == engine.VerbConflict && a.A != nil && a.B != nil && a.A.Item != nil && a.B.Item != nil {
				out = append(out, st.Dim.Render("    "+present.DiffSummary(a.A.Item.Text(), a.B.Item.Text())))
			}
		}
		for _, pa := range m.Props {
			style := st.Update
			if pa.Verb == engine.VerbConflict {
				style = st.Conflict
			}
			out = append(out, "  "+style.Render(present.PropLabel(pa)))
		}
		if m.ReasonIsError && m.Action != engine.CollSkipped && m.Action != engine.CollProtected {
			out = append(out, st.Error.Render("  error: "+m.Reason))
		}
	}
	if len(p.mappings) == 0 {
		if p.Scope.Alias != "" {
			out = append(out, st.Dim.Render("no collection "+p.Scope.Alias+" in this pair any more"))
		} else {
			out = append(out, st.Dim.Render("no collections to sync"))
		}
	}
	return out
}

func (p *Page) matches(texts ...string) bool {
	if p.Filter == "" {
		return true
	}
	f := strings.ToLower(p.Filter)
	for _, t := range texts {
		if strings.Contains(strings.ToLower(t), f) {
			return true
		}
	}
	return false
}

// items returns a mapping's item actions as the page lists them: conflicts first,
// then what cannot be done (read-only skips), then the rest, each group in natural
// order of UID (bulk-19 before bulk-184); only those the filter keeps.
func (p *Page) items(m *engine.MappingPlan) []*engine.ItemAction {
	var out []*engine.ItemAction
	for a := range m.Actions() {
		if p.matches(a.Ident, a.Summary(), present.ActionLabel(a)) {
			out = append(out, a)
		}
	}
	rank := func(a *engine.ItemAction) int {
		switch {
		case a.Verb == engine.VerbConflict:
			return 0
		case a.Skip != "":
			return 1
		}
		return 2
	}
	sort.SliceStable(out, func(i, j int) bool {
		if ri, rj := rank(out[i]), rank(out[j]); ri != rj {
			return ri < rj
		}
		return common.NaturalLess(out[i].Ident, out[j].Ident)
	})
	return out
}

func verbStyle(st *common.Styles, a *engine.ItemAction) interface{ Render(...string) string } {
	switch {
	case a.Skip != "":
		return st.Dim
	case a.Verb == engine.VerbCreate:
		return st.Create
	case a.Verb == engine.VerbUpdate:
		return st.Update
	case a.Verb == engine.VerbDelete:
		return st.Delete
	case a.Verb == engine.VerbConflict:
		return st.Conflict
	}
	return st.Dim
}
