// Package syncview is the sync page: live per-collection progress bars with counts and
// the item being written, errors as they happen, and a safe cancel (the writes in
// flight finish and are recorded, so the status stays consistent).
package syncview

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/charmbracelet/bubbles/key"
	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/x/ansi"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/tui/common"
	"github.com/pimsync-go/pimsync/tui/components/progress"
)

// Coll is the progress of one collection.
type Coll struct {
	Pair      int
	Alias     string
	order     int
	Label     string
	Bar       progress.Bar
	Counts    [2]engine.Counts
	Current   string
	Conflicts int
	Skipped   int
	Errors    int
	Finished  bool
	IsError   bool
}

// pairProgress is the state of one pair.
type pairProgress struct {
	started, waiting, planned, finished bool
	cancelled                           bool
	err                                 error
}

// Page is the sync page.
type Page struct {
	c          *common.Common
	Scope      common.Scope
	Running    bool
	Cancelling bool
	// Quitting: the TUI quits once the sync stopped.
	Quitting  bool
	Cancelled bool
	Finished  bool
	cancel    context.CancelFunc
	pairs     map[int]*pairProgress
	colls     map[string]*Coll
	Errors    []string
	seen      map[string]bool
	results   []*engine.PairResult
	offset    int
	body      int
	total     int
}

// New returns the sync page.
func New(c *common.Common) *Page { return &Page{c: c} }

// Start starts syncing a scope and returns the command that runs it.
func (p *Page) Start(s common.Scope) tea.Cmd {
	ctx, cancel := context.WithCancel(p.c.Svc.Context())
	*p = Page{c: p.c, Scope: s, Running: true, cancel: cancel,
		pairs: map[int]*pairProgress{}, colls: map[string]*Coll{}, seen: map[string]bool{}}
	return p.c.Svc.Sync(ctx, s)
}

// Cancel asks the running sync to stop after the writes in flight.
func (p *Page) Cancel() {
	if p.Running && !p.Cancelling {
		p.Cancelling = true
		p.cancel()
	}
}

// Busy implements common.Page.
func (p *Page) Busy() bool { return p.Running }

// Results returns the results of the finished sync.
func (p *Page) Results() []*engine.PairResult { return p.results }

// Conflicts returns the number of conflicts left by the finished sync.
func (p *Page) Conflicts() int {
	n := 0
	for _, r := range p.results {
		n += r.Conflicts()
	}
	return n
}

// ShortHelp implements common.Page.
func (p *Page) ShortHelp() []key.Binding {
	k := p.c.Keys
	if p.Running {
		return []key.Binding{k.Cancel, k.Up, k.Down, k.Help, k.Quit}
	}
	return []key.Binding{k.Back, k.Conflicts, k.Up, k.Down, k.Help, k.Quit}
}

// FullHelp implements common.Page.
func (p *Page) FullHelp() [][]key.Binding {
	k := p.c.Keys
	return [][]key.Binding{{k.Cancel, k.Back, k.Conflicts}, {k.Up, k.Down, k.PageUp, k.PageDown}, {k.ToggleLog, k.Help, k.Quit}}
}

func (p *Page) pair(i int) *pairProgress {
	pp, ok := p.pairs[i]
	if !ok {
		pp = &pairProgress{}
		p.pairs[i] = pp
	}
	return pp
}

func (p *Page) coll(pair int, alias string) *Coll {
	k := fmt.Sprintf("%d\x00%s", pair, alias)
	c, ok := p.colls[k]
	if !ok {
		c = &Coll{Pair: pair, Alias: alias, order: len(p.colls)}
		p.colls[k] = c
	}
	return c
}

func (p *Page) addError(err string) {
	if !p.seen[err] {
		p.seen[err] = true
		p.Errors = append(p.Errors, err)
	}
}

// Update implements common.Page.
func (p *Page) Update(msg tea.Msg) tea.Cmd {
	switch msg := msg.(type) {
	case common.SyncPairStarted:
		if msg.Pair >= 0 {
			p.pair(msg.Pair).started = true
		}
	case common.SyncPairWaiting:
		if msg.Pair >= 0 {
			p.pair(msg.Pair).waiting = true
		}
	case common.SyncPairPlanned:
		if msg.Pair < 0 {
			return nil
		}
		pp := p.pair(msg.Pair)
		pp.waiting, pp.planned = false, true
		if msg.Err != nil {
			pp.err = msg.Err
			p.addError(msg.Err.Error())
		}
		for i, m := range msg.Mappings {
			c := p.coll(msg.Pair, m.Alias)
			c.order = i
			c.Label = m.Label
			c.Bar = progress.Bar{Total: m.Total}
			c.Conflicts, c.Skipped, c.IsError = m.Conflicts, m.Skipped, m.IsError
		}
	case common.SyncItemStarted:
		if msg.Pair >= 0 {
			p.coll(msg.Pair, msg.Mapping).Current = msg.What
		}
	case common.SyncItemFinished:
		if msg.Pair < 0 {
			return nil
		}
		c := p.coll(msg.Pair, msg.Mapping)
		c.Bar = progress.Bar{Done: msg.Done, Total: msg.Total}
		if msg.Err != nil {
			c.Errors++
			p.addError(msg.Err.Error())
			return nil
		}
		cnt := &c.Counts[msg.Target]
		switch msg.Verb {
		case engine.VerbCreate:
			cnt.Created++
		case engine.VerbUpdate:
			cnt.Updated++
		case engine.VerbDelete:
			cnt.Deleted++
		}
	case common.SyncMappingFinished:
		if msg.Pair < 0 {
			return nil
		}
		r := msg.Result
		c := p.coll(msg.Pair, r.Alias)
		c.Finished, c.Current = true, ""
		c.Counts, c.Conflicts, c.Skipped, c.Errors = r.Counts, r.Conflicts, r.Skipped, len(r.Errors)
		for _, err := range r.Errors {
			p.addError(err.Error())
		}
	case common.SyncPairFinished:
		if msg.Pair < 0 {
			return nil
		}
		pp := p.pair(msg.Pair)
		pp.finished, pp.waiting = true, false
		switch err := msg.Result.Err; {
		case err == nil:
		case p.Cancelling && errors.Is(err, context.Canceled):
			pp.cancelled = true // stopped before it began: not an error
		default:
			pp.err = err
			p.addError(err.Error())
		}
	case common.SyncDone:
		p.Running, p.Finished = false, true
		p.Cancelled = msg.Cancelled
		p.results = msg.Results
		for _, c := range p.colls {
			c.Current = ""
		}
		// The results are the last word (a daemon's events may still be on their way).
		for _, r := range msg.Results {
			i := p.c.Store.Index(r.Pair)
			if i < 0 {
				continue
			}
			pp := p.pair(i)
			pp.finished, pp.waiting = true, false
			switch {
			case r.Err == nil:
			case p.Cancelled && errors.Is(r.Err, context.Canceled):
				pp.cancelled = true
			default:
				pp.err = r.Err
				p.addError(r.Err.Error())
			}
			for _, mr := range r.Mappings {
				c := p.coll(i, mr.Alias)
				c.Finished = true
				c.Counts, c.Conflicts, c.Skipped, c.Errors = mr.Counts, mr.Conflicts, mr.Skipped, len(mr.Errors)
				for _, err := range mr.Errors {
					p.addError(err.Error())
				}
			}
		}
		if p.cancel != nil {
			p.cancel()
		}
	case tea.KeyMsg:
		keys := p.c.Keys
		page := max(p.body-1, 1)
		switch {
		case key.Matches(msg, keys.Cancel):
			p.Cancel()
		case key.Matches(msg, keys.Back):
			if !p.Running {
				return p.c.Go(common.BackMsg{})
			}
		case key.Matches(msg, keys.Conflicts):
			if !p.Running {
				return p.c.Go(common.OpenConflictsMsg{Scope: p.Scope})
			}
		default:
			p.offset, _ = keys.Scroll(msg, p.offset, page)
		}
		p.offset = max(min(p.offset, p.total-p.body), 0)
	}
	return nil
}

// Colls returns the collections in display order (pair order, then plan order).
func (p *Page) Colls() []*Coll {
	out := make([]*Coll, 0, len(p.colls))
	for _, c := range p.colls {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Pair != out[j].Pair {
			return out[i].Pair < out[j].Pair
		}
		if out[i].order != out[j].order {
			return out[i].order < out[j].order
		}
		return out[i].Alias < out[j].Alias
	})
	return out
}

// totals sums the counts of every collection.
func (p *Page) totals() (counts [2]engine.Counts, conflicts, errs int) {
	for _, c := range p.colls {
		for s := range 2 {
			counts[s] = engine.Counts{Created: counts[s].Created + c.Counts[s].Created,
				Updated: counts[s].Updated + c.Counts[s].Updated, Deleted: counts[s].Deleted + c.Counts[s].Deleted}
		}
		conflicts += c.Conflicts
	}
	return counts, conflicts, len(p.Errors)
}

// View implements common.Page.
func (p *Page) View(w, h int) string {
	st := p.c.Styles
	label := p.Scope.Label(p.c.Store)
	counts, conflicts, errs := p.totals()
	var head string
	switch {
	case p.Running && p.Cancelling && p.Quitting:
		head = st.Warn.Render(p.c.Spinner + " Quitting after the writes in flight (q again: quit now)…")
	case p.Running && p.Cancelling:
		head = st.Warn.Render(p.c.Spinner + " Cancelling the sync of " + label + ": waiting for the writes in flight…")
	case p.Running:
		head = st.SpinnerText.Render(p.c.Spinner+" Syncing "+label+"…") + st.Dim.Render(" x: cancel (writes in flight finish)")
	case p.Cancelled:
		head = st.Warn.Render("Sync of "+label+" cancelled") + st.Dim.Render(": what was written is recorded; the next sync continues")
	default:
		head = st.ResultGood.Render("Sync of " + label + " finished")
	}
	summary := common.CountsText(counts) + " · " + common.Plural(conflicts, "conflict", "conflicts") + " · " + common.Plural(errs, "error", "errors")
	if errs > 0 {
		summary = st.Error.Render(summary)
	} else if conflicts > 0 {
		summary = st.Conflict.Render(summary)
	}
	lines := p.body2(w)
	foot := ""
	if !p.Running {
		foot = st.Dim.Render("esc: back to the overview")
		if conflicts > 0 {
			foot = st.Prompt.Render("c: resolve the conflicts") + st.Dim.Render(" · esc: back to the overview")
		}
	}
	p.body = max(h-3, 1)
	p.total = len(lines)
	p.offset = max(min(p.offset, p.total-p.body), 0)
	end := min(p.offset+p.body, len(lines))
	out := []string{head, summary, common.Fit(strings.Join(lines[p.offset:end], "\n"), w, p.body), foot}
	return common.Fit(strings.Join(out, "\n"), w, h)
}

// unfinished reports whether a collection of pair i was left part-way.
func (p *Page) unfinished(i int) bool {
	for _, c := range p.colls {
		if c.Pair == i && (!c.Finished || c.Bar.Done < c.Bar.Total) {
			return true
		}
	}
	return false
}

// body2 renders the pairs, their collections and the errors.
func (p *Page) body2(w int) []string {
	st := p.c.Styles
	var lines []string
	colls := p.Colls()
	aliasW := 8
	for _, c := range colls {
		aliasW = max(aliasW, common.Width(c.Alias))
	}
	aliasW = min(aliasW, 18)
	barW := min(max(w/4, 14), 40)
	var pairs []int
	for i := range p.pairs {
		pairs = append(pairs, i)
	}
	sort.Ints(pairs)
	for _, i := range pairs {
		pp := p.pairs[i]
		name := p.c.Store.Pairs[i].Pair.Name
		status := ""
		switch {
		case pp.err != nil:
			status = st.Error.Render("failed")
		case pp.cancelled:
			status = st.Warn.Render("not synced (cancelled)")
		case pp.finished && p.Cancelled && p.unfinished(i):
			status = st.Warn.Render("cancelled")
		case pp.finished:
			status = st.OK.Render("done")
		case pp.waiting:
			status = st.Warn.Render("waiting for another pimsync process to finish with this pair…")
		case !pp.planned:
			status = st.SpinnerText.Render("planning…")
		}
		lines = append(lines, st.Bold.Render(name)+"  "+status)
		for _, c := range colls {
			if c.Pair != i {
				continue
			}
			var state string
			switch {
			case c.IsError && c.Finished:
				state = st.Error.Render("error: " + c.Label)
			case c.Finished && c.Errors > 0:
				state = st.Error.Render(common.Plural(c.Errors, "error", "errors"))
			case p.Cancelled && !c.Finished && c.Bar.Done == 0:
				state = st.Warn.Render("not synced (cancelled)")
			case p.Cancelled && c.Bar.Done < c.Bar.Total:
				state = st.Warn.Render(fmt.Sprintf("cancelled: %d of %d done", c.Bar.Done, c.Bar.Total))
			case c.Finished:
				state = st.OK.Render("done")
			}
			if c.Conflicts > 0 {
				if state != "" {
					state += " · "
				}
				state += st.Conflict.Render(common.Plural(c.Conflicts, "conflict", "conflicts"))
			}
			line := "  " + common.Pad(c.Alias, aliasW) + " " + c.Bar.View(st, barW) + "  " +
				fmt.Sprintf("a +%d ~%d -%d, b +%d ~%d -%d", c.Counts[0].Created, c.Counts[0].Updated, c.Counts[0].Deleted,
					c.Counts[1].Created, c.Counts[1].Updated, c.Counts[1].Deleted)
			if state != "" {
				line += "  " + state
			}
			lines = append(lines, line)
			if c.Current != "" && !c.Finished {
				lines = append(lines, st.Dim.Render(strings.Repeat(" ", aliasW+3)+"writing: "+c.Current))
			}
		}
	}
	if len(p.Errors) > 0 {
		lines = append(lines, st.Error.Render(fmt.Sprintf("Errors (%d):", len(p.Errors))))
		for _, e := range p.Errors {
			for _, l := range strings.Split(ansi.Wrap("  "+e, w, " /"), "\n") {
				lines = append(lines, st.Error.Render(l))
			}
		}
	}
	return lines
}
