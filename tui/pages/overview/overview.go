// Package overview is the first page: every pair and its collections with item
// counts, the last sync, what is pending and the conflicts, plus details of the
// selected row.
package overview

import (
	"fmt"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	"github.com/charmbracelet/bubbles/textinput"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/components/pairlist"
)

// detailLines is the height of the details box under the list.
const detailLines = 4

// Page is the overview.
type Page struct {
	c      *common.Common
	List   *pairlist.Model
	height int
	// filtering: the filter line has the keyboard.
	filtering bool
	input     textinput.Model
}

// New returns the overview page.
func New(c *common.Common) *Page {
	in := textinput.New()
	in.Prompt = "/ "
	in.Placeholder = "pair or collection"
	in.PromptStyle, in.TextStyle = c.Styles.Input, c.Styles.Input
	return &Page{c: c, List: pairlist.New(c), input: in}
}

// Typing reports whether the page takes every key (the filter is being typed).
func (p *Page) Typing() bool { return p.filtering }

// Busy implements common.Page.
func (p *Page) Busy() bool { return p.c.Store.Busy() }

// ShortHelp implements common.Page.
func (p *Page) ShortHelp() []key.Binding {
	k := p.c.Keys
	if p.filtering {
		return []key.Binding{key.NewBinding(key.WithKeys("enter"), key.WithHelp("enter", "keep filter")),
			key.NewBinding(key.WithKeys("esc"), key.WithHelp("esc", "clear"))}
	}
	return []key.Binding{k.Plan, k.Sync, k.SyncAll, k.Conflicts, k.Filter, k.ToggleLog, k.Help, k.Quit}
}

// FullHelp implements common.Page.
func (p *Page) FullHelp() [][]key.Binding {
	k := p.c.Keys
	return [][]key.Binding{
		{k.Up, k.Down, k.PageUp, k.PageDown, k.Top, k.Bottom},
		{k.Plan, k.Sync, k.SyncAll, k.Conflicts, k.Refresh},
		{k.Filter, k.ToggleLog, k.Help, k.Quit},
	}
}

// Update implements common.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	k, ok := msg.(tea.KeyMsg)
	if !ok {
		return nil
	}
	keys := p.c.Keys
	if p.filtering {
		switch k.Type {
		case tea.KeyEnter:
			p.filtering = false
			p.input.Blur()
		case tea.KeyEsc:
			p.filtering = false
			p.input.Blur()
			p.input.SetValue("")
			p.List.Filter = ""
		default:
			var cmd tea.Cmd
			p.input, cmd = p.input.Update(msg)
			p.List.Filter = p.input.Value()
			return cmd
		}
		return nil
	}
	sel, have := p.List.Selected()
	switch {
	case key.Matches(k, keys.Filter):
		p.filtering = true
		return p.input.Focus()
	case key.Matches(k, keys.Back) && p.List.Filter != "":
		p.input.SetValue("")
		p.List.Filter = ""
	case key.Matches(k, keys.Plan):
		if have {
			return p.c.Go(common.OpenPlanMsg{Scope: sel})
		}
	case key.Matches(k, keys.Sync):
		if have {
			return p.c.Go(common.StartSyncMsg{Scope: sel})
		}
	case key.Matches(k, keys.SyncAll):
		return p.c.Go(common.StartSyncMsg{Scope: common.All})
	case key.Matches(k, keys.Conflicts):
		return p.c.Go(common.OpenConflictsMsg{Scope: sel})
	case key.Matches(k, keys.Refresh):
		return p.c.Go(common.ReloadMsg{})
	default:
		return p.List.Update(msg, p.listHeight(p.height))
	}
	return nil
}

func (p *Page) listHeight(h int) int {
	if h >= 10 {
		return h - detailLines - 1
	}
	return h
}

// View implements common.Page.
func (p *Page) View(w, h int) string {
	p.height = h
	if len(p.c.Store.Pairs) == 0 {
		return common.Fit(p.c.Styles.Dim.Render("No pairs are configured. Add a pair to the configuration file (see pimsync.conf(5))."), w, h)
	}
	lh := p.listHeight(h)
	var filterLine string
	if p.filtering || p.List.Filter != "" {
		lh--
		filterLine = p.input.View()
		if !p.filtering {
			filterLine = p.c.Styles.Dim.Render(fmt.Sprintf("filter %q · /: change · esc: clear", p.List.Filter))
		}
	}
	out := p.List.View(w, lh)
	if filterLine != "" {
		out += "\n" + common.FitLine(filterLine, w)
		lh++
	}
	if lh < h {
		out += "\n" + p.c.Rule("", w) + "\n" + common.Fit(ansi.Wrap(p.details(w), w, " "), w, detailLines)
	}
	return common.Fit(out, w, h)
}

// details describes the selected pair or collection.
func (p *Page) details(w int) string {
	sel, ok := p.List.Selected()
	if !ok {
		return ""
	}
	st := p.c.Styles
	ps := p.c.Store.Pairs[sel.Pair]
	pr := ps.Pair
	var lines []string
	if sel.Alias == "" {
		lines = append(lines, fmt.Sprintf("%s: a = %s, b = %s%s", st.Bold.Render(pr.Name), pr.NameA, pr.NameB, resolution(pr)))
		if ps.DiscoveryFailed() {
			d := ps.Discovery
			names := [2]string{pr.NameA, pr.NameB}
			for s := range 2 {
				if d.Errs[s] != nil {
					lines = append(lines, wrapLines(st.Error.Render(fmt.Sprintf("storage %s (side %s): %v", names[s], engine.Side(s), d.Errs[s])), w)...)
				}
			}
			if d.Err != nil {
				lines = append(lines, wrapLines(st.Error.Render(d.Err.Error()), w)...)
			}
			if in, ok := ps.RetryIn(p.c.Now()); ok {
				lines = append(lines, st.Dim.Render("retry in "+pairlist.Countdown(in)+"; r reads the configuration again and retries now"))
			}
			return strings.Join(lines, "\n")
		}
		lines = append(lines, p.lastRunLine(ps, nil))
		if ps.Plan != nil {
			if ps.Plan.Err != nil {
				lines = append(lines, wrapLines(st.Error.Render("plan: "+ps.Plan.Err.Error()), w)...)
			} else {
				lines = append(lines, "pending: "+pendingLine(common.PendingOfPair(ps.Plan)))
			}
		}
		return strings.Join(lines, "\n")
	}
	var coll *common.Coll
	for _, c := range ps.Collections() {
		if c.Alias == sel.Alias {
			coll = &c
			break
		}
	}
	if coll == nil {
		return ""
	}
	if coll.Only >= 0 {
		other := 1 - coll.Only
		n := "?"
		if coll.Count >= 0 {
			n = fmt.Sprint(coll.Count)
		}
		lines = append(lines, fmt.Sprintf("%s %s  %s = %s: %s (%s items)", st.Swatch(coll.Color), st.Bold.Render(coll.Alias),
			engine.Side(coll.Only), []string{pr.NameA, pr.NameB}[coll.Only], coll.Href[coll.Only], n))
		line := fmt.Sprintf("%s = %s cannot be reached; nothing is synced until it can", engine.Side(other), []string{pr.NameA, pr.NameB}[other])
		if in, ok := ps.RetryIn(p.c.Now()); ok {
			line += "; retry in " + pairlist.Countdown(in)
		}
		lines = append(lines, st.Warn.Render(line))
		if err := ps.Discovery.Errs[other]; err != nil {
			lines = append(lines, wrapLines(st.Error.Render(err.Error()), w)...)
		}
		return strings.Join(lines, "\n")
	}
	side := func(s int) string {
		name := []string{pr.NameA, pr.NameB}[s]
		t := fmt.Sprintf("%s: %s", name, coll.Href[s])
		if coll.Name[s] != "" {
			t += fmt.Sprintf(" %q", coll.Name[s])
		}
		if !coll.Exists[s] {
			t += " (to be created)"
		}
		return t
	}
	lines = append(lines, fmt.Sprintf("%s %s  a = %s  ↔  b = %s", st.Swatch(coll.Color), st.Bold.Render(coll.Alias), side(0), side(1)))
	if m := coll.Plan; m != nil {
		line := fmt.Sprintf("items: a %d, b %d · collection: %s", m.Listed[0], m.Listed[1], present.CollectionLabel(m))
		if m.ReasonIsError {
			line = st.Error.Render(line)
		}
		lines = append(lines, line)
		lines = append(lines, "pending: "+pendingLine(common.PendingOf(m)))
	} else if ps.Planning {
		lines = append(lines, st.SpinnerText.Render(p.c.Spinner+" counting items…"))
	}
	lines = append(lines, p.lastRunLine(ps, coll))
	return strings.Join(lines, "\n")
}

func resolution(p *engine.Pair) string {
	switch p.Config.ConflictResolution {
	case config.ResolveNone:
		return ""
	case config.ResolveCmd:
		return "; conflicts: " + strings.Join(p.Config.ResolverCmd, " ")
	}
	return "; conflicts: " + p.Config.ConflictResolution.String()
}

func (p *Page) lastRunLine(ps *common.PairState, coll *common.Coll) string {
	st := p.c.Styles
	switch {
	case ps.LastRunErr != nil:
		return st.Error.Render("last sync: " + ps.LastRunErr.Error())
	case !ps.LastRunLoaded:
		return ""
	case ps.LastRun == nil:
		return "last sync: never"
	}
	run := ps.LastRun
	when := common.Ago(p.c.Now(), run.Finished)
	if run.Error != "" {
		return st.Error.Render("last sync " + when + " failed: " + run.Error)
	}
	var counts [2]engine.Counts
	conflicts, errs := 0, 0
	for _, m := range run.Mappings {
		if coll != nil && m.Alias != coll.Alias {
			continue
		}
		for s := range 2 {
			counts[s] = engine.Counts{Created: counts[s].Created + m.Counts[s].Created,
				Updated: counts[s].Updated + m.Counts[s].Updated, Deleted: counts[s].Deleted + m.Counts[s].Deleted}
		}
		conflicts += m.Conflicts
		errs += len(m.Errors)
	}
	if coll != nil && coll.Last == nil {
		return "last sync " + when + ": not part of it"
	}
	line := "last sync " + when + ": " + common.CountsText(counts)
	if conflicts > 0 {
		line += " · " + common.Plural(conflicts, "conflict", "conflicts") + " left"
	}
	if errs > 0 {
		line += " · " + st.Error.Render(common.Plural(errs, "error", "errors"))
	}
	return line
}

func pendingLine(pd common.Pending) string {
	var parts []string
	if pd.Changes() == 0 && pd.Conflicts == 0 && pd.PropConfl == 0 && pd.Errors == 0 {
		return "nothing, in sync"
	}
	parts = append(parts, common.CountsText(pd.Counts))
	if pd.PropChanges > 0 {
		parts = append(parts, common.Plural(pd.PropChanges, "property", "properties"))
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

func wrapLines(s string, w int) []string {
	return strings.Split(ansi.Wrap(s, w, " "), "\n")
}
