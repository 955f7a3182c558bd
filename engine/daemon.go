package engine

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/pimsync-go/pimsync/storage"
)

// Daemon keeps pairs in sync (sync.md §15): one task per pair, each syncing once at
// start and again whenever either storage changes (file-change notifications for
// storages that can watch, a timer of the storage's interval otherwise and as a safety
// net). Failures are retried with backoff; status failures stop that pair's task only.
type Daemon struct {
	Engine *Engine
	Pairs  []*Pair
	// Interval returns the polling interval of a pair's storage (side A or B).
	Interval func(p *Pair, s Side) time.Duration
	// Debounce is the quiet time after a burst of change notifications (default
	// 500 ms).
	Debounce time.Duration
	// MinBackoff is the first retry delay after a failed sync (default 30 s); it
	// doubles up to the shortest interval of the pair.
	MinBackoff time.Duration
}

// ErrAllStopped is returned by Run when every pair task has stopped.
var ErrAllStopped = errors.New("all sync tasks have stopped")

// Run runs until ctx is cancelled (then it returns nil after writes in flight have
// finished) or until every pair task has stopped on a fatal error.
func (d *Daemon) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	stopped := make(chan struct{}, len(d.Pairs))
	for _, p := range d.Pairs {
		wg.Go(func() {
			d.runPair(ctx, p)
			stopped <- struct{}{}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		if ctx.Err() != nil {
			return nil
		}
		return ErrAllStopped
	case <-ctx.Done():
		<-done
		return nil
	}
}

func (d *Daemon) debounce() time.Duration {
	if d.Debounce > 0 {
		return d.Debounce
	}
	return 500 * time.Millisecond
}

// runPair is one pair's task.
func (d *Daemon) runPair(ctx context.Context, p *Pair) {
	log := d.Engine.log().With("pair", p.Name)
	interval := [2]time.Duration{d.Interval(p, A), d.Interval(p, B)}
	shortest := min(interval[A], interval[B])
	// Change notifications: monitors start before the first sync so that nothing is
	// missed between the two (sync.md §15.2).
	changed := make(chan struct{}, 1)
	notify := func() {
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	for s, st := range p.storages() {
		w, ok := st.(storage.Watcher)
		if !ok {
			continue
		}
		go func() {
			if err := w.Watch(ctx, notify); err != nil && ctx.Err() == nil && !errors.Is(err, storage.ErrUnsupported) {
				log.Warn(fmt.Sprintf("cannot watch storage %s for changes; polling every %s instead: %v",
					p.names()[s], interval[s], err))
			}
		}()
	}
	timers := [2]*time.Timer{time.NewTimer(interval[A]), time.NewTimer(interval[B])}
	defer timers[A].Stop()
	defer timers[B].Stop()
	th := &throttle{seen: map[string]time.Time{}}
	backoff := time.Duration(0)
	var retry <-chan time.Time
	for {
		res := d.Engine.SyncPair(ctx, p)
		if ctx.Err() != nil {
			return
		}
		th.logResult(log, res)
		var se *StatusError
		if errors.As(res.Err, &se) {
			log.Error(fmt.Sprintf("pair %s stopped: %v", p.Name, res.Err))
			return
		}
		retry = nil
		if res.Err != nil {
			backoff = d.nextBackoff(backoff, shortest)
			log.Info(fmt.Sprintf("retrying pair %s in %s", p.Name, backoff))
			retry = time.After(backoff)
		} else {
			backoff = 0
		}
		// Wait for the next trigger. Triggers that arrive while a sync runs are kept in
		// the buffered channel, so they cause exactly one follow-up sync.
		select {
		case <-ctx.Done():
			return
		case <-retry:
		case <-timers[A].C:
			timers[A].Reset(interval[A])
		case <-timers[B].C:
			timers[B].Reset(interval[B])
		case <-changed:
			if !d.quiet(ctx, changed) {
				return
			}
		}
	}
}

// quiet waits until no change notification has arrived for the debounce time.
func (d *Daemon) quiet(ctx context.Context, changed <-chan struct{}) bool {
	t := time.NewTimer(d.debounce())
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-changed:
			t.Reset(d.debounce())
		case <-t.C:
			return true
		}
	}
}

func (d *Daemon) nextBackoff(prev, limit time.Duration) time.Duration {
	first := d.MinBackoff
	if first <= 0 {
		first = 30 * time.Second
	}
	next := first
	if prev > 0 {
		next = prev * 2
	}
	if limit > 0 && next > limit {
		next = limit
	}
	return next
}

// throttle keeps the daemon's log readable: a repeated error is logged once an hour,
// a conflict once until one of its versions changes (sync.md §15.3, §15.4).
type throttle struct {
	seen map[string]time.Time
}

func (t *throttle) first(key string, every time.Duration) bool {
	now := time.Now()
	if last, ok := t.seen[key]; ok && (every == 0 || now.Sub(last) < every) {
		return false
	}
	t.seen[key] = now
	return true
}

// logResult writes one concise line per sync at info level, plus errors and conflicts.
func (t *throttle) logResult(log *slog.Logger, res *PairResult) {
	var a, b Counts
	for _, m := range res.Mappings {
		a = a.add(m.Counts[A])
		b = b.add(m.Counts[B])
		for _, c := range m.ConflictItems {
			key := fmt.Sprintf("conflict %s/%s %s %s %s", res.Pair, m.Alias, c.Ident, hashOf(c.A), hashOf(c.B))
			if t.first(key, 0) {
				log.Warn(fmt.Sprintf("%s/%s: conflict on %s; resolve it with: pimsync resolve-conflicts %s", res.Pair, m.Alias, c.Ident, res.Pair))
			}
		}
	}
	errs := res.Errors()
	for _, err := range errs {
		if t.first("error "+err.Error(), time.Hour) {
			log.Error(err.Error())
		} else {
			log.Debug(err.Error())
		}
	}
	log.Info(fmt.Sprintf("synced pair %s: a +%d ~%d -%d, b +%d ~%d -%d, %d conflicts, %d errors",
		res.Pair, a.Created, a.Updated, a.Deleted, b.Created, b.Updated, b.Deleted, res.Conflicts(), len(errs)))
}

func hashOf(s *ItemState) string {
	if s == nil {
		return "-"
	}
	return s.Hash
}
