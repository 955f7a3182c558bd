package control

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	"github.com/pimsync-go/pimsync/engine"
	"github.com/pimsync-go/pimsync/engine/present"
	"github.com/pimsync-go/pimsync/storage"
)

// subscriberBuffer is how many events a subscriber may lag behind before it is
// disconnected (the engine is never slowed down by a client).
const subscriberBuffer = 4096

// maxRequest bounds a request line (a resolved item travels in it).
const maxRequest = 64 << 20

// Server answers on a daemon's control socket. Set it as the Reporter of the daemon's
// engine and as its Daemon's OnState, and hand it the daemon's log lines (LogLine), so
// that subscribers see everything.
type Server struct {
	Daemon *engine.Daemon
	Hello  Hello
	// Log receives a line for every request that writes (info) and every refused
	// connection (warn).
	Log *slog.Logger

	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

type subscriber struct {
	ch   chan Event
	gone chan struct{}
	once sync.Once
}

func (s *subscriber) drop() { s.once.Do(func() { close(s.gone) }) }

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// broadcast hands an event to every subscriber without ever blocking.
func (s *Server) broadcast(ev Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for sub := range s.subs {
		select {
		case sub.ch <- ev:
		default:
			sub.drop() // too far behind: it reconnects and reads the status again
			delete(s.subs, sub)
		}
	}
}

// Event implements engine.Reporter.
func (s *Server) Event(ev engine.Event) {
	switch e := ev.(type) {
	case engine.PairStarted:
		s.broadcast(Event{Kind: KindPairStarted, Pair: e.Pair})
	case engine.Waiting:
		s.broadcast(Event{Kind: KindWaiting, Pair: e.Pair})
	case engine.Planned:
		out := Event{Kind: KindPlanned, Pair: e.Plan.Name(), Err: errText(e.Plan.Err)}
		if e.Plan.Err == nil {
			for _, m := range e.Plan.Mappings {
				ms := MappingSummary{Alias: m.Alias, Label: present.CollectionLabel(m), IsError: m.ReasonIsError}
				for _, a := range m.Items {
					switch {
					case a.Verb == engine.VerbConflict:
						ms.Conflicts++
					case a.Skip != "":
						ms.Skipped++
					default:
						ms.Total++
					}
				}
				ms.Total += m.NewItemsTo(engine.A) + m.NewItemsTo(engine.B) // counted, not materialised
				out.Mappings = append(out.Mappings, ms)
			}
		}
		s.broadcast(out)
	case engine.ActionStarted:
		s.broadcast(Event{Kind: KindActionStarted, Pair: e.Pair, Mapping: e.Mapping, What: present.Describe(e.Action)})
	case engine.ActionFinished:
		s.broadcast(Event{Kind: KindActionFinished, Pair: e.Pair, Mapping: e.Mapping, Verb: e.Action.Verb.String(),
			Target: e.Action.Target.String(), Err: errText(e.Err), Done: e.Done, Total: e.Total})
	case engine.MappingFinished:
		r := FromMappingResult(e.Result)
		s.broadcast(Event{Kind: KindMappingFinished, Pair: e.Pair, Mapping: e.Result.Alias, Result: &r})
	case engine.PairFinished:
		r := FromPairResult(e.Result)
		s.broadcast(Event{Kind: KindPairFinished, Pair: e.Result.Pair, PairResult: &r})
	}
}

// State reports a pair's new state (the Daemon's OnState).
func (s *Server) State(st engine.PairStatus) {
	w := FromStatus(st)
	s.broadcast(Event{Kind: KindState, Pair: st.Pair, State: &w})
}

// LogLine passes one of the daemon's log lines to the subscribers.
func (s *Server) LogLine(level slog.Level, text string) {
	s.broadcast(Event{Kind: KindLog, Level: present.LevelName(level), Text: text})
}

// Serve answers connections until ctx ends; then it closes ln and returns.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			return err
		}
		wg.Go(func() { s.serveConn(ctx, conn) })
	}
}

func (s *Server) serveConn(ctx context.Context, conn net.Conn) {
	defer conn.Close()
	uid, pid, ok := peer(conn)
	if ok && uid != os.Getuid() {
		s.log().Warn(fmt.Sprintf("control socket: refused a connection of user %d (pid %d)", uid, pid))
		return
	}
	r := bufio.NewReaderSize(conn, 64<<10)
	line, err := readLine(r, maxRequest)
	if err != nil {
		return
	}
	var req Request
	if err := json.Unmarshal(line, &req); err != nil {
		writeAnswer(conn, Answer{Error: "the request is not valid JSON: " + err.Error()})
		return
	}
	// The connection's context ends with the daemon, or when the client hangs up
	// (nothing more is ever read from a connection after its request).
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		var b [1]byte
		conn.Read(b[:])
		cancel()
	}()
	who := fmt.Sprintf("a client (pid %d)", pid)
	if !ok {
		who = "a client"
	}
	switch req.Op {
	case "hello":
		h := s.Hello
		h.Protocol = Protocol
		writeAnswer(conn, Answer{OK: true, Hello: &h})
	case "status":
		writeAnswer(conn, Answer{OK: true, Status: s.status()})
	case "subscribe":
		s.subscribe(cctx, conn)
	case "sync":
		s.sync(cctx, conn, req, who)
	case "resolve":
		if req.Resolve == nil {
			writeAnswer(conn, Answer{Error: "resolve needs a resolve object"})
			return
		}
		a := s.resolve(cctx, *req.Resolve, who)
		writeAnswer(conn, Answer{OK: true, Resolved: a})
	case "resolve-property":
		if req.Property == nil {
			writeAnswer(conn, Answer{Error: "resolve-property needs a property object"})
			return
		}
		a := s.resolveProperty(cctx, *req.Property, who)
		writeAnswer(conn, Answer{OK: true, Resolved: a})
	default:
		writeAnswer(conn, Answer{Error: fmt.Sprintf("unknown request %q", req.Op)})
	}
}

func readLine(r *bufio.Reader, limit int) ([]byte, error) {
	var out []byte
	for {
		chunk, err := r.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > limit {
			return nil, errors.New("request too long")
		}
		if err == nil {
			return out, nil
		}
		if !errors.Is(err, bufio.ErrBufferFull) {
			return nil, err
		}
	}
}

func writeAnswer(conn net.Conn, a Answer) error {
	b, err := json.Marshal(a)
	if err != nil {
		b, _ = json.Marshal(Answer{Error: err.Error()})
	}
	_, err = conn.Write(append(b, '\n'))
	return err
}

func (s *Server) status() []PairStatus {
	out := []PairStatus{}
	for _, st := range s.Daemon.Status() {
		out = append(out, FromStatus(st))
	}
	return out
}

func (s *Server) subscribe(ctx context.Context, conn net.Conn) {
	sub := &subscriber{ch: make(chan Event, subscriberBuffer), gone: make(chan struct{})}
	// Registered before the status is read, so that no change falls between the two.
	s.mu.Lock()
	if s.subs == nil {
		s.subs = map[*subscriber]struct{}{}
	}
	s.subs[sub] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.subs, sub)
		s.mu.Unlock()
	}()
	if writeAnswer(conn, Answer{OK: true, Status: s.status()}) != nil {
		return
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-sub.gone:
			return
		case ev := <-sub.ch:
			if writeAnswer(conn, Answer{OK: true, Event: &ev}) != nil {
				return
			}
		}
	}
}

// pair returns the daemon's pair of that name.
func (s *Server) pair(name string) (*engine.Pair, error) {
	for _, p := range s.Daemon.Pairs {
		if p.Name == name {
			return p, nil
		}
	}
	return nil, fmt.Errorf("pair %s: %w", name, engine.ErrUnknownPair)
}

func (s *Server) sync(ctx context.Context, conn net.Conn, req Request, who string) {
	names := req.Pairs
	if len(names) == 0 {
		for _, p := range s.Daemon.Pairs {
			names = append(names, p.Name)
		}
	}
	for _, n := range names {
		if _, err := s.pair(n); err != nil {
			writeAnswer(conn, Answer{Error: err.Error()})
			return
		}
	}
	s.log().Info(fmt.Sprintf("%s asked for a sync of %s", who, strings.Join(names, ", ")))
	results := make([]PairResult, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() {
			res, err := s.Daemon.SyncNow(ctx, n, req.Collections)
			if err != nil {
				errs[i] = err
				return
			}
			results[i] = FromPairResult(res)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		writeAnswer(conn, Answer{Error: err.Error()})
		return
	}
	writeAnswer(conn, Answer{OK: true, Results: results})
}

// resolve settles an item conflict in the pair's task.
func (s *Server) resolve(ctx context.Context, r ResolveRequest, who string) *ResolveAnswer {
	p, err := s.pair(r.Pair)
	if err != nil {
		return &ResolveAnswer{Err: err.Error()}
	}
	c := engine.Conflict{
		Pair:    &engine.PairPlan{Pair: p},
		Mapping: &engine.MappingPlan{Alias: r.Alias, HrefA: r.CollA, HrefB: r.CollB},
		Action: &engine.ItemAction{Verb: engine.VerbConflict, Ident: r.Ident,
			A: &engine.ItemState{Href: r.HrefA}, B: &engine.ItemState{Href: r.HrefB}},
	}
	shown := &engine.Versions{A: &engine.ItemState{Hash: r.HashA}, B: &engine.ItemState{Hash: r.HashB}}
	var resolver engine.Resolver
	switch r.Keep {
	case "a", "b":
		side, _ := parseSide(r.Keep)
		resolver = engine.KeepSide{Side: side, Shown: shown}
	case "item":
		item, err := storage.ParseItem([]byte(r.Item), p.A.Kind())
		if err != nil {
			return &ResolveAnswer{Err: "the resolved item is not valid: " + err.Error()}
		}
		resolver = engine.ResolverFunc(func(_ context.Context, v *engine.Versions) (storage.Item, error) {
			if v.A.Hash != r.HashA || v.B.Hash != r.HashB {
				return storage.Item{}, engine.ErrConflictChanged
			}
			return item, nil
		})
	case "both":
	default:
		return &ResolveAnswer{Err: fmt.Sprintf("unknown choice %q (want a, b, both or item)", r.Keep)}
	}
	var sides []engine.Side
	err = s.Daemon.Do(ctx, p.Name, func(ctx context.Context) error {
		var err error
		if r.Keep == "both" {
			_, sides, err = s.Daemon.Engine.KeepBoth(ctx, c, shown)
		} else {
			_, sides, err = s.Daemon.Engine.Resolve(ctx, c, resolver)
		}
		return err
	})
	ans := &ResolveAnswer{Code: codeOf(err), Err: errText(err)}
	var written []string
	for _, sd := range sides {
		ans.Sides = append(ans.Sides, sideName(sd))
		written = append(written, sideName(sd))
	}
	what := fmt.Sprintf("pair %s: %s asked to resolve %s/%s %s (keep %s)", p.Name, who, p.Name, r.Alias, r.Ident, r.Keep)
	switch {
	case err != nil:
		s.log().Info(fmt.Sprintf("%s: %v", what, err))
	default:
		s.log().Info(fmt.Sprintf("%s: written to %s", what, strings.Join(written, " and ")))
	}
	return ans
}

// resolveProperty settles a property conflict in the pair's task: the pair is planned
// again (read-only) to find the conflict as the engine sees it now.
func (s *Server) resolveProperty(ctx context.Context, r PropertyRequest, who string) *ResolveAnswer {
	p, err := s.pair(r.Pair)
	if err != nil {
		return &ResolveAnswer{Err: err.Error()}
	}
	keep, ok := parseSide(r.Keep)
	if !ok {
		return &ResolveAnswer{Err: fmt.Sprintf("unknown side %q (want a or b)", r.Keep)}
	}
	err = s.Daemon.Do(ctx, p.Name, func(ctx context.Context) error {
		plan := s.Daemon.Engine.Plan(ctx, []*engine.Pair{p})[0]
		if plan.Err != nil {
			return plan.Err
		}
		for _, pc := range plan.PropertyConflicts() {
			if pc.Mapping.Alias != r.Alias || pc.Action.Name != r.Name {
				continue
			}
			a := pc.Action
			if a.A != r.A || a.B != r.B || a.HasA != r.HasA || a.HasB != r.HasB {
				return engine.ErrConflictChanged
			}
			return s.Daemon.Engine.ResolveProperty(ctx, pc, keep)
		}
		return engine.ErrConflictSolved
	})
	s.log().Info(fmt.Sprintf("pair %s: %s asked to resolve property %s of %s (keep %s): %s", p.Name, who, r.Name, r.Alias, r.Keep, okOr(err)))
	ans := &ResolveAnswer{Code: codeOf(err), Err: errText(err)}
	if err == nil {
		ans.Sides = []string{sideName(keep.Other())}
	}
	return ans
}

func okOr(err error) string {
	if err == nil {
		return "done"
	}
	return err.Error()
}
