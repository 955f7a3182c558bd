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
//
// A pair's task is the only writer of that pair in the process: syncs asked for from
// outside (SyncNow) and other writes (Do: conflict resolutions of an attached TUI) run
// in it, between two syncs. Status reports what each task is doing.
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
	// OnState, when set, is called (on the pair's task) whenever a pair's state
	// changes.
	OnState func(PairStatus)

	once  sync.Once
	mu    sync.Mutex
	tasks map[string]*pairTask
}

// PairState is what a pair's task is doing.
type PairState int

const (
	StateStarting PairState = iota // before its first sync
	StateSyncing                   // a sync runs
	StateIdle                      // waiting for a change or the interval
	StateRetrying                  // the last sync failed; NextRetry says when it runs again
	StateBusy                      // a write asked for from outside (Do) runs
	StateStopped                   // stopped for good (a status failure) or the daemon ended
)

func (s PairState) String() string {
	return [...]string{"starting", "syncing", "idle", "retrying", "busy", "stopped"}[s]
}

// PairStatus is the state of one pair's task.
type PairStatus struct {
	Pair  string
	State PairState
	// Since is when the state began.
	Since time.Time
	// LastSync is when the last sync ended (zero before the first), LastResult its
	// result.
	LastSync   time.Time
	LastResult *PairResult
	// NextRetry is when a failed sync is tried again (StateRetrying).
	NextRetry time.Time
	// Err is why the task stopped or the last sync failed as a whole.
	Err string
}

// pairTask is one pair's task as seen from outside.
type pairTask struct {
	stop   chan struct{} // closed when the task has ended
	syncs  chan *syncRequest
	jobs   chan *job
	mu     sync.Mutex
	status PairStatus
}

// syncRequest asks a pair's task for a sync now.
type syncRequest struct {
	ctx     context.Context
	aliases []string
	done    chan *PairResult
}

// job is a write to run in a pair's task.
type job struct {
	ctx  context.Context
	fn   func(ctx context.Context) error
	done chan error
}

// ErrUnknownPair: the daemon does not run that pair.
var ErrUnknownPair = errors.New("the daemon does not sync this pair")

// ErrPairStopped: the pair's task has stopped.
var ErrPairStopped = errors.New("the daemon stopped syncing this pair")

func (d *Daemon) init() {
	d.once.Do(func() {
		d.tasks = map[string]*pairTask{}
		now := time.Now()
		for _, p := range d.Pairs {
			d.tasks[p.Name] = &pairTask{stop: make(chan struct{}), syncs: make(chan *syncRequest), jobs: make(chan *job),
				status: PairStatus{Pair: p.Name, State: StateStarting, Since: now}}
		}
	})
}

func (d *Daemon) task(pair string) (*pairTask, error) {
	d.init()
	t, ok := d.tasks[pair]
	if !ok {
		return nil, fmt.Errorf("pair %s: %w", pair, ErrUnknownPair)
	}
	return t, nil
}

// Status returns the state of every pair's task, in the order of Pairs.
func (d *Daemon) Status() []PairStatus {
	d.init()
	out := make([]PairStatus, 0, len(d.Pairs))
	for _, p := range d.Pairs {
		t := d.tasks[p.Name]
		t.mu.Lock()
		out = append(out, t.status)
		t.mu.Unlock()
	}
	return out
}

// setState changes a task's state and reports it.
func (d *Daemon) setState(t *pairTask, change func(*PairStatus)) {
	t.mu.Lock()
	prev := t.status.State
	change(&t.status)
	if t.status.State != prev {
		t.status.Since = time.Now()
	}
	st := t.status
	t.mu.Unlock()
	if d.OnState != nil {
		d.OnState(st)
	}
}

// SyncNow asks a pair's task for a sync now (only of the collections with these
// aliases, when given) and waits for its result. A sync already running is finished
// first, and another one then runs, so that everything changed before the call is
// synced. Cancelling ctx cancels the sync it asked for (the writes in flight finish
// and are recorded) unless another caller waits for the same sync.
func (d *Daemon) SyncNow(ctx context.Context, pair string, aliases []string) (*PairResult, error) {
	t, err := d.task(pair)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	r := &syncRequest{ctx: ctx, aliases: aliases, done: make(chan *PairResult, 1)}
	select {
	case t.syncs <- r:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-t.stop:
		return nil, fmt.Errorf("pair %s: %w", pair, ErrPairStopped)
	}
	return <-r.done, nil
}

// Do runs fn in a pair's task, between two syncs, so that the daemon stays the only
// writer of the pair, and returns its error. fn gets a context that ends with ctx or
// the daemon.
func (d *Daemon) Do(ctx context.Context, pair string, fn func(ctx context.Context) error) error {
	t, err := d.task(pair)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	j := &job{ctx: ctx, fn: fn, done: make(chan error, 1)}
	select {
	case t.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-t.stop:
		return fmt.Errorf("pair %s: %w", pair, ErrPairStopped)
	}
	return <-j.done
}

// ErrAllStopped is returned by Run when every pair task has stopped.
var ErrAllStopped = errors.New("all sync tasks have stopped")

// Run runs until ctx is cancelled (then it returns nil after writes in flight have
// finished) or until every pair task has stopped on a fatal error.
func (d *Daemon) Run(ctx context.Context) error {
	d.init()
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
	t := d.tasks[p.Name]
	defer close(t.stop)
	defer d.setState(t, func(st *PairStatus) { st.State = StateStopped })
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
	var waiting []*syncRequest // requests the next sync answers
	for {
		// Every request handed over by now is answered by this sync.
	collect:
		for {
			select {
			case r := <-t.syncs:
				waiting = append(waiting, r)
			default:
				break collect
			}
		}
		runCtx, cancelRun := ctx, context.CancelFunc(func() {})
		var aliases []string
		if len(waiting) > 0 {
			runCtx, cancelRun = untilAllDone(ctx, waiting)
			aliases = requestedAliases(waiting)
		}
		d.setState(t, func(st *PairStatus) { st.State = StateSyncing })
		var res *PairResult
		if aliases != nil {
			res = d.Engine.SyncPairOnly(runCtx, p, aliases)
		} else {
			res = d.Engine.SyncPair(runCtx, p)
		}
		cancelled := ctx.Err() == nil && (runCtx.Err() != nil || nobodyWaits(waiting))
		cancelRun()
		// The requests are answered once the state says what the sync did, so that a
		// caller who asks for the status next sees this sync's result.
		answer := func() {
			for _, r := range waiting {
				r.done <- res
			}
			waiting = nil
		}
		if ctx.Err() != nil {
			answer()
			return
		}
		th.logResult(log, res)
		var se *StatusError
		if errors.As(res.Err, &se) {
			log.Error(fmt.Sprintf("pair %s stopped: %v", p.Name, res.Err))
			d.setState(t, func(st *PairStatus) { st.LastSync, st.LastResult, st.Err = time.Now(), res, res.Err.Error() })
			answer()
			return
		}
		retry = nil
		var next time.Time
		switch {
		case cancelled:
			log.Info(fmt.Sprintf("the sync of pair %s was cancelled by the client that asked for it", p.Name))
		case res.Err != nil:
			backoff = d.nextBackoff(backoff, shortest)
			log.Info(fmt.Sprintf("retrying pair %s in %s", p.Name, backoff))
			retry = time.After(backoff)
			next = time.Now().Add(backoff)
		default:
			backoff = 0
		}
		d.setState(t, func(st *PairStatus) {
			st.LastSync, st.LastResult, st.NextRetry, st.Err = time.Now(), res, next, ""
			st.State = StateIdle
			if retry != nil {
				st.State, st.Err = StateRetrying, res.Err.Error()
			}
		})
		answer()
		// Wait for the next trigger. Triggers that arrive while a sync runs are kept in
		// the buffered channel, so they cause exactly one follow-up sync.
	wait:
		for {
			select {
			case <-ctx.Done():
				return
			case <-retry:
				break wait
			case <-timers[A].C:
				timers[A].Reset(interval[A])
				break wait
			case <-timers[B].C:
				timers[B].Reset(interval[B])
				break wait
			case <-changed:
				if !d.quiet(ctx, changed) {
					return
				}
				break wait
			case r := <-t.syncs:
				waiting = append(waiting, r)
				break wait
			case j := <-t.jobs:
				prev := d.runJob(ctx, t, j)
				d.setState(t, func(st *PairStatus) { st.State = prev })
			}
		}
	}
}

// runJob runs a write asked for from outside and returns the state to go back to.
func (d *Daemon) runJob(ctx context.Context, t *pairTask, j *job) PairState {
	t.mu.Lock()
	prev := t.status.State
	t.mu.Unlock()
	d.setState(t, func(st *PairStatus) { st.State = StateBusy })
	jctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(j.ctx, cancel)
	j.done <- j.fn(jctx)
	stop()
	cancel()
	return prev
}

// untilAllDone returns a context that ends with ctx, or once every request's context
// has ended (nobody waits for the sync any more).
func untilAllDone(ctx context.Context, reqs []*syncRequest) (context.Context, context.CancelFunc) {
	run, cancel := context.WithCancel(ctx)
	left := len(reqs)
	var mu sync.Mutex
	var stops []func() bool
	for _, r := range reqs {
		stops = append(stops, context.AfterFunc(r.ctx, func() {
			mu.Lock()
			left--
			all := left == 0
			mu.Unlock()
			if all {
				cancel()
			}
		}))
	}
	return run, func() {
		for _, s := range stops {
			s()
		}
		cancel()
	}
}

// nobodyWaits reports whether there were requests and each has been given up.
func nobodyWaits(reqs []*syncRequest) bool {
	for _, r := range reqs {
		if r.ctx.Err() == nil {
			return false
		}
	}
	return len(reqs) > 0
}

// requestedAliases returns the collections the requests ask for, or nil when any of
// them asks for the whole pair.
func requestedAliases(reqs []*syncRequest) []string {
	var out []string
	for _, r := range reqs {
		if len(r.aliases) == 0 {
			return nil
		}
		out = append(out, r.aliases...)
	}
	return out
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
