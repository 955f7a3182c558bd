package common

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
	"github.com/pimsync-go/pimsync/engine/merge"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/engine/trash"
	"github.com/pimsync-go/pimsync/storage"
)

// Service is the TUI's only way to the engine. Each method returns a tea.Cmd: the work
// (all network and disk I/O) happens when Bubble Tea runs the command on its own
// goroutine, never in Update.
type Service struct {
	Engine *engine.Engine
	Pairs  []*engine.Pair
	Bus    *Bus
	// remote is the `pimsync daemon` the TUI is attached to (nil: none). Every write of
	// a pair it syncs goes through it (syncs and conflict resolutions), so that it
	// stays the only writer; reads (discovery, plans, versions) stay here. mu guards
	// it and Pairs against the goroutines that outlive one command (Follow, Watch).
	remote *control.Client
	mu     sync.Mutex
	// LogLevel is the lowest level of the daemon's log lines shown (the TUI's -v).
	LogLevel slog.Level
	ctx      context.Context
	// writers counts the commands that may write (syncs and resolutions).
	writers sync.WaitGroup
	// watching ends the watchers of the current pairs (see Watch).
	watching context.CancelFunc
}

// NewService wires the engine's events to the bus. ctx bounds every operation.
func NewService(ctx context.Context, eng *engine.Engine, pairs []*engine.Pair, bus *Bus) *Service {
	s := &Service{Engine: eng, Pairs: pairs, Bus: bus, ctx: ctx, LogLevel: slog.LevelWarn}
	index := map[string]int{}
	for i, p := range pairs {
		index[p.Name] = i
	}
	eng.Reporter = &reporter{bus: bus, index: index}
	return s
}

// Context is the context of the whole TUI.
func (s *Service) Context() context.Context { return s.ctx }

// Discover discovers a pair and reads its collections' properties. When one side
// cannot be discovered, the collections of the other are listed with their item
// counts (Partial), so that a local calendar stays in view while its server is down.
func (s *Service) Discover(i, gen int) tea.Cmd {
	p, eng := s.Pairs[i], s.Engine
	return func() tea.Msg {
		d := eng.Discover(s.ctx, p)
		if ok := partialSide(d); ok >= 0 {
			return DiscoveredMsg{Pair: i, Gen: gen, Discovery: d, Partial: listSide(s.ctx, p, engine.Side(ok), d.Collections[ok])}
		}
		props := map[string][2]map[string]string{}
		if d.Errs[0] == nil && d.Errs[1] == nil && d.Err == nil {
			for _, m := range d.Mappings {
				pr, errs := eng.CollectionProperties(s.ctx, p, m)
				for side, err := range errs {
					if err != nil && eng.Log != nil {
						eng.Log.Debug(fmt.Sprintf("%s/%s: reading the properties of side %s: %v",
							p.Name, m.Alias, engine.Side(side), err))
					}
				}
				props[m.Alias] = pr
			}
		}
		return DiscoveredMsg{Pair: i, Gen: gen, Discovery: d, Props: props}
	}
}

// Plan plans a pair without writing anything.
func (s *Service) Plan(i, gen int) tea.Cmd {
	p, eng := s.Pairs[i], s.Engine
	return func() tea.Msg {
		return PlannedMsg{Pair: i, Gen: gen, Plan: eng.Plan(s.ctx, []*engine.Pair{p})[0]}
	}
}

// Preview plans a pair for the plan preview.
func (s *Service) Preview(i, id int) tea.Cmd {
	p, eng := s.Pairs[i], s.Engine
	return func() tea.Msg {
		return PreviewMsg{ID: id, Plan: eng.Plan(s.ctx, []*engine.Pair{p})[0]}
	}
}

// LastRun reads the record of a pair's last sync.
func (s *Service) LastRun(i, gen int) tea.Cmd {
	p, eng := s.Pairs[i], s.Engine
	return func() tea.Msg {
		run, ok, err := eng.LastRun(p.Name)
		msg := LastRunMsg{Pair: i, Gen: gen, Err: err}
		if ok {
			msg.Run = &run
		}
		return msg
	}
}

// Sync syncs a scope. Progress arrives as Sync* events on the bus, ending with
// SyncDone; cancelling ctx stops new work while the writes in flight finish. Pairs of
// an attached daemon are synced by the daemon (their events come from it).
func (s *Service) Sync(ctx context.Context, scope Scope) tea.Cmd {
	return func() tea.Msg {
		s.writers.Add(1)
		defer s.writers.Done()
		var local []*engine.Pair
		var remote []string
		for i, p := range s.Pairs {
			if !scope.IsAll() && scope.Pair != i {
				continue
			}
			if s.Attached(i) {
				remote = append(remote, p.Name)
			} else {
				local = append(local, p)
			}
		}
		var aliases []string
		if scope.Alias != "" {
			aliases = []string{scope.Alias}
		}
		var results, remoteResults []*engine.PairResult
		var wg sync.WaitGroup
		if len(remote) > 0 {
			wg.Go(func() { remoteResults = s.remoteSync(ctx, remote, aliases) })
		}
		switch {
		case len(local) == 0:
		case aliases != nil:
			results = []*engine.PairResult{s.Engine.SyncPairOnly(ctx, local[0], aliases)}
		case len(local) == 1:
			results = []*engine.PairResult{s.Engine.SyncPair(ctx, local[0])}
		default:
			results = s.Engine.Sync(ctx, local)
		}
		wg.Wait()
		// Through the bus, so that it arrives after every event of the run.
		s.Bus.Push(SyncDone{Scope: scope, Results: append(results, remoteResults...), Cancelled: ctx.Err() != nil})
		return nil
	}
}

// Wait waits (at most d) for the syncs and resolutions still running to return, so
// that the writes in flight are recorded before the process exits.
func (s *Service) Wait(d time.Duration) bool {
	done := make(chan struct{})
	go func() { s.writers.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(d):
		return false
	}
}

// Refetch reads both current versions of a conflict.
func (s *Service) Refetch(c engine.Conflict, id int) tea.Cmd {
	return func() tea.Msg {
		v, err := s.engine().Refetch(s.ctx, c)
		return ConflictLoadedMsg{ID: id, Versions: v, Err: err}
	}
}

// Keep resolves a conflict with one side's version (engine.KeepSide): the versions are
// read again first, and if either changed since shown nothing is written (Changed). The
// upload is conditional on the etags just read, so a concurrent edit is never
// overwritten, and once started it finishes even if the TUI quits.
func (s *Service) Keep(c engine.Conflict, shown *engine.Versions, side engine.Side, id int) tea.Cmd {
	return s.resolve(c, "keep "+side.String(), engine.KeepSide{Side: side, Shown: shown}, id)
}

// KeepProperty settles a property conflict with one side's value
// (engine.ResolveProperty): both values are read again first, and if either changed
// since it was planned nothing is written (Changed).
func (s *Service) KeepProperty(c engine.PropConflict, side engine.Side, id int) tea.Cmd {
	return func() tea.Msg {
		s.writers.Add(1)
		defer s.writers.Done()
		var err error
		if s.attachedPair(c.Pair.Name()) {
			err = s.remoteKeepProperty(c, side)
		} else {
			err = s.engine().ResolveProperty(s.ctx, c, side)
		}
		msg := ConflictResultMsg{ID: id, Action: "keep " + side.String()}
		switch {
		case errors.Is(err, engine.ErrConflictChanged):
			msg.Changed = true
		case err != nil:
			msg.Err = err
		default:
			msg.Sides = []engine.Side{side.Other()}
		}
		return msg
	}
}

// Merge runs the configured merge tool on a conflict, with the protocol of
// `resolve-conflicts` (engine.MergeTool): the tool gets the terminal through
// tea.ExecProcess while the TUI is suspended.
func (s *Service) Merge(c engine.Conflict, argv []string, id int) tea.Cmd {
	tool := engine.MergeTool{Argv: argv, Run: func(cmd *exec.Cmd) error {
		done := make(chan error, 1)
		s.Bus.Push(ExecRequest{Cmd: cmd, Done: done})
		select {
		case err := <-done:
			return err
		case <-s.ctx.Done():
			return s.ctx.Err()
		}
	}}
	return s.resolve(c, "merge tool", tool, id)
}

// Compose resolves a conflict with a person's choice per property (engine.Compose):
// the versions are read again, and if either changed since shown nothing is written
// (Changed); otherwise the composition of both is uploaded to the sides that differ.
func (s *Service) Compose(c engine.Conflict, shown *engine.Versions, choices merge.Choices, id int) tea.Cmd {
	return s.resolve(c, "choice per property", engine.Compose{Choices: choices, Shown: shown}, id)
}

// KeepBoth keeps both versions (engine.KeepBoth): b's as a new item marked "(conflict
// copy)", a's under the item's UID on both sides. A version changed since shown is not
// overwritten (Changed).
func (s *Service) KeepBoth(c engine.Conflict, shown *engine.Versions, id int) tea.Cmd {
	return func() tea.Msg {
		s.writers.Add(1)
		defer s.writers.Done()
		pair := c.Pair.Pair.Name
		before := s.runs(pair)
		var v *engine.Versions
		var sides []engine.Side
		var err error
		if s.attachedPair(c.Pair.Name()) {
			v, sides, err = s.remoteKeepBoth(c, shown)
		} else {
			v, sides, err = s.engine().KeepBoth(s.ctx, c, shown)
		}
		msg := ConflictResultMsg{ID: id, Action: "keep both", Versions: v, Sides: sides, Err: err, Runs: s.newRuns(pair, before)}
		switch {
		case errors.Is(err, engine.ErrConflictChanged):
			msg.Changed, msg.Err = true, nil
		case err == nil && v != nil:
			msg.Versions = after(v, *v.A.Item, sides)
		}
		return msg
	}
}

// Undo reverts the trash runs of a choice just made (ConflictResultMsg.Runs) with
// engine.Undo, newest first, as long as each is the pair's last run with writes: a
// run written since by anything else (a sync, another process) stops it, with an
// error naming `pimsync trash`. Each revert is conditional on the item still holding
// what the choice wrote; what it cannot revert is reported in Undo.Refused.
func (s *Service) Undo(pair int, runs []string, id int) tea.Cmd {
	p := s.Pairs[pair]
	return func() tea.Msg {
		s.writers.Add(1)
		defer s.writers.Done()
		msg := ConflictResultMsg{ID: id, Action: "undo", Undo: &engine.UndoResult{}}
		left := map[string]bool{}
		for _, r := range runs {
			left[r] = true
		}
		for len(left) > 0 {
			last, err := lastRun(s.engine().StatusDir, p.Name)
			if err != nil {
				msg.Err = err
				break
			}
			if last == nil || !left[last.ID] {
				msg.Err = fmt.Errorf("pair %s has written since that choice, so it is not undone here; `pimsync trash list %s` shows what was kept and `pimsync trash restore` puts it back", p.Name, p.Name)
				break
			}
			res, err := s.engine().Undo(s.ctx, p)
			if res != nil {
				msg.Undo.Run = res.Run
				msg.Undo.Reverted = append(msg.Undo.Reverted, res.Reverted...)
				msg.Undo.Refused = append(msg.Undo.Refused, res.Refused...)
			}
			if err != nil {
				msg.Err = err
				break
			}
			delete(left, last.ID)
		}
		return msg
	}
}

// lastRun is the run engine.Undo would revert: the pair's newest run with writes that
// was not undone.
func lastRun(statusDir, pair string) (*trash.Record, error) {
	recs, err := trash.Runs(statusDir, pair)
	if err != nil {
		return nil, err
	}
	for i := len(recs) - 1; i >= 0; i-- {
		if !recs[i].Undone && len(recs[i].Entries) > 0 {
			return recs[i], nil
		}
	}
	return nil, nil
}

// runs lists the ids of a pair's trash runs.
func (s *Service) runs(pair string) map[string]bool {
	recs, _ := trash.Runs(s.engine().StatusDir, pair)
	out := map[string]bool{}
	for _, r := range recs {
		out[r.ID] = true
	}
	return out
}

// newRuns returns the runs with writes that are not in before, oldest first.
func (s *Service) newRuns(pair string, before map[string]bool) []string {
	recs, _ := trash.Runs(s.engine().StatusDir, pair)
	var out []string
	for _, r := range recs {
		if !before[r.ID] && !r.Undone && len(r.Entries) > 0 {
			out = append(out, r.ID)
		}
	}
	return out
}

// resolve runs engine.Resolve and reports the outcome with the versions as they are
// afterwards, and the trash runs it wrote.
func (s *Service) resolve(c engine.Conflict, action string, r engine.Resolver, id int) tea.Cmd {
	return func() tea.Msg {
		s.writers.Add(1)
		defer s.writers.Done()
		var resolved storage.Item
		// Engine.Resolve names the resolvers it knows in the trash journal ("keep a",
		// "choice per property"), so those are passed as they are; their result is a
		// pure function of the versions and is computed again below. The merge tool's
		// result is captured as it is made.
		res := r
		_, pure := r.(engine.KeepSide)
		if _, ok := r.(engine.Compose); ok {
			pure = true
		}
		capture := engine.ResolverFunc(func(ctx context.Context, v *engine.Versions) (storage.Item, error) {
			item, err := r.Resolve(ctx, v)
			resolved = item
			return item, err
		})
		if !pure {
			res = capture
		}
		pair := c.Pair.Pair.Name
		before := s.runs(pair)
		var v *engine.Versions
		var sides []engine.Side
		var err error
		if s.attachedPair(c.Pair.Name()) {
			// The daemon writes (one writer per pair); it keeps the trash.
			v, sides, err = s.remoteResolve(c, r, capture)
		} else {
			v, sides, err = s.engine().Resolve(s.ctx, c, res)
		}
		if pure && v != nil && v.A != nil && v.B != nil && len(sides) > 0 {
			resolved, _ = r.Resolve(s.ctx, v)
		}
		if errors.Is(err, engine.ErrConflictChanged) {
			return ConflictResultMsg{ID: id, Action: action, Changed: true, Versions: v}
		}
		if err != nil && len(sides) == 0 {
			return ConflictResultMsg{ID: id, Action: action, Versions: v, Err: err}
		}
		return ConflictResultMsg{ID: id, Action: action, Versions: after(v, resolved, sides), Sides: sides, Err: err,
			Runs: s.newRuns(pair, before)}
	}
}

// after returns the versions as they are after item was uploaded to sides.
func after(v *engine.Versions, item storage.Item, sides []engine.Side) *engine.Versions {
	out := *v
	for _, s := range sides {
		st := &engine.ItemState{Ident: item.Ident(), Hash: item.Hash(), Item: &item}
		if s == engine.A {
			st.Href = v.A.Href
			out.A = st
		} else {
			st.Href = v.B.Href
			out.B = st
		}
	}
	return &out
}

// reporter turns engine events into messages. It runs on the engine's goroutines, at
// the moment of the event, so it copies what the UI needs instead of handing over
// structures the engine may still change.
type reporter struct {
	bus   *Bus
	index map[string]int
}

func (r *reporter) pair(name string) int {
	if i, ok := r.index[name]; ok {
		return i
	}
	return -1
}

func (r *reporter) Event(ev engine.Event) {
	switch e := ev.(type) {
	case engine.PairStarted:
		r.bus.Push(SyncPairStarted{Pair: r.pair(e.Pair)})
	case engine.Waiting:
		r.bus.Push(SyncPairWaiting{Pair: r.pair(e.Pair)})
	case engine.Planned:
		msg := SyncPairPlanned{Pair: r.pair(e.Plan.Name()), Err: e.Plan.Err}
		if e.Plan.Err == nil {
			for _, m := range e.Plan.Mappings {
				sm := SyncMapping{Alias: m.Alias, Label: present.CollectionLabel(m), IsError: m.ReasonIsError}
				for _, a := range m.Items {
					switch {
					case a.Verb == engine.VerbConflict:
						sm.Conflicts++
					case a.Skip != "":
						sm.Skipped++
					default:
						sm.Total++
					}
				}
				sm.Total += m.NewItemsTo(engine.A) + m.NewItemsTo(engine.B) // counted, not materialised
				msg.Mappings = append(msg.Mappings, sm)
			}
		}
		r.bus.Push(msg)
	case engine.ActionStarted:
		r.bus.Push(SyncItemStarted{Pair: r.pair(e.Pair), Mapping: e.Mapping, What: Describe(e.Action)})
	case engine.ActionFinished:
		r.bus.Push(SyncItemFinished{Pair: r.pair(e.Pair), Mapping: e.Mapping, Verb: e.Action.Verb,
			Target: e.Action.Target, Err: e.Err, Done: e.Done, Total: e.Total})
	case engine.MappingFinished:
		r.bus.Push(SyncMappingFinished{Pair: r.pair(e.Pair), Result: e.Result})
	case engine.PairFinished:
		r.bus.Push(SyncPairFinished{Pair: r.pair(e.Result.Pair), Result: e.Result})
	}
}

// Describe renders an item action as `create on b dentist-1 "Dentist"`.
func Describe(a *engine.ItemAction) string { return present.Describe(a) }
