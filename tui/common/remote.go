package common

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/control"
	"github.com/pimsync-go/pimsync/storage"
)

// This file holds what the service does beyond the engine: the attached daemon (its
// events, its syncs and resolutions), watching local storages for changes, partial
// discovery when one side is down, and replacing the engine after the configuration
// was read again.

// Remote is the attached daemon (nil: none).
func (s *Service) Remote() *control.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote
}

// SetRemote attaches to a daemon (nil: detaches).
func (s *Service) SetRemote(c *control.Client) {
	s.mu.Lock()
	s.remote = c
	s.mu.Unlock()
}

// Attached reports whether pair i is synced by the attached daemon.
func (s *Service) Attached(i int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.remote != nil && i >= 0 && i < len(s.Pairs) && s.remote.Runs(s.Pairs[i].Name)
}

func (s *Service) attachedPair(name string) bool {
	r := s.Remote()
	return r != nil && r.Runs(name)
}

// remoteSync has the daemon sync pairs and returns their results.
func (s *Service) remoteSync(ctx context.Context, names, aliases []string) []*engine.PairResult {
	res, err := s.Remote().Sync(ctx, names, aliases)
	var out []*engine.PairResult
	if err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		for _, n := range names {
			out = append(out, &engine.PairResult{Pair: n, Err: err})
		}
		return out
	}
	for _, r := range res {
		out = append(out, r.Engine())
	}
	return out
}

// remoteResolve reads both versions here, lets the resolver decide (a person's choice,
// or the merge tool on this terminal), and has the daemon upload the result,
// conditional on the versions that were decided on.
func (s *Service) remoteResolve(c engine.Conflict, r engine.Resolver, capture engine.Resolver) (*engine.Versions, []engine.Side, error) {
	v, err := s.engine().Refetch(s.ctx, c)
	if err != nil {
		return v, nil, err
	}
	item, err := capture.Resolve(s.ctx, v)
	if err != nil {
		return v, nil, err
	}
	req := control.ResolveRequest{Pair: c.Pair.Name(), Alias: c.Mapping.Alias, CollA: c.Mapping.HrefA, CollB: c.Mapping.HrefB,
		HrefA: v.A.Href, HrefB: v.B.Href, Ident: v.Ident, HashA: v.A.Hash, HashB: v.B.Hash, Keep: "item", Item: item.Text()}
	if k, ok := r.(engine.KeepSide); ok {
		req.Keep, req.Item = k.Side.String(), ""
	}
	return s.sendResolve(c, v, req)
}

// sendResolve has the daemon apply req, decided on v; a conflict that changed since is
// read again to be shown as it is now.
func (s *Service) sendResolve(c engine.Conflict, v *engine.Versions, req control.ResolveRequest) (*engine.Versions, []engine.Side, error) {
	ans, err := s.Remote().Resolve(s.ctx, req)
	if err != nil {
		return v, nil, err
	}
	var sides []engine.Side
	for _, sd := range ans.Sides {
		if sd == "a" {
			sides = append(sides, engine.A)
		} else {
			sides = append(sides, engine.B)
		}
	}
	if err := ans.Error(); err != nil {
		if errors.Is(err, engine.ErrConflictChanged) {
			// Shown as they are now.
			if nv, rerr := s.engine().Refetch(s.ctx, c); rerr == nil {
				v = nv
			}
		}
		return v, sides, err
	}
	return v, sides, nil
}

// remoteKeepBoth has the daemon keep both versions of a conflict, if neither changed
// since shown.
func (s *Service) remoteKeepBoth(c engine.Conflict, shown *engine.Versions) (*engine.Versions, []engine.Side, error) {
	v, err := s.engine().Refetch(s.ctx, c)
	if err != nil {
		return v, nil, err
	}
	if shown != nil && (v.A.Hash != shown.A.Hash || v.B.Hash != shown.B.Hash) {
		return v, nil, engine.ErrConflictChanged
	}
	req := control.ResolveRequest{Pair: c.Pair.Name(), Alias: c.Mapping.Alias, CollA: c.Mapping.HrefA, CollB: c.Mapping.HrefB,
		HrefA: v.A.Href, HrefB: v.B.Href, Ident: v.Ident, HashA: v.A.Hash, HashB: v.B.Hash, Keep: "both"}
	return s.sendResolve(c, v, req)
}

// remoteKeepProperty has the daemon settle a property conflict.
func (s *Service) remoteKeepProperty(c engine.PropConflict, side engine.Side) error {
	a := c.Action
	ans, err := s.Remote().ResolveProperty(s.ctx, control.PropertyRequest{Pair: c.Pair.Name(), Alias: c.Mapping.Alias,
		Name: a.Name, Keep: side.String(), A: a.A, B: a.B, HasA: a.HasA, HasB: a.HasB})
	if err != nil {
		return err
	}
	return ans.Error()
}

// Follow starts following the attached daemon: its state and events arrive on the bus
// as DaemonStateMsg and the Sync* messages, its log lines as LogLine; DaemonGoneMsg
// when it stops. A client the daemon dropped for falling behind reconnects.
func (s *Service) Follow() {
	remote := s.Remote()
	if remote == nil {
		return
	}
	go func() {
		for {
			err := remote.Subscribe(s.ctx, func(st []control.PairStatus) {
				for _, p := range st {
					s.Bus.Push(DaemonStateMsg{Pair: s.index(p.Pair), Status: p})
				}
			}, func(ev control.Event) {
				if msg := s.fromWire(ev); msg != nil {
					s.Bus.Push(msg)
				}
			})
			if s.ctx.Err() != nil {
				return
			}
			// Dropped, or the daemon is gone: is it still there?
			if _, herr := remote.Status(s.ctx); herr != nil {
				s.Bus.Push(DaemonGoneMsg{Err: errors.Join(err, herr)})
				return
			}
		}
	}()
}

func (s *Service) index(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.Pairs {
		if p.Name == name {
			return i
		}
	}
	return -1
}

var verbs = map[string]engine.Verb{}

func init() {
	for _, v := range []engine.Verb{engine.VerbRecord, engine.VerbForget, engine.VerbCreate, engine.VerbUpdate,
		engine.VerbDelete, engine.VerbConflict, engine.VerbMerge} {
		verbs[v.String()] = v
	}
}

var levels = map[string]slog.Level{"trace": slog.LevelDebug - 4, "debug": slog.LevelDebug, "info": slog.LevelInfo,
	"warn": slog.LevelWarn, "error": slog.LevelError}

func errOf(s string) error {
	if s == "" {
		return nil
	}
	return errors.New(s)
}

// fromWire turns a daemon event into the message the same engine event would be.
func (s *Service) fromWire(ev control.Event) any {
	i := s.index(ev.Pair)
	switch ev.Kind {
	case control.KindPairStarted:
		return SyncPairStarted{Pair: i}
	case control.KindWaiting:
		return SyncPairWaiting{Pair: i}
	case control.KindPlanned:
		msg := SyncPairPlanned{Pair: i, Err: errOf(ev.Err)}
		for _, m := range ev.Mappings {
			msg.Mappings = append(msg.Mappings, SyncMapping{Alias: m.Alias, Label: m.Label, Total: m.Total,
				Conflicts: m.Conflicts, Skipped: m.Skipped, IsError: m.IsError})
		}
		return msg
	case control.KindActionStarted:
		return SyncItemStarted{Pair: i, Mapping: ev.Mapping, What: ev.What}
	case control.KindActionFinished:
		target := engine.A
		if ev.Target == "b" {
			target = engine.B
		}
		return SyncItemFinished{Pair: i, Mapping: ev.Mapping, Verb: verbs[ev.Verb], Target: target,
			Err: errOf(ev.Err), Done: ev.Done, Total: ev.Total}
	case control.KindMappingFinished:
		if ev.Result == nil {
			return nil
		}
		return SyncMappingFinished{Pair: i, Result: ev.Result.Engine()}
	case control.KindPairFinished:
		if ev.PairResult == nil {
			return nil
		}
		return SyncPairFinished{Pair: i, Result: ev.PairResult.Engine()}
	case control.KindState:
		if ev.State == nil {
			return nil
		}
		return DaemonStateMsg{Pair: i, Status: *ev.State}
	case control.KindLog:
		if levels[ev.Level] < s.LogLevel {
			return nil
		}
		return LogLine{Level: levels[ev.Level], Text: "daemon: " + ev.Text}
	}
	return nil
}

// partialSide returns the side whose discovery worked when the other's failed, else -1.
func partialSide(d *engine.Discovery) int {
	switch {
	case d.Errs[0] == nil && d.Errs[1] != nil && len(d.Collections[0]) > 0:
		return 0
	case d.Errs[1] == nil && d.Errs[0] != nil && len(d.Collections[1]) > 0:
		return 1
	}
	return -1
}

// listSide lists the collections of one side: their properties and item counts.
func listSide(ctx context.Context, p *engine.Pair, side engine.Side, colls []storage.Collection) []PartialColl {
	st := p.A
	if side == engine.B {
		st = p.B
	}
	var out []PartialColl
	for _, c := range colls {
		pc := PartialColl{Side: side, ID: c.ID, Href: c.Href, Items: -1}
		if props, err := st.Properties(ctx, c.Href); err == nil {
			pc.Name, pc.Color = props[storage.PropDisplayName], props[storage.PropColor]
		}
		if refs, err := st.List(ctx, c.Href); err == nil {
			pc.Items = len(refs)
		}
		out = append(out, pc)
	}
	return out
}

// watchDebounce is the quiet time after a burst of changes (as the daemon's).
const watchDebounce = 500 * time.Millisecond

// Watch follows the storages that can report changes (local directories) of the
// pairs this TUI syncs itself, and pushes StorageChangedMsg for a pair once its
// changes have been quiet for a moment. It stops on Replace or when the TUI ends.
// Pairs of an attached daemon are not watched: the daemon syncs them and reports.
func (s *Service) Watch() {
	s.mu.Lock()
	if s.watching != nil {
		s.watching()
	}
	ctx, cancel := context.WithCancel(s.ctx)
	s.watching = cancel
	pairs, remote, log := s.Pairs, s.remote, s.Engine.Log
	s.mu.Unlock()
	for i, p := range pairs {
		if remote != nil && remote.Runs(p.Name) {
			continue
		}
		changed := make(chan struct{}, 1)
		notify := func() {
			select {
			case changed <- struct{}{}:
			default:
			}
		}
		watched := false
		for side, st := range [2]storage.Storage{p.A, p.B} {
			w, ok := st.(storage.Watcher)
			if !ok {
				continue
			}
			watched = true
			go func() {
				if err := w.Watch(ctx, notify); err != nil && ctx.Err() == nil && !errors.Is(err, storage.ErrUnsupported) && log != nil {
					log.Debug("not watching storage " + [2]string{p.NameA, p.NameB}[side] + " for changes: " + err.Error())
				}
			}()
		}
		if !watched {
			continue
		}
		go func() {
			for {
				select {
				case <-ctx.Done():
					return
				case <-changed:
				}
				t := time.NewTimer(watchDebounce)
			quiet:
				for {
					select {
					case <-ctx.Done():
						t.Stop()
						return
					case <-changed:
						t.Reset(watchDebounce)
					case <-t.C:
						break quiet
					}
				}
				s.Bus.Push(StorageChangedMsg{Pair: i})
			}
		}()
	}
}

// Replace switches to another engine and pairs (the configuration was read again).
// Watchers of the old pairs stop; events of the new engine reach the bus.
func (s *Service) Replace(eng *engine.Engine, pairs []*engine.Pair) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.watching != nil {
		s.watching()
		s.watching = nil
	}
	s.Engine, s.Pairs = eng, pairs
	index := map[string]int{}
	for i, p := range pairs {
		index[p.Name] = i
	}
	eng.Reporter = &reporter{bus: s.Bus, index: index}
}

// Run runs fn with the terminal handed over (the TUI steps aside, as for the merge
// tool): for work that may ask the person something, such as credential commands.
func Run(fn func() error, done func(error) tea.Msg) tea.Cmd {
	return tea.Exec(execFunc(fn), done)
}

type execFunc func() error

func (f execFunc) Run() error        { return f() }
func (execFunc) SetStdin(io.Reader)  {}
func (execFunc) SetStdout(io.Writer) {}
func (execFunc) SetStderr(io.Writer) {}

// engine is the current engine (Replace may change it while a command runs).
func (s *Service) engine() *engine.Engine {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.Engine
}
