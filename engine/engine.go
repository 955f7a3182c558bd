// Package engine synchronises pairs of storages: it maps collections, plans item,
// property and collection actions from the two sides and the status database (a pure
// decision step, table-tested), and executes the plan with conditional writes,
// updating the status after every action so that a crash at any point converges on the
// next run. Front ends observe it through Reporter events; it never reads a terminal.
package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/pimsync-go/pimsync/config"
	"github.com/pimsync-go/pimsync/engine/trash"
	"github.com/pimsync-go/pimsync/status"
	"github.com/pimsync-go/pimsync/storage"
)

// Pair is one configured pair with its storages ready to use.
type Pair struct {
	Name   string
	Config *config.Pair
	// Storages of side A and B, and their configured names (for messages).
	A, B         storage.Storage
	NameA, NameB string
}

func (p *Pair) storages() [2]storage.Storage { return [2]storage.Storage{p.A, p.B} }
func (p *Pair) names() [2]string             { return [2]string{p.NameA, p.NameB} }

func (p *Pair) policy() policy {
	c := p.Config
	pol := policy{
		oneWay:       c.OneWay,
		onEmptySync:  c.OnEmpty == config.OnEmptySync,
		onDeleteSkip: c.OnDelete == config.OnDeleteSkip,
		readOnly:     [2]bool{storage.IsReadOnly(p.A), storage.IsReadOnly(p.B)},
		props:        storage.HasProperties(p.A) && storage.HasProperties(p.B),
	}
	if !c.OneWay && c.ConflictResolution.Automatic() {
		pol.keep = c.ConflictResolution
	}
	pol.merge = !c.OneWay && c.ConflictResolution == config.ResolveMerge
	return pol
}

// Engine runs plans and syncs. The zero value is not usable: set StatusDir.
type Engine struct {
	// StatusDir holds <pair>.status and <pair>.lock.
	StatusDir string
	// Log receives diagnostics; nil discards them.
	Log *slog.Logger
	// Reporter receives progress events; nil discards them.
	Reporter Reporter
	// LockTimeout bounds the wait for another process syncing the same pair; 0 waits
	// forever (daemon).
	LockTimeout time.Duration
	// Workers is the number of concurrent item writes per collection (default 8, and
	// 32 between two local file systems).
	Workers int
	// MaxPairs is the number of pairs synced at once (default 4).
	MaxPairs int
	// TrashMaxAge and TrashMaxSize bound each pair's trash (trash.DefaultMaxAge and
	// trash.DefaultMaxSize when zero).
	TrashMaxAge  time.Duration
	TrashMaxSize int64
}

func (e *Engine) log() *slog.Logger {
	if e.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return e.Log
}

func (e *Engine) report(ev Event) {
	if e.Reporter != nil {
		e.Reporter.Event(ev)
	}
}

func (e *Engine) statusPath(pair string) string {
	return filepath.Join(e.StatusDir, pair+".status")
}

// Plan builds the plan of each pair without writing anything anywhere (no status file,
// no lock, no storage write): what `sync -n` prints.
func (e *Engine) Plan(ctx context.Context, pairs []*Pair) []*PairPlan {
	out := make([]*PairPlan, len(pairs))
	e.eachPair(ctx, pairs, func(i int, p *Pair) {
		db, err := status.OpenRead(e.statusPath(p.Name))
		if err != nil {
			out[i] = &PairPlan{Pair: p, Err: err}
			return
		}
		defer db.Close()
		out[i] = e.planPair(ctx, p, db)
	})
	return out
}

// Sync plans and executes every pair (at most MaxPairs at once) and returns one result
// per pair, in the order given. Cancelling ctx stops new work; writes in flight finish
// and are recorded in the status.
func (e *Engine) Sync(ctx context.Context, pairs []*Pair) []*PairResult {
	out := make([]*PairResult, len(pairs))
	e.eachPair(ctx, pairs, func(i int, p *Pair) {
		out[i] = e.SyncPair(ctx, p)
	})
	return out
}

func (e *Engine) eachPair(ctx context.Context, pairs []*Pair, fn func(int, *Pair)) {
	n := e.MaxPairs
	if n <= 0 {
		n = 4
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, p := range pairs {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i, p)
		}()
	}
	wg.Wait()
}

// SyncPair plans and executes one pair with the status opened for writing under the
// pair lock.
func (e *Engine) SyncPair(ctx context.Context, p *Pair) *PairResult {
	return e.SyncPairOnly(ctx, p, nil)
}

// SyncPairOnly is SyncPair limited to the mappings with the given aliases (all when
// aliases is empty). A limited run never forgets stale mappings.
func (e *Engine) SyncPairOnly(ctx context.Context, p *Pair, aliases []string) *PairResult {
	res := &PairResult{Pair: p.Name}
	e.report(PairStarted{Pair: p.Name})
	defer func() { e.report(PairFinished{Result: res}) }()
	db, unlock, err := e.openWrite(ctx, p.Name)
	if err != nil {
		res.Err = err
		return res
	}
	defer unlock()
	defer db.Close()
	defer e.saveLastRun(res)
	plan := e.planPair(ctx, p, db)
	if len(aliases) > 0 && plan.Err == nil {
		plan.only(aliases)
	}
	e.report(Planned{Plan: plan})
	if plan.Err != nil {
		res.Err = plan.Err
		return res
	}
	tr := e.beginTrash(p.Name)
	defer tr.Close()
	e.execute(ctx, plan, db, res, tr)
	return res
}

// beginTrash prunes a pair's trash and starts the trash of a new run.
func (e *Engine) beginTrash(pair string) *trash.Run {
	age, size := e.TrashMaxAge, e.TrashMaxSize
	if age == 0 {
		age = trash.DefaultMaxAge
	}
	if size == 0 {
		size = trash.DefaultMaxSize
	}
	if err := trash.Prune(e.StatusDir, pair, age, size, time.Now()); err != nil {
		e.log().Warn(fmt.Sprintf("pruning the trash of pair %s: %v", pair, err))
	}
	return trash.Begin(e.StatusDir, pair)
}

// openWrite creates the status directory, takes the pair lock and opens the status
// database for writing.
func (e *Engine) openWrite(ctx context.Context, pair string) (*status.DB, func(), error) {
	if err := os.MkdirAll(e.StatusDir, 0o700); err != nil {
		return nil, nil, &StatusError{fmt.Errorf("creating status directory: %w", err)}
	}
	lctx := ctx
	if e.LockTimeout > 0 {
		var cancel context.CancelFunc
		lctx, cancel = context.WithTimeout(ctx, e.LockTimeout)
		defer cancel()
	}
	unlock, err := e.lock(lctx, pair)
	if err != nil {
		return nil, nil, err
	}
	db, err := status.OpenWrite(e.statusPath(pair))
	if err != nil {
		unlock()
		return nil, nil, &StatusError{err}
	}
	return db, unlock, nil
}

func (e *Engine) lock(ctx context.Context, pair string) (func(), error) {
	waiting := time.AfterFunc(200*time.Millisecond, func() {
		e.log().Warn("waiting for another pimsync process syncing pair " + pair)
		e.report(Waiting{Pair: pair})
	})
	unlock, err := status.Lock(ctx, e.StatusDir, pair)
	waiting.Stop()
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("another pimsync process is syncing pair %s (lock %s held); gave up after %s",
				pair, filepath.Join(e.StatusDir, pair+".lock"), e.LockTimeout)
		}
		return nil, err
	}
	return unlock, nil
}
